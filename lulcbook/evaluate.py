"""Evaluation: classification metrics with bootstrap confidence intervals, map fragmentation.

Classification metrics follow the usual accuracy-assessment practice for land-cover maps
(Olofsson et al., Remote Sensing of Environment 148, 2014): overall accuracy (OA), per-class
and macro-averaged F1, and the confusion matrix (rows = reference, columns = prediction).
Confidence intervals are percentile bootstrap intervals over the evaluation points
(Efron & Tibshirani 1993). Fragmentation uses the FRAGSTATS landscape metrics edge density and
patch density (McGarigal & Marks 1995).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, overload

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage

from lulcbook import legend

METRICS: tuple[str, ...] = ("oa", "macro_f1")


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


def bootstrap_ci(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    metric: str | Callable[[np.ndarray, np.ndarray], float] = "macro_f1",
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    labels: Iterable[int] | None = None,
) -> tuple[float, float]:
    """Percentile bootstrap ``(1 - alpha)`` confidence interval of a metric over the points.

    Args:
        y_true: reference class indices.
        y_pred: predicted class indices.
        metric: ``"oa"``, ``"macro_f1"`` or a callable ``f(y_true, y_pred) -> float``.
        n_boot: bootstrap resamples (points drawn with replacement).
        seed: random seed.
        alpha: 0.05 gives the 95 % interval.
        labels: classes for macro-F1 (default: those in the full ``y_true``, fixed for every
            resample so that resamples missing a class are penalised consistently).

    Raises:
        ValueError: for an unknown metric name or empty input.

    Returns:
        ``(lower, upper)`` percentiles of the resampled metric (NaN resamples are ignored).
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.size == 0:
        raise ValueError("bootstrap_ci needs at least one point")
    if isinstance(metric, str):
        if metric == "oa":
            fn: Callable[[np.ndarray, np.ndarray], float] = overall_accuracy
        elif metric == "macro_f1":
            lab = _labels(t, p, labels)

            def fn(a: np.ndarray, b: np.ndarray) -> float:
                return macro_f1(a, b, lab)
        else:
            raise ValueError(f"Unknown metric {metric!r}; expected one of {METRICS} or a callable")
    else:
        fn = metric
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, t.size, size=(n_boot, t.size))
    stats = np.array([fn(t[i], p[i]) for i in idx], dtype=float)
    lo, hi = np.nanpercentile(stats, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(lo), float(hi)


def fragmentation(
    label_map: np.ndarray, pixel_size: float = 10.0, nodata: int = legend.NODATA
) -> dict[str, float]:
    """FRAGSTATS edge density and patch density of a classified map (or a stack of maps).

    Edges are the 4-neighbour pixel boundaries between different classes inside the map
    (the map border is not counted; boundaries next to ``nodata`` are not counted). Patches are
    8-connected regions of one class. Both are normalised by the valid area.

    Args:
        label_map: ``(y, x)`` or ``(n, y, x)`` class indices; stacks are summed over maps.
        pixel_size: pixel side in metres.
        nodata: value of unclassified pixels.

    Returns:
        ``{"edge_density": metres of edge per hectare, "patch_density": patches per 100 ha}``.

    Raises:
        ValueError: if ``label_map`` is not 2-D or 3-D.
    """
    arr = np.asarray(label_map)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"label_map must be (y, x) or (n, y, x); got shape {arr.shape}")
    valid = arr != nodata
    h_diff = (arr[:, :, 1:] != arr[:, :, :-1]) & valid[:, :, 1:] & valid[:, :, :-1]
    v_diff = (arr[:, 1:, :] != arr[:, :-1, :]) & valid[:, 1:, :] & valid[:, :-1, :]
    edge_m = float(h_diff.sum() + v_diff.sum()) * pixel_size
    area_ha = float(valid.sum()) * pixel_size**2 / 1e4
    n_patches = 0
    structure = np.ones((3, 3), dtype=bool)
    for m, v in zip(arr, valid, strict=True):
        for c in np.unique(m[v]):
            _, n = ndimage.label((m == c) & v, structure=structure)
            n_patches += n
    if area_ha == 0:
        return {"edge_density": float("nan"), "patch_density": float("nan")}
    return {"edge_density": edge_m / area_ha, "patch_density": n_patches / area_ha * 100}


