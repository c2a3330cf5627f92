"""Tests for lulcbook.models.pixel: random forest on the labelled pixel, PixelCNN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lulcbook.models import pixel

torch.set_num_threads(1)  # the test machine's cores are shared


def _patches(n: int = 12, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.array([1, 2, 6] * (n // 3))
    refl = rng.uniform(0, 0.05, (n, 4, size, size)).astype(np.float32)
    refl[np.arange(n), y % 4, size // 2, size // 2] += 0.5  # the labelled pixel carries the class
    return refl, y


def test_labelled_spectra_picks_the_point() -> None:
    refl, _ = _patches()
    spec = pixel.labelled_spectra(refl, np.full(12, 8), np.full(12, 8))
    np.testing.assert_array_equal(spec, refl[:, :, 8, 8])
    with pytest.raises(ValueError, match="outside"):
        pixel.labelled_spectra(refl, np.full(12, 16), np.full(12, 8))


def test_random_forest_learns_and_aligns_probabilities() -> None:
    refl, y = _patches()
    X = pixel.labelled_spectra(refl, np.full(12, 8), np.full(12, 8))
    rf = pixel.fit_rf(X, y, n_estimators=20, seed=0)
    assert (rf.predict(X) == y).all()
    p = pixel.rf_proba(rf, X, n_classes=8)
    assert p.shape == (12, 8) and np.allclose(p.sum(1), 1)
    assert (p.argmax(1) == y).all() and p[:, [0, 3, 4, 5, 7]].sum() == 0
    img = refl[0].copy()
    img[:, 0, 0] = np.nan
    m = pixel.rf_predict_image(rf, img)
    assert m.shape == (16, 16) and m[0, 0] == 255 and m[8, 8] == y[0]
    with pytest.raises(ValueError, match="NaN"):
        pixel.fit_rf(np.full((2, 4), np.nan), np.array([0, 1]))


@pytest.mark.parametrize("norm", ["batch", "none", "cond"])
@pytest.mark.parametrize("depth", [0, 2])
def test_pixel_cnn_shapes(norm: str, depth: int) -> None:
    model = pixel.PixelCNN(
        4, 8, hidden=8, depth=depth, norm=norm, cond_dim=20 if norm == "cond" else 0
    )
    x = torch.randn(3, 4, 16, 16)
    out = model(x, torch.randn(3, 20) if norm == "cond" else None)
    assert out.shape == (3, 8, 16, 16)


def test_pixel_cnn_errors() -> None:
    model = pixel.PixelCNN(4, 8, hidden=8, depth=2)
    with pytest.raises(ValueError, match="divisible by 4"):
        model(torch.randn(1, 4, 18, 18))
    with pytest.raises(ValueError, match=r"\(B, 4, H, W\)"):
        model(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match="needs cond"):
        pixel.PixelCNN(4, 8, hidden=8, norm="cond", cond_dim=20)(torch.randn(2, 4, 16, 16))


def test_band_standardisation() -> None:
    refl, _ = _patches()
    refl[0, 0, 0, 0] = np.nan
    stats = pixel.band_stats(refl)
    z = pixel.standardise_bands(refl, stats)
    assert np.isfinite(z).all() and z[0, 0, 0, 0] == 0
    assert np.allclose(
        np.nanmean(np.where(np.isnan(refl), np.nan, z), axis=(0, 2, 3)), 0, atol=1e-5
    )
    assert pixel.standardise_bands(refl[1], stats).shape == refl[1].shape
