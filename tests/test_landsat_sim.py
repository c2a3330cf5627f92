"""Tests for lulcbook.landsat_sim: SIMULATED Landsat from Sentinel-2 and upsampling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lulcbook import harmonise
from lulcbook import landsat_sim as S

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_psf_sigma_matches_mtf_at_nyquist():
    mtf = 0.3
    sigma_px = S.psf_sigma(mtf, gsd=30.0, pixel=10.0)
    f_n = 1 / 60.0  # cycles per metre
    gauss = math.exp(-2 * math.pi**2 * (sigma_px * 10.0) ** 2 * f_n**2)
    assert gauss * (2 / math.pi) == pytest.approx(mtf)
    assert S.psf_sigma(0.3, detector=False) > sigma_px  # the Gaussian alone must blur more
    with pytest.raises(ValueError, match="mtf_nyquist"):
        S.psf_sigma(0.9)


def test_degrade_preserves_mean_reflectance():
    rng = np.random.default_rng(2)
    img = rng.uniform(0.0, 0.5, (2, 4, 33, 48)).astype("float32")
    low = S.degrade(img, factor=3, sigma=1.4)
    assert low.shape == (2, 4, 11, 16)
    np.testing.assert_allclose(low.mean(axis=(-2, -1)), img.mean(axis=(-2, -1)), rtol=1e-5)
    assert low.std() < img.std()  # and it does smooth
    with pytest.raises(ValueError, match="not divisible by factor 3"):
        S.degrade(img[..., :32, :32], factor=3)


def test_simulate_landsat_shapes_and_mean():
    rng = np.random.default_rng(3)
    s2 = rng.uniform(0.02, 0.4, (3, 4, 64, 64)).astype("float32")
    low, names = S.simulate_landsat(s2, ["B02", "B03", "B04", "B08"])
    assert low.shape == (3, 4, 22, 22)
    assert names == ["blue", "green", "red", "nir08"]
    adjusted, _ = harmonise.hls_msi_to_oli_array(s2, ["B02", "B03", "B04", "B08"], axis=1)
    np.testing.assert_allclose(low.mean(axis=(2, 3)), adjusted.mean(axis=(2, 3)), atol=2e-3)


def test_upsample_and_bicubic_linear_constant_image():
    low = np.full((2, 4, 22, 22), 0.2, np.float32)
    up = S.upsample_bicubic(low, (64, 64))
    assert up.shape == (2, 4, 64, 64)
    np.testing.assert_allclose(up, 0.2, atol=1e-5)
    base = S.bicubic_linear(low, ["blue", "green", "red", "nir08"], (64, 64))
    np.testing.assert_allclose(base[:, 0], (0.2 + 0.004) / 0.9778, atol=1e-5)


def test_upsample_nearest_drops_the_padding():
    low = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
    up = S.upsample_nearest(low, (5, 5), factor=3)  # 6 → 5: one padding row/col dropped at the end
    assert up.shape == (1, 5, 5)
    assert up[0, 0, 0] == 0 and up[0, 4, 4] == 3
