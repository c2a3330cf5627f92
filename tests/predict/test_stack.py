"""Tests of band stacks: bands of several files sharing a grid, warped in one pass."""

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

from lulcbook.predict import BandRef, RasterSource, datasets
from lulcbook.predict.stack import gdal_name, grid_key, stack_xml

LAEA = "EPSG:3035"
LAEA_GRID = from_origin(4_490_405.0, 3_270_855.0, 10.0, 10.0)  # inside the UTM 33N test scenes


@pytest.fixture(autouse=True)
def _empty_cache():
    datasets.close_all()
    yield
    datasets.close_all()


def band_files(tmp_path: Path, res: float = 10.0, nodata: int = 0) -> list[Path]:
    """Three single-band UTM files on one grid, with a block of no data in the second."""
    rng = np.random.default_rng(3)
    paths = []
    for i, name in enumerate(("B02", "B03", "B04")):
        dn = rng.integers(500, 3000, size=(1, 90, 110)).astype("uint16")
        if i == 1:
            dn[0, 10:30, 20:50] = nodata
        paths.append(write_scene(tmp_path / f"{name}.tif", dn, [name], nodata=nodata, res=res))
    return paths


def laea_source(paths: list[Path], resampling: str, **kw) -> RasterSource:
    refs = tuple(BandRef(p.stem, str(p), 1) for p in paths)
    crs = rasterio.crs.CRS.from_string(LAEA).to_wkt()
    return RasterSource(refs, crs, tuple(LAEA_GRID)[:6], 70, 60, scale=1e-4, resampling=resampling,
                        **kw)  # fmt: skip


def warped_alone(path: Path, resampling: str, window: Window) -> np.ndarray:
    """The band as GDAL's warper gives it file by file, as reflectance with NaN for no data."""
    with rasterio.open(path) as src, WarpedVRT(
        src, crs=LAEA, transform=LAEA_GRID, width=70, height=60,
        resampling=Resampling[resampling], src_nodata=src.nodata, nodata=src.nodata,
    ) as vrt:  # fmt: skip
        a = vrt.read(1, window=window)
        out = a.astype(np.float32) * np.float32(1e-4)
        out[a == vrt.nodata] = np.nan
        return out


@pytest.mark.parametrize("resampling", ["nearest", "bilinear"])
def test_warped_bands_are_the_warpers_values_of_each_file_alone(
    tmp_path: Path, resampling: str
) -> None:
    paths = band_files(tmp_path)
    window = Window(5, 7, 50, 40)
    got = laea_source(paths, resampling).read(window)
    want = np.stack([warped_alone(p, resampling, window) for p in paths])
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[1]).any() and not np.isnan(got[0]).any()  # no data reached the output


def test_bands_sharing_a_grid_open_one_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[list[str]] = []
    real = datasets.open_stack

    def counting(xml: str, members):
        opened.append(list(members))
        return real(xml, members)

    monkeypatch.setattr("lulcbook.predict.sources.open_stack", counting)
    ten = band_files(tmp_path)
    (tmp_path / "20m").mkdir()
    twenty = band_files(tmp_path / "20m", 20.0)
    laea_source([*ten[:2], *twenty[:2], ten[2]], "nearest").read(Window(0, 0, 70, 60))
    assert sorted(opened) == sorted([[str(p) for p in ten], [str(p) for p in twenty[:2]]])
    opened.clear()  # bilinear: the multi-band warper would fill pixels centred on no data
    laea_source(ten, "bilinear").read(Window(0, 0, 70, 60))
    assert opened == []


def test_a_corrupt_file_in_a_stack_is_named(tmp_path: Path) -> None:
    paths = band_files(tmp_path)
    full = tmp_path / "full.tif"
    rasterio.shutil.copy(paths[1], full, driver="COG", BLOCKSIZE=16)
    data = full.read_bytes()
    paths[1].write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ValueError, match=r"Reading band B03 from .*B03\.tif failed .*truncated"):
        laea_source(paths, "nearest").read(Window(0, 0, 70, 60))


def test_a_member_rewritten_in_place_reopens_the_stack(tmp_path: Path) -> None:
    paths = band_files(tmp_path)
    source = laea_source(paths, "nearest")
    before = source.read(Window(0, 0, 70, 60))
    write_scene(paths[2], np.full((1, 90, 110), 1234, dtype="uint16"), ["B04"])
    after = source.read(Window(0, 0, 70, 60))
    np.testing.assert_array_equal(after[:2], before[:2])
    assert np.nanmax(np.abs(after[2] - np.float32(0.1234))) < 1e-6


def test_stack_xml_describes_the_bands_in_order(tmp_path: Path) -> None:
    paths = band_files(tmp_path)
    with rasterio.open(paths[0]) as src:
        key = grid_key(src, 1, 0)
    with rasterio.open(stack_xml([(str(paths[2]), 1), (str(paths[0]), 1)], key)) as vrt:
        assert (vrt.count, vrt.width, vrt.height, vrt.crs) == (2, 110, 90, src.crs)
        assert vrt.transform == src.transform
        with rasterio.open(paths[2]) as b04:
            np.testing.assert_array_equal(vrt.read(1), b04.read(1))


def test_stack_xml_refuses_no_band_and_unknown_types(tmp_path: Path) -> None:
    paths = band_files(tmp_path)
    with rasterio.open(paths[0]) as src:
        key = grid_key(src, 1, None)
    with pytest.raises(ValueError, match="at least one band"):
        stack_xml([], key)
    with pytest.raises(ValueError, match="data type complex64 cannot be stacked"):
        stack_xml([(str(paths[0]), 1)], (*key[:4], "complex64", None))


def test_urls_in_a_stack_are_named_as_gdal_reads_them(tmp_path: Path) -> None:
    assert gdal_name("https://example.org/B04.tif") == "/vsicurl/https://example.org/B04.tif"
    assert gdal_name("s3://bucket/B04.tif") == "/vsis3/bucket/B04.tif"
    assert gdal_name(f"file://{tmp_path}/B04.tif") == f"{tmp_path}/B04.tif"
    paths = band_files(tmp_path)
    with rasterio.open(paths[0]) as src:
        key = grid_key(src, 1, 0)
    xml = stack_xml([("https://example.org/B04&B08.tif", 1), (str(paths[0]), 1)], key)
    assert "/vsicurl/https://example.org/B04&amp;B08.tif" in xml and str(paths[0]) in xml
