"""Readers for the project's real data sources, all returning the same types.

* :mod:`lulcbook.sources.stac` — STAC APIs (Earth Search, Planetary Computer):
  search by area, dates and cloud cover; load Sentinel-2 / Landsat bands as
  reflectance ``(time, band, y, x)`` with odc-stac.
* :mod:`lulcbook.sources.lucas` — LUCAS survey tables (Eurostat/JRC topsoil,
  ST_LUCAS extracts) → GeoDataFrame ``point_id, year, lc1, label, geometry``.
* :mod:`lulcbook.sources.worldclim` — WorldClim BIO1–19 rasters, climate vectors
  at points, and BIO1–19 computed from monthly tmin/tmax/prec.
* :mod:`lulcbook.sources.sample` — the offline sample read through the same types.
"""
