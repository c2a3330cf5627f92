"""lulcbook: land use and land cover reconstruction across Europe, notebook first.

The package is the thin layer of code the numbered notebooks call: data sources,
datacube harmonisation, superpixel graphs, models, training, evaluation,
uncertainty and map products.
"""

__version__ = "0.1.0"
