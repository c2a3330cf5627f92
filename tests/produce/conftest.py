"""Shared fixture of the production tests: a small grid run from the offline sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from predict_helpers import fitted_centroid
from rasterio.windows import Window

from lulcbook.produce import (
    ModelSpec,
    build_static_catalog,
    cells_for_bbox,
    open_catalog,
    parse_period,
    produce,
)

PERIOD = "2017-02-01/2017-02-28"
"""The period of the production runs."""
CRS_CELL_KM = 1.0
"""The grid cell size of the production runs (km)."""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> dict[str, Any]:
    """A static STAC catalog of a cropped real scene and one finished run over its cells.

    Returns:
        ``root``, ``catalog`` (the catalog file), ``cat`` (opened), ``cells``, ``model``
        (:class:`~lulcbook.produce.ModelSpec`), ``model_file``, ``ref`` (the run's folder),
        ``report`` and ``bbox`` (WGS84 bbox of the scene crop).
    """
    root = tmp_path_factory.mktemp("produce")
    scene = sample_dir / "s2-l1c-brandenburg" / "IMG_DATA"
    catalog = build_static_catalog([scene], root / "catalog", window=Window(700, 300, 160, 160))
    model_file = fitted_centroid().save(root / "centroid.json")
    cat = open_catalog(catalog)
    bbox = cat.items[0].bbox
    assert bbox is not None
    cells = cells_for_bbox(bbox, cell_km=CRS_CELL_KM)
    model = ModelSpec(str(model_file), "predict_helpers:SpectralCentroid", "centroid.json")
    ref = root / "ref"
    report = produce(cells, cat, parse_period(PERIOD), model, ref, progress=False)
    return {
        "root": root, "catalog": catalog, "cat": cat, "cells": cells, "model": model,
        "model_file": model_file, "ref": ref, "report": report, "bbox": bbox,
    }  # fmt: skip
