"""Tests for the Landsat → Sentinel-2 translators, the simulation and the metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr

from lulcbook import legend
from lulcbook.models import translate as T


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models train much faster on one thread (no spin-waiting on a shared machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
        values.astype("float32"), dims=("band", "y", "x"), coords={"band": list(T.OLI_BANDS)}
    )


def test_hls_bandpass_reproduces_published_coefficients():
    bands = list(PUBLISHED_S2A)
    zero = T.hls_bandpass(_oli(np.zeros((7, 1, 1))), bands).squeeze()
    one = T.hls_bandpass(_oli(np.ones((7, 1, 1))), bands).squeeze()
    for b, (slope, offset) in PUBLISHED_S2A.items():
        # OLI → MSI is the inverse of the published MSI → OLI regression
        assert float(one.sel(band=b) - zero.sel(band=b)) == pytest.approx(1 / slope, rel=1e-6)
        assert float(zero.sel(band=b)) == pytest.approx(-offset / slope, abs=1e-7)


def test_hls_roundtrip_and_published_direction():
    rng = np.random.default_rng(0)
    msi = rng.uniform(0.01, 0.6, (4, 5, 5)).astype("float32")
    oli, names = T.hls_msi_to_oli_array(msi, ["B02", "B03", "B04", "B8A"])
    assert names == ["blue", "green", "red", "nir08"]
    assert oli[0] == pytest.approx(0.9778 * msi[0] - 0.004, abs=1e-6)
    back = T.hls_bandpass_array(oli, names, ["B02", "B03", "B04", "B8A"])
    np.testing.assert_allclose(back, msi, atol=1e-6)


def test_hls_b08_uses_b8a_and_s2b_differs():
    coef = T.hls_coefficients("S2A", "msi_to_oli", ["B08", "B8A"])
    assert coef["B08"] == coef["B8A"] == (0.9983, -0.0001)
    assert T.hls_coefficients("S2B", "msi_to_oli", ["B04"])["B04"] == (0.9761, 0.001)


def test_hls_errors():
    with pytest.raises(ValueError, match="Unknown satellite 'S2C'"):
        T.hls_coefficients("S2C")
    with pytest.raises(ValueError, match="no HLS band-pass coefficient"):
        T.hls_coefficients(bands=["B05"])
    lacking = xr.DataArray(
        np.zeros((2, 1, 1)), dims=("band", "y", "x"), coords={"band": ["blue", "green"]}
    )
    with pytest.raises(ValueError, match="red"):
        T.hls_bandpass(lacking, ["B02", "B04"])


def test_spectral_angle_hand_cases():
    a = np.array([0.1, 0.2, 0.3])
    assert T.spectral_angle(a, a) == pytest.approx(0.0, abs=1e-5)
    assert T.spectral_angle(a, 2.5 * a) == pytest.approx(0.0, abs=1e-5)  # brightness-invariant
    assert T.spectral_angle(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(90.0)
    assert T.spectral_angle(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(45.0)
    assert T.sam(np.stack([a, a]), np.stack([a, 3 * a])) == pytest.approx(0.0, abs=1e-5)


def test_error_metrics_hand_cases():
    p, t = np.array([0.1, 0.3]), np.array([0.2, 0.1])
    assert T.rmse(p, t) == pytest.approx(math.sqrt((0.01 + 0.04) / 2))
    assert T.mae(p, t) == pytest.approx(0.15)
    assert T.psnr(t, t) == math.inf
    assert T.psnr(np.full(4, 0.1), np.zeros(4), data_range=1.0) == pytest.approx(20.0)
    img = np.random.default_rng(1).uniform(0, 1, (2, 3, 16, 16))
    assert T.ssim(img, img) == pytest.approx(1.0)
    assert T.ssim(img, img[:, :, ::-1]) < 0.5


def test_psf_sigma_matches_mtf_at_nyquist():
    mtf = 0.3
    sigma_px = T.psf_sigma(mtf, gsd=30.0, pixel=10.0)
    f_n = 1 / 60.0  # cycles per metre
    gauss = math.exp(-2 * math.pi**2 * (sigma_px * 10.0) ** 2 * f_n**2)
    assert gauss * (2 / math.pi) == pytest.approx(mtf)
    assert T.psf_sigma(0.3, detector=False) > sigma_px  # the Gaussian alone must blur more
    with pytest.raises(ValueError, match="mtf_nyquist"):
        T.psf_sigma(0.9)


def test_degrade_preserves_mean_reflectance():
    rng = np.random.default_rng(2)
    img = rng.uniform(0.0, 0.5, (2, 4, 33, 48)).astype("float32")
    low = T.degrade(img, factor=3, sigma=1.4)
    assert low.shape == (2, 4, 11, 16)
    np.testing.assert_allclose(low.mean(axis=(-2, -1)), img.mean(axis=(-2, -1)), rtol=1e-5)
    assert low.std() < img.std()  # and it does smooth
    with pytest.raises(ValueError, match="not divisible by factor 3"):
        T.degrade(img[..., :32, :32], factor=3)


def test_simulate_landsat_shapes_and_mean():
    rng = np.random.default_rng(3)
    s2 = rng.uniform(0.02, 0.4, (3, 4, 64, 64)).astype("float32")
    low, names = T.simulate_landsat(s2, ["B02", "B03", "B04", "B08"])
    assert low.shape == (3, 4, 22, 22)
    assert names == ["blue", "green", "red", "nir08"]
    adjusted, _ = T.hls_msi_to_oli_array(s2, ["B02", "B03", "B04", "B08"], axis=1)
    np.testing.assert_allclose(low.mean(axis=(2, 3)), adjusted.mean(axis=(2, 3)), atol=2e-3)


def test_upsample_and_bicubic_linear_constant_image():
    low = np.full((2, 4, 22, 22), 0.2, np.float32)
    up = T.upsample_bicubic(low, (64, 64))
    assert up.shape == (2, 4, 64, 64)
    np.testing.assert_allclose(up, 0.2, atol=1e-5)
    base = T.bicubic_linear(low, ["blue", "green", "red", "nir08"], (64, 64))
    np.testing.assert_allclose(base[:, 0], (0.2 + 0.004) / 0.9778, atol=1e-5)


def test_translate_unet_starts_at_identity_and_handles_any_size():
    torch.manual_seed(0)
    net = T.TranslateUNet(bands=4, base=4, depth=2)
    x = np.random.default_rng(4).uniform(0, 0.3, (4, 21, 30)).astype("float32")
    x[0, 0, 0] = np.nan
    y = net.predict(x)
    assert y.shape == x.shape
    assert np.isnan(y[0, 0, 0])
    np.testing.assert_allclose(y[np.isfinite(x)], x[np.isfinite(x)], atol=1e-6)


def test_fit_unet_reduces_error():
    rng = np.random.default_rng(5)
    y = rng.uniform(0.05, 0.3, (8, 2, 16, 16)).astype("float32")
    x = (0.8 * y + 0.02).astype("float32")  # a learnable per-band distortion
    net = T.fit_unet(
        x, y, base=4, depth=1, epochs=30, batch_size=4, lr=1e-2, crop=None, progress=False
    )
    assert T.rmse(net.predict(x), y) < 0.75 * T.rmse(x, y)


def test_fit_spectral_mlp_learns_nonlinear_map():
    rng = np.random.default_rng(6)
    x = rng.uniform(0.0, 0.5, (600, 3)).astype("float32")
    y = np.c_[x[:, 0] ** 2, x[:, 1] * x[:, 2], x[:, 0]].astype("float32")
    ols = T.fit_ols(x, y)
    mlp = T.fit_spectral_mlp(
        x, y, hidden=32, depth=2, epochs=60, batch_size=64, lr=3e-3, progress=False
    )
    assert T.rmse(mlp.predict(x), y) < 0.7 * T.rmse(ols(x), y)
    assert np.isnan(mlp.predict(np.array([[np.nan, 0.1, 0.1]], np.float32))).all()


def test_leave_one_group_out_never_sees_its_group():
    x = np.zeros((6, 1), np.float32)
    y = np.array([[1.0], [1.0], [2.0], [2.0], [6.0], [6.0]], np.float32)
    groups = ["a", "a", "b", "b", "c", "c"]

    def fit(xt, yt):
        m = yt.mean()
        return lambda z: np.full((len(z), 1), m, np.float32)

    out = T.leave_one_group_out(x, y, groups, fit, progress=False)
    np.testing.assert_allclose(out[:, 0], [4, 4, 3.5, 3.5, 1.5, 1.5])


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
    toa = T.dn_to_toa(dn, sun_elevation_deg=30.0)
    assert float(toa[0, 0, 0]) == pytest.approx((10000 * 2e-5 - 0.1) / 0.5)
    with pytest.raises(ValueError, match="sun_elevation_deg"):
        T.dn_to_toa(dn, 0.0)
    s2 = T.translate_chip(toa, None)
    assert s2.shape == (4, 9, 6)
    assert list(s2["band"].values) == ["B02", "B03", "B04", "B08"]
    assert s2.rio.crs.to_epsg() == 32633
    assert float(s2["x"][1] - s2["x"][0]) == pytest.approx(10.0)
    assert float(s2["x"][1]) == pytest.approx(330015.0)  # centre of the first 30 m pixel
    with pytest.raises(ValueError, match="nir08"):
        T.translate_chip(toa.sel(band=["blue", "green", "red"]), None)


def test_map_agreement():
    ref = np.zeros((3, 4, 4), np.uint8)
    ref[1] = 2
    same = T.map_agreement(ref, ref.copy(), points=(np.array([1, 1, 1]), np.array([2, 2, 2])))
    assert same["pixel"]["oa"] == 1.0 and same["patch"]["oa"] == 1.0
    other = ref.copy()
    other[2] = 2
    other[0, 0, 0] = legend.NODATA  # ignored
    res = T.map_agreement(ref, other)
    assert res["patch"]["oa"] == pytest.approx(31 / 47)  # 15 + 16 + 0 of 47 valid
    with pytest.raises(ValueError, match="differ in shape"):
        T.map_agreement(ref, ref[:2])


def test_crop_to_valid_and_upsample_nearest():
    data = np.full((2, 10, 12), np.nan, np.float32)
    data[:, 2:7, 3:11] = 0.1
    da = xr.DataArray(data, dims=("band", "y", "x"))
    crop = T.crop_to_valid(da)
    assert crop.shape == (2, 5, 8)
    small = T.crop_to_valid(da, max_size=4)
    assert small.shape == (2, 4, 4) and np.isfinite(small.values).all()
    with pytest.raises(ValueError, match="No valid pixel"):
        T.crop_to_valid(da * np.nan)
    low = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
    up = T.upsample_nearest(low, (5, 5), factor=3)  # 6 → 5: one padding row/col dropped at the end
    assert up.shape == (1, 5, 5)
    assert up[0, 0, 0] == 0 and up[0, 4, 4] == 3


def test_translate_chip_ensemble_averages_models():
    torch.manual_seed(0)
    nets = [T.TranslateUNet(4, base=4, depth=1) for _ in range(2)]
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
    base = T.translate_chip(oli, None)
    ens = T.translate_chip(oli, nets)
    np.testing.assert_allclose(ens.values, base.values, atol=1e-5)
    assert not np.allclose(T.translate_chip(oli, nets[0]).values, base.values, atol=1e-5)
