"""SIMULATED Landsat-8 from Sentinel-2, and upsampling back to the 10 m grid.

:func:`simulate_landsat` makes Landsat-8-like 30 m reflectance from Sentinel-2 10 m reflectance:
the published HLS regression MSI → OLI (:mod:`lulcbook.harmonise`), a Gaussian point-spread
function (:func:`psf_sigma`) and block averaging (:func:`degrade`). :func:`bicubic_linear` is the
spatial baseline back to 10 m (bicubic upsampling plus the HLS OLI → MSI adjustment);
:func:`upsample_nearest` shows 30 m pixels on the 10 m grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from lulcbook.bands import DEFAULT_BANDS
from lulcbook.harmonise import hls_bandpass_array, hls_msi_to_oli_array


def psf_sigma(
    mtf_nyquist: float, gsd: float = 30.0, pixel: float = 10.0, detector: bool = True
) -> float:
    """Standard deviation (in ``pixel`` units) of a Gaussian PSF with a given MTF at Nyquist.

    A Gaussian PSF of standard deviation σ has ``MTF(f) = exp(−2π²σ²f²)``. The target is the
    system MTF at the Nyquist frequency ``f_N = 1/(2·gsd)``. With ``detector=True`` the
    box-shaped detector footprint (modelled afterwards by block averaging, MTF ``sinc(1/2) =
    2/π`` at Nyquist) is divided out, so Gaussian × detector reproduces ``mtf_nyquist``.

    Raises:
        ValueError: if ``mtf_nyquist`` is not in (0, 1) or the detector alone is below it.
    """
    if not 0 < mtf_nyquist < 1:
        raise ValueError(f"mtf_nyquist must be in (0, 1); got {mtf_nyquist}")
    target = mtf_nyquist / (2 / math.pi) if detector else mtf_nyquist
    if target >= 1:
        raise ValueError(
            f"mtf_nyquist {mtf_nyquist} exceeds the detector MTF at Nyquist ({2 / math.pi:.3f})"
        )
    f_n = 1.0 / (2.0 * gsd)
    sigma_m = math.sqrt(-math.log(target) / (2 * math.pi**2)) / f_n
    return sigma_m / pixel


def degrade(image: np.ndarray, factor: int = 3, sigma: float = 0.0) -> np.ndarray:
    """Blur the last two axes with a Gaussian PSF and average ``factor × factor`` blocks.

    The Gaussian uses mirror boundaries (``mode="reflect"``), which keeps the sum of every image,
    and block averaging keeps it too, so the mean reflectance of each image is preserved.

    Args:
        image: ``(..., y, x)`` with ``y`` and ``x`` divisible by ``factor``.
        factor: the resolution ratio (3 for 10 m → 30 m).
        sigma: PSF standard deviation in input pixels (0: no blur).

    Raises:
        ValueError: if the image size is not divisible by ``factor``.
    """
    img = np.asarray(image, np.float32)
    h, w = img.shape[-2:]
    if h % factor or w % factor:
        raise ValueError(f"Image size {(h, w)} is not divisible by factor {factor}; pad it first")
    if sigma > 0:
        sig = (0.0,) * (img.ndim - 2) + (sigma, sigma)
        img = ndimage.gaussian_filter(img, sig, mode="reflect", truncate=4.0)
    shape = (*img.shape[:-2], h // factor, factor, w // factor, factor)
    out: np.ndarray = img.reshape(shape).mean(axis=(-3, -1)).astype(np.float32)
    return out


def _pads(size: int, factor: int) -> tuple[int, int]:
    """Padding ``(before, after)`` that makes ``size`` a multiple of ``factor``, centred."""
    total = -size % factor
    return total // 2, total - total // 2


def simulate_landsat(
    s2: np.ndarray,
    bands: Sequence[str] = DEFAULT_BANDS,
    satellite: str = "S2A",
    mtf_nyquist: float = 0.3,
    factor: int = 3,
) -> tuple[np.ndarray, list[str]]:
    """SIMULATED Landsat-8-like 30 m reflectance from Sentinel-2 10 m reflectance.

    Steps: (1) spectral — the published HLS regression MSI → OLI (:data:`HLS_MSI_TO_OLI`; B08 via
    the B8A coefficients); (2) spatial — mirror-pad to a multiple of ``factor``, Gaussian PSF
    with the given system MTF at the 30 m Nyquist frequency (:func:`psf_sigma`), ``factor ×
    factor`` block averaging (:func:`degrade`). No sensor noise, no geometric or temporal
    mismatch and no atmosphere difference are simulated.

    Args:
        s2: ``(..., band, y, x)`` Sentinel-2 reflectance.
        bands: its band names.
        satellite: Sentinel-2 satellite of the HLS coefficients.
        mtf_nyquist: system MTF at the 30 m Nyquist frequency. The default 0.3 is an assumed
            value typical of push-broom imagers, not a calibrated OLI measurement (for OLI's
            on-orbit spatial performance see Storey et al. 2014, Remote Sensing 6:11127–11152).
        factor: resolution ratio.

    Returns:
        ``(..., oli_band, ceil(y/f), ceil(x/f))`` simulated OLI reflectance and its OLI band names.
    """
    s2 = np.asarray(s2, np.float32)
    oli, names = hls_msi_to_oli_array(s2, bands, satellite, axis=s2.ndim - 3)
    (t, b), (lft, r) = _pads(oli.shape[-2], factor), _pads(oli.shape[-1], factor)
    pad = [(0, 0)] * (oli.ndim - 2) + [(t, b), (lft, r)]
    oli = np.pad(oli, pad, mode="symmetric")
    return degrade(oli, factor, psf_sigma(mtf_nyquist, gsd=10.0 * factor)), names


def upsample_bicubic(lowres: np.ndarray, shape: tuple[int, int], factor: int = 3) -> np.ndarray:
    """Bicubic upsampling ``(..., Y, X)`` → ``(..., *shape)``, undoing :func:`simulate_landsat`'s padding.

    NaN pixels are filled with the image mean for the interpolation and set back to NaN on
    their ``factor × factor`` footprint.
    """
    lr = np.asarray(lowres, np.float32)
    lead = lr.shape[:-2]
    flat = lr.reshape(-1, 1, *lr.shape[-2:])
    nan = ~np.isfinite(flat)
    if nan.any():
        with np.errstate(invalid="ignore"):
            total = np.where(nan, 0.0, flat).sum(axis=(2, 3), keepdims=True)
            fill = np.nan_to_num(total / (~nan).sum(axis=(2, 3), keepdims=True))
        flat = np.where(nan, fill, flat).astype(np.float32)
    up = F.interpolate(
        torch.as_tensor(flat), scale_factor=factor, mode="bicubic", align_corners=False
    ).numpy()
    if nan.any():
        up[np.repeat(np.repeat(nan, factor, axis=2), factor, axis=3)] = np.nan
    (t, _), (lft, _) = _pads(shape[0], factor), _pads(shape[1], factor)
    up = up[:, :, t : t + shape[0], lft : lft + shape[1]]
    return up.reshape(*lead, *shape).astype(np.float32)


def bicubic_linear(
    oli_lowres: np.ndarray,
    oli_bands: Sequence[str],
    shape: tuple[int, int],
    bands: Sequence[str] = DEFAULT_BANDS,
    satellite: str = "S2A",
    factor: int = 3,
) -> np.ndarray:
    """The spatial baseline: bicubic upsampling to 10 m plus the HLS OLI → MSI adjustment."""
    up = upsample_bicubic(oli_lowres, shape, factor)
    return hls_bandpass_array(up, oli_bands, bands, satellite, axis=up.ndim - 3)


def upsample_nearest(lowres: np.ndarray, shape: tuple[int, int], factor: int = 3) -> np.ndarray:
    """Nearest-neighbour upsampling (to show 30 m pixels on the 10 m grid), padding undone."""
    up = np.repeat(np.repeat(np.asarray(lowres), factor, axis=-2), factor, axis=-1)
    (t, _), (lft, _) = _pads(shape[0], factor), _pads(shape[1], factor)
    return up[..., t : t + shape[0], lft : lft + shape[1]]


__all__ = [
    "bicubic_linear",
    "degrade",
    "psf_sigma",
    "simulate_landsat",
    "upsample_bicubic",
    "upsample_nearest",
]
