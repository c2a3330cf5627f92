"""NDVI texture: the local standard deviation of NDVI, as in the LUCAS (ELC10) feature table.

The ELC10 table's ``ndvi_texture_sd`` is the standard deviation of the annual median NDVI in a
square window of 7 × 7 pixels of 10 m (a radius of 3 pixels, 70 m across; Venter & Sydenham
2021). Built-up land stands out in it: mixed roofs, streets, gardens and trees give a high
local spread of NDVI where a field or a forest gives a low one. :func:`ndvi_texture` computes
the same statistic on a scene at any resolution, with a window of about the same ground size
(:func:`texture_window`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

ELC10_WINDOW_M: float = 70.0
"""Ground size of the ELC10 texture window: 7 pixels of 10 m."""


def texture_window(pixel_m: float, window_m: float = ELC10_WINDOW_M) -> int:
    """The odd window size (pixels, at least 3) closest to ``window_m`` at ``pixel_m`` (ties: larger).

    Raises:
        ValueError: a pixel size or window that is not positive.
    """
    if not (pixel_m > 0 and window_m > 0):
        raise ValueError(f"pixel size and window must be positive; got {pixel_m}, {window_m}")
    return max(3, 2 * int(np.floor((window_m / pixel_m - 1) / 2 + 0.5)) + 1)


def ndvi_texture(red: np.ndarray, nir: np.ndarray, window: int) -> np.ndarray:
    """Standard deviation of NDVI in a ``window`` × ``window`` square around each pixel.

    Invalid pixels (NaN in either band, or a zero sum) are left out of every window; a pixel
    whose window holds fewer than two valid pixels, or that is invalid itself, is NaN.

    Args:
        red: ``(y, x)`` red reflectance (Sentinel-2 B04).
        nir: ``(y, x)`` near-infrared reflectance (B08).
        window: odd window size in pixels (:func:`texture_window`).

    Returns:
        ``(y, x)`` float64 texture (population standard deviation, as Earth Engine's
        ``Reducer.stdDev``).

    Raises:
        ValueError: bands of different shapes or a window that is not an odd number ≥ 1.
    """
    red = np.asarray(red, dtype=np.float64)
    nir = np.asarray(nir, dtype=np.float64)
    if red.shape != nir.shape or red.ndim != 2:
        raise ValueError(f"red {red.shape} and nir {nir.shape} must be one (y, x) grid")
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be an odd number of pixels; got {window}")
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (nir - red) / (nir + red)
    valid = np.isfinite(ndvi)
    # centred on the scene mean: the spread is unchanged and E[v²] − E[v]² loses no precision
    v = np.where(valid, ndvi - (ndvi[valid].mean() if valid.any() else 0.0), 0.0)
    count = ndimage.uniform_filter(valid.astype(np.float64), window, mode="constant")
    s1 = ndimage.uniform_filter(v, window, mode="constant")
    s2 = ndimage.uniform_filter(v * v, window, mode="constant")
    n = count * window * window
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / count
        var = np.clip(s2 / count - mean * mean, 0.0, None)
    return np.where(valid & (n > 1.5), np.sqrt(var), np.nan)


__all__ = ["ELC10_WINDOW_M", "ndvi_texture", "texture_window"]
