"""The masked Gaussian low-pass keeps smooth fields, drops parcels and skips masked pixels."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook import scales


def test_sigma_pixels_converts_metres() -> None:
    assert scales.sigma_pixels(500.0, 20.0) == 25.0
    with pytest.raises(ValueError, match="positive"):
        scales.sigma_pixels(500.0, 0.0)


def test_masked_pixels_do_not_pull_the_mean() -> None:
    values = np.full((30, 40), 0.03)
    valid = np.ones_like(values, dtype=bool)
    valid[10:20, 10:20] = False
    values[~valid] = 9.0  # cloud: ignored, not averaged in
    out = scales.masked_gaussian(values, valid, 3.0)
    assert np.allclose(out, 0.03)  # also at the borders and inside the hole


def test_gradients_stay_and_parcels_go() -> None:
    y, x = np.mgrid[0:60, 0:60]
    ramp = 0.0005 * x  # a haze gradient across the scene
    parcel = np.where((y // 3 + x // 3) % 2 == 0, 0.05, -0.05)  # fields of 3 pixels
    out = scales.masked_gaussian(ramp + parcel, np.ones((60, 60), bool), 6.0)
    inner = (slice(20, 40), slice(20, 40))
    assert np.abs(out[inner] - ramp[inner]).max() < 0.002
    assert np.abs(parcel).min() == 0.05


def test_no_valid_pixel_in_reach_is_nan_and_errors_are_specific() -> None:
    valid = np.zeros((5, 5), bool)
    assert np.isnan(scales.masked_gaussian(np.ones((5, 5)), valid, 1.0)).all()
    with pytest.raises(ValueError, match="one 2-D grid"):
        scales.masked_gaussian(np.ones((5, 5)), np.ones((4, 5), bool), 1.0)
    with pytest.raises(ValueError, match="positive"):
        scales.masked_gaussian(np.ones((5, 5)), np.ones((5, 5), bool), 0.0)
