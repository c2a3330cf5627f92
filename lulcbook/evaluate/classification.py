"""Classification accuracy: confusion and error matrices, overall accuracy, (macro-)F1.

The metrics follow the usual accuracy-assessment practice for land-cover maps (Olofsson et al.,
Remote Sensing of Environment 148, 2014): overall accuracy (OA), per-class and macro-averaged F1,
and the confusion matrix (rows = reference, columns = prediction); :func:`error_matrix` gives
the sample counts in the orientation of area estimation (rows = map).

Macro-F1 conventions. :func:`macro_f1` and :func:`classification_metrics` average the per-class
F1 over ``labels`` and score a class that has neither reference points nor predictions with
F1 = 0, so a fixed label set gives a fixed denominator: the convention of a single evaluation.
:func:`lulcbook.bootstrap.macro_f1_present` skips such a class instead, because in a bootstrap
resample a class can vanish by chance and scoring it 0 would bias the interval downwards. The
two agree whenever every class of ``labels`` occurs in the reference or the prediction (always
so with the default ``labels``: the classes of ``y_true``). In both, a prediction of a class
outside ``labels`` counts as a miss of its reference class.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lulcbook import legend


def _labels(y_true: np.ndarray, y_pred: np.ndarray, labels: Iterable[int] | None) -> np.ndarray:
    """The classes to evaluate: ``labels`` as an array, or the classes present in ``y_true``."""
    if labels is None:
        return np.unique(np.asarray(y_true))
    return np.asarray(list(labels))


def confusion(y_true: ArrayLike, y_pred: ArrayLike, labels: Iterable[int]) -> np.ndarray:
    """Confusion matrix ``(len(labels), len(labels))``: rows reference, columns prediction.

    Pairs whose reference or prediction is not in ``labels`` are not counted.

    Args:
        y_true: reference class indices.
        y_pred: predicted class indices.
        labels: the classes, in the order of the rows and columns.

    Returns:
        The integer count matrix.
    """
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    lab = np.asarray(list(labels))
    k = len(lab)
    order = np.argsort(lab)
    sorted_lab = lab[order]

    def index(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.clip(np.searchsorted(sorted_lab, v), 0, max(k - 1, 0))
        return order[pos], sorted_lab[pos] == v

    ti, tok = index(t)
    pi, pok = index(p)
    ok = tok & pok
    return np.bincount(ti[ok] * k + pi[ok], minlength=k * k).reshape(k, k)


def _per_class_f1(t: np.ndarray, p: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """F1 per class of ``lab``; a prediction outside ``lab`` still counts as a miss (FN)."""
    tp = np.array([np.sum((t == c) & (p == c)) for c in lab], dtype=float)
    fp = np.array([np.sum((t != c) & (p == c)) for c in lab], dtype=float)
    fn = np.array([np.sum((t == c) & (p != c)) for c in lab], dtype=float)
    denom = 2 * tp + fp + fn
    f1 = np.zeros_like(tp)
    np.divide(2 * tp, denom, out=f1, where=denom > 0)
    return f1


def overall_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of correctly classified points (NaN for no points)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(t == p)) if t.size else float("nan")


def macro_f1(y_true: ArrayLike, y_pred: ArrayLike, labels: Iterable[int] | None = None) -> float:
    """Unweighted mean of per-class F1 over ``labels`` (default: the classes in ``y_true``)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    lab = _labels(t, p, labels)
    if t.size == 0 or lab.size == 0:
        return float("nan")
    return float(_per_class_f1(t.ravel(), p.ravel(), lab).mean())


def classification_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    labels: Iterable[int] | None = None,
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """OA, macro-F1, per-class F1 and the confusion matrix.

    Args:
        y_true: reference class indices.
        y_pred: predicted class indices.
        labels: the classes to evaluate (default: those in ``y_true``); macro-F1 averages over
            them, so a class that is never predicted counts with F1 = 0.
        names: a name per label for ``per_class_f1`` (default: legend keys for legend indices).

    Returns:
        ``{"oa", "macro_f1", "per_class_f1": {name: f1}, "confusion": [[...]], "labels": [...],
        "n": count}``.

    Raises:
        ValueError: if the inputs differ in length or ``names`` does not match ``labels``.
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} differ in shape")
    lab = _labels(t, p, labels)
    if names is None:
        names = [legend.KEYS[int(v)] if 0 <= int(v) < legend.N_CLASSES else str(v) for v in lab]
    if len(names) != len(lab):
        raise ValueError(f"{len(names)} names for {len(lab)} labels")
    cm = confusion(t, p, lab)
    f1 = _per_class_f1(t.ravel(), p.ravel(), lab)
    return {
        "oa": overall_accuracy(t, p),
        "macro_f1": float(f1.mean()) if lab.size else float("nan"),
        "per_class_f1": {str(n): float(v) for n, v in zip(names, f1, strict=True)},
        "confusion": cm.tolist(),
        "labels": [int(v) for v in lab],
        "n": int(t.size),
    }


def error_matrix(map_labels: ArrayLike, ref_labels: ArrayLike, n_classes: int) -> np.ndarray:
    """Sample counts ``(C, C)``: ``[i, j]`` = samples mapped as class i with reference class j.

    Note the orientation: rows are the map (the strata), as in Olofsson et al. (2014), the
    transpose of :func:`confusion`.

    Raises:
        ValueError: for mismatched lengths or labels outside ``[0, n_classes)``.
    """
    m = np.asarray(map_labels, dtype=np.int64).ravel()
    r = np.asarray(ref_labels, dtype=np.int64).ravel()
    if m.shape != r.shape:
        raise ValueError(f"{m.size} map labels but {r.size} reference labels")
    for name, v in (("map", m), ("reference", r)):
        if v.size and (v.min() < 0 or v.max() >= n_classes):
            raise ValueError(
                f"{name} labels must lie in [0, {n_classes}), got {v.min()}..{v.max()}"
            )
    return np.bincount(m * n_classes + r, minlength=n_classes**2).reshape(n_classes, n_classes)
