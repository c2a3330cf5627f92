"""Tests for lulcbook.cog: product paths and COG writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from cog_helpers import write_band
from rasterio.transform import from_origin

from lulcbook import cog, legend


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


def test_cogs_are_single_band_with_palette_scale_and_overviews(tmp_path: Path) -> None:
    cls = np.full((300, 300), legend.NODATA, np.uint8)
    cls[:, 100:] = 6
    cls[150:, 100:] = 2
    conf = np.where(cls == legend.NODATA, legend.NODATA, 200).astype(np.uint8)
    a = cog.write_cog(write_band(tmp_path / "c.tif", "class", cls), tmp_path / "C.tif", 128)
    b = cog.write_cog(write_band(tmp_path / "f.tif", "confidence", conf), tmp_path / "F.tif", 128)
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
    scratch = write_band(tmp_path / "u.tif", "uncertainty", values)
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
        write_band(tmp_path / "t.tif", "uncertainty", values[:100, :100]),
        tmp_path / "T.tif", "AVERAGE", True, blocksize=128, overview_count=1,
    )  # fmt: skip
    with rasterio.open(tiny) as ds:
        assert ds.overviews(1) == [2]  # one level even below one block
