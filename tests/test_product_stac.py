"""Tests for lulcbook.product_stac: the shared STAC item builder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
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


@pytest.mark.parametrize(
    ("crs", "origin"),
    [("EPSG:32633", (330000.0, 5822040.0)), ("EPSG:3035", (4550000.0, 3280000.0))],
)
def test_footprint_is_the_densified_outline_as_gdal_transforms_it(
    tmp_path: Path, crs: str, origin: tuple[float, float]
) -> None:
    from rasterio.transform import from_origin
    from rasterio.warp import transform_geom

    path = tmp_path / "f.tif"
    profile = cog.scratch_profile(crs, from_origin(*origin, 20, 20), 300, 200, 128, band="class")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.zeros((200, 300), np.uint8), 1)
    with rasterio.open(path) as src:
        got = product_stac.footprint(src)
        left, bottom, right, top = src.bounds
        ring = np.array(got["coordinates"][0])
        gdal = transform_geom(src.crs, "EPSG:4326", got | {"coordinates": [[
            [left, top], [right, top], [right, bottom], [left, bottom], [left, top]]]})  # fmt: skip
    assert got["type"] == "Polygon" and ring.shape == (33, 2)
    assert np.array_equal(ring[0], ring[-1])
    corners = np.array(gdal["coordinates"][0])[:4]
    for k, corner in zip((0, 8, 16, 24), corners, strict=True):  # 8 points per side, from top-left
        assert np.allclose(ring[k], corner, atol=1e-7)
    lon, lat = ring[:, 0], ring[:, 1]
    assert np.all((lon > 5) & (lon < 20) & (lat > 45) & (lat < 56))


def test_public_name_never_records_a_local_path() -> None:
    assert product_stac.public_name("/home/me/models/gnn.pt") == "gnn.pt"
    assert product_stac.public_name("runs/m.pt") == "m.pt"
    assert product_stac.public_name("lucas-s2-segments") == "lucas-s2-segments"
    assert product_stac.public_name("") == ""
