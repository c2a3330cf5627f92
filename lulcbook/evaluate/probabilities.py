"""Validation of class-probability arrays shared by the calibration and conformal metrics."""

from __future__ import annotations

from typing import overload

import numpy as np
from numpy.typing import ArrayLike


@overload
def check_probs(probs: ArrayLike, y: None = None) -> tuple[np.ndarray, None]: ...


@overload
def check_probs(probs: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...


def check_probs(
    probs: ArrayLike, y: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``probs`` as a float64 ``(n, C)`` array (and ``y`` as int64), validating shapes.

    Args:
        probs: ``(n, C)`` class probabilities, non-negative and summing to 1 per sample.
        y: ``(n,)`` class indices in ``[0, C)``, or ``None``.

    Returns:
        The probabilities and the labels (``None`` when ``y`` is ``None``).

    Raises:
        ValueError: for a wrong shape, non-finite or unnormalised probabilities, or labels
            outside ``[0, C)``.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be 2-D (n_samples, n_classes), got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("probs contain NaN or infinite values")
    if np.any(p < -1e-6) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("probs must be non-negative and sum to 1 over classes (axis 1)")
    if y is None:
        return p, None
    labels = np.asarray(y)
    if labels.shape != (p.shape[0],):
        raise ValueError(
            f"labels have shape {labels.shape}; expected ({p.shape[0]},) to match probs"
        )
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= p.shape[1]):
        raise ValueError(
            f"labels must lie in [0, {p.shape[1] - 1}], got {labels.min()}..{labels.max()}"
        )
    return p, labels
