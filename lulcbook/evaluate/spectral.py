"""Image and spectral similarity: RMSE, MAE, spectral angle (SAM), PSNR and SSIM.

The metrics score a translated or reconstructed reflectance against a reference: RMSE and MAE
in reflectance units, the spectral angle (SAM, Kruse et al. 1993) in degrees, PSNR in dB and the
structural similarity SSIM (Wang et al. 2004). NaN values are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def rmse(
    pred: np.ndarray, true: np.ndarray, axis: int | tuple[int, ...] | None = None
) -> float | np.ndarray:
    """Root-mean-square error (NaN ignored): a NumPy float, or an array with ``axis``."""
    sq = (np.asarray(pred, float) - np.asarray(true, float)) ** 2
    out: float | np.ndarray = np.sqrt(np.nanmean(sq, axis=axis))
    return out


def mae(
    pred: np.ndarray, true: np.ndarray, axis: int | tuple[int, ...] | None = None
) -> float | np.ndarray:
    """Mean absolute error (NaN ignored): a NumPy float, or an array with ``axis``."""
    out: float | np.ndarray = np.nanmean(
        np.abs(np.asarray(pred, float) - np.asarray(true, float)), axis=axis
    )
    return out


def spectral_angle(pred: np.ndarray, true: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spectral angle in degrees between spectra along ``axis`` (0 for identical directions).

    Spectra with a zero vector give NaN.
    """
    p, t = np.asarray(pred, float), np.asarray(true, float)
    dot = (p * t).sum(axis=axis)
    norm = np.sqrt((p * p).sum(axis=axis) * (t * t).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(norm > 0, dot / norm, np.nan)
    angle: np.ndarray = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return angle


def sam(pred: np.ndarray, true: np.ndarray, axis: int = -1) -> float:
    """Mean spectral angle (SAM) in degrees over all spectra."""
    return float(np.nanmean(spectral_angle(pred, true, axis)))


def psnr(pred: np.ndarray, true: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB for reflectance with peak ``data_range``."""
    err = float(np.nanmean((np.asarray(pred, float) - np.asarray(true, float)) ** 2))
    return float("inf") if err == 0 else float(10 * math.log10(data_range**2 / err))


def ssim(pred: np.ndarray, true: np.ndarray, data_range: float | Sequence[float] = 1.0) -> float:
    """Mean structural similarity (Wang et al. 2004) of image stacks ``(..., band, y, x)``.

    Computed per image and band with scikit-image (7 × 7 window) and averaged.
    ``data_range`` may be one value or one per band.
    """
    from skimage.metrics import structural_similarity

    p = np.asarray(pred, np.float64)
    t = np.asarray(true, np.float64)
    if p.shape != t.shape or p.ndim < 3:
        raise ValueError(
            f"ssim needs two (..., band, y, x) stacks of equal shape; got {p.shape}, {t.shape}"
        )
    n_band = p.shape[-3]
    ranges = np.broadcast_to(np.asarray(data_range, float), (n_band,))
    p = p.reshape(-1, n_band, *p.shape[-2:])
    t = t.reshape(-1, n_band, *t.shape[-2:])
    vals = [
        # scikit-image leaves structural_similarity unannotated
        structural_similarity(p[i, b], t[i, b], data_range=float(ranges[b]))  # type: ignore[no-untyped-call]
        for i in range(p.shape[0])
        for b in range(n_band)
    ]
    return float(np.mean(vals))


def spectral_metrics(pred: np.ndarray, true: np.ndarray, bands: Sequence[str]) -> dict[str, Any]:
    """RMSE, MAE, SAM overall and RMSE/MAE per band of spectra ``(n, band)``."""
    pred, true = np.asarray(pred), np.asarray(true)
    return {
        "rmse": float(rmse(pred, true)),
        "mae": float(mae(pred, true)),
        "sam": sam(pred, true, axis=-1),
        "per_band": {
            str(b): {
                "rmse": float(rmse(pred[:, i], true[:, i])),
                "mae": float(mae(pred[:, i], true[:, i])),
            }
            for i, b in enumerate(bands)
        },
    }


def image_metrics(
    pred: np.ndarray, true: np.ndarray, bands: Sequence[str], data_range: float = 1.0
) -> dict[str, Any]:
    """RMSE, MAE, SAM, PSNR and SSIM of image stacks ``(sample, band, y, x)`` plus per band."""
    pred, true = np.asarray(pred, np.float32), np.asarray(true, np.float32)
    per_band = {
        str(b): {
            "rmse": float(rmse(pred[:, i], true[:, i])),
            "mae": float(mae(pred[:, i], true[:, i])),
            "psnr": psnr(pred[:, i], true[:, i], data_range),
            "ssim": ssim(pred[:, i : i + 1], true[:, i : i + 1], data_range),
        }
        for i, b in enumerate(bands)
    }
    return {
        "rmse": float(rmse(pred, true)),
        "mae": float(mae(pred, true)),
        "sam": sam(pred, true, axis=1),
        "psnr": psnr(pred, true, data_range),
        "ssim": float(np.mean([v["ssim"] for v in per_band.values()])),
        "per_band": per_band,
    }
