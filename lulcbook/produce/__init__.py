"""Map production on a grid: an area and a period → one map product per cell, on dask.

* :mod:`~lulcbook.produce.grid` — cells of the EEA reference grid (EPSG:3035);
* :mod:`~lulcbook.produce.catalog` — the scenes of a cell from a static STAC catalog or API;
* :mod:`~lulcbook.produce.cell` — one cell: composite, mask, predict, write the product;
* :mod:`~lulcbook.produce.runner` — the whole run on dask, resumable, with a report;
* :mod:`~lulcbook.produce.collection` — the STAC Collection and the VRT mosaics.

The command line is ``lulcbook produce`` (:mod:`lulcbook.cli`).
"""

from __future__ import annotations

from lulcbook.produce.catalog import (
    ApiCatalog,
    StaticCatalog,
    build_static_catalog,
    open_catalog,
    parse_period,
)
from lulcbook.produce.cell import CellResult, CompositeSource, ModelSpec, cell_paths, run_cell
from lulcbook.produce.collection import write_collection, write_mosaic
from lulcbook.produce.grid import GridCell, cell_from_id, cells_for_bbox, cells_for_region
from lulcbook.produce.runner import RunReport, produce

__all__ = [
    "ApiCatalog",
    "CellResult",
    "CompositeSource",
    "GridCell",
    "ModelSpec",
    "RunReport",
    "StaticCatalog",
    "build_static_catalog",
    "cell_from_id",
    "cell_paths",
    "cells_for_bbox",
    "cells_for_region",
    "open_catalog",
    "parse_period",
    "produce",
    "run_cell",
    "write_collection",
    "write_mosaic",
]
