"""Time-variable, consistent land-cover maps from a series of cloud-masked acquisitions.

A single-date map carries the season, atmosphere and noise of its date; classifying every
date of a series independently makes many pixels switch class between two summer dates
although the land cover did not change. This module turns per-date class probabilities into
one map per *period* (month, season or year) and a change layer, with a documented rule that
separates change from noise:

1. **Per-period maps without the rule** (:func:`period_probabilities`): the mean of the class
   probabilities over the clear dates of each period (dates without a clear observation of a
   pixel are skipped; a pixel without any stays no data for that period).
2. **Sticky hidden Markov model** (:func:`viterbi_smooth`): the land-cover class is a hidden
   state that stays the same from one period to the next with probability ``1 − change_prior``
   and moves to any other class with ``change_prior / (K − 1)``; each clear date of a period
   is an observation of the period's state (:func:`period_log_evidence`). The most probable class sequence (Viterbi) changes class only where the evidence
   for the new class outweighs the prior odds against change, ``(1 − p)(K − 1) / p`` (≈ 700
   for ``p = 0.01`` and 8 classes), accumulated over the periods. ``change_prior`` is a
   prior rate of land-cover change per period (European land-cover change is of the order of
   1 % per year), set before looking at any map, not tuned on the change shares it is judged by.
3. **Change layer** (:func:`change_layer`): the period index at which the smoothed class
   changes (0 = no change, ``i`` = changed between period ``i − 1`` and ``i``).

:func:`block_bootstrap_ci` gives intervals for shares measured on maps (spatial blocks are
resampled, since neighbouring pixels are not independent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np

from lulcbook import legend

PERIODS: tuple[str, ...] = ("date", "month", "season", "year")
"""Period kinds :func:`period_of` understands."""

_SEASONS = {12: "DJF", 1: "DJF", 2: "DJF", 3: "MAM", 4: "MAM", 5: "MAM"}
_SEASONS |= {6: "JJA", 7: "JJA", 8: "JJA", 9: "SON", 10: "SON", 11: "SON"}


def parse_date(text: str) -> date:
    """The calendar date of an ISO date or datetime string (``2024-06-02T11:21:19Z`` → 2024-06-02).

    Raises:
        ValueError: a string that does not start with ``YYYY-MM-DD``.
    """
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError as err:
        raise ValueError(f"{text!r} is not an ISO date (YYYY-MM-DD...)") from err


def day_of_year(dates: Sequence[str]) -> np.ndarray:
    """Day of year (1–366) of each ISO date."""
    return np.array([parse_date(d).timetuple().tm_yday for d in dates], dtype=np.int64)


def period_of(text: str, period: str) -> str:
    """The period label of a date: ``2024-06-02`` → ``2024-06-02`` / ``2024-06`` / ``2024-JJA`` / ``2024``.

    Seasons are meteorological (DJF, MAM, JJA, SON); December belongs to the winter of the
    next year (``2023-12-20`` → ``2024-DJF``).

    Raises:
        ValueError: an unknown ``period`` or a malformed date.
    """
    d = parse_date(text)
    if period == "date":
        return d.isoformat()
    if period == "month":
        return f"{d.year:04d}-{d.month:02d}"
    if period == "season":
        return f"{d.year + (d.month == 12):04d}-{_SEASONS[d.month]}"
    if period == "year":
        return f"{d.year:04d}"
    raise ValueError(f"Unknown period {period!r}; expected one of {PERIODS}")


def group_periods(dates: Sequence[str], period: str) -> dict[str, list[int]]:
    """Indices of the dates in each period, periods in time order.

    Raises:
        ValueError: dates out of time order (a series must be sorted).
    """
    parsed = [parse_date(d) for d in dates]
    if parsed != sorted(parsed):
        raise ValueError(f"dates are not in time order: {list(dates)}")
    out: dict[str, list[int]] = {}
    for i, d in enumerate(dates):
        out.setdefault(period_of(d, period), []).append(i)
    return out


def period_probabilities(
    proba: np.ndarray, dates: Sequence[str], period: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Mean class probabilities over the clear dates of each period.

    Args:
        proba: ``(time, n_classes, y, x)`` per-date probabilities, NaN where not clear.
        dates: ISO date of each time step (sorted).
        period: ``"date"``, ``"month"``, ``"season"`` or ``"year"``.

    Returns:
        ``(labels, period_proba (period, n_classes, y, x), n_obs (period, y, x))``;
        ``period_proba`` is NaN where a pixel has no clear date in the period.

    Raises:
        ValueError: ``proba`` and ``dates`` of different lengths.
    """
    labels, proba, parts, n_obs = _split_periods(proba, dates, period)
    out = np.full((len(labels), *proba.shape[1:]), np.nan, dtype=np.float32)
    for p, (sub, clear) in enumerate(parts):
        n = clear.sum(axis=0)
        total = np.where(clear[:, None], sub, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[p] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return labels, out, n_obs


def period_log_evidence(
    proba: np.ndarray, dates: Sequence[str], period: str, floor: float = 1e-3
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Log-evidence of each class per period: the sum over the period's clear dates of log p.

    The dates of a period are taken as independent observations of one land-cover state, so
    evidence accumulates with the number of clear dates (a period seen three times weighs
    more than one seen once). Probabilities are clipped to ``[floor, 1]`` first, so that one
    overconfident date cannot veto a class.

    Args:
        proba: ``(time, n_classes, y, x)`` per-date probabilities, NaN where not clear.
        dates: ISO date of each time step (sorted).
        period: ``"date"``, ``"month"``, ``"season"`` or ``"year"``.
        floor: the lower clip of the probabilities.

    Returns:
        ``(labels, log_evidence (period, n_classes, y, x), n_obs (period, y, x))``; the
        evidence is 0 (uninformative) where a period has no clear date.

    Raises:
        ValueError: ``proba`` and ``dates`` of different lengths.
    """
    labels, proba, parts, n_obs = _split_periods(proba, dates, period)
    out = np.zeros((len(labels), *proba.shape[1:]), dtype=np.float32)
    for p, (sub, clear) in enumerate(parts):
        logp = np.log(np.clip(np.nan_to_num(sub, nan=1.0), floor, 1.0))
        out[p] = np.where(clear[:, None], logp, 0.0).sum(axis=0)
    return labels, out, n_obs


def _split_periods(
    proba: np.ndarray, dates: Sequence[str], period: str
) -> tuple[list[str], np.ndarray, list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Split per-date probabilities into periods, with their clear masks and clear-date counts.

    Args:
        proba: ``(time, n_classes, y, x)`` per-date probabilities, NaN where not clear.
        dates: ISO date of each time step (sorted).
        period: ``"date"``, ``"month"``, ``"season"`` or ``"year"``.

    Returns:
        ``(labels, proba, parts, n_obs)``: the period labels, ``proba`` as float32, per period
        its dates' probabilities with their clear mask ``(t, y, x)``, and the number of clear
        dates ``(period, y, x)`` (int16).

    Raises:
        ValueError: ``proba`` and ``dates`` of different lengths.
    """
    proba = np.asarray(proba, dtype=np.float32)
    if proba.ndim != 4 or proba.shape[0] != len(dates):
        raise ValueError(f"proba {proba.shape} is not (time={len(dates)}, classes, y, x)")
    groups = group_periods(dates, period)
    parts = [(proba[idx], np.isfinite(proba[idx]).all(axis=1)) for idx in groups.values()]
    n_obs = np.zeros((len(groups), *proba.shape[2:]), dtype=np.int16)
    for p, (_, clear) in enumerate(parts):
        n_obs[p] = clear.sum(axis=0)
    return list(groups), proba, parts, n_obs


SERIES_CHANGE_PRIOR: float = 0.85
"""The change prior ``lulcbook series`` uses unless told otherwise (``--change-prior``).

The operating point of notebook 10-temporal: the largest prior of its sweep whose changes
between periods and between consecutive clear dates stay at or below 10 % on the sample's HLS
S30 2021 Exeter series (:func:`lulcbook.experiments.temporal.operating_point`); the Sentinel-2
L2A 2024 series is the check. The notebook repeats the choice and says whether it still gives
this value. With the eight classes of the legend, 7/8 would make every transition equally
likely (the raw maps), so this is a light stickiness: a threshold on the evidence a change
needs, not a rate of land-cover change.
"""


def check_sticky(change_prior: float, n_classes: int) -> None:
    """Refuse a change prior that does not make staying the most likely transition.

    With ``K`` classes a prior of ``(K − 1)/K`` makes every transition equally likely and a
    larger one favours change, which the rule is not meant to do.

    Raises:
        ValueError: ``change_prior`` outside ``(0, (K − 1)/K)``, with the bound for ``K``.
    """
    bound = (n_classes - 1) / n_classes
    if not 0.0 < change_prior < bound:
        raise ValueError(
            f"change_prior {change_prior:g} must lie in (0, {bound:.4g}) for a model of "
            f"{n_classes} classes: at {bound:.4g} every transition is equally likely"
        )


def transition_log_matrix(n_classes: int, change_prior: float) -> np.ndarray:
    """Log transition matrix of the sticky model: stay ``1 − p``, each other class ``p/(K−1)``.

    Raises:
        ValueError: ``change_prior`` outside ``(0, 1)`` or fewer than two classes.
    """
    if not 0.0 < change_prior < 1.0:
        raise ValueError(f"change_prior must lie in (0, 1), got {change_prior}")
    if n_classes < 2:
        raise ValueError(f"need at least two classes, got {n_classes}")
    m = np.full((n_classes, n_classes), change_prior / (n_classes - 1))
    np.fill_diagonal(m, 1.0 - change_prior)
    return np.asarray(np.log(m), dtype=np.float64)


def viterbi_smooth(
    log_evidence: np.ndarray, n_obs: np.ndarray, change_prior: float = 0.01
) -> np.ndarray:
    """Most probable class sequence per pixel under the sticky hidden Markov model.

    Args:
        log_evidence: ``(period, n_classes, y, x)`` from :func:`period_log_evidence`.
        n_obs: ``(period, y, x)`` clear dates per period; periods without one carry no
            evidence (their state is inferred from the others).
        change_prior: probability of a class change between consecutive periods.

    Returns:
        ``(period, y, x)`` column index of the smoothed class; pixels without any observation
        get :data:`lulcbook.legend.NODATA`.

    Raises:
        ValueError: ``log_evidence`` and ``n_obs`` of different shapes.
    """
    le = np.asarray(log_evidence, dtype=np.float64)
    n_p, k, h, w = le.shape
    if np.shape(n_obs) != (n_p, h, w):
        raise ValueError(f"n_obs {np.shape(n_obs)} does not match log_evidence {le.shape}")
    log_t = transition_log_matrix(k, change_prior)
    e = le.reshape(n_p, k, -1)
    seen = np.asarray(n_obs).reshape(n_p, -1) > 0
    score = e[0] - np.log(k)  # (k, pixel)
    back = np.zeros((n_p, k, e.shape[-1]), dtype=np.int64)
    for t in range(1, n_p):
        cand = score[:, None, :] + log_t[:, :, None]  # from i to j
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + e[t]
    path = np.zeros((n_p, e.shape[-1]), dtype=np.int64)
    path[-1] = score.argmax(axis=0)
    cols = np.arange(e.shape[-1])
    for t in range(n_p - 1, 0, -1):
        path[t - 1] = back[t, path[t], cols]
    out = path.astype(np.uint8)
    out[:, ~seen.any(axis=0)] = legend.NODATA
    return out.reshape(n_p, h, w)


def raw_classes(period_proba: np.ndarray) -> np.ndarray:
    """Per-period argmax (no smoothing); NODATA where a period has no observation."""
    pp = np.asarray(period_proba)
    ok = np.isfinite(pp).all(axis=1)
    out = np.asarray(np.nan_to_num(pp, nan=-1.0).argmax(axis=1), dtype=np.uint8)
    out[~ok] = legend.NODATA
    return out


def change_layer(classes: np.ndarray) -> np.ndarray:
    """Where and when the class changes: ``(y, x)`` uint8.

    ``0`` = the class never changes; ``i`` (≥ 1) = the first change, between period ``i − 1``
    and period ``i``; :data:`lulcbook.legend.NODATA` where the first period has no class.
    Comparisons skip periods that are no data.
    """
    cls = np.asarray(classes)
    out = np.zeros(cls.shape[1:], dtype=np.uint8)
    last = cls[0].copy()
    for i in range(1, cls.shape[0]):
        cur = cls[i]
        ok = (cur != legend.NODATA) & (last != legend.NODATA)
        new = ok & (cur != last) & (out == 0)
        out[new] = i
        last = np.where(cur != legend.NODATA, cur, last)
    out[np.all(cls == legend.NODATA, axis=0)] = legend.NODATA
    return out


def block_ids(shape: tuple[int, int], block: int) -> np.ndarray:
    """Spatial block index of every pixel of a ``(y, x)`` grid cut into ``block``-pixel squares.

    Raises:
        ValueError: ``block < 1``.
    """
    if block < 1:
        raise ValueError(f"block must be >= 1 pixel, got {block}")
    h, w = shape
    nx = -(-w // block)
    yy, xx = np.mgrid[0:h, 0:w]
    return np.asarray((yy // block) * nx + xx // block, dtype=np.int64)


def block_bootstrap_ci(
    per_block: np.ndarray,
    stat: Callable[[np.ndarray], float],
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile interval of ``stat`` over blocks drawn with replacement.

    Args:
        per_block: ``(n_blocks, ...)`` additive per-block summaries (counts, confusion
            matrices); a resample sums the drawn blocks and applies ``stat``.
        stat: the statistic of a summed summary.
        n_boot: resamples.
        seed: random seed.
        alpha: 0.05 gives the 95 % interval.

    Raises:
        ValueError: no blocks.
    """
    pb = np.asarray(per_block, dtype=np.float64)
    if len(pb) == 0:
        raise ValueError("block_bootstrap_ci needs at least one block")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(pb), size=(n_boot, len(pb)))
    counts = np.stack([np.bincount(i, minlength=len(pb)) for i in idx])  # (n_boot, blocks)
    sums = np.tensordot(counts, pb, axes=(1, 0))
    stats = np.array([stat(s) for s in sums], dtype=float)
    lo, hi = np.nanpercentile(stats, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(lo), float(hi)


def changed_pixels(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pixels valid on both class maps, and those of them whose class differs.

    Args:
        before: ``(y, x)`` class map of the earlier date or period (NODATA = no data).
        after: ``(y, x)`` class map of the later one.

    Returns:
        ``(valid, changed)``: boolean ``(y, x)`` masks, ``changed`` within ``valid``.

    Raises:
        ValueError: maps of different shapes.
    """
    a, b = np.asarray(before), np.asarray(after)
    if a.shape != b.shape:
        raise ValueError(
            f"class maps differ in shape: {a.shape} vs {b.shape}; they cannot be compared"
        )
    valid = (a != legend.NODATA) & (b != legend.NODATA)
    return valid, valid & (a != b)


def _block_counts(masks: Sequence[np.ndarray], block: int) -> np.ndarray:
    """``(n_blocks, len(masks))`` count of the true pixels of each mask in each spatial block."""
    ids = block_ids(masks[0].shape, block)
    nb = int(ids.max()) + 1
    return np.stack([np.bincount(ids[m], minlength=nb) for m in masks], axis=1)


def change_share(
    before: np.ndarray, after: np.ndarray, block: int = 25, n_boot: int = 1000, seed: int = 0
) -> dict[str, float | list[float] | int]:
    """Share of pixels, valid in both maps, whose class differs, with a block-bootstrap interval.

    Args:
        before: ``(y, x)`` class map of the earlier date or period (NODATA = no data).
        after: ``(y, x)`` class map of the later one.
        block: block size in pixels for the interval.
        n_boot: bootstrap resamples.
        seed: random seed.

    Returns:
        ``{"changed_share", "ci95": [lo, hi], "n_valid_both", "n_blocks"}``.

    Raises:
        ValueError: maps of different shapes.
    """
    valid, changed = changed_pixels(before, after)
    per = _block_counts([valid, changed], block)
    per = per[per[:, 0] > 0]
    n = int(valid.sum())
    share = float(changed.sum() / n) if n else float("nan")
    ci = (
        block_bootstrap_ci(per, lambda s: s[1] / s[0] if s[0] else float("nan"), n_boot, seed)
        if len(per)
        else (float("nan"), float("nan"))
    )
    return {"changed_share": share, "ci95": list(ci), "n_valid_both": n, "n_blocks": len(per)}


def change_share_difference(
    first: tuple[np.ndarray, np.ndarray],
    second: tuple[np.ndarray, np.ndarray],
    block: int = 25,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, float | list[float] | int]:
    """Changed share of one pair of class maps minus that of another, with a paired interval.

    Both pairs lie on one grid (e.g. the same two dates mapped two ways); the bootstrap draws
    the same blocks for both, so what they share — the place and the dates — cancels in the
    interval of the difference.

    Args:
        first: ``(before, after)`` class maps of the first way.
        second: ``(before, after)`` class maps of the second way, on the same grid.
        block: block size in pixels for the interval.
        n_boot: bootstrap resamples.
        seed: random seed.

    Returns:
        ``{"difference", "ci95": [lo, hi], "n_blocks"}`` (first − second).

    Raises:
        ValueError: maps of different shapes.
    """
    (va, ca), (vb, cb) = changed_pixels(*first), changed_pixels(*second)
    if va.shape != vb.shape:
        raise ValueError(f"the two pairs are on different grids: {va.shape} vs {vb.shape}")
    per = _block_counts([va, ca, vb, cb], block)
    per = per[(per[:, 0] > 0) & (per[:, 2] > 0)]

    def diff(s: np.ndarray) -> float:
        return float(s[1] / s[0] - s[3] / s[2]) if s[0] and s[2] else float("nan")

    total = per.sum(axis=0)
    nan = float("nan")
    ci = block_bootstrap_ci(per, diff, n_boot, seed) if len(per) else (nan, nan)
    return {"difference": diff(total) if len(per) else nan, "ci95": list(ci), "n_blocks": len(per)}


__all__ = [
    "PERIODS",
    "SERIES_CHANGE_PRIOR",
    "block_bootstrap_ci",
    "block_ids",
    "change_layer",
    "change_share_difference",
    "change_share",
    "changed_pixels",
    "check_sticky",
    "day_of_year",
    "group_periods",
    "parse_date",
    "period_log_evidence",
    "period_of",
    "period_probabilities",
    "raw_classes",
    "transition_log_matrix",
    "viterbi_smooth",
]
