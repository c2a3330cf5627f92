"""Tests for lulcbook.evaluate.spectral: RMSE, MAE, SAM, PSNR, SSIM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lulcbook import evaluate as E


def test_spectral_angle_hand_cases():
    a = np.array([0.1, 0.2, 0.3])
    assert E.spectral_angle(a, a) == pytest.approx(0.0, abs=1e-5)
    assert E.spectral_angle(a, 2.5 * a) == pytest.approx(0.0, abs=1e-5)  # brightness-invariant
    assert E.spectral_angle(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(90.0)
    assert E.spectral_angle(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(45.0)
    assert E.sam(np.stack([a, a]), np.stack([a, 3 * a])) == pytest.approx(0.0, abs=1e-5)


def test_error_metrics_hand_cases():
    p, t = np.array([0.1, 0.3]), np.array([0.2, 0.1])
    assert E.rmse(p, t) == pytest.approx(math.sqrt((0.01 + 0.04) / 2))
    assert E.mae(p, t) == pytest.approx(0.15)
    assert E.psnr(t, t) == math.inf
    assert E.psnr(np.full(4, 0.1), np.zeros(4), data_range=1.0) == pytest.approx(20.0)
    img = np.random.default_rng(1).uniform(0, 1, (2, 3, 16, 16))
    assert E.ssim(img, img) == pytest.approx(1.0)
    assert E.ssim(img, img[:, :, ::-1]) < 0.5


def test_spectral_and_image_metrics_per_band() -> None:
    true = np.array([[0.1, 0.2], [0.3, 0.4]])
    pred = true + np.array([0.1, 0.0])
    m = E.spectral_metrics(pred, true, ["B02", "B03"])
    assert m["per_band"]["B02"]["rmse"] == pytest.approx(0.1)
    assert m["per_band"]["B03"] == {"rmse": 0.0, "mae": 0.0}
    assert m["mae"] == pytest.approx(0.05)
    img = np.random.default_rng(7).uniform(0, 1, (2, 2, 16, 16)).astype("float32")
    im = E.image_metrics(img, img, ["B02", "B03"])
    assert im["rmse"] == 0.0 and im["psnr"] == math.inf and im["ssim"] == pytest.approx(1.0)
    assert set(im["per_band"]) == {"B02", "B03"}
