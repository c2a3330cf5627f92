"""Where single-date maps hold: the product's confidence band against the Exeter change.

A map of one date (``lulcbook predict``) changes class between the two clear Exeter summer
dates on about a fifth of the pixels (notebook 07-maps). Every map also carries a confidence
band: the probability of the mapped class, averaged over Monte-Carlo dropout passes. If the
changes fall where the confidence is low, a user who keeps only the pixels that are confident
on both dates gets a stabler map of part of the scene. This module measures that trade-off:
for each threshold, the share of the pixels kept and the share of them that change class, with
an interval that resamples spatial blocks (:func:`lulcbook.temporal.change_share`).

The threshold is not chosen on the scene it is judged on. It is chosen on the sample's HLS S30
Exeter series of 2021 (another year and processing chain, masked with its own Fmask), mapped
date by date as ``lulcbook predict`` maps a scene: the lowest threshold (the most pixels kept)
whose change between the clear dates is at most the target. The Sentinel-2 2024 products are
then read at that threshold, as the haze test's thresholds and the series rule's prior are
chosen on the HLS series too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from lulcbook import clear_series, legend, predict, temporal

THRESHOLDS: tuple[float, ...] = tuple(round(0.3 + 0.05 * k, 2) for k in range(13))
"""Confidence thresholds tried (0.30–0.90): a pixel is kept when both dates reach it."""

SELECT_SERIES: str = "Exeter HLS S30 2021"
"""The series the threshold is chosen on (its own Fmask; not the judged Sentinel-2 series)."""

JUDGED_SERIES: str = "Exeter S2 L2A 2024"
"""The series the chosen threshold is judged on: the ``lulcbook predict`` products."""

PairMaps = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""``(class before, class after, confidence before, confidence after)`` of one pair of dates;
classes use :data:`lulcbook.legend.NODATA`, confidences NaN where there is no map."""


