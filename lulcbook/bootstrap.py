"""One bootstrap for model comparisons: over training seeds and over points, clustered.

A model trained with several seeds and evaluated on points that cluster (patches of one
region, LUCAS points of one spatial block, the same patch scored by several folds) has two
sources of uncertainty: which seed, and which points. :func:`seeded_bootstrap` resamples both
in every replicate:

* the seeds, with replacement (the metric is averaged over the drawn seeds);
* the points, with replacement, either one by one, within strata (``strata``: e.g. the
  held-out region, so each region keeps its size), or as whole clusters (``clusters``: e.g.
  spatial blocks or a patch's repeated copies), optionally within strata.

A ``baseline`` (predictions of another model on the same points) makes the statistic the
difference ``metric(preds) - metric(baseline)``, with the points resampled jointly (paired)
and the seeds of each model drawn independently.

Metrics: overall accuracy, and macro-F1 over the classes of the full reference; a class that
has neither reference points nor predictions in a resample is skipped there rather than
scored 0 (which would bias the interval downwards). Every result has one shape,
:class:`Estimate`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Metric = Literal["oa", "macro_f1"]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Estimate:
    """A bootstrap estimate with its 95 % percentile interval.

    Attributes:
        estimate: the statistic on all points, averaged over all seeds.
        ci95: the 2.5 and 97.5 percentiles of the resampled statistic.
        n_points: evaluation points.
        n_seeds: training seeds of the model (of the first model, for a difference).
        n_clusters: clusters resampled (``None``: points resampled one by one).
        p_positive: share of resamples in which the statistic is above zero (the share in
            which the first model wins, for a difference).
        resamples: the resampled statistics (not serialised).
    """

    estimate: float
    ci95: tuple[float, float]
    n_points: int
    n_seeds: int
    n_clusters: int | None
    p_positive: float
    resamples: NDArray[np.float64]

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form: ``{estimate, ci95: [lo, hi], n_points, n_seeds, ...}``."""
        return {
            "estimate": self.estimate,
            "ci95": [self.ci95[0], self.ci95[1]],
            "n_points": self.n_points,
            "n_seeds": self.n_seeds,
            "n_clusters": self.n_clusters,
            "p_positive": self.p_positive,
        }


def interval_side(ci95: Sequence[float]) -> int:
    """Which side of zero a 95 % interval lies on: ``1`` above, ``-1`` below, ``0`` holding 0.

    The one reading of a paired difference's interval behind the verdict words of the studies
    (a NaN bound gives ``0``).
    """
    lo, hi = (float(v) for v in ci95)
    return 1 if lo > 0 else -1 if hi < 0 else 0


def macro_f1_present(y_true: IntArray, y_pred: IntArray, labels: IntArray) -> float:
    """Macro-F1 over ``labels``, skipping classes with neither reference nor prediction.

    Predictions of classes outside ``labels`` count as misses of their reference class.

    Args:
        y_true: reference classes.
        y_pred: predicted classes.
        labels: the classes averaged over.

    Returns:
        The macro-F1 (``nan`` if no class of ``labels`` occurs at all).
    """
    k = int(max(y_true.max(initial=0), y_pred.max(initial=0), labels.max(initial=0))) + 1
    cm = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)
    tp = np.diag(cm)[labels].astype(float)
    denom = 2 * tp + (cm.sum(axis=0)[labels] - tp) + (cm.sum(axis=1)[labels] - tp)
    ok = denom > 0
    return float((2 * tp[ok] / denom[ok]).mean()) if ok.any() else float("nan")


def metric_function(metric: Metric, labels: IntArray) -> Callable[[IntArray, IntArray], float]:
    """Return ``f(y_true, y_pred) -> float`` for a metric name.

    Raises:
        ValueError: for an unknown metric name.
    """
    if metric == "oa":
        return lambda t, p: float(np.mean(t == p)) if t.size else float("nan")
    if metric == "macro_f1":
        return lambda t, p: macro_f1_present(t, p, labels)
    raise ValueError(f"unknown metric {metric!r}; expected 'oa' or 'macro_f1'")


def _seeds(preds: ArrayLike, n: int, name: str) -> IntArray:
    """Return predictions as ``(n_seeds, n)`` integers, checking the number of points."""
    p = np.asarray(preds)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2 or p.shape[1] != n:
        raise ValueError(f"{name} has shape {p.shape}; expected ({n},) or (n_seeds, {n})")
    return p.astype(np.int64)


def _groups(values: ArrayLike | None, n: int, name: str) -> IntArray | None:
    """Return integer codes of a per-point grouping, checking its length."""
    if values is None:
        return None
    v = np.asarray(values)
    if v.shape != (n,):
        raise ValueError(f"{name} has shape {v.shape}; expected one value per point ({n},)")
    return np.unique(v, return_inverse=True)[1].astype(np.int64)


def _draw(k: int, rng: np.random.Generator | None) -> list[int]:
    """All ``k`` seeds (``rng`` is ``None``), or ``k`` of them drawn with replacement."""
    if rng is None:
        return list(range(k))
    return [int(i) for i in rng.integers(0, k, k)]


