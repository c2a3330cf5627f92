"""Pixel-based baselines trained from the same sparse point labels as the superpixel GNNs.

* A random forest (Breiman, Machine Learning 2001) on the spectrum of the labelled pixel only.
* :class:`PixelCNN`: a small fully-convolutional U-Net (Ronneberger et al., MICCAI 2015) that
  predicts every pixel of a patch but is trained with the single-pixel (partial) cross-entropy
  at the labelled pixel; ``norm`` as the GNNs (``"batch" | "none" | "cond"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.ensemble import RandomForestClassifier
from torch import Tensor, nn

from lulcbook.models.gnn import NORMS, apply_norm, make_norm


def labelled_spectra(
    reflectance: np.ndarray, point_y: np.ndarray, point_x: np.ndarray
) -> np.ndarray:
    """Spectra ``(n, band)`` of the labelled pixel of every patch ``(n, band, y, x)``.

    Raises:
        ValueError: if the array is not 4-D or a point lies outside the patches.
    """
    refl = np.asarray(reflectance)
    if refl.ndim != 4:
        raise ValueError(f"reflectance must be (sample, band, y, x); got shape {refl.shape}")
    py, px = np.asarray(point_y, dtype=int), np.asarray(point_x, dtype=int)
    if (
        (py < 0).any()
        or (py >= refl.shape[2]).any()
        or (px < 0).any()
        or (px >= refl.shape[3]).any()
    ):
        raise ValueError(f"Labelled points outside the {refl.shape[2:]} patches")
    return refl[np.arange(refl.shape[0]), :, py, px].astype(np.float32)


def fit_rf(
    X: np.ndarray,
    y: np.ndarray,
    n_estimators: int = 200,
    max_depth: int | None = None,
    min_samples_leaf: int = 1,
    class_weight: str | None = "balanced",
    seed: int = 0,
) -> RandomForestClassifier:
    """Fit a random forest on per-pixel spectra ``X (n, band)`` with labels ``y (n,)``.

    Raises:
        ValueError: if ``X`` contains NaN.
    """
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN; drop or fill invalid pixels before fitting")
    rf = RandomForestClassifier(
        n_estimators=n_estimators,
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        class_weight=class_weight,
        random_state=seed,
        n_jobs=1,
    )
    return rf.fit(X, y)


def rf_proba(rf: RandomForestClassifier, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Random-forest probabilities ``(n, n_classes)`` aligned to legend indices ``0..n_classes-1``."""
    out = np.zeros((X.shape[0], n_classes), dtype=np.float32)
    out[:, rf.classes_.astype(int)] = rf.predict_proba(X)
    return out


def rf_predict_image(
    rf: RandomForestClassifier, image: np.ndarray, nodata: int = 255
) -> np.ndarray:
    """Classify every pixel of ``image (band, y, x)``; ``nodata`` where a band is NaN."""
    b, h, w = image.shape
    flat = image.reshape(b, -1).T
    valid = np.isfinite(flat).all(axis=1)
    out = np.full(h * w, nodata, dtype=np.uint8)
    if valid.any():
        out[valid] = rf.predict(flat[valid]).astype(np.uint8)
    return out.reshape(h, w)


class _ConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int, norm: str, cond_dim: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=norm == "none")
        self.norm = make_norm(norm, cout, cond_dim, spatial=True)
        self.drop = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor, cond: Tensor | None) -> Tensor:
        result: Tensor = self.drop(F.relu(apply_norm(self.norm, self.conv(x), cond)))
        return result


class PixelCNN(nn.Module):
    """A small U-Net for dense per-pixel logits, trained with a single-pixel loss.

    Args:
        in_ch: input bands.
        n_classes: output classes.
        hidden: channels of the first level (doubled at each lower level).
        depth: number of 2× down-sampling levels (0: a plain fully-convolutional net).
        dropout: channel dropout after every block (also used for MC dropout).
        norm: ``"batch"``, ``"none"`` or ``"cond"`` (climate-conditional, ``cond (B, cond_dim)``).
        cond_dim: width of the standardised climate vector for ``norm="cond"``.

    ``forward(x (B, band, H, W), cond=None) -> (B, n_classes, H, W)``; ``H`` and ``W`` must be
    divisible by ``2**depth``.
    """

    def __init__(
        self,
        in_ch: int,
        n_classes: int = 8,
        hidden: int = 16,
        depth: int = 2,
        dropout: float = 0.1,
        norm: str = "batch",
        cond_dim: int = 0,
    ) -> None:
        """Build the layers; the arguments are described in the class docstring."""
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"Unknown norm {norm!r}; expected one of {NORMS}")
        self.in_ch, self.n_classes, self.depth = in_ch, n_classes, depth
        self.uses_cond = norm == "cond"
        widths = [hidden * 2**i for i in range(depth + 1)]
        self.inc = _ConvBlock(in_ch, widths[0], norm, cond_dim, dropout)
        self.down = nn.ModuleList(
            _ConvBlock(widths[i], widths[i + 1], norm, cond_dim, dropout) for i in range(depth)
        )
        self.up = nn.ModuleList(
            _ConvBlock(widths[i + 1] + widths[i], widths[i], norm, cond_dim, dropout)
            for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], n_classes, 1)

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        """Dense logits ``(B, n_classes, H, W)``.

        Raises:
            ValueError: for a wrong band count, a size not divisible by ``2**depth``, or a
                missing ``cond`` with ``norm="cond"``.
        """
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise ValueError(f"x must be (B, {self.in_ch}, H, W); got {tuple(x.shape)}")
        f = 2**self.depth
        if x.shape[2] % f or x.shape[3] % f:
            raise ValueError(f"H and W must be divisible by {f}; got {tuple(x.shape[2:])}")
        if self.uses_cond and cond is None:
            raise ValueError("norm='cond' needs cond (B, cond_dim)")
        h = self.inc(x, cond)
        skips = []
        for block in self.down:
            skips.append(h)
            h = block(F.max_pool2d(h, 2), cond)
        for block in self.up:
            s = skips.pop()
            h = F.interpolate(h, size=s.shape[2:], mode="bilinear", align_corners=False)
            h = block(torch.cat([s, h], dim=1), cond)
        result: Tensor = self.head(h)
        return result


def band_stats(reflectance: np.ndarray) -> dict[str, Any]:
    """Per-band mean and std of ``(n, band, y, x)`` (NaN ignored) for input standardisation."""
    mean = np.nanmean(reflectance, axis=(0, 2, 3))
    std = np.nanstd(reflectance, axis=(0, 2, 3))
    return {"mean": mean.astype(np.float32), "std": np.where(std > 0, std, 1).astype(np.float32)}


def standardise_bands(reflectance: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    """Standardise ``(n, band, y, x)`` or ``(band, y, x)`` with :func:`band_stats`; NaN → 0."""
    arr = np.asarray(reflectance, dtype=np.float32)
    shape = (-1, 1, 1) if arr.ndim == 3 else (1, -1, 1, 1)
    z = (arr - stats["mean"].reshape(shape)) / stats["std"].reshape(shape)
    result: np.ndarray = np.nan_to_num(z, nan=0.0).astype(np.float32)
    return result
