"""Tests of reading a coarser band on an aligned finer grid: the warper's values, cheaper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from predict_helpers import write_scene
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from lulcbook.predict.upsample import integer_factor, read_upsampled

FINE = from_origin(330000.0, 5822040.0, 10.0, 10.0)


def band_20m(tmp_path: Path, nodata_block: bool = False) -> Path:
    rng = np.random.default_rng(3)
    dn = rng.integers(500, 4000, size=(1, 40, 50)).astype("uint16")
    if nodata_block:
        dn[0, 10:14, 20:26] = 0
    return write_scene(tmp_path / "b20.tif", dn, descriptions=["b11"], res=20.0)


def warped(path: Path, width: int = 100, height: int = 80) -> np.ndarray:
    with rasterio.open(path) as src, WarpedVRT(
        src, crs=src.crs, transform=FINE, width=width, height=height,
        resampling=Resampling.bilinear, src_nodata=0, nodata=0,
    ) as vrt:  # fmt: skip
        return vrt.read(1).astype(np.float32)


def test_values_equal_gdal_warper_and_do_not_depend_on_the_window(tmp_path: Path) -> None:
    path = band_20m(tmp_path)
    with rasterio.open(path) as src:
        assert integer_factor(src, src.crs.to_wkt(), FINE) == 2
        whole = read_upsampled(src, 1, Window(0, 0, 100, 80), 2, 0)
        part = read_upsampled(src, 1, Window(33, 17, 41, 29), 2, 0)  # odd offsets
    # the warper rounds to the band's integer type
    np.testing.assert_allclose(whole, warped(path), atol=0.5)
    np.testing.assert_array_equal(part, whole[17:46, 33:74])


def test_no_data_is_left_out_of_the_weights(tmp_path: Path) -> None:
    path = band_20m(tmp_path, nodata_block=True)
    with rasterio.open(path) as src:
        out = read_upsampled(src, 1, Window(0, 0, 100, 80), 2, 0)
        dn = src.read(1).astype(np.float64)
    # target pixels well inside the no-data block have no valid source pixel
    assert np.isnan(out[22:26, 42:50]).all()
    # target (20, 41) sits at source (9.75, 20.25): row 10 is no data there, so only row 9
    # counts, with its column weights 0.75 (column 20) and 0.25 (column 21)
    assert out[20, 41] == pytest.approx(0.75 * dn[9, 20] + 0.25 * dn[9, 21], rel=1e-6)
    assert np.isfinite(out[:20]).all()


def test_unaligned_grids_are_not_upsampled(tmp_path: Path) -> None:
    path = band_20m(tmp_path)
    with rasterio.open(path) as src:
        wkt = src.crs.to_wkt()
        shifted = from_origin(330005.0, 5822040.0, 10.0, 10.0)
        assert integer_factor(src, wkt, shifted) is None  # origin half a pixel off
        assert integer_factor(src, wkt, from_origin(330000.0, 5822040.0, 7.0, 7.0)) is None
        assert integer_factor(src, wkt, from_origin(330000.0, 5822040.0, 20.0, 20.0)) is None
        other = rasterio.crs.CRS.from_epsg(32632).to_wkt()
        assert integer_factor(src, other, FINE) is None


def test_a_folder_with_20m_bands_reads_as_through_the_warper(tmp_path: Path) -> None:
    from lulcbook.predict import source_from_folder

    rng = np.random.default_rng(4)
    folder = tmp_path / "IMG_DATA"
    folder.mkdir()
    write_scene(folder / "T_B02.tif", rng.integers(500, 3000, (1, 80, 100)).astype("uint16"),
                descriptions=["b02"])  # fmt: skip
    b11 = band_20m(tmp_path)
    (folder / "T_B11.tif").write_bytes(b11.read_bytes())
    src = source_from_folder(folder, ["B02", "B11"], preset="s2-l1c")
    got = src.read(Window(5, 7, 60, 50))
    expected = warped(b11)[7:57, 5:65] * np.float32(src.scale) + np.float32(src.offset)
    np.testing.assert_allclose(got[1], expected, atol=0.5 * src.scale)
