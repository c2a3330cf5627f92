from pathlib import Path

import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from lulcbook import cube


def test_open_raster_names_scales_and_masks(make_raster) -> None:
    data = np.full((3, 4, 5), 5000, dtype="uint16")
    data[0, 0, 0] = 0
    p = make_raster(data=data, descriptions=["b02", "B03", "B04"], nodata=0)
    da = cube.open_raster(p, bands=["B04", "B02"], scale=1e-4)
    assert da.dims == ("band", "y", "x") and da.dtype == np.float32
    assert list(da.band.values) == ["B04", "B02"]
    assert da.rio.crs.to_epsg() == 32633
    assert np.isnan(da.sel(band="B02").values[0, 0])
    assert da.sel(band="B04").values[0, 0] == pytest.approx(0.5)
    assert da.x.values[0] == pytest.approx(330005.0) and da.y.values[0] == pytest.approx(5822035.0)


def test_open_raster_errors(make_raster, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothere.tif"):
        cube.open_raster(tmp_path / "nothere.tif")
    nocrs = make_raster("nocrs.tif", crs=None, descriptions=["B02", "B03", "B04", "B08"])
    with pytest.raises(ValueError, match="nocrs.tif has no CRS"):
        cube.open_raster(nocrs)
    unnamed = make_raster("unnamed.tif")
    with pytest.raises(ValueError, match="unnamed.tif.*band_names"):
        cube.open_raster(unnamed)
    named = make_raster("named.tif", descriptions=["B02", "B03", "B04", "B08"])
    with pytest.raises(ValueError, match=r"\['B11'\] missing in .*named.tif"):
        cube.open_raster(named, bands=["B02", "B11"])
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"not a raster")
    with pytest.raises(ValueError, match="junk.tif is not a readable raster"):
        cube.open_raster(junk)


def test_read_band_files_resamples_and_checks_crs(make_raster) -> None:
    b10 = make_raster("B02.tif", data=np.ones((1, 8, 8), "uint16") * 1000, res=10.0)
    b20 = make_raster("B11.tif", data=np.ones((1, 4, 4), "uint16") * 3000, res=20.0)
    da = cube.read_band_files({"B02": b10, "B11": b20}, scale=1e-4)
    assert da.shape == (2, 8, 8)
    np.testing.assert_allclose(da.sel(band="B11").values, 0.3, rtol=1e-6)
    other = make_raster("B03.tif", data=np.ones((1, 8, 8), "uint16"), crs="EPSG:32632")
    with pytest.raises(ValueError, match="different CRSs.*B03.*32632"):
        cube.read_band_files({"B02": b10, "B03": other})


def test_check_same_crs_and_align(make_raster) -> None:
    a = cube.open_raster(make_raster("a.tif", descriptions=["B02", "B03", "B04", "B08"]))
    b = cube.open_raster(
        make_raster(
            "b.tif",
            crs="EPSG:32632",
            origin=(740000.0, 5826000.0),
            descriptions=["B02", "B03", "B04", "B08"],
        )
    )
    with pytest.raises(ValueError, match="Mismatched CRSs"):
        cube.check_same_crs([a, b])
    (b2,) = cube.align_to([b], a)
    assert b2.rio.crs == a.rio.crs and b2.shape == a.shape
    cube.check_same_crs([a, b2])


def test_mask_composite_and_cut(make_raster) -> None:
    da = cube.open_raster(make_raster(descriptions=["B02", "B03", "B04", "B08"]), scale=1e-4)
    scl = xr.DataArray(np.full((8, 8), 4), dims=("y", "x"))
    scl[0, 0] = 9  # cloud high probability
    masked = cube.mask_scl(da, scl)
    assert np.isnan(masked.values[:, 0, 0]).all() and np.isfinite(masked.values[:, 1, 1]).all()
    comp = cube.composite([masked, da])
    np.testing.assert_allclose(comp.values[:, 0, 0], da.values[:, 0, 0])
    with pytest.raises(ValueError, match="'max'"):
        cube.composite([da], how="max")
    patch = cube.cut_patch(da, x=float(da.x[4]), y=float(da.y[4]), size=4)
    assert patch.shape == (4, 4, 4) and float(patch.x[2]) == float(da.x[4])
    with pytest.raises(ValueError, match="does not fit"):
        cube.cut_patch(da, x=float(da.x[0]), y=float(da.y[0]), size=4)


def test_patches_roundtrip_and_validation(tmp_path: Path) -> None:
    n = 3
    ds = xr.Dataset(
        {
            "reflectance": (
                ("sample", "band", "y", "x"),
                np.random.rand(n, 2, 4, 4).astype("float32"),
            ),
            "label": ("sample", np.arange(n)),
            "point_y": ("sample", [2] * n),
            "point_x": ("sample", [2] * n),
            "region": ("sample", ["a", "b", "c"]),
            "split": ("sample", ["train"] * n),
            "climate": (("sample", "bio"), np.full((n, 2), np.nan, "float32")),
            "climate_valid": ("sample", [False] * n),
        },
        coords={"band": ["B02", "B03"]},
    )
    out = cube.write_patches(ds, tmp_path / "p.nc")
    back = cube.open_patches(out)
    np.testing.assert_array_equal(back["reflectance"].values, ds["reflectance"].values)
    assert list(back.band.values) == ["B02", "B03"]
    cube.write_patches(ds.drop_vars("split"), tmp_path / "bad.nc")
    with pytest.raises(ValueError, match=r"bad.nc lacks variables \['split'\]"):
        cube.open_patches(tmp_path / "bad.nc")
    with pytest.raises(FileNotFoundError, match="stage 'data'"):
        cube.open_patches(tmp_path / "none.nc")
