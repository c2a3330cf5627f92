"""NDVI texture follows the LUCAS table's definition and ignores invalid pixels."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook import texture


def test_window_keeps_the_ground_size_of_the_lucas_texture() -> None:
    assert texture.texture_window(10.0) == 7  # the table's 7 x 7 pixels of 10 m
    assert texture.texture_window(20.0) == 3
    assert texture.texture_window(30.0) == 3
    assert texture.texture_window(5.0) == 15
    with pytest.raises(ValueError, match="positive"):
        texture.texture_window(0.0)


def test_texture_is_the_window_standard_deviation_of_ndvi() -> None:
    rng = np.random.default_rng(0)
    red = rng.uniform(0.02, 0.2, (9, 9))
    nir = rng.uniform(0.1, 0.5, (9, 9))
    ndvi = (nir - red) / (nir + red)
    out = texture.ndvi_texture(red, nir, 3)
    assert out[4, 4] == pytest.approx(ndvi[3:6, 3:6].std())
    assert out[0, 0] == pytest.approx(ndvi[:2, :2].std())  # edge windows hold what is inside
    uniform = texture.ndvi_texture(np.full((5, 5), 0.05), np.full((5, 5), 0.3), 3)
    assert np.allclose(uniform, 0.0)


def test_invalid_pixels_are_left_out_and_stay_invalid() -> None:
    red = np.full((5, 5), 0.05)
    nir = np.full((5, 5), 0.3)
    nir[2, 3] = 0.9  # one bright pixel ...
    red[2, 2] = np.nan  # ... next to an invalid one
    out = texture.ndvi_texture(red, nir, 3)
    assert np.isnan(out[2, 2])
    ndvi = (nir - red) / (nir + red)
    window = ndvi[1:4, 2:5][np.isfinite(ndvi[1:4, 2:5])]
    assert out[2, 3] == pytest.approx(window.std())
    lone = np.full((3, 3), np.nan)
    lone[1, 1] = 0.05
    assert np.isnan(texture.ndvi_texture(lone, np.full((3, 3), 0.3), 3)[1, 1])


def test_bad_shapes_and_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="one \\(y, x\\) grid"):
        texture.ndvi_texture(np.zeros((3, 3)), np.zeros((3, 4)), 3)
    with pytest.raises(ValueError, match="odd"):
        texture.ndvi_texture(np.zeros((3, 3)), np.ones((3, 3)), 4)
