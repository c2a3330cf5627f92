"""Tests for lulcbook.landsat_chips: real Landsat-8 chips to 10 m Sentinel-2-like bands."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from lulcbook import landsat_chips as C
from lulcbook.models.translate import TranslateUNet

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_dn_to_toa_and_translate_chip():
    dn = xr.DataArray(
        np.full((4, 3, 2), 10000, np.float32),
        dims=("band", "y", "x"),
        coords={
            "band": ["blue", "green", "red", "nir08"],
            "y": [5822025.0, 5821995.0, 5821965.0],
            "x": [330015.0, 330045.0],
        },
    )
    dn = dn.rio.write_crs("EPSG:32633")
    toa = C.dn_to_toa(dn, sun_elevation_deg=30.0)
    assert float(toa[0, 0, 0]) == pytest.approx((10000 * 2e-5 - 0.1) / 0.5)
    with pytest.raises(ValueError, match="sun_elevation_deg"):
        C.dn_to_toa(dn, 0.0)
    s2 = C.translate_chip(toa, None)
    assert s2.shape == (4, 9, 6)
    assert list(s2["band"].values) == ["B02", "B03", "B04", "B08"]
    assert s2.rio.crs.to_epsg() == 32633
    assert float(s2["x"][1] - s2["x"][0]) == pytest.approx(10.0)
    assert float(s2["x"][1]) == pytest.approx(330015.0)  # centre of the first 30 m pixel
    with pytest.raises(ValueError, match="nir08"):
        C.translate_chip(toa.sel(band=["blue", "green", "red"]), None)


def test_crop_to_valid():
    data = np.full((2, 10, 12), np.nan, np.float32)
    data[:, 2:7, 3:11] = 0.1
    da = xr.DataArray(data, dims=("band", "y", "x"))
    crop = C.crop_to_valid(da)
    assert crop.shape == (2, 5, 8)
    small = C.crop_to_valid(da, max_size=4)
    assert small.shape == (2, 4, 4) and np.isfinite(small.values).all()
    with pytest.raises(ValueError, match="No valid pixel"):
        C.crop_to_valid(da * np.nan)


def test_translate_chip_ensemble_averages_models():
    torch.manual_seed(0)
    nets = [TranslateUNet(4, base=4, depth=1) for _ in range(2)]
    with torch.no_grad():
        nets[0].out.bias.fill_(0.01)  # output shifted by +0.01·std and −0.01·std
        nets[1].out.bias.fill_(-0.01)
    oli = xr.DataArray(
        np.full((4, 4, 4), 0.2, np.float32),
        dims=("band", "y", "x"),
        coords={
            "band": ["blue", "green", "red", "nir08"],
            "y": 5822025.0 - 30 * np.arange(4),
            "x": 330015.0 + 30 * np.arange(4),
        },
    )
    base = C.translate_chip(oli, None)
    ens = C.translate_chip(oli, nets)
    np.testing.assert_allclose(ens.values, base.values, atol=1e-5)
    assert not np.allclose(C.translate_chip(oli, nets[0]).values, base.values, atol=1e-5)
