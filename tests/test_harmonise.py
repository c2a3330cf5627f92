"""Tests for lulcbook.harmonise: the published HLS band-pass adjustment."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from lulcbook import harmonise as H

# Published HLS band-pass adjustment, Sentinel-2A MSI → Landsat-8 OLI (slope, offset):
# HLS v1.4 User's Guide / hls.gsfc.nasa.gov/algorithms/bandpass-adjustment (Claverie et al. 2018).
PUBLISHED_S2A = {
    "B01": (0.9959, -0.0002),
    "B02": (0.9778, -0.004),
    "B03": (1.0053, -0.0009),
    "B04": (0.9765, 0.0009),
    "B8A": (0.9983, -0.0001),
    "B11": (0.9987, -0.0011),
    "B12": (1.003, -0.0012),
}


def _oli(values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(
        values.astype("float32"), dims=("band", "y", "x"), coords={"band": list(H.OLI_BANDS)}
    )


def test_hls_bandpass_reproduces_published_coefficients():
    bands = list(PUBLISHED_S2A)
    zero = H.hls_bandpass(_oli(np.zeros((7, 1, 1))), bands).squeeze()
    one = H.hls_bandpass(_oli(np.ones((7, 1, 1))), bands).squeeze()
    for b, (slope, offset) in PUBLISHED_S2A.items():
        # OLI → MSI is the inverse of the published MSI → OLI regression
        assert float(one.sel(band=b) - zero.sel(band=b)) == pytest.approx(1 / slope, rel=1e-6)
        assert float(zero.sel(band=b)) == pytest.approx(-offset / slope, abs=1e-7)


def test_hls_roundtrip_and_published_direction():
    rng = np.random.default_rng(0)
    msi = rng.uniform(0.01, 0.6, (4, 5, 5)).astype("float32")
    oli, names = H.hls_msi_to_oli_array(msi, ["B02", "B03", "B04", "B8A"])
    assert names == ["blue", "green", "red", "nir08"]
    assert oli[0] == pytest.approx(0.9778 * msi[0] - 0.004, abs=1e-6)
    back = H.hls_bandpass_array(oli, names, ["B02", "B03", "B04", "B8A"])
    np.testing.assert_allclose(back, msi, atol=1e-6)


def test_hls_b08_uses_b8a_and_s2b_differs():
    coef = H.hls_coefficients("S2A", "msi_to_oli", ["B08", "B8A"])
    assert coef["B08"] == coef["B8A"] == (0.9983, -0.0001)
    assert H.hls_coefficients("S2B", "msi_to_oli", ["B04"])["B04"] == (0.9761, 0.001)


def test_hls_errors():
    with pytest.raises(ValueError, match="Unknown satellite 'S2C'"):
        H.hls_coefficients("S2C")
    with pytest.raises(ValueError, match="no HLS band-pass coefficient"):
        H.hls_coefficients(bands=["B05"])
    lacking = xr.DataArray(
        np.zeros((2, 1, 1)), dims=("band", "y", "x"), coords={"band": ["blue", "green"]}
    )
    with pytest.raises(ValueError, match="red"):
        H.hls_bandpass(lacking, ["B02", "B04"])