class FoldPredictions(Protocol):
    """What :func:`compare_models` reads from a fold result (e.g. ``train.FoldResult``)."""

    @property
    def model(self) -> str:
        """Name of the model."""

    @property
    def y_true(self) -> np.ndarray:
        """Reference classes at the evaluation points."""

    @property
    def y_pred(self) -> np.ndarray:
        """Predicted classes at the evaluation points."""

    @property
    def maps(self) -> np.ndarray:
        """Predicted class maps ``(n, y, x)`` of the held-out patches."""


def compare_models(
    results: Sequence[FoldPredictions],
    labels: Iterable[int] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    pixel_size: float = 10.0,
) -> dict[str, dict[str, Any]]:
    """Pool fold results per model and summarise them (the ``models`` block of a metrics file).

    Args:
        results: objects with ``model``, ``y_true``, ``y_pred`` and ``maps`` attributes (e.g.
            :class:`lulcbook.train.FoldResult`), several folds per model.
        labels: classes for macro-F1 (default: every class in the pooled reference).
        n_boot: bootstrap resamples for the 95 % intervals.
        seed: bootstrap seed.
        pixel_size: map pixel size in metres (fragmentation).

    Returns:
        ``{model: {"oa", "macro_f1", "macro_f1_ci95", "oa_ci95", "per_class_f1", "confusion",
        "edge_density", "patch_density", "n"}}``, models in first-seen order.
    """
    names = list(dict.fromkeys(r.model for r in results))
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        rs = [r for r in results if r.model == name]
        t = np.concatenate([r.y_true for r in rs])
        p = np.concatenate([r.y_pred for r in rs])
        lab = np.unique(t) if labels is None else np.asarray(list(labels))
        m = classification_metrics(t, p, lab)
        frag = fragmentation(np.concatenate([r.maps for r in rs]), pixel_size)
        out[name] = {
            "oa": m["oa"],
            "macro_f1": m["macro_f1"],
            "macro_f1_ci95": list(bootstrap_ci(t, p, "macro_f1", n_boot, seed, labels=lab)),
            "oa_ci95": list(bootstrap_ci(t, p, "oa", n_boot, seed)),
            "per_class_f1": m["per_class_f1"],
            "confusion": m["confusion"],
            "edge_density": frag["edge_density"],
            "patch_density": frag["patch_density"],
            "n": m["n"],
        }
    return out