def _point_sampler(
    n: int, clusters: IntArray | None, strata: IntArray | None
) -> Callable[[np.random.Generator], IntArray]:
    """Return a function drawing one bootstrap resample of point indices."""
    if clusters is None:
        if strata is None:
            return lambda rng: rng.integers(0, n, n)
        members = [np.flatnonzero(strata == s) for s in np.unique(strata)]
        return lambda rng: np.concatenate([m[rng.integers(0, m.size, m.size)] for m in members])
    by_cluster = {int(c): np.flatnonzero(clusters == c) for c in np.unique(clusters)}
    if strata is None:
        pools = [np.array(sorted(by_cluster))]
    else:
        first = {c: int(strata[idx[0]]) for c, idx in by_cluster.items()}
        for c, idx in by_cluster.items():
            if np.unique(strata[idx]).size > 1:
                raise ValueError(f"cluster {c} spans several strata; a cluster must lie in one")
        pools = [np.array([c for c in by_cluster if first[c] == s]) for s in np.unique(strata)]

    def draw(rng: np.random.Generator) -> IntArray:
        chosen = np.concatenate([pool[rng.integers(0, pool.size, pool.size)] for pool in pools])
        return np.concatenate([by_cluster[int(c)] for c in chosen])

    return draw


def resample(
    statistic: Callable[[IntArray, np.random.Generator | None], float],
    n: int,
    *,
    clusters: ArrayLike | None = None,
    strata: ArrayLike | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    n_seeds: int = 1,
) -> Estimate:
    """Bootstrap any statistic of ``n`` points: the engine behind :func:`seeded_bootstrap`.

    Args:
        statistic: ``f(point indices, rng)``; called once with all points and ``rng=None``
            (the estimate), then once per replicate with resampled indices and the replicate's
            generator (to draw anything else, e.g. seeds).
        n: number of points.
        clusters: ``(n,)`` cluster of each point (resampled whole), or ``None``.
        strata: ``(n,)`` stratum of each point (resampled separately), or ``None``.
        n_boot: bootstrap replicates.
        seed: random seed of the resampling.
        n_seeds: reported in the result.

    Returns:
        The estimate, its 95 % percentile interval and the resamples.

    Raises:
        ValueError: if ``n`` is 0, ``n_boot`` < 1, a grouping has the wrong length, or a
            cluster spans several strata.
    """
    if n == 0:
        raise ValueError("no evaluation points")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    cl = _groups(clusters, n, "clusters")
    st = _groups(strata, n, "strata")
    draw_points = _point_sampler(n, cl, st)
    estimate = statistic(np.arange(n), None)
    rng = np.random.default_rng(seed)
    boots = np.array([statistic(draw_points(rng), rng) for _ in range(n_boot)])
    lo, hi = np.nanpercentile(boots, [2.5, 97.5])
    return Estimate(
        estimate=estimate,
        ci95=(float(lo), float(hi)),
        n_points=n,
        n_seeds=n_seeds,
        n_clusters=None if cl is None else int(np.unique(cl).size),
        p_positive=float(np.mean(boots > 0)),
        resamples=boots,
    )


def seeded_bootstrap(
    y_true: ArrayLike,
    preds: ArrayLike,
    metric: Metric = "macro_f1",
    *,
    baseline: ArrayLike | None = None,
    clusters: ArrayLike | None = None,
    strata: ArrayLike | None = None,
    labels: ArrayLike | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> Estimate:
    """Metric (or paired difference) averaged over seeds, with a seed-and-point bootstrap.

    Args:
        y_true: ``(n,)`` reference classes.
        preds: ``(n_seeds, n)`` (or ``(n,)``) predicted classes, one row per training seed.
        metric: ``"oa"`` or ``"macro_f1"``.
        baseline: another model's ``(n_seeds', n)`` predictions on the same points; the
            statistic becomes the difference ``metric(preds) - metric(baseline)``.
        clusters: ``(n,)`` cluster of each point (resampled whole), or ``None``.
        strata: ``(n,)`` stratum of each point (resampled separately), or ``None``.
        labels: classes averaged by macro-F1 (default: those in ``y_true``).
        n_boot: bootstrap replicates.
        seed: random seed of the resampling.

    Returns:
        The estimate, its 95 % interval and the resamples.

    Raises:
        ValueError: if shapes disagree, ``n_boot`` < 1, or a cluster spans several strata.
    """
    y = np.asarray(y_true).astype(np.int64).ravel()
    n = y.size
    p = _seeds(preds, n, "preds")
    b = None if baseline is None else _seeds(baseline, n, "baseline")
    lab = np.unique(y) if labels is None else np.asarray(labels).astype(np.int64).ravel()
    fn = metric_function(metric, lab)

    def stat(idx: IntArray, rng: np.random.Generator | None) -> float:
        v = float(np.nanmean([fn(y[idx], p[s][idx]) for s in _draw(p.shape[0], rng)]))
        if b is not None:
            v -= float(np.nanmean([fn(y[idx], b[s][idx]) for s in _draw(b.shape[0], rng)]))
        return v

    return resample(
        stat,
        n,
        clusters=clusters,
        strata=strata,
        n_boot=n_boot,
        seed=seed,
        n_seeds=int(p.shape[0]),
    )
