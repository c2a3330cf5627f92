"""Tests for lulcbook.cog: product paths, legend sidecars, COG writing and the shared item builder."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from lulcbook import cog, legend


def _write(path: Path, band: str, data: np.ndarray, origin: float = 330000.0) -> Path:
    h, w = data.shape
    profile = cog.scratch_profile(
        "EPSG:32633", from_origin(origin, 5822040, 10, 10), w, h, 128, band=band
    )
    with rasterio.open(path, "w", **profile) as dst:
        cog.describe(dst, band, cog.map_tags([6, 2]))
        dst.write(data, 1)
    return path


def test_product_paths_are_distinct_companions(tmp_path: Path) -> None:
    p = cog.product_paths(tmp_path / "map.tif")
    assert [x.name for x in p.all] == [
        "map.tif", "map_confidence.tif", "map_uncertainty.tif", "map.tif.aux.xml", "map.qml",
        "map.json",
    ]  # fmt: skip
    assert cog.product_paths(tmp_path / "m.tif", tmp_path / "x.json").item.name == "x.json"
    assert cog.companion_path(tmp_path / "map.tif", "class") == p.classes
    assert cog.companion_path(tmp_path / "map.tif", "uncertainty") == p.uncertainty
    assert cog.confidence_path(tmp_path / "map.tif") == p.confidence
    with pytest.raises(ValueError, match="Unknown product band 'rgb'"):
        cog.companion_path(tmp_path / "map.tif", "rgb")


def test_attribute_table_and_style_name_every_class() -> None:
    root = ET.fromstring(cog.attribute_table_xml())
    cats = [c.text for c in root.iter("Category")]
    assert cats == list(legend.KEYS)
    rows = root.findall(".//Row")
    assert len(rows) == legend.N_CLASSES
    for c, row in zip(legend.CLASSES, rows, strict=True):
        values = [f.text for f in row.findall("F")]
        assert values[:3] == [str(c.index), c.key, c.name]
        assert "#{:02x}{:02x}{:02x}".format(*map(int, values[3:6])) == c.colour
    qml = ET.fromstring(cog.qgis_style_qml().split("\n", 1)[1])
    renderer = qml.find(".//rasterrenderer")
    assert renderer is not None and renderer.get("type") == "paletted"
    entries = qml.findall(".//paletteEntry")
    assert [e.get("value") for e in entries] == [str(c.index) for c in legend.CLASSES]
    assert [e.get("color") for e in entries] == list(legend.COLOURS)


def test_cogs_are_single_band_with_palette_scale_and_overviews(tmp_path: Path) -> None:
    cls = np.full((300, 300), legend.NODATA, np.uint8)
    cls[:, 100:] = 6
    cls[150:, 100:] = 2
    conf = np.where(cls == legend.NODATA, legend.NODATA, 200).astype(np.uint8)
    a = cog.write_cog(_write(tmp_path / "c.tif", "class", cls), tmp_path / "C.tif", 128)
    b = cog.write_cog(_write(tmp_path / "f.tif", "confidence", conf), tmp_path / "F.tif", 128)
    with rasterio.open(a) as ds:
        assert ds.count == 1 and ds.colorinterp[0].name == "palette"
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and ds.overviews(1)[0] == 2
        assert ds.colormap(1)[legend.NODATA][3] == 0  # nodata transparent
        ovr = ds.read(1, out_shape=(150, 150))
    # mode overviews: a class, never a blend of classes
    assert set(np.unique(ovr)) <= {2, 6, legend.NODATA}
    with rasterio.open(b) as ds:
        assert ds.scales == (cog.CONFIDENCE_SCALE,) and ds.descriptions == ("confidence",)
        assert ds.colorinterp[0].name == "gray"
    with pytest.raises(ValueError, match="Unknown product band 'rgb'"):
        cog.scratch_profile("EPSG:32633", from_origin(0, 0, 10, 10), 10, 10, 128, band="rgb")


def test_copy_to_cog_honours_the_overview_count_and_predictor(tmp_path: Path) -> None:
    values = np.linspace(0, 1, 300 * 300, dtype=np.float32).reshape(300, 300)
    scratch = _write(tmp_path / "u.tif", "uncertainty", values)
    out = cog.copy_to_cog(scratch, tmp_path / "U.tif", "AVERAGE", predictor=True, blocksize=128)
    fixed = cog.copy_to_cog(
        scratch, tmp_path / "U1.tif", "AVERAGE", True, blocksize=128, overview_count=1
    )
    with rasterio.open(out) as a, rasterio.open(fixed) as b:
        assert a.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert a.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "3"
        assert a.overviews(1) == [2, 4] and b.overviews(1) == [2]
        np.testing.assert_array_equal(a.read(1), values)
    tiny = cog.copy_to_cog(
        _write(tmp_path / "t.tif", "uncertainty", values[:100, :100]),
        tmp_path / "T.tif", "AVERAGE", True, blocksize=128, overview_count=1,
    )  # fmt: skip
    with rasterio.open(tiny) as ds:
        assert ds.overviews(1) == [2]  # one level even below one block


def test_product_item_has_one_named_band_per_asset_and_checks_the_grid(tmp_path: Path) -> None:
    paths = cog.product_paths(tmp_path / "m.tif")
    cls = np.zeros((64, 64), np.uint8)
    _write(paths.classes, "class", cls)
    _write(paths.confidence, "confidence", cls)
    _write(paths.uncertainty, "uncertainty", np.zeros((64, 64), np.float32))
    item = cog.product_item(
        "m", cog.map_assets(paths), "2017-02-16", {"lulcbook:model": {"name": "x"}},
        derived_from=["../scenes/S2.json"], self_href=str(paths.item.absolute()),
    )  # fmt: skip
    d = json.loads(cog.item_json(item))
    assert d["properties"]["proj:code"] == "EPSG:32633" and d["properties"]["proj:epsg"] == 32633
    assert d["properties"]["license"] == "MIT" and len(d["properties"]["providers"]) == 2
    for key in cog.PRODUCT_BANDS:
        (band,) = d["assets"][key]["raster:bands"]
        assert band["name"] == key
    assert d["assets"]["class"]["href"] == "m.tif"
    rels = {lk["rel"]: lk["href"] for lk in d["links"]}
    assert rels["derived_from"] == "../scenes/S2.json" and rels["self"] == str(paths.item)
    _write(paths.uncertainty, "uncertainty", np.zeros((64, 64), np.float32), origin=330010.0)
    with pytest.raises(ValueError, match="m_uncertainty.tif is not on the grid of .*m.tif"):
        cog.product_item("m", cog.map_assets(paths))
    with pytest.raises(ValueError, match="no raster asset"):
        cog.product_item("m", [cog.map_assets(paths)[-1]])