def paired_bootstrap_diff(
    y_true: ArrayLike,
    pred_a: ArrayLike,
    pred_b: ArrayLike,
    metric: str = "macro_f1",
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    labels: Iterable[int] | None = None,
) -> dict[str, float]:
    """Difference ``metric(a) - metric(b)`` on the same points with a paired bootstrap interval.

    Both predictions are resampled with the same point indices, so the interval reflects the
    difference between the models rather than the sampling of the points.

    Args:
        y_true: reference class indices.
        pred_a: predictions of model ``a``.
        pred_b: predictions of model ``b``.
        metric: ``"oa"`` or ``"macro_f1"``.
        n_boot: bootstrap resamples.
        seed: random seed.
        alpha: 0.05 gives the 95 % interval.
        labels: classes for macro-F1 (default: those in ``y_true``).

    Returns:
        ``{"diff", "ci95_lo", "ci95_hi", "p_better"}`` where ``p_better`` is the fraction of
        resamples in which ``a`` scores higher than ``b``.

    Raises:
        ValueError: for an unknown metric or inputs of different lengths.
    """
    t, a, b = (np.asarray(v) for v in (y_true, pred_a, pred_b))
    if not (t.shape == a.shape == b.shape):
        raise ValueError(f"Inputs differ in shape: {t.shape}, {a.shape}, {b.shape}")
    lab = _labels(t, a, labels)
    if metric == "oa":

        def fn(tt: np.ndarray, pp: np.ndarray) -> float:
            return overall_accuracy(tt, pp)
    elif metric == "macro_f1":

        def fn(tt: np.ndarray, pp: np.ndarray) -> float:
            return macro_f1(tt, pp, lab)
    else:
        raise ValueError(f"Unknown metric {metric!r}; expected one of {METRICS}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, t.size, size=(n_boot, t.size))
    diffs = np.array([fn(t[i], a[i]) - fn(t[i], b[i]) for i in idx])
    lo, hi = np.percentile(diffs, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return {
        "diff": fn(t, a) - fn(t, b),
        "ci95_lo": float(lo),
        "ci95_hi": float(hi),
        "p_better": float((diffs > 0).mean()),
    }


# ---------------------------------------------------------------------------
# Calibration, conformal prediction and area estimation
# ---------------------------------------------------------------------------
# Probabilistic scores follow Guo et al. (2017) "On calibration of modern neural
# networks" (ECE, reliability diagrams); split-conformal sets follow Angelopoulos &
# Bates (2023) "Conformal prediction: a gentle introduction" (LAC and APS scores);
# the stratified area estimator follows Olofsson et al. (2014) "Good practices for
# estimating area and assessing accuracy of land change", Remote Sensing of
# Environment 148, 42-57, doi:10.1016/j.rse.2014.02.015.

CONFORMAL_METHODS: tuple[str, ...] = ("lac", "aps")
"""Split-conformal non-conformity scores: least ambiguous set-valued classifier
(LAC, ``1 - p_y``) and adaptive prediction sets (APS, cumulative sorted mass)."""


@overload
def _check_probs(probs: ArrayLike, y: None = None) -> tuple[np.ndarray, None]: ...


@overload
def _check_probs(probs: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...


def _check_probs(
    probs: ArrayLike, y: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``probs`` as a float64 (n, C) array (and ``y`` as int64), validating shapes."""
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
    p, y = _check_probs(probs, y_true)
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
    p, y = _check_probs(probs, y_true)
    if p.shape[0] == 0:
        return float("nan")
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], eps, 1.0))))


def brier_score(probs: ArrayLike, y_true: ArrayLike) -> float:
    """Multi-class Brier score: mean over samples of ``sum_k (p_k - 1[y = k])^2`` (0 … 2)."""
    p, y = _check_probs(probs, y_true)
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


def _conformal_scores_all(probs: np.ndarray, method: str) -> np.ndarray:
    """Non-conformity score of every (sample, class) pair: (n, C)."""
    if method == "lac":
        return 1.0 - probs
    if method == "aps":
        # cumulative mass of the classes ranked at or above class k (non-randomised APS;
        # ties are broken by class order, the same way for calibration and test)
        order = np.argsort(-probs, axis=1, kind="stable")
        cum = np.cumsum(np.take_along_axis(probs, order, axis=1), axis=1)
        scores = np.empty_like(probs)
        np.put_along_axis(scores, order, cum, axis=1)
        return scores
    raise ValueError(f"Unknown conformal method {method!r}; expected one of {CONFORMAL_METHODS}")


def conformal_quantile(
    cal_probs: ArrayLike, cal_y: ArrayLike, level: float = 0.9, method: str = "lac"
) -> float:
    """Split-conformal threshold from a calibration set.

    The threshold is the ``ceil((n + 1) * level)``-th smallest calibration score
    (the finite-sample corrected quantile), so that sets built with it contain the
    true class with probability at least ``level`` for exchangeable data. When
    ``ceil((n + 1) * level) > n`` the threshold is infinite (every class is kept).

    Args:
        cal_probs: (n, C) calibration probabilities.
        cal_y: (n,) calibration labels.
        level: target coverage ``1 - alpha`` in (0, 1).
        method: ``"lac"`` or ``"aps"``.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    p, y = _check_probs(cal_probs, cal_y)
    scores = np.sort(_conformal_scores_all(p, method)[np.arange(len(y)), y])
    n = len(scores)
    k = int(np.ceil((n + 1) * level - 1e-9))
    if n == 0 or k > n:
        return float("inf")
    return float(scores[k - 1])


def conformal_sets(probs: ArrayLike, qhat: float, method: str = "lac") -> np.ndarray:
    """Boolean (n, C) prediction sets: class k is in the set if its score is <= ``qhat``."""
    p, _ = _check_probs(probs)
    return _conformal_scores_all(p, method) <= qhat + 1e-12


def split_conformal(
    cal_probs: ArrayLike,
    cal_y: ArrayLike,
    test_probs: ArrayLike,
    test_y: ArrayLike,
    level: float = 0.9,
    method: str = "lac",
) -> dict[str, Any]:
    """Calibrate split-conformal sets and evaluate them on a test set.

    Returns:
        ``level``, ``method``, ``qhat``, ``coverage`` (fraction of test samples
        whose true class is in the set), ``set_size`` (mean set size),
        ``empty_fraction`` and the boolean ``sets`` (n_test, C).
    """
    qhat = conformal_quantile(cal_probs, cal_y, level, method)
    _, y = _check_probs(test_probs, test_y)
    sets = conformal_sets(test_probs, qhat, method)
    covered = sets[np.arange(len(y)), y] if len(y) else np.zeros(0, bool)
    size = sets.sum(axis=1)
    return {
        "level": level,
        "method": method,
        "qhat": qhat,
        "coverage": float(covered.mean()) if len(y) else float("nan"),
        "set_size": float(size.mean()) if len(y) else float("nan"),
        "empty_fraction": float((size == 0).mean()) if len(y) else float("nan"),
        "sets": sets,
    }


class AreaEstimate:
    """Result of :func:`stratified_area_estimate` (Olofsson et al. 2014).

    Per-class arrays (length C, class order of the error matrix) and overall
    scalars; every field is reachable as an attribute and by name
    (``est.area`` or ``est["area"]``). Areas are in the unit of ``mapped_area``.

    Attributes:
        area, area_se: estimated area of each reference class and its standard error.
        users_accuracy, users_accuracy_se: user's accuracy of each map class and its SE.
        producers_accuracy, producers_accuracy_se: producer's accuracy and its SE.
        overall_accuracy, overall_accuracy_se: overall accuracy and its SE.
        proportions: estimated area proportions ``p_ij`` (C, C), rows map, columns reference.
        mapped_area: the mapped area of each class (input).
    """

    area: np.ndarray
    area_se: np.ndarray
    users_accuracy: np.ndarray
    users_accuracy_se: np.ndarray
    producers_accuracy: np.ndarray
    producers_accuracy_se: np.ndarray
    overall_accuracy: float
    overall_accuracy_se: float
    proportions: np.ndarray
    mapped_area: np.ndarray

    FIELDS: tuple[str, ...] = (
        "area",
        "area_se",
        "users_accuracy",
        "users_accuracy_se",
        "producers_accuracy",
        "producers_accuracy_se",
        "overall_accuracy",
        "overall_accuracy_se",
        "proportions",
        "mapped_area",
    )

    def __init__(self, **values: Any) -> None:
        """Set every field of :attr:`FIELDS` from ``values``.

        Args:
            **values: one value per name in :attr:`FIELDS`.

        Raises:
            TypeError: if a field is missing or an unknown one is given.
        """
        if set(values) != set(self.FIELDS):
            raise TypeError(f"AreaEstimate needs exactly {self.FIELDS}, got {sorted(values)}")
        for name in self.FIELDS:
            setattr(self, name, values[name])

    def __repr__(self) -> str:
        """Areas, their SEs and the overall accuracy."""
        return (
            f"AreaEstimate(area={self.area}, area_se={self.area_se}, "
            f"overall_accuracy={self.overall_accuracy:.4f})"
        )

    def keys(self) -> tuple[str, ...]:
        """Names of the fields (so ``dict(est)``-style access works)."""
        return self.FIELDS

    def __getitem__(self, name: str) -> Any:
        """The field ``name``.

        Raises:
            KeyError: if ``name`` is not a field.
        """
        if name not in self.FIELDS:
            raise KeyError(f"{name!r} is not a field of AreaEstimate")
        return getattr(self, name)

    def ci95(self, name: str = "area") -> tuple[np.ndarray, np.ndarray]:
        """Normal-approximation 95% interval ``value ± 1.96 SE`` of ``name``."""
        value, se = np.asarray(self[name]), np.asarray(self[f"{name}_se"])
        return value - 1.96 * se, value + 1.96 * se

    def to_dict(self, class_names: Iterable[object] | None = None) -> dict[str, Any]:
        """JSON-ready summary; per-class values keyed by ``class_names`` when given."""
        names = list(class_names) if class_names is not None else list(range(len(self.area)))
        if len(names) != len(self.area):
            raise ValueError(f"{len(names)} class names for {len(self.area)} classes")
        per_class = {}
        for k, name in enumerate(names):
            lo, hi = (v[k] for v in self.ci95("area"))
            per_class[str(name)] = {
                "mapped_area": float(self.mapped_area[k]),
                "area": float(self.area[k]),
                "area_se": float(self.area_se[k]),
                "area_ci95": [float(lo), float(hi)],
                "users_accuracy": float(self.users_accuracy[k]),
                "users_accuracy_se": float(self.users_accuracy_se[k]),
                "producers_accuracy": float(self.producers_accuracy[k]),
                "producers_accuracy_se": float(self.producers_accuracy_se[k]),
            }
        oa_lo, oa_hi = self.ci95("overall_accuracy")
        return {
            "overall_accuracy": float(self.overall_accuracy),
            "overall_accuracy_se": float(self.overall_accuracy_se),
            "overall_accuracy_ci95": [float(oa_lo), float(oa_hi)],
            "classes": per_class,
        }


def stratified_area_estimate(counts: ArrayLike, mapped_area: ArrayLike) -> AreaEstimate:
    """Good-practice stratified estimator of class area and accuracy (Olofsson et al. 2014).

    The map classes are the strata of a stratified random sample. With
    ``n_ij = counts[i][j]`` (samples mapped as class i with reference class j),
    ``n_i. = sum_j n_ij``, ``A_i = mapped_area[i]``, ``A = sum_i A_i`` and the
    stratum weight ``W_i = A_i / A``:

    * area proportion ``p_ij = W_i n_ij / n_i.``; ``p_.j = sum_i p_ij``
    * area ``A_j = A p_.j`` with ``SE(p_.j)^2 = sum_i W_i^2 f_ij (1 - f_ij) / (n_i. - 1)``,
      ``f_ij = n_ij / n_i.``, ``SE(A_j) = A SE(p_.j)``
    * overall accuracy ``O = sum_j p_jj``, ``V(O) = sum_i W_i^2 U_i (1 - U_i) / (n_i. - 1)``
    * user's accuracy ``U_i = n_ii / n_i.``, ``V(U_i) = U_i (1 - U_i) / (n_i. - 1)``
    * producer's accuracy ``P_j = p_jj / p_.j`` with
      ``V(P_j) = [A_j^2 (1-P_j)^2 U_j (1-U_j)/(n_j.-1)
      + P_j^2 sum_{i != j} A_i^2 f_ij (1-f_ij)/(n_i.-1)] / Â_.j^2``,
      ``Â_.j = sum_i A_i f_ij`` (areas in place of pixel counts; the ratio is the same).

    Rules for degenerate classes (never crash; NaN means "not estimable"):

    * A stratum with ``mapped_area == 0`` has weight 0 and contributes nothing to
      the areas, OA or PA (samples in it still give its user's accuracy).
    * A stratum with ``mapped_area > 0`` but no samples (``n_i. = 0``): its
      composition is unknown, so the areas, PA and OA (and their SEs) that depend
      on it are NaN for every class (a ``RuntimeWarning`` names the stratum); its UA is NaN.
    * A class never observed in the reference sample has estimated area 0 with SE 0
      and NaN producer's accuracy (0/0).
    * A stratum with a single sample has no variance estimate (``n_i. - 1 = 0``):
      every SE that uses it is NaN; the point estimates are still given.

    Args:
        counts: (C, C) sample counts, rows = map class, columns = reference class.
        mapped_area: (C,) mapped area of each class (any unit; areas come back in it).

    Returns:
        An :class:`AreaEstimate`; 95% intervals via ``est.ci95("area")``.

    Raises:
        ValueError: for a non-square or negative matrix, a mismatched or negative
            ``mapped_area``, or a total mapped area of 0.
    """
    n = np.asarray(counts, dtype=np.float64)
    a_map = np.asarray(mapped_area, dtype=np.float64).ravel()
    if n.ndim != 2 or n.shape[0] != n.shape[1]:
        raise ValueError(f"counts must be a square (C, C) matrix, got shape {n.shape}")
    if a_map.shape != (n.shape[0],):
        raise ValueError(f"mapped_area has {a_map.size} values for a {n.shape[0]}-class matrix")
    if np.any(n < 0) or not np.all(np.isfinite(n)):
        raise ValueError("counts must be finite and non-negative")
    if np.any(a_map < 0) or not np.all(np.isfinite(a_map)):
        raise ValueError(f"mapped_area must be finite and non-negative, got {a_map}")
    total = a_map.sum()
    if total <= 0:
        raise ValueError("total mapped area is 0; nothing to estimate")
    c = n.shape[0]
    w = a_map / total
    n_i = n.sum(axis=1)
    missing = (a_map > 0) & (n_i == 0)
    if missing.any():
        import warnings

        warnings.warn(
            f"strata {np.flatnonzero(missing).tolist()} have mapped area but no "
            "reference samples: areas, OA and PA are not estimable (NaN)",
            RuntimeWarning,
            stacklevel=2,
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        f = n / n_i[:, None]  # row fractions; NaN rows for unsampled strata
        f = np.where((a_map == 0)[:, None] & (n_i == 0)[:, None], 0.0, f)
        p = w[:, None] * f
        # strata with W = 0 contribute nothing, even when sampled
        p = np.where((w == 0)[:, None], 0.0, p)
        p_col = p.sum(axis=0)
        dof = n_i - 1.0
        # per-stratum variance term of a fraction; 0 where the stratum has no weight
        frac_var = np.where(dof[:, None] > 0, f * (1 - f) / dof[:, None], np.nan)
        frac_var = np.where((w == 0)[:, None], 0.0, frac_var)
        area = total * p_col
        area_se = total * np.sqrt(np.sum(w[:, None] ** 2 * frac_var, axis=0))

        diag_f = np.diag(f) if c else np.zeros(0)
        ua = np.where(n_i > 0, np.diag(n) / n_i, np.nan)
        ua_var = np.where(dof > 0, ua * (1 - ua) / dof, np.nan)
        ua_se = np.sqrt(ua_var)

        oa = float(np.trace(p))
        oa_terms = np.where(
            w == 0, 0.0, w**2 * np.where(dof > 0, diag_f * (1 - diag_f) / dof, np.nan)
        )
        oa_se = float(np.sqrt(np.sum(oa_terms)))

        pa = np.where(p_col > 0, np.diag(p) / p_col, np.nan)
        n_hat_col = np.sum(a_map[:, None] * f, axis=0)  # estimated reference area Â_.j
        pa_var = np.full(c, np.nan)
        for j in range(c):
            if not (n_hat_col[j] > 0):
                continue
            first = 0.0 if a_map[j] == 0 else (a_map[j] ** 2 * (1 - pa[j]) ** 2 * frac_var[j, j])
            others = np.delete(a_map**2 * frac_var[:, j], j)
            pa_var[j] = (first + pa[j] ** 2 * np.sum(others)) / n_hat_col[j] ** 2
        pa_se = np.sqrt(pa_var)
    return AreaEstimate(
        area=area,
        area_se=area_se,
        users_accuracy=ua,
        users_accuracy_se=ua_se,
        producers_accuracy=pa,
        producers_accuracy_se=pa_se,
        overall_accuracy=oa,
        overall_accuracy_se=oa_se,
        proportions=p,
        mapped_area=a_map,
    )


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


def stratified_random_sample(strata: ArrayLike, n_per_stratum: int, seed: int = 0) -> np.ndarray:
    """Indices of a stratified random sample without replacement: ``n_per_stratum`` per stratum.

    Strata smaller than ``n_per_stratum`` are taken whole (a census of that stratum).

    Args:
        strata: ``(n,)`` stratum (map class) of every population unit (e.g. pixel).
        n_per_stratum: sample size per stratum (equal allocation).
        seed: random seed.

    Returns:
        Sorted indices into ``strata``.
    """
    if n_per_stratum < 1:
        raise ValueError(f"n_per_stratum must be >= 1, got {n_per_stratum}")
    s = np.asarray(strata).ravel()
    rng = np.random.default_rng(seed)
    picks = []
    for value in np.unique(s):
        idx = np.flatnonzero(s == value)
        picks.append(rng.choice(idx, min(n_per_stratum, idx.size), replace=False))
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.int64)


def sample_area_estimate(
    map_labels: ArrayLike,
    ref_labels: ArrayLike,
    n_classes: int,
    n_per_stratum: int,
    unit_area: float = 1.0,
    seed: int = 0,
) -> tuple[AreaEstimate, np.ndarray]:
    """Draw a stratified random sample from a fully referenced population and estimate areas.

    The strata are the map classes of the population units (pixels); ``n_per_stratum`` units
    are drawn per stratum (:func:`stratified_random_sample`), their reference labels are read
    from ``ref_labels`` and :func:`stratified_area_estimate` is applied with the mapped areas
    of the whole population. Because the reference is known for every unit, the estimate can
    be checked against the census truth ``bincount(ref_labels) * unit_area``; the sampling is
    simulated, the labels are not.

    Args:
        map_labels: ``(n,)`` map class of every unit of the population.
        ref_labels: ``(n,)`` reference class of every unit.
        n_classes: number of classes ``C``.
        n_per_stratum: sample size per map class.
        unit_area: area of one unit (e.g. 0.01 ha for a 10 m pixel).
        seed: random seed of the sample.

    Returns:
        The estimate and the sample error matrix ``counts`` (rows map, columns reference).
    """
    m = np.asarray(map_labels, dtype=np.int64).ravel()
    r = np.asarray(ref_labels, dtype=np.int64).ravel()
    idx = stratified_random_sample(m, n_per_stratum, seed)
    counts = error_matrix(m[idx], r[idx], n_classes)
    mapped = np.bincount(m, minlength=n_classes).astype(np.float64) * unit_area
    return stratified_area_estimate(counts, mapped), counts
