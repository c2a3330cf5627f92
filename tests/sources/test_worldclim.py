"""WorldClim: BIO1–19 from monthly data checked against hand computations; reading and
sampling the real WorldClim 1.4 union mosaic of the offline sample; the download helpers
on a local zip (no network)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from lulcbook.sources import worldclim as wc

# ---------------------------------------------------------------- a 12-month example by hand
#            J   F   M   A   M   J   J   A   S   O   N   D
TAVG = np.array([0, 1, 4, 8, 12, 16, 18, 17, 13, 9, 4, 1], dtype=float)
RANGE = np.array([6, 6, 8, 10, 12, 12, 12, 12, 10, 8, 6, 6], dtype=float)  # tmax − tmin
TMIN = TAVG - RANGE / 2  # −3 −2 0 3 6 10 12 11 8 5 1 −2
TMAX = TAVG + RANGE / 2  # 3 4 8 13 18 22 24 23 18 13 7 4
PREC = np.array([60, 40, 30, 20, 20, 10, 10, 25, 40, 50, 80, 70], dtype=float)

# Hand computation (dismo::biovars definitions):
# BIO1  = ΣTAVG/12 = 103/12 = 8.58333
# BIO2  = ΣRANGE/12 = 108/12 = 9
# BIO5  = max TMAX = 24 (Jul); BIO6 = min TMIN = −3 (Jan); BIO7 = 24 − (−3) = 27
# BIO3  = 100·9/27 = 33.3333
# BIO4  = 100·sd(TAVG), sample sd: ΣTAVG² = 1361, SS = 1361 − 103²/12 = 476.91667,
#         var = SS/11 = 43.35606, sd = 6.58453 → 658.453
# BIO12 = ΣPREC = 455; BIO13 = 80 (Nov); BIO14 = 10 (Jun, Jul)
# BIO15 = 100·sd(PREC)/(1 + mean): ΣPREC² = 23125, SS = 23125 − 455²/12 = 5872.9167,
#         var = 533.9015, sd = 23.10631, mean = 37.91667 → 100·23.10631/38.91667 = 59.3738
# Quarter precipitation (3 months from each start month, wrapping):
#   J 130, F 90, M 70, A 50, M 40, J 45, J 75, A 115, S 170, O 200, N 210 (N+D+J), D 170 (D+J+F)
#   BIO16 = 210 (Nov–Dec–Jan, wraps), BIO17 = 40 (May–Jun–Jul)
# Quarter mean temperature:
#   J 5/3, F 13/3, M 8, A 12, M 46/3, J 17, J 16, A 13, S 26/3, O 14/3, N 5/3, D 2/3
#   BIO10 = 17 (Jun–Jul–Aug), BIO11 = 2/3 (Dec–Jan–Feb, wraps)
# BIO8  = temperature of the wettest quarter (N–D–J) = (4+1+0)/3 = 1.66667
# BIO9  = temperature of the driest quarter (M–J–J) = (12+16+18)/3 = 15.33333
# BIO18 = precipitation of the warmest quarter (J–J–A) = 10+10+25 = 45
# BIO19 = precipitation of the coldest quarter (D–J–F) = 70+60+40 = 170
HAND = {
    "bio1": 103 / 12,
    "bio2": 9.0,
    "bio3": 100 / 3,
    "bio4": 658.453,
    "bio5": 24.0,
    "bio6": -3.0,
    "bio7": 27.0,
    "bio8": 5 / 3,
    "bio9": 46 / 3,
    "bio10": 17.0,
    "bio11": 2 / 3,
    "bio12": 455.0,
    "bio13": 80.0,
    "bio14": 10.0,
    "bio15": 59.3738,
    "bio16": 210.0,
    "bio17": 40.0,
    "bio18": 45.0,
    "bio19": 170.0,
}


def test_bioclim_hand_example_numpy() -> None:
    bio = wc.bioclim_from_monthly(TMIN, TMAX, PREC)
    assert list(bio["bio"].values) == list(wc.BIO_NAMES) and bio.dims == ("bio",)
    for name, value in HAND.items():
        assert float(bio.sel(bio=name)) == pytest.approx(value, abs=1e-3), name


def test_bioclim_xarray_grid_and_wraparound() -> None:
    # two locations on a (y, x) grid: the example, and the same climate shifted by six
    # months (southern-hemisphere seasons): the warm quarter now wraps the year end
    shift = lambda a: np.roll(a, 6)  # noqa: E731
    stack = lambda a: xr.DataArray(  # noqa: E731
        np.stack([a, shift(a)], axis=-1)[:, None, :],
        dims=("month", "y", "x"),
        coords={"month": np.arange(1, 13), "y": [50.0], "x": [10.0, 11.0]},
    )
    bio = wc.bioclim_from_monthly(stack(TMIN), stack(TMAX), stack(PREC))
    assert bio.dims == ("bio", "y", "x") and bio.sizes["x"] == 2
    a, b = bio.isel(y=0, x=0), bio.isel(y=0, x=1)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12)  # cyclic shift: same BIO
    # shifted series: warmest quarter is Dec–Jan–Feb (16+18+17)/3 = 17, prec 10+10+25
    assert float(b.sel(bio="bio10")) == pytest.approx(17.0)
    assert float(b.sel(bio="bio18")) == pytest.approx(45.0)


def test_bioclim_wraparound_quarter_by_hand() -> None:
    # rain only in December and January: the wettest quarter must wrap (Nov–Dec–Jan or
    # Dec–Jan–Feb, both 200 mm; the earliest start month, November, wins the tie)
    prec = np.array([100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100], dtype=float)
    tavg = np.arange(12, dtype=float)  # Jan 0 … Dec 11
    bio = wc.bioclim_from_monthly(tavg - 1, tavg + 1, prec)
    assert float(bio.sel(bio="bio16")) == 200.0
    assert float(bio.sel(bio="bio8")) == pytest.approx((10 + 11 + 0) / 3)  # N, D, J
    # coldest quarter Jan–Feb–Mar (1.0) has 100 mm; warmest Oct–Nov–Dec (10.0) has 100 mm
    assert float(bio.sel(bio="bio11")) == pytest.approx(1.0)
    assert float(bio.sel(bio="bio19")) == 100.0 and float(bio.sel(bio="bio18")) == 100.0


def test_bioclim_missing_month_gives_nan_vector() -> None:
    tmin = np.stack([TMIN, TMIN], axis=1)
    tmin[3, 1] = np.nan
    bio = wc.bioclim_from_monthly(tmin, np.stack([TMAX] * 2, 1), np.stack([PREC] * 2, 1))
    assert bio.dims == ("bio", "dim_1")
    assert np.isfinite(bio.isel(dim_1=0)).all() and np.isnan(bio.isel(dim_1=1)).all()


def test_bioclim_validation() -> None:
    with pytest.raises(ValueError, match="tmin has dimension 'month' of length 11"):
        wc.bioclim_from_monthly(TMIN[:11], TMAX[:11], PREC[:11])
    with pytest.raises(ValueError, match="prec has no 'month' dimension"):
        wc.bioclim_from_monthly(TMIN, TMAX, xr.DataArray(PREC, dims="time"))
    with pytest.raises(ValueError, match="tmin > tmax in 12"):
        wc.bioclim_from_monthly(TMAX, TMIN, PREC)
    a = xr.DataArray(TMIN[:, None], dims=("month", "point"), coords={"point": [1]})
    b = xr.DataArray(TMAX[:, None], dims=("month", "point"), coords={"point": [2]})
    with pytest.raises(ValueError, match="share their coordinates"):
        wc.bioclim_from_monthly(a, b, PREC)


# ---------------------------------------------------------------- the real mosaic


@pytest.fixture(scope="module")
def mosaic(sample_dir: Path) -> xr.DataArray:
    return wc.read_bioclim(
        sample_dir / "worldclim" / "worldclim14_10m_bio1-19_europe_union_wallace+enmtools.tif"
    )


def test_read_mosaic(mosaic: xr.DataArray) -> None:
    assert mosaic.dims == ("bio", "y", "x") and mosaic.shape == (19, 163, 210)
    assert list(mosaic["bio"].values) == list(wc.BIO_NAMES)
    assert mosaic.rio.crs.to_epsg() == 4326 and mosaic.dtype == np.float32
    assert float(mosaic.x.min()) == pytest.approx(-10 + 1 / 12)  # cell centres, 10′ grid
    valid = np.isfinite(mosaic.sel(bio="bio1"))
    assert 0.3 < float(valid.mean()) < 0.5  # partly masked (39 % valid)
    # WorldClim 1.4 units: °C×10; Europe's annual mean is between −4 °C and 19 °C
    assert -40 <= float(mosaic.sel(bio="bio1").min()) and float(mosaic.sel(bio="bio1").max()) <= 190


def test_read_folders_and_grid_checks(sample_dir: Path, mosaic: xr.DataArray, tmp_path) -> None:
    wallace = wc.read_bioclim(sample_dir / "worldclim" / "wallace_meles_meles_wc14_10m")
    assert list(wallace["bio"].values) == list(wc.BIO_NAMES) and wallace.shape == (19, 163, 208)
    # the mosaic is the union of the same WC 1.4 grids: identical values where both valid
    both = mosaic.sel(x=wallace.x, method="nearest")
    same = np.isfinite(wallace.values) & np.isfinite(both.values)
    assert same.sum() > 100_000 and np.array_equal(wallace.values[same], both.values[same])
    wc21 = wc.read_bioclim(sample_dir / "worldclim" / "stactools_wc21_10m_global")
    assert list(wc21["bio"].values) == ["bio1"] and wc21.shape == (1, 1080, 2160)  # prec_01 skipped
    cast = wc.read_bioclim(sample_dir / "worldclim" / "cast_central_europe_laea" / "bioclim.tif")
    assert list(cast["bio"].values) == ["bio2", "bio5", "bio10", "bio13", "bio14", "bio19"]
    # bad input
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        wc.read_bioclim(tmp_path / "nothing_here")
    with rasterio.open(
        tmp_path / "bio_3.tif", "w", driver="GTiff", width=4, height=4, count=1, dtype="float32"
    ) as dst:  # no CRS
        dst.write(np.ones((1, 4, 4), "float32"))
    with pytest.raises(ValueError, match=r"bio_3\.tif has no CRS"):
        wc.read_bioclim(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    for n, res in ((1, 1 / 6), (2, 1 / 12)):
        with rasterio.open(
            other / f"wc2.1_10m_bio_{n}.tif",
            "w",
            driver="GTiff",
            width=4,
            height=4,
            count=1,
            dtype="float32",
            crs="EPSG:4326",
            transform=from_origin(0, 50, res, res),
        ) as dst:
            dst.write(np.ones((1, 4, 4), "float32"))
    with pytest.raises(ValueError, match=r"bio_2\.tif .* not on the grid of .*bio_1\.tif"):
        wc.read_bioclim(other)


def _haversine_km(lon1, lat1, lon2, lat2):
    lo1, la1, lo2, la2 = map(np.radians, (lon1, lat1, lon2, lat2))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(h))


def test_sample_climate_counts_and_fill(mosaic: xr.DataArray) -> None:
    #        Paris        Berlin       North Sea off     Med. off     far North    outside
    #                                  Noord-Holland     Cannes       Sea          the raster
    lon = [2.35, 13.4, 4.3, 7.0, 4.0, 30.0]
    lat = [48.85, 52.5, 52.6, 43.5, 54.5, 60.0]
    clim, info = wc.sample_climate(mosaic, lon, lat, fill_km=25.0)
    assert clim.dims == ("point", "bio") and clim.dtype == np.float32
    assert info == {
        "n_points": 6,
        "on_valid_cell": 2,
        "filled_from_neighbour": 2,
        "missing": 2,
        "fill_km": 25.0,
    }
    assert list(clim["source"].values) == [
        "cell",
        "cell",
        "neighbour",
        "neighbour",
        "missing",
        "missing",
    ]
    # Paris: the value of the cell it lies in; 11.1 °C annual mean (°C×10)
    cell = mosaic.sel(bio="bio1").sel(x=2.35, y=48.85, method="nearest")
    assert float(clim.sel(bio="bio1")[0]) == float(cell)
    assert float(clim.sel(bio="bio1")[0]) == 111.0
    assert np.isnan(clim[4]).all() and np.isnan(clim[5]).all()
    # the filled sea point takes the nearest valid cell, checked by brute force
    b1 = mosaic.sel(bio="bio1")
    yy, xx = np.meshgrid(b1.y.values, b1.x.values, indexing="ij")
    ok = np.isfinite(b1.values)
    d = _haversine_km(4.3, 52.6, xx[ok], yy[ok])
    assert float(clim["fill_distance_km"][2]) == pytest.approx(d.min(), rel=1e-6)
    assert 10 < d.min() < 25
    assert float(clim.sel(bio="bio1")[2]) == b1.values[ok][np.argmin(d)]
    # a smaller radius turns that point into a missing one, counted as such
    _, info15 = wc.sample_climate(mosaic, lon, lat, fill_km=15.0)
    assert info15["filled_from_neighbour"] == 1 and info15["missing"] == 3
    _, info0 = wc.sample_climate(mosaic, lon, lat, fill_km=0)
    assert info0["filled_from_neighbour"] == 0 and info0["missing"] == 4


def test_sample_climate_projected_raster_and_bad_input(sample_dir: Path, mosaic) -> None:
    cast = wc.read_bioclim(sample_dir / "worldclim" / "cast_central_europe_laea" / "bioclim.tif")
    clim, info = wc.sample_climate(cast, [13.4], [52.5])  # Berlin, ETRS89-LAEA raster
    assert info["on_valid_cell"] == 1
    ref, _ = wc.sample_climate(mosaic, [13.4], [52.5])
    # both are WorldClim 1.4; the LAEA grid is resampled, so only close, not equal
    assert abs(float(clim.sel(bio="bio5")[0]) - float(ref.sel(bio="bio5")[0])) < 15
    with pytest.raises(ValueError, match="equal length"):
        wc.sample_climate(mosaic, [1.0, 2.0], [50.0])
    with pytest.raises(ValueError, match="outside ±90"):
        wc.sample_climate(mosaic, [1.0], [95.0])
    with pytest.raises(ValueError, match="fill_km"):
        wc.sample_climate(mosaic, [1.0], [50.0], fill_km=-1)
    with pytest.raises(ValueError, match="no CRS"):
        wc.sample_climate(mosaic.rio.write_crs(None).drop_vars("spatial_ref"), [1.0], [50.0])


# ---------------------------------------------------------------- download helpers (offline)


def test_worldclim_url() -> None:
    assert wc.worldclim_url() == (
        "https://geodata.ucdavis.edu/climate/worldclim/2_1/base/wc2.1_10m_bio.zip"
    )
    assert wc.worldclim_url("prec", "2.5m").endswith("/wc2.1_2.5m_prec.zip")
    with pytest.raises(ValueError, match="Unknown WorldClim variable 'rain'"):
        wc.worldclim_url("rain")
    with pytest.raises(ValueError, match="Unknown WorldClim resolution '1m'"):
        wc.worldclim_url("bio", "1m")


def _worldclim_zip(path: Path, tmp: Path) -> Path:
    """A zip laid out like wc2.1_10m_bio.zip, with tiny real-CRS rasters."""
    with zipfile.ZipFile(path, "w") as zf:
        for n in (1, 2, 12):
            tif = tmp / f"wc2.1_10m_bio_{n}.tif"
            with rasterio.open(
                tif,
                "w",
                driver="GTiff",
                width=6,
                height=3,
                count=1,
                dtype="float32",
                crs="EPSG:4326",
                nodata=-3.4e38,
                transform=from_origin(-10, 60, 1 / 6, 1 / 6),
            ) as dst:
                data = np.full((1, 3, 6), float(n), "float32")
                data[0, 0, 0] = -3.4e38
                dst.write(data)
            zf.write(tif, arcname=f"wc2.1_10m_bio_{n}.tif")
        zf.writestr("readme.txt", "not a raster")
        zf.writestr("../evil.tif", b"x")  # must not escape the destination
    return path


def test_extract_and_download_from_local_zip(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    zpath = _worldclim_zip(tmp_path / "wc2.1_10m_bio.zip", work)
    files = wc.extract_worldclim_zip(zpath, tmp_path / "out")
    assert [f.name for f in files] == [
        "evil.tif",
        "wc2.1_10m_bio_1.tif",
        "wc2.1_10m_bio_2.tif",
        "wc2.1_10m_bio_12.tif",
    ]
    assert all(f.parent == tmp_path / "out" for f in files)
    assert not (tmp_path / "evil.tif").exists()
    # the whole download path, served from a file:// URL instead of the network
    dest = tmp_path / "dl"
    got = wc.download_worldclim("bio", "10m", dest, base_url=tmp_path.as_uri())
    assert [f.name for f in got if f.name.startswith("wc2.1")] == [
        "wc2.1_10m_bio_1.tif",
        "wc2.1_10m_bio_2.tif",
        "wc2.1_10m_bio_12.tif",
    ]
    bio = wc.read_bioclim([f for f in got if f.name.startswith("wc2.1")])
    assert list(bio["bio"].values) == ["bio1", "bio2", "bio12"]
    assert np.isnan(bio.values[:, 0, 0]).all() and float(bio.sel(bio="bio12")[1, 1]) == 12.0
    again = wc.download_worldclim("bio", "10m", dest, base_url="http://unreachable.invalid")
    assert [f.name for f in again] == [f.name for f in got if f.name.startswith("wc2.1")]
    with pytest.raises(ValueError, match="not a zip"):
        wc.extract_worldclim_zip(work / "wc2.1_10m_bio_1.tif", tmp_path / "x")


def test_read_worldclim21_europe_full_coverage(sample_dir: Path, tmp_path: Path) -> None:
    bio = wc.read_worldclim21(sample_dir)
    assert list(bio["bio"].values) == list(wc.BIO_NAMES)
    assert bio.attrs["bio_units"]["bio1"] == "°C" and bio.attrs["bio_units"]["bio12"] == "mm"
    assert bio.rio.crs.to_epsg() == 4326
    # real points across Europe, including where the WC 1.4 mosaic is masked (Exeter, Helsinki,
    # Vilnius, Belgrade): all on valid cells, BIO1 in °C (not °C x 10), BIO7 = BIO5 - BIO6
    lon = np.array([-3.53, 24.94, 25.28, 20.46, 13.4])
    lat = np.array([50.72, 60.17, 54.69, 44.79, 52.52])
    clim, info = wc.sample_climate(bio, lon, lat, fill_km=0)
    assert info["on_valid_cell"] == 5
    b1 = clim.sel(bio="bio1").values
    assert np.all((b1 > 3) & (b1 < 14))
    np.testing.assert_allclose(
        clim.sel(bio="bio7"), clim.sel(bio="bio5") - clim.sel(bio="bio6"), atol=1e-3
    )
    with pytest.raises(FileNotFoundError, match="WorldClim 2.1 folder"):
        wc.read_worldclim21(tmp_path / "nowhere")
    one = tmp_path / "wc"
    one.mkdir()
    src = sample_dir / wc.WC21_EUROPE_SUBDIR / "wc2.1_10m_bio_1.tif"
    (one / src.name).write_bytes(src.read_bytes())
    with pytest.raises(ValueError, match="bio2"):
        wc.read_worldclim21(one)
