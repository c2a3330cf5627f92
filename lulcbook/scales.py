"""Scene-scale and field-scale parts of an image: a Gaussian low-pass that skips masked pixels.

Haze, thin cloud and errors of the atmospheric correction vary smoothly over kilometres; a
mown meadow, a harvested field or a new building changes one parcel of a hectare or a few.
Smoothing the difference between two dates with a Gaussian of a few hundred metres to a
kilometre (:func:`masked_gaussian`) keeps the first kind and removes most of the second, so
the smoothed difference bounds what any correction of the atmosphere can change.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def sigma_pixels(sigma_m: float, pixel_m: float) -> float:
    """A Gaussian width in metres as a width in pixels.

    Raises:
        ValueError: a width or pixel size that is not positive.
    """
    if not (sigma_m > 0 and pixel_m > 0):
        raise ValueError(f"width and pixel size must be positive; got {sigma_m}, {pixel_m}")
    return sigma_m / pixel_m


def masked_gaussian(values: np.ndarray, valid: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian low-pass of a ``(y, x)`` image over its valid pixels (normalised convolution).

    Each output is the Gaussian-weighted mean of the valid pixels around it, so masked pixels
    (clouds, nodata) neither pull the mean to zero nor spread NaN. Pixels with no valid pixel
    within reach of the kernel are NaN.

    Args:
        values: ``(y, x)`` image; values at invalid pixels are ignored.
        valid: ``(y, x)`` boolean mask of the pixels to use.
        sigma_px: Gaussian standard deviation in pixels (:func:`sigma_pixels`).

    Raises:
        ValueError: arrays of different shapes, not two-dimensional, or ``sigma_px`` ≤ 0.
    """
    values = np.asarray(values, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    if values.ndim != 2 or values.shape != valid.shape:
        raise ValueError(f"values {values.shape} and mask {valid.shape} must be one 2-D grid")
    if not sigma_px > 0:
        raise ValueError(f"sigma_px must be positive; got {sigma_px}")
    use = valid & np.isfinite(values)
    num = ndimage.gaussian_filter(np.where(use, values, 0.0), sigma_px, mode="constant")
    den = ndimage.gaussian_filter(use.astype(np.float64), sigma_px, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(den > 1e-9, num / den, np.nan)
    return out
