"""Calibration of class probabilities: reliability diagram, ECE, NLL, Brier score, AUROC.

Probabilistic scores follow Guo et al. (2017) "On calibration of modern neural networks" (ECE,
reliability diagrams); :func:`misclassification_auroc` scores an uncertainty measure by how well
it separates misclassified from correct samples.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from lulcbook.evaluate.probabilities import check_probs


def reliability_diagram(
    probs: ArrayLike, y_true: ArrayLike, n_bins: int = 15
) -> dict[str, np.ndarray]:
    """Data for a reliability diagram with ``n_bins`` equal-width confidence bins.

    The confidence of a sample is its top-class probability; bins are
    ``(lo, hi]`` over [0, 1] (the first bin also holds confidence 0).

    Args:
        probs: (n, C) class probabilities.
        y_true: (n,) true class indices.
        n_bins: number of equal-width bins.

    Returns:
        ``bin_lower``, ``bin_upper`` (bin edges), ``confidence`` (mean confidence),
        ``accuracy`` (fraction correct; NaN for empty bins) and ``count`` per bin.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    p, y = check_probs(probs, y_true)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        acc = np.bincount(idx, weights=correct, minlength=n_bins) / count
    return {
        "bin_lower": edges[:-1],
        "bin_upper": edges[1:],
        "confidence": mean_conf,
        "accuracy": acc,
        "count": count,
    }


def expected_calibration_error(probs: ArrayLike, y_true: ArrayLike, n_bins: int = 15) -> float:
    """Expected calibration error (Guo et al. 2017) with equal-width confidence bins.

    ``ECE = sum_b (n_b / n) * |acc_b - conf_b|`` over the non-empty bins.
    """
    rd = reliability_diagram(probs, y_true, n_bins)
    n = rd["count"].sum()
    if n == 0:
        return float("nan")
    full = rd["count"] > 0
    gap = np.abs(rd["accuracy"][full] - rd["confidence"][full])
    return float(np.sum(rd["count"][full] / n * gap))


def negative_log_likelihood(probs: ArrayLike, y_true: ArrayLike, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood ``-mean(log p_y)`` (probabilities clipped at ``eps``)."""
    p, y = check_probs(probs, y_true)
    if p.shape[0] == 0:
        return float("nan")
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], eps, 1.0))))


def brier_score(probs: ArrayLike, y_true: ArrayLike) -> float:
    """Multi-class Brier score: mean over samples of ``sum_k (p_k - 1[y = k])^2`` (0 … 2)."""
    p, y = check_probs(probs, y_true)
    if p.shape[0] == 0:
        return float("nan")
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def misclassification_auroc(uncertainty: ArrayLike, y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """AUROC of an uncertainty score for telling misclassified from correct samples.

    The misclassified samples are the positives; the score is the probability
    that a random misclassified sample is more uncertain than a random correct one
    (ties count one half; Mann-Whitney U / (n_pos n_neg)).

    Returns:
        The AUROC, or NaN when all samples are correct or all are wrong.
    """
    u = np.asarray(uncertainty, dtype=np.float64).ravel()
    wrong = np.asarray(y_true).ravel() != np.asarray(y_pred).ravel()
    if not (u.shape == wrong.shape):
        raise ValueError(f"uncertainty has {u.size} values but labels have {wrong.size}")
    n_pos, n_neg = int(wrong.sum()), int((~wrong).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(u)
    u_stat = ranks[wrong].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u_stat / (n_pos * n_neg))
