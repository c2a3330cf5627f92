"""Tests for lulcbook.product_stac: the shared STAC item builder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cog_helpers import write_band

from lulcbook import cog, product_stac


def test_product_item_has_one_named_band_per_asset_and_checks_the_grid(tmp_path: Path) -> None:
    paths = cog.product_paths(tmp_path / "m.tif")
    cls = np.zeros((64, 64), np.uint8)
    write_band(paths.classes, "class", cls)
    write_band(paths.confidence, "confidence", cls)
    write_band(paths.uncertainty, "uncertainty", np.zeros((64, 64), np.float32))
    item = product_stac.product_item(
        "m", product_stac.map_assets(paths), "2017-02-16", {"lulcbook:model": {"name": "x"}},
        derived_from=["../scenes/S2.json"], self_href=str(paths.item.absolute()),
    )  # fmt: skip
    d = json.loads(product_stac.item_json(item))
    assert d["properties"]["proj:code"] == "EPSG:32633" and d["properties"]["proj:epsg"] == 32633
    assert d["properties"]["license"] == "MIT" and len(d["properties"]["providers"]) == 2
    for key in cog.PRODUCT_BANDS:
        (band,) = d["assets"][key]["raster:bands"]
        assert band["name"] == key
    assert d["assets"]["class"]["href"] == "m.tif"
    rels = {lk["rel"]: lk["href"] for lk in d["links"]}
    assert rels["derived_from"] == "../scenes/S2.json" and rels["self"] == str(paths.item)
    write_band(paths.uncertainty, "uncertainty", np.zeros((64, 64), np.float32), origin=330010.0)
    with pytest.raises(ValueError, match="m_uncertainty.tif is not on the grid of .*m.tif"):
        product_stac.product_item("m", product_stac.map_assets(paths))
    with pytest.raises(ValueError, match="no raster asset"):
        product_stac.product_item("m", [product_stac.map_assets(paths)[-1]])