def kept_change(
    pair: PairMaps,
    thresholds: Sequence[float] = THRESHOLDS,
    block: int = 25,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """The change between two dates among the pixels confident on both, for each threshold.

    Args:
        pair: the two class maps and their confidences (:data:`PairMaps`), on one grid.
        thresholds: confidence thresholds; a pixel is kept when both confidences reach it
            (:func:`lulcbook.predict.reaches`, the rule of ``--min-confidence``).
        block: block size (pixels) of the bootstrap interval.
        n_boot: bootstrap resamples.
        seed: random seed of the bootstrap.

    Returns:
        One row per threshold: ``threshold``, ``kept_share`` (of the pixels mapped on both
        dates), ``changed_share`` among the kept pixels with ``ci_low``, ``ci_high``,
        ``changes_dropped`` (share of all changed pixels that the threshold drops),
        ``n_kept``, and the class most of the kept pixels have on the first date with its share
        (``main_class``, ``main_class_share``: a high threshold can keep one class only).

    Raises:
        ValueError: maps of different shapes, or no pixel mapped on both dates.
    """
    before, after, conf_b, conf_a = (np.asarray(a) for a in pair)
    if not before.shape == after.shape == conf_b.shape == conf_a.shape:
        raise ValueError(
            f"class maps {before.shape}, {after.shape} and confidences {conf_b.shape}, "
            f"{conf_a.shape} must share one grid"
        )
    valid, changed = temporal.changed_pixels(before, after)
    if not valid.any():
        raise ValueError("no pixel is mapped on both dates")
    conf = np.fmin(np.where(valid, conf_b, np.nan), np.where(valid, conf_a, np.nan))
    rows = []
    for t in thresholds:
        keep = valid & predict.reaches(conf, t)  # as `lulcbook predict --min-confidence t`
        res = temporal.change_share(
            np.where(keep, before, legend.NODATA), np.where(keep, after, legend.NODATA),
            block, n_boot, seed,
        )  # fmt: skip
        lo, hi = res["ci95"]  # type: ignore[misc]
        counts = np.bincount(before[keep].ravel(), minlength=legend.N_CLASSES)[: legend.N_CLASSES]
        main = int(counts.argmax())
        rows.append(
            {
                "threshold": float(t),
                "kept_share": float(keep.sum() / valid.sum()),
                "changed_share": res["changed_share"],
                "ci_low": lo,
                "ci_high": hi,
                "changes_dropped": float(1 - (changed & keep).sum() / max(changed.sum(), 1)),
                "n_kept": int(keep.sum()),
                "main_class": legend.KEYS[main] if counts.sum() else "",
                "main_class_share": float(counts[main] / counts.sum()) if counts.sum() else np.nan,
            }
        )
    return pd.DataFrame(rows)


def stability_auc(pair: PairMaps) -> float:
    """How well the lower confidence of the two dates tells kept classes from changed ones.

    The ROC AUC of the lower of the two confidences as a score for "the class is kept", over
    the pixels mapped on both dates (0.5: no better than chance; NaN when every pixel keeps its
    class or every pixel changes).
    """
    before, after, conf_b, conf_a = (np.asarray(a) for a in pair)
    valid, changed = temporal.changed_pixels(before, after)
    conf = np.fmin(conf_b, conf_a)[valid]
    kept = ~changed[valid]
    if kept.all() or not kept.any():
        return float("nan")
    return float(roc_auc_score(kept, np.nan_to_num(conf, nan=0.0)))


def choose_threshold(frames: Mapping[str, pd.DataFrame], target: float = 0.10) -> float | None:
    """The lowest threshold at which every pair of a series changes at most ``target``.

    Args:
        frames: :func:`kept_change` of each clear pair of the series the threshold is chosen on.
        target: the largest acceptable share of kept pixels changing class.

    Returns:
        The threshold, or ``None`` when no threshold brings every pair to the target.

    Raises:
        ValueError: no pairs, or pairs with different thresholds.
    """
    if not frames:
        raise ValueError("choosing a threshold needs at least one pair of dates")
    grids = {tuple(f["threshold"]) for f in frames.values()}
    if len(grids) != 1:
        raise ValueError(f"the pairs were measured at different thresholds: {sorted(grids)}")
    worst = pd.concat([f.set_index("threshold")["changed_share"] for f in frames.values()], axis=1)
    ok = worst.max(axis=1) <= target
    return float(worst.index[ok.to_numpy()].min()) if ok.any() else None


def product_pair(before: Path, after: Path) -> PairMaps:
    """The class and confidence bands of two ``lulcbook predict`` maps of one grid."""
    cb, fb, _ = predict.read_map(before)
    ca, fa, _ = predict.read_map(after)
    return cb, ca, fb, fa


def _date_map(model: Any, tile: np.ndarray, mc_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Class and confidence of one date on its own superpixels, as ``lulcbook predict`` stores them.

    The probabilities go through :func:`lulcbook.predict.encode` (legend indices of the model's
    classes, confidence in the product's steps of 1/250) and back through
    :func:`lulcbook.predict.decode`, so the dates of the series a threshold is chosen on carry
    the confidence the judged products carry.
    """
    proba = model.predict_proba(tile, mc_samples=mc_samples)
    invalid = np.zeros(proba.shape[1:], dtype=bool)  # no data is NaN in the probabilities
    data, _ = predict.encode(proba, invalid, predict.class_values(model.classes))
    return predict.decode(data)


def series_pairs(
    files: Sequence[Path],
    read_kw: Mapping[str, Any],
    model: Any,
    model_res: float,
    mc_samples: int,
    clear_max_masked: float,
) -> dict[str, PairMaps]:
    """Every date of a series mapped on its own, as class and confidence, by clear pair.

    Args:
        files: the series' files.
        read_kw: how to read them (:func:`lulcbook.series_predict.read_series`: preset, mask
            band and values).
        model: the map model; its segments are scaled from ``model_res`` to the series' grid.
        model_res: the resolution (m) the model's segment size refers to.
        mc_samples: Monte-Carlo dropout passes of the confidence (as the products use).
        clear_max_masked: a date is clear when its own mask masks at most this share.

    Returns:
        ``{"d1→d2": PairMaps}`` for consecutive clear dates.
    """
    cs = clear_series.read_clear(files, read_kw, model, model_res, clear_max_masked)
    maps = {i: _date_map(cs.model, cs.series.data[i], mc_samples) for i in cs.clear}
    return {
        cs.pair_label(i, j): (maps[i][0], maps[j][0], maps[i][1], maps[j][1]) for i, j in cs.pairs
    }


@dataclass
class ConfidenceStudy:
    """The confidence trade-off on the series it is chosen on and on the one it is judged on.

    Attributes:
        frames: ``{series: {pair: kept_change frame}}``.
        auc: ``{series: {pair: stability_auc}}``.
        threshold: the threshold chosen on :data:`SELECT_SERIES` (``None``: none reaches it).
        target: the largest acceptable change.
    """

    frames: dict[str, dict[str, pd.DataFrame]]
    auc: dict[str, dict[str, float]]
    threshold: float | None
    target: float

    def at_threshold(self, series: str = JUDGED_SERIES) -> dict[str, dict[str, Any]]:
        """The rows of ``series`` at the chosen threshold, by pair (empty without one)."""
        if self.threshold is None:
            return {}
        out = {}
        for pair, f in self.frames[series].items():
            row = f[np.isclose(f["threshold"], self.threshold)]
            out[pair] = {str(k): v for k, v in row.iloc[0].to_dict().items()}
        return out

    def metrics(self) -> dict[str, Any]:
        """JSON-able: the choice, the rows at it and every frame."""
        return {
            "selected_on": SELECT_SERIES,
            "judged_on": JUDGED_SERIES,
            "target": self.target,
            "threshold": self.threshold,
            "at_threshold": self.at_threshold(),
            "auc": self.auc,
            "series": {
                s: {p: f.to_dict(orient="records") for p, f in by_pair.items()}
                for s, by_pair in self.frames.items()
            },
        }


def confidence_study(
    judged: Mapping[str, PairMaps],
    select: Mapping[str, PairMaps],
    target: float = 0.10,
    thresholds: Sequence[float] = THRESHOLDS,
    n_boot: int = 1000,
) -> ConfidenceStudy:
    """Choose the threshold on ``select`` and measure ``judged`` at every threshold.

    Args:
        judged: clear pairs of :data:`JUDGED_SERIES` (e.g. :func:`product_pair` of the products).
        select: clear pairs of :data:`SELECT_SERIES` (e.g. :func:`series_pairs`).
        target: the largest acceptable change among the kept pixels.
        thresholds: confidence thresholds tried.
        n_boot: bootstrap resamples of each interval.

    Raises:
        ValueError: no clear pair in either series.
    """
    if not judged or not select:
        raise ValueError(
            f"the confidence study needs a clear pair in each series; got {len(judged)} "
            f"judged and {len(select)} to choose on"
        )
    series = {SELECT_SERIES: select, JUDGED_SERIES: judged}
    frames = {
        s: {p: kept_change(m, thresholds, n_boot=n_boot) for p, m in pairs.items()}
        for s, pairs in series.items()
    }
    auc = {s: {p: stability_auc(m) for p, m in pairs.items()} for s, pairs in series.items()}
    return ConfidenceStudy(frames, auc, choose_threshold(frames[SELECT_SERIES], target), target)


def confidence_frame(study: ConfidenceStudy) -> pd.DataFrame:
    """Every row of the study in long form, with ``series`` and ``pair`` columns."""
    return pd.concat(
        [
            f.assign(series=s, pair=p)
            for s, by_pair in study.frames.items()
            for p, f in by_pair.items()
        ],
        ignore_index=True,
    )


def confidence_sentence(study: ConfidenceStudy) -> str:
    """The choice and what it gives on the judged series, from the numbers."""
    aucs = ", ".join(f"{s} {v:.2f}" for s, by_pair in study.auc.items() for v in by_pair.values())
    head = (
        f"Confidence as a guide to stability (ROC AUC of the lower confidence of the two "
        f"dates for a kept class: {aucs})"
    )
    if study.threshold is None:
        return f"{head}; no threshold brings {SELECT_SERIES} to {study.target:.0%}"
    sel = "; ".join(
        f"{p} {r['changed_share']:.1%} on {r['kept_share']:.0%} of the pixels"
        for p, r in study.at_threshold(SELECT_SERIES).items()
    )
    judged = "; ".join(
        f"{p}: {r['changed_share']:.1%} [{r['ci_low']:.1%}, {r['ci_high']:.1%}] of the "
        f"{r['kept_share']:.0%} of the pixels kept, {r['main_class_share']:.0%} of them "
        f"{r['main_class']} ({r['changes_dropped']:.0%} of the changes dropped)"
        for p, r in study.at_threshold().items()
    )
    return (
        f"{head}; threshold {study.threshold:.2f} chosen on {SELECT_SERIES} ({sel}); "
        f"{JUDGED_SERIES} products at it: {judged}"
    )


def confidence_verdict(study: ConfidenceStudy) -> tuple[str, bool | None]:
    """The verdict line: the worst judged pair at the chosen threshold, and on what share.

    ``met`` is ``None``: a map that drops pixels does not meet a target set for whole maps;
    the line says whether the kept pixels would.
    """
    rows = study.at_threshold()
    if not rows:
        return (
            f"Exeter change among confident pixels: no threshold chosen on {SELECT_SERIES}",
            None,
        )
    worst = max(rows.values(), key=lambda r: r["changed_share"])
    word = "meets" if worst["changed_share"] <= study.target else "MISSES"
    return (
        f"Exeter change between consecutive clear dates, worst pair, single-date products, "
        f"pixels with confidence >= {study.threshold:.2f} on both dates (chosen on "
        f"{SELECT_SERIES}): {worst['changed_share']:.3f} [{worst['ci_low']:.3f}, "
        f"{worst['ci_high']:.3f}] on {worst['kept_share']:.0%} of the pixels, "
        f"{worst['main_class_share']:.0%} of them {worst['main_class']} ({word} the target "
        f"<= {study.target:g} on the pixels kept)",
        None,
    )


def confidence_figure(study: ConfidenceStudy) -> Any:
    """Change among the kept pixels (y) against the share kept (x), a curve per series and pair.

    Each point is a threshold; the chosen threshold is marked; the grey line is the target.
    """
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    frame = confidence_frame(study).assign(
        kept_pct=lambda d: 100 * d["kept_share"], changed_pct=lambda d: 100 * d["changed_share"]
    )
    x = ("kept_pct", "pixels kept: confident on both dates (%)")
    y = ("changed_pct", "kept pixels changing class (%)")
    curves = [
        hv.Curve(part, x, [y, "threshold"], label=f"{series} {pair}")
        * hv.Scatter(part, x, [y, "threshold"])
        for (series, pair), part in frame.groupby(["series", "pair"], sort=False)
    ]
    chosen = frame[np.isclose(frame["threshold"], study.threshold or -1.0)]
    mark = hv.Scatter(chosen, x, [y, "threshold"], label=f"threshold {study.threshold}")
    mark = mark.opts(color="black", s=90, backend="matplotlib").opts(
        color="black", size=11, backend="bokeh"
    )
    target = hv.HLine(100 * study.target).opts(color="grey", backend="matplotlib")
    target = target.opts(color="grey", backend="bokeh")
    title = (
        f"Single-date maps: change between clear dates among confident pixels\nthresholds "
        f"{THRESHOLDS[0]:.2f}-{THRESHOLDS[-1]:.2f} from right to left (grey: the "
        f"{study.target:.0%} target; black: the threshold chosen on {SELECT_SERIES})"
    )
    return (
        hv.Overlay([*curves, mark, target])
        .opts(fig_inches=(9, 4.5), aspect=1.5, legend_position="right", title=title,
              backend="matplotlib")
        .opts(width=760, height=440, legend_position="top_left", title=title, backend="bokeh")
    )  # fmt: skip
