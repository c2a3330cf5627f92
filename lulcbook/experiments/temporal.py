"""Experiments of notebook 10: temporal classifier vs single-date and composite inputs, consistent maps.

* :func:`slovenia_comparison`: on the eo-learn Slovenia patch (NDVI series of 68 dates with
  cloud masks, dense RABA reference), sparse training points are drawn from spatial blocks
  and all pixels of *other* blocks are the test set (a buffer of pixels around the test
  blocks is never trained on). Compared per seed: the L-TAE-style encoder on the masked
  series, gradient boosting on one date (chosen on a validation split of the training
  blocks), on the median composite, and on seasonal median composites. Intervals: block
  bootstrap over the test blocks; paired differences on the same blocks.
* :func:`consistency`: change shares between dates and periods of a mapped series, raw and
  after the rule of :mod:`lulcbook.temporal`, with block-bootstrap intervals.
* :func:`tradeoff_frame`, :func:`operating_point` and :func:`operating_points`: the rule over
  a sweep of its change prior (changes where none is expected against simulated changes
  kept), and a prior chosen on one series (:data:`SELECT_SERIES`, pre-declared) and checked
  on the other, then the reverse.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage
from sklearn.ensemble import HistGradientBoostingClassifier

from lulcbook import (
    bootstrap,
    clear_series,
    evaluate,
    haze,
    legend,
    predict,
    series_predict,
    targets,
    temporal,
    zoo,
)
from lulcbook.models.temporal import fit_temporal
from lulcbook.params import TemporalSlovenia


def split_blocks(
    label: np.ndarray, block: int, test_share: float, buffer: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assign spatial blocks to train or test; a buffer around test blocks is never trained on.

    Args:
        label: ``(y, x)`` reference (NODATA = unlabelled).
        block: block size in pixels.
        test_share: share of blocks in the test set.
        buffer: pixels around test blocks excluded from training.
        seed: seed of the assignment.

    Returns:
        ``(block_ids, train_mask, test_mask)``; masks cover labelled pixels only.

    Raises:
        ValueError: ``test_share`` outside ``(0, 1)``.
    """
    if not 0.0 < test_share < 1.0:
        raise ValueError(f"test_share must lie in (0, 1), got {test_share}")
    ids = temporal.block_ids(label.shape, block)
    n = int(ids.max()) + 1
    rng = np.random.default_rng(seed)
    test_blocks = rng.permutation(n)[: max(1, round(test_share * n))]
    test_px = np.isin(ids, test_blocks)
    square = np.ones((3, 3), dtype=bool)  # Chebyshev distance: diagonal neighbours too
    near = ndimage.binary_dilation(test_px, square, iterations=buffer) if buffer > 0 else test_px
    labelled = label != legend.NODATA
    return ids, labelled & ~near, labelled & test_px


def _block_confusions(
    y: np.ndarray, p: np.ndarray, blocks: np.ndarray, labels: Sequence[int]
) -> np.ndarray:
    """Per-block confusion matrices ``(n_blocks, k, k)`` of reference ``y`` and prediction ``p``."""
    lab = np.asarray(labels)
    k = len(lab)
    yi, pi = np.searchsorted(lab, y), np.searchsorted(lab, p)
    ok = np.isin(p, lab)
    _, b = np.unique(blocks, return_inverse=True)
    out = np.zeros((int(b.max()) + 1, k, k))
    np.add.at(out, (b[ok], yi[ok], pi[ok]), 1.0)
    # predictions outside the evaluated labels count as errors in the reference row
    np.add.at(out, (b[~ok], yi[~ok], (yi[~ok] + 1) % k), 1.0)
    return out


def _oa(c: np.ndarray) -> float:
    return float(np.trace(c) / c.sum()) if c.sum() else float("nan")


def _macro_f1(c: np.ndarray) -> float:
    tp = np.diag(c)
    den = c.sum(axis=0) + c.sum(axis=1)
    f1 = np.where(den > 0, 2 * tp / np.maximum(den, 1e-12), 0.0)
    return float(f1[c.sum(axis=1) > 0].mean())


def _gbm(x: np.ndarray, y: np.ndarray, seed: int) -> HistGradientBoostingClassifier:
    model = HistGradientBoostingClassifier(
        max_iter=50, learning_rate=0.15, random_state=seed, class_weight="balanced"
    )
    return model.fit(x, y)


def seasonal_medians(ndvi: np.ndarray, dates: Sequence[str]) -> np.ndarray:
    """Median over the clear dates of each meteorological season (all years): ``(n, 4)``."""
    seasons = [temporal.period_of(d, "season")[-3:] for d in dates]
    cols = []
    for s in ("DJF", "MAM", "JJA", "SON"):
        idx = [i for i, x in enumerate(seasons) if x == s]
        cols.append(_nanmedian(ndvi[:, idx]))
    return np.stack(cols, axis=1)


def _nanmedian(a: np.ndarray) -> np.ndarray:
    """Row-wise median ignoring NaN; NaN (without a warning) for rows without a value."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmedian(a, axis=1), dtype=np.float32)


def slovenia_comparison(
    ds: xr.Dataset, settings: TemporalSlovenia, seeds: Sequence[int], n_boot: int
) -> dict[str, Any]:
    """Temporal encoder vs single-date, median-composite and seasonal-composite inputs.

    Args:
        ds: :func:`lulcbook.sources.slovenia.read_slovenia` output.
        settings: sparse training points (``n_train``) drawn from the training blocks;
            block size (pixels) of the spatial split and the bootstrap (``block``); pixels
            around test blocks never trained on (``buffer``); share of blocks held out for
            testing (``test_share``); share of training points held out to choose the single
            date (``val_share``); a date is a single-date candidate if this share of the patch
            is clear (``min_clear``); training epochs of the temporal encoder (``epochs``).
        seeds: one split, point draw and model initialisation per seed.
        n_boot: block-bootstrap resamples.

    Returns:
        ``{"models": {name: {oa, macro_f1, *_ci95, per_seed}}, "differences": {...},
        "chosen_dates": [...], "settings": {...}}``; per seed the intervals come from the
        block bootstrap over test blocks, the reported interval is their mean over seeds.
    """
    n_train, block, buffer = settings.n_train, settings.block, settings.buffer
    test_share, val_share, epochs = settings.test_share, settings.val_share, settings.epochs
    dates = [str(np.datetime_as_string(t, unit="D")) for t in ds["time"].values]
    doy = temporal.day_of_year(dates)
    label = ds["label"].values
    ndvi = ds["ndvi"].values.reshape(len(dates), -1).T  # (pixel, time)
    clear = ds["clear"].values.reshape(len(dates), -1).T
    flat_label = label.ravel()
    clear_share = clear.mean(axis=0)
    candidates = [i for i in range(len(dates)) if clear_share[i] >= settings.min_clear]
    median = _nanmedian(ndvi)[:, None]
    seasonal = seasonal_medians(ndvi, dates)
    runs: dict[str, list[dict[str, Any]]] = {}
    diffs: dict[str, list[dict[str, Any]]] = {}
    chosen = []
    for seed in seeds:
        ids, train_m, test_m = split_blocks(label, block, test_share, buffer, seed)
        rng = np.random.default_rng(seed)
        pool = np.flatnonzero(train_m.ravel())
        pts = np.sort(rng.choice(pool, size=min(n_train, len(pool)), replace=False))
        pts = pts[clear[pts].any(axis=1)]
        y = flat_label[pts]
        test = np.flatnonzero(test_m.ravel())
        yt = flat_label[test]
        labels = sorted(set(np.unique(yt).tolist()))
        preds: dict[str, np.ndarray] = {}
        tm = fit_temporal(ndvi[pts], doy, clear[pts], y, seed=seed, epochs=epochs)
        preds["temporal (L-TAE, masked series)"] = tm.predict(ndvi[test], doy, clear[test])
        # single date: chosen on a validation split of the training points
        val = rng.random(len(pts)) < val_share
        if len(set(y[~val].tolist())) < 2:
            val[:] = False
        scores = []
        for i in candidates:
            m = _gbm(ndvi[pts][~val][:, [i]], y[~val], seed)
            yv = m.predict(ndvi[pts][val][:, [i]]) if val.any() else y
            scores.append(evaluate.macro_f1(y[val] if val.any() else y, yv))
        best = candidates[int(np.argmax(scores))] if candidates else int(np.argmax(clear_share))
        chosen.append(dates[best])
        preds["single date (best on validation)"] = _gbm(ndvi[pts][:, [best]], y, seed).predict(
            np.nan_to_num(ndvi[test][:, [best]], nan=float(np.nanmedian(ndvi[:, best])))
        )
        preds["median composite"] = _gbm(median[pts], y, seed).predict(median[test])
        preds["seasonal composites"] = _gbm(seasonal[pts], y, seed).predict(seasonal[test])
        blocks = ids.ravel()[test]
        conf = {k: _block_confusions(yt, p, blocks, labels) for k, p in preds.items()}
        for k, c in conf.items():
            total = c.sum(axis=0)
            runs.setdefault(k, []).append(
                {
                    "seed": seed,
                    "oa": _oa(total),
                    "macro_f1": _macro_f1(total),
                    "oa_ci95": list(temporal.block_bootstrap_ci(c, _oa, n_boot, seed)),
                    "macro_f1_ci95": list(temporal.block_bootstrap_ci(c, _macro_f1, n_boot, seed)),
                    "n_train": len(pts),
                    "n_test": len(test),
                    "n_test_blocks": len(c),
                }
            )
        ref = conf["temporal (L-TAE, masked series)"]
        for k, c in conf.items():
            if c is ref:
                continue
            pair = np.stack([ref, c], axis=1)  # (blocks, 2, k, k)
            d = temporal.block_bootstrap_ci(
                pair, lambda s: _macro_f1(s[0]) - _macro_f1(s[1]), n_boot, seed
            )
            diffs.setdefault(k, []).append(
                {
                    "seed": seed,
                    "macro_f1_diff": _macro_f1(ref.sum(0)) - _macro_f1(c.sum(0)),
                    "ci95": list(d),
                }
            )
    models = {}
    for k, rs in runs.items():
        models[k] = {
            "oa": float(np.mean([r["oa"] for r in rs])),
            "macro_f1": float(np.mean([r["macro_f1"] for r in rs])),
            "oa_ci95": np.mean([r["oa_ci95"] for r in rs], axis=0).tolist(),
            "macro_f1_ci95": np.mean([r["macro_f1_ci95"] for r in rs], axis=0).tolist(),
            "macro_f1_seed_sd": float(np.std([r["macro_f1"] for r in rs], ddof=1))
            if len(rs) > 1
            else 0.0,
            "per_seed": rs,
        }
    differences = {
        k: {
            "macro_f1_diff": float(np.mean([r["macro_f1_diff"] for r in rs])),
            "ci95": np.mean([r["ci95"] for r in rs], axis=0).tolist(),
            "seeds_ci_above_zero": int(sum(r["ci95"][0] > 0 for r in rs)),
            "seeds_ci_below_zero": int(sum(r["ci95"][1] < 0 for r in rs)),
            "n_seeds": len(rs),
            "per_seed": rs,
        }
        for k, rs in diffs.items()
    }
    return {
        "models": models,
        "differences_temporal_minus": differences,
        "chosen_dates": chosen,
        "n_dates": len(dates),
        "n_single_date_candidates": len(candidates),
        "settings": {
            "seeds": list(seeds),
            "n_train": n_train,
            "block_px": block,
            "buffer_px": buffer,
            "test_share": test_share,
            "val_share": val_share,
            "epochs": epochs,
            "n_boot": n_boot,
        },
    }


def _smooth(proba: np.ndarray, dates: Sequence[str], period: str, prior: float) -> np.ndarray:
    """Smoothed per-period classes (NODATA where a period has no clear date)."""
    _, log_e, n_obs = temporal.period_log_evidence(proba, dates, period)
    sm = temporal.viterbi_smooth(log_e, n_obs, prior)
    return np.where(n_obs > 0, sm, legend.NODATA).astype(np.uint8)


def simulate_change(
    proba: np.ndarray,
    dates: Sequence[str],
    period: str,
    block: int,
    share: float,
    seed: int,
    min_confidence: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Splice a known change into a series: blocks of the last period take another block's data.

    The probabilities of a random ``share`` of the blocks, on the dates of the last period,
    are replaced by those of other (donor) blocks of the same dates: real observations of
    another place, i.e. a *simulated* land-cover change with a known location.

    Args:
        proba: ``(time, n_classes, y, x)`` per-date probabilities.
        dates: ISO dates (sorted).
        period: the period kind.
        block: block size in pixels (full blocks only).
        share: share of the full blocks that change.
        seed: seed of the choice of blocks and donors.
        min_confidence: a spliced pixel counts as changed only where the period-mean
            probability of its class is at least this before and after (a clear change of
            class, not a swap between two uncertain classes).

    Returns:
        ``(spliced proba, changed (y, x) bool)``; ``changed`` marks spliced pixels whose
        per-period class (raw argmax) differs between the original first period and the
        donor's last period.

    Raises:
        ValueError: fewer than two periods or fewer than two full blocks.
    """
    labels, pp, _ = temporal.period_probabilities(proba, dates, period)
    if len(labels) < 2:
        raise ValueError(f"a simulated change needs two periods; the series has {labels}")
    last = temporal.group_periods(dates, period)[labels[-1]]
    _, _, h, w = proba.shape
    corners = [
        (y, x) for y in range(0, h - block + 1, block) for x in range(0, w - block + 1, block)
    ]
    if len(corners) < 2:
        raise ValueError(f"{h}x{w} px hold fewer than two {block}-px blocks")
    rng = np.random.default_rng(seed)
    n = max(1, round(share * len(corners)))
    order = rng.permutation(len(corners))
    targets, donors = order[:n], rng.permutation(order[n:])[:n] if len(order) > n else order[:n]
    out = proba.copy()
    spliced = np.zeros((h, w), dtype=bool)
    for t_i, d_i in zip(targets, np.resize(donors, n), strict=True):
        (ty, tx), (dy, dx) = corners[t_i], corners[d_i]
        out[last, :, ty : ty + block, tx : tx + block] = proba[
            last, :, dy : dy + block, dx : dx + block
        ]
        spliced[ty : ty + block, tx : tx + block] = True
    pp_after = temporal.period_probabilities(out, dates, period)[1]
    raw_before, raw_after = temporal.raw_classes(pp)[0], temporal.raw_classes(pp_after)[-1]
    ok = (raw_before != legend.NODATA) & (raw_after != legend.NODATA)
    with np.errstate(invalid="ignore"):
        sure = (np.nanmax(np.nan_to_num(pp[0], nan=0.0), axis=0) >= min_confidence) & (
            np.nanmax(np.nan_to_num(pp_after[-1], nan=0.0), axis=0) >= min_confidence
        )
    return out, spliced & ok & sure & (raw_before != raw_after)


def consistency(
    proba: np.ndarray,
    dates: Sequence[str],
    *,
    period: str,
    change_prior: float,
    pairs: Sequence[tuple[int, int]] = (),
    block: int = 25,
    n_boot: int = 500,
    priors: Sequence[float] = (),
    simulated_share: float = 0.2,
    simulated_confidence: float = 0.6,
    seed: int = 0,
) -> dict[str, Any]:
    """Change shares of a mapped series, raw and after the rule, with block-bootstrap intervals.

    Args:
        proba: ``(time, n_classes, y, x)`` per-date probabilities (NaN where masked).
        dates: ISO date per time step.
        period: the period of the per-period maps.
        change_prior: the rule's prior probability of change per period.
        pairs: date index pairs where no change is expected (e.g. consecutive clear dates of
            one summer); measured raw and with the rule run over dates.
        block: block size (pixels) of the intervals and of the simulated change.
        n_boot: bootstrap resamples.
        priors: further ``change_prior`` values for the sensitivity table; for each, the
            change of every date pair after the rule is measured too.
        simulated_share: share of blocks given a simulated change (:func:`simulate_change`).
        simulated_confidence: ``min_confidence`` of the simulated change.
        seed: seed of the simulated change.

    Returns:
        ``{"date_pairs", "periods", "prior_sensitivity", "simulated_change", ...}``; also the
        class arrays ``raw_classes``, ``smoothed_classes`` and ``period_labels`` for figures.
    """
    out: dict[str, Any] = {"date_pairs": {}, "periods": {}, "prior_sensitivity": {}}
    per_date = temporal.raw_classes(proba)
    names = {f"{dates[i]}→{dates[j]}": (i, j) for i, j in pairs}

    def date_pairs(prior: float) -> dict[str, dict[str, Any]]:
        smooth_d = _smooth(proba, dates, "date", prior)
        return {k: temporal.change_share(smooth_d[i], smooth_d[j], block, n_boot)
                for k, (i, j) in names.items()}  # fmt: skip

    for k, rule in date_pairs(change_prior).items():
        i, j = names[k]
        out["date_pairs"][k] = {
            "raw": temporal.change_share(per_date[i], per_date[j], block, n_boot),
            "rule": rule,
        }
    labels, pp, _ = temporal.period_probabilities(proba, dates, period)
    raw = temporal.raw_classes(pp)
    can_simulate = len(labels) > 1
    if can_simulate:
        spliced, truth = simulate_change(
            proba, dates, period, block, simulated_share, seed, simulated_confidence
        )
    for prior in [change_prior, *priors]:
        sm = _smooth(proba, dates, period, prior)
        res = {
            f"{labels[p - 1]}→{labels[p]}": {
                "raw": temporal.change_share(raw[p - 1], raw[p], block, n_boot),
                "rule": temporal.change_share(sm[p - 1], sm[p], block, n_boot),
            }
            for p in range(1, len(labels))
        }
        sim: dict[str, Any] = {}
        if can_simulate:
            sim_raw = temporal.raw_classes(temporal.period_probabilities(spliced, dates, period)[1])
            sim_sm = _smooth(spliced, dates, period, prior)
            n_true = int(truth.sum())
            for kind, cls in (("raw", sim_raw), ("rule", sim_sm)):
                ch = temporal.change_layer(cls)
                flagged = (ch != legend.NODATA) & (ch > 0)
                valid = ch != legend.NODATA
                sim[kind] = {
                    "recall": float(flagged[truth].mean()) if n_true else float("nan"),
                    "false_change_share": float(flagged[valid & ~truth].mean()),
                }
            sim["n_changed_pixels"] = n_true
        if prior == change_prior:
            out["periods"] = res
            out["simulated_change"] = sim
            out["smoothed_classes"] = sm
            out["raw_classes"] = raw
            out["period_labels"] = labels
        else:
            out["prior_sensitivity"][str(prior)] = {
                "rule_change_share": {k: v["rule"]["changed_share"] for k, v in res.items()},
                "simulated_recall": sim.get("rule", {}).get("recall", float("nan")),
                "date_pairs": date_pairs(prior),
            }
    return out


def plot_comparison(models: dict[str, Any], title: str = "") -> Any:
    """Macro-F1 and OA with their intervals per model (matplotlib figure)."""
    import matplotlib.pyplot as plt

    names = list(models)
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.6 * len(names) + 1.2), sharey=True)
    for ax, key in zip(axes, ("macro_f1", "oa"), strict=True):
        vals = np.array([models[n][key] for n in names])
        ci = np.array([models[n][f"{key}_ci95"] for n in names])
        ax.errorbar(vals, np.arange(len(names)), xerr=[vals - ci[:, 0], ci[:, 1] - vals], fmt="o")
        ax.set_xlabel(f"{key} (mean over seeds; 95 % block-bootstrap interval)")
        ax.grid(alpha=0.3)
    axes[0].set_yticks(np.arange(len(names)), names)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_period_maps(
    rows: dict[str, tuple[Sequence[str], np.ndarray, np.ndarray]], title: str = ""
) -> Any:
    """Per-period class maps (raw argmax and after the rule) and the change layer per series.

    Args:
        rows: per series name ``(period_labels, raw (period, y, x), smoothed (period, y, x))``.
        title: figure title.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    cmap = ListedColormap([c.colour for c in legend.CLASSES])
    n_cols = max(2 * len(p) + 2 for p, _, _ in rows.values())
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(2.6 * n_cols, 2.8 * len(rows)))
    axes = np.atleast_2d(axes)
    for r, (name, (labels, raw, smooth)) in enumerate(rows.items()):
        panels = [(f"{lab} raw", raw[i], True) for i, lab in enumerate(labels)]
        panels += [(f"{lab} rule", smooth[i], True) for i, lab in enumerate(labels)]
        for kind, cls in (("raw", raw), ("rule", smooth)):
            ch = temporal.change_layer(cls)
            panels.append(
                (f"changed ({kind})", np.where(ch == legend.NODATA, np.nan, ch > 0), False)
            )
        for ax in axes[r]:
            ax.set_axis_off()
        for ax, (t, img, is_class) in zip(axes[r], panels, strict=False):
            if is_class:
                ax.imshow(np.ma.masked_equal(img, legend.NODATA), cmap=cmap, vmin=-0.5,
                          vmax=legend.N_CLASSES - 0.5, interpolation="nearest")  # fmt: skip
            else:
                ax.imshow(img, cmap="Reds", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(f"{name}\n{t}", fontsize=8)
    handles = [Rectangle((0, 0), 1, 1, color=c.colour) for c in legend.CLASSES]
    fig.legend(handles, legend.KEYS, loc="lower center", ncol=legend.N_CLASSES, fontsize=8)
    fig.suptitle(title)
    return fig


__all__ = [
    "consistency",
    "plot_comparison",
    "plot_period_maps",
    "seasonal_medians",
    "simulate_change",
    "slovenia_comparison",
    "split_blocks",
]


# --------------------------------------------------------------------------- notebook steps
TEMPORAL = "temporal (L-TAE, masked series)"
"""Name of the temporal encoder in :func:`slovenia_comparison`'s results."""

SeriesInput = tuple[list[Path], dict[str, Any]]
"""The files of a series and how to read them (:func:`lulcbook.series_predict.read_series`)."""


def reference_counts(ds: xr.Dataset) -> dict[str, int]:
    """Reference pixels per legend class (``nodata`` for unlabelled pixels)."""
    values, counts = np.unique(ds["label"].values.ravel(), return_counts=True)
    return {
        (legend.KEYS[int(i)] if i < 255 else "nodata"): int(n)
        for i, n in zip(values, counts, strict=True)
    }


def comparison_table(slo: Mapping[str, Any]) -> pd.DataFrame:
    """OA and macro-F1 of every Slovenia model with their intervals and seed spread."""
    rows = {
        k: {
            "OA": v["oa"],
            "OA 95% CI": np.round(v["oa_ci95"], 3),
            "macro-F1": v["macro_f1"],
            "macro-F1 95% CI": np.round(v["macro_f1_ci95"], 3),
            "seed sd": v["macro_f1_seed_sd"],
        }
        for k, v in slo["models"].items()
    }
    return pd.DataFrame(rows).T


def difference_table(slo: Mapping[str, Any]) -> pd.DataFrame:
    """Macro-F1 of the temporal encoder minus each other model, interval and seed counts."""
    rows = {
        k: {
            "macro-F1 temporal − this": v["macro_f1_diff"],
            "95% CI": np.round(v["ci95"], 3),
            "seeds with CI > 0": f"{v['seeds_ci_above_zero']}/{v['n_seeds']}",
            "seeds with CI < 0": f"{v['seeds_ci_below_zero']}/{v['n_seeds']}",
        }
        for k, v in slo["differences_temporal_minus"].items()
    }
    return pd.DataFrame(rows).T


def shipped_map_model(name: str) -> tuple[predict.TileClassifier, zoo.ModelInfo, float]:
    """A shipped map model, its zoo entry and the resolution (m) it was trained at."""
    info = zoo.get(name)
    model = predict.load_classifier(info.weights, info.metadata["model_class"])
    return model, info, float(info.metadata.get("resolution_m", 10))


SELECT_SERIES: str = "Exeter HLS S30 2021"
"""The series the rule's operating prior is chosen on (:func:`operating_point`); the 2024
Sentinel-2 series, another year and processing, is the check."""


HAZE_SERIES: str = "Exeter S2 L2A 2024, haze test"
"""The Sentinel-2 series once more, without what the haze test flags with the thresholds first
set by hand on it (``HazeTest()``, :mod:`lulcbook.haze`); its clear dates are those of the SCL mask
alone."""

HAZE_CHOSEN_SERIES: str = "Exeter S2 L2A 2024, haze test chosen on HLS"
"""The Sentinel-2 series read with haze-test thresholds chosen on the HLS series (its clear dates
are those of the SCL mask alone): as ``lulcbook series`` reads it by default when the choice gives
:data:`lulcbook.haze.SERIES_DEFAULT` (:func:`series_defaults`)."""

PRODUCT_SLUGS: dict[str, str] = {
    "Exeter S2 L2A 2024": "exeter-s2-2024",
    SELECT_SERIES: "exeter-hls-2021",
}
"""File names of the series written as map products (``temporal.products`` selects them)."""


def exeter_series(folder: Path, chosen: haze.HazeTest | None = None) -> dict[str, SeriesInput]:
    """The Exeter series of the sample, by label (:data:`SeriesInput`).

    Sentinel-2 L2A 2024 (SCL mask), the same with the haze test (:data:`HAZE_SERIES`), with
    ``chosen`` thresholds of the test when given (:data:`HAZE_CHOSEN_SERIES`, e.g. those of
    :func:`lulcbook.experiments.haze_select.haze_selection`), and HLS S30 2021 (Fmask).
    """
    hls_kw = {
        "preset": "hls",
        "mask_band": "Fmask",
        "mask_values": series_predict.HLS_FMASK_INVALID,
    }
    s2 = sorted((folder / "s2-data").glob("exe_*.tif"))
    s2_kw: dict[str, Any] = {"preset": "s2-l2a-n0400", "mask_band": "SCL"}
    return {
        "Exeter S2 L2A 2024": (s2, s2_kw),
        HAZE_SERIES: (s2, {**s2_kw, "haze_test": haze.HazeTest()}),
        **({HAZE_CHOSEN_SERIES: (s2, {**s2_kw, "haze_test": chosen})} if chosen else {}),
        SELECT_SERIES: (sorted((folder / "hls-data").glob("hls_exe_*.tif")), hls_kw),
    }


def series_consistency(
    files: Sequence[Path],
    read_kw: Mapping[str, Any],
    map_model: Any,
    model_res: float,
    cfg: Mapping[str, Any],
) -> tuple[dict[str, Any], tuple[Sequence[str], np.ndarray, np.ndarray]]:
    """Map a series date by date and measure its change shares (:func:`consistency`).

    Args:
        files: the series' files.
        read_kw: how to read them (preset, mask band and values) and, under ``"haze_test"``, a
            :class:`lulcbook.haze.HazeTest` whose flags are masked too (clear dates stay those
            of the mask band).
        map_model: the map model (a :class:`lulcbook.predict.TileClassifier`).
        model_res: the resolution (m) the model was trained at; segments scale to the series'.
        cfg: the ``temporal`` parameters (crop, clear_max_masked, period, change_prior,
            map_block, n_boot, prior_sweep).

    Returns:
        ``(dates, masked share per date (by the mask band), clear dates, with a haze test the
        share it flags per date (``haze_flagged``), the consistency results (with
        :data:`lulcbook.series_predict.DEFAULT_SEGMENTS`) and ``segments`` (the raw change of each pair of consecutive
        clear dates with every choice of :data:`lulcbook.series_predict.SEGMENTS`, and under
        ``"shared − per-date"`` their paired difference); (period labels, raw period maps,
        period maps after the rule))``.
    """
    kw = dict(read_kw)
    test: haze.HazeTest | None = kw.pop("haze_test", None)
    cs = clear_series.read_clear(
        files, kw, map_model, model_res, cfg["clear_max_masked"], crop=cfg["crop"], haze_test=test
    )
    s, clear, masked, flagged = cs.hazed(), cs.clear, cs.masked, cs.flagged_share()
    by_segments = {
        seg: series_predict.series_probabilities(cs.model, s, seg)
        for seg in series_predict.SEGMENTS
    }
    proba = by_segments[series_predict.DEFAULT_SEGMENTS]
    per_date = {seg: temporal.raw_classes(p) for seg, p in by_segments.items()}
    block, n_boot = cfg["map_block"], cfg["n_boot"]
    pairs = {cs.pair_label(i, j): (i, j) for i, j in cs.pairs}
    segments: dict[str, Any] = {
        seg: {k: temporal.change_share(c[i], c[j], block, n_boot) for k, (i, j) in pairs.items()}
        for seg, c in per_date.items()
    }
    shared, own = per_date["shared"], per_date["per-date"]
    segments["shared − per-date"] = {
        k: temporal.change_share_difference((shared[i], shared[j]), (own[i], own[j]), block, n_boot)
        for k, (i, j) in pairs.items()
    }
    res = consistency(
        proba,
        s.dates,
        period=cfg["period"],
        change_prior=cfg["change_prior"],
        pairs=cs.pairs,
        block=cfg["map_block"],
        n_boot=cfg["n_boot"],
        priors=cfg["prior_sweep"],
    )
    panels = (res.pop("period_labels"), res.pop("raw_classes"), res.pop("smoothed_classes"))
    entry = {
        "dates": s.dates,
        "masked_share": masked,
        "clear_dates": [s.dates[i] for i in clear],
        **({"haze_flagged": flagged} if test is not None else {}),
        **res,
        "segments": segments,
    }
    return entry, panels


def segments_table(consistency_: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Raw change between consecutive clear dates with shared and with per-date superpixels.

    The rows ``shared − per-date`` hold the paired difference (a share, not a count).
    """
    rows = {
        (lab, pair, seg): {
            "changed share": v.get("changed_share", v.get("difference")),
            "95% CI": np.round(v["ci95"], 3),
            "pixels": v.get("n_valid_both", ""),
        }
        for lab, c in consistency_.items()
        for seg, pairs in c.get("segments", {}).items()
        for pair, v in pairs.items()
    }
    return pd.DataFrame(rows).T


def change_rows(consistency_: Mapping[str, Mapping[str, Any]], kind: str) -> pd.DataFrame:
    """Changed share raw and after the rule, with intervals, of every pair of ``kind``.

    ``kind`` is ``"date_pairs"`` (consecutive clear dates) or ``"periods"``.
    """
    rows = {
        (lab, pair): {
            "raw": v["raw"]["changed_share"],
            "raw 95% CI": np.round(v["raw"]["ci95"], 3),
            "rule": v["rule"]["changed_share"],
            "rule 95% CI": np.round(v["rule"]["ci95"], 3),
            "pixels": v["raw"]["n_valid_both"],
        }
        for lab, c in consistency_.items()
        for pair, v in c[kind].items()
    }
    return pd.DataFrame(rows).T


def _by_prior(c: Mapping[str, Any], change_prior: float) -> dict[str, dict[str, Any]]:
    """The rule's results per prior of one series: the main run's, then the sweep's.

    Each value has ``rule_change_share`` (per period pair), ``no_change_share`` (that of the
    first period pair, NaN without one), ``simulated_recall`` and, where measured,
    ``date_pairs`` (the change of each pair of consecutive clear dates after the rule, with its
    interval).
    """
    nan = float("nan")
    main = {
        "rule_change_share": {k: x["rule"]["changed_share"] for k, x in c["periods"].items()},
        "simulated_recall": c["simulated_change"].get("rule", {}).get("recall", nan),
        "date_pairs": {k: x["rule"] for k, x in c["date_pairs"].items()},
    }
    return {
        prior: {**v, "no_change_share": next(iter(v["rule_change_share"].values()), nan)}
        for prior, v in {str(change_prior): main, **c["prior_sensitivity"]}.items()
    }


def sensitivity_table(
    consistency_: Mapping[str, Mapping[str, Any]], change_prior: float
) -> pd.DataFrame:
    """No-change share and recall of simulated change, per series, measure and prior.

    The rows of ``change_prior`` come from the main run, the others from the prior sweep.
    """
    values = {}
    for lab, c in consistency_.items():
        for prior, v in _by_prior(c, change_prior).items():
            values[lab, "no-change share", prior] = v["no_change_share"]
            values[lab, "recall of simulated change", prior] = v["simulated_recall"]
    return pd.DataFrame(values, index=["value"]).T


def tradeoff_frame(
    consistency_: Mapping[str, Mapping[str, Any]], change_prior: float
) -> pd.DataFrame:
    """The rule's trade-off per series and prior: changes where none is expected against recall.

    Columns: ``series``, ``prior``, ``no-change share`` (the rule's change between the first two
    periods), ``date-pair change`` with ``date-pair CI`` (the largest change after the rule
    between consecutive clear dates, NaN without such a pair) and ``recall`` (of the simulated
    change, :func:`simulate_change`); sorted by series and prior.
    """
    nan = float("nan")
    rows = []
    for lab, c in consistency_.items():
        for prior, v in _by_prior(c, change_prior).items():
            pairs = list(v.get("date_pairs", {}).values())
            worst = max(pairs, key=lambda d: d["changed_share"]) if pairs else None
            rows.append(
                {
                    "series": lab,
                    "prior": float(prior),
                    "no-change share": v["no_change_share"],
                    "date-pair change": worst["changed_share"] if worst else nan,
                    "date-pair CI": list(worst["ci95"]) if worst else [nan, nan],
                    "recall": v["simulated_recall"],
                }
            )
    return pd.DataFrame(rows).sort_values(["series", "prior"]).reset_index(drop=True)


def operating_point(frame: pd.DataFrame, select: str, target: float = 0.10) -> dict[str, Any]:
    """The rule's prior chosen on one series and measured on the others.

    The chosen prior is the largest of the sweep whose changes on ``select`` — between periods
    and between consecutive clear dates — stay at or below ``target`` (the most change kept
    within the target). The other series play no part in the choice, so their values at that
    prior are an out-of-sample check.

    Args:
        frame: :func:`tradeoff_frame`.
        select: the series the prior is chosen on.
        target: the largest acceptable share of pixels changing where no change is expected.

    Returns:
        ``{"selected_on", "target", "prior", "series": {label: {"no_change_share",
        "date_pair_change", "date_pair_ci95", "recall"}}}`` for the other series; empty when
        ``select`` is not in ``frame`` or no prior meets the target on it.
    """
    pair_ok = frame["date-pair change"].isna() | (frame["date-pair change"] <= target)
    own = frame[(frame["series"] == select) & (frame["no-change share"] <= target) & pair_ok]
    if own.empty:
        return {}
    prior = float(own["prior"].max())
    at = frame[(frame["prior"] == prior) & (frame["series"] != select)]
    return {
        "selected_on": select,
        "target": target,
        "prior": prior,
        "series": {
            str(r["series"]): {
                "no_change_share": float(r["no-change share"]),
                "date_pair_change": float(r["date-pair change"]),
                "date_pair_ci95": [float(x) for x in r["date-pair CI"]],
                "recall": float(r["recall"]),
            }
            for _, r in at.iterrows()
        },
    }


def operating_points(frame: pd.DataFrame, first: str, target: float = 0.10) -> list[dict[str, Any]]:
    """:func:`operating_point` chosen on each series in turn, ``first`` (the pre-declared one) first.

    With two series this is the check in both directions: chosen on one, read on the other,
    and the reverse. Series on which no prior meets the target give no point.

    Args:
        frame: :func:`tradeoff_frame`.
        first: the series whose choice is the pre-declared check (:data:`SELECT_SERIES`).
        target: as :func:`operating_point`.
    """
    series = [first] + [s for s in dict.fromkeys(frame["series"]) if s != first]
    points = [operating_point(frame, s, target) for s in series]
    return [p for p in points if p]


def operating_verdicts(point: Mapping[str, Any]) -> list[tuple[str, bool | None]]:
    """One verdict per series checked at :func:`operating_point` (none without a point).

    Met when the change between periods and between consecutive clear dates (where measured)
    are both at or below the target.
    """
    if not point:
        return []
    target = point["target"]
    out: list[tuple[str, bool | None]] = []
    for label, v in point["series"].items():
        pair = v["date_pair_change"]
        ok = v["no_change_share"] <= target and not pair > target  # NaN: no clear pair
        lo, hi = v["date_pair_ci95"]
        dates = "" if np.isnan(pair) else (
            f"{pair:.1%} of pixels between consecutive clear dates (CI {lo:.1%}–{hi:.1%}) and "
        )  # fmt: skip
        out.append(
            (
                f"{label}: the rule at change_prior {point['prior']} (chosen on "
                f"{point['selected_on']}: the largest prior of the sweep whose changes stay "
                f"≤ {target:.0%} there) changes {dates}{v['no_change_share']:.1%} between "
                f"periods, and keeps {v['recall']:.1%} of the simulated changes — "
                f"{'meets' if ok else 'MISSES'} ≤ {target:.0%}",
                bool(ok),
            )
        )
    return out


def product_series(
    series: Mapping[str, SeriesInput], slugs: Sequence[str]
) -> dict[str, tuple[str, SeriesInput]]:
    """The series written as map products, read as ``lulcbook series`` reads them by default.

    Args:
        series: :func:`exeter_series`.
        slugs: the product names to write (``temporal.products``, :data:`PRODUCT_SLUGS`).

    Returns:
        ``{label: (slug, (files, read_kw))}`` where ``read_kw`` holds the command's default
        haze test (:data:`lulcbook.haze.SERIES_DEFAULT`) in place of any other.
    """
    return {
        label: (slug, (files, {**kw, "haze_test": haze.SERIES_DEFAULT}))
        for label, (files, kw) in series.items()
        if (slug := PRODUCT_SLUGS.get(label, "")) in slugs
    }


def series_defaults(
    point: Mapping[str, Any], chosen: haze.HazeTest | None, change_prior: float
) -> tuple[str, bool]:
    """Whether the defaults of ``lulcbook series`` are the values this notebook chooses.

    The default change prior (:data:`lulcbook.temporal.SERIES_CHANGE_PRIOR`) against the
    operating point chosen on :data:`SELECT_SERIES` (:func:`operating_point`) and the notebook's
    ``change_prior`` (the products' prior); the default haze test
    (:data:`lulcbook.haze.SERIES_DEFAULT`) against the thresholds chosen on the HLS series
    against its Fmask (:func:`lulcbook.experiments.haze_select.haze_selection`).

    Args:
        point: :func:`operating_point` on :data:`SELECT_SERIES` (empty: none met the target).
        chosen: the haze test chosen on the HLS series (``None``: none chosen).
        change_prior: the notebook's ``change_prior``.

    Returns:
        The sentence, and whether all three agree.
    """
    default, test = temporal.SERIES_CHANGE_PRIOR, haze.SERIES_DEFAULT
    prior = point.get("prior")
    where = point.get("selected_on", SELECT_SERIES)
    picked = "none meets the target" if prior is None else f"{prior:g}"
    thresholds = "none" if chosen is None else f"{chosen.blue_rise:g}, {chosen.red_ratio:g}"
    same = prior == default and change_prior == default and chosen == test
    return (
        f"`lulcbook series` defaults: change prior {default:g} (the operating point chosen on "
        f"{where}: {picked}; the products here: {change_prior:g}) and haze-test thresholds "
        f"blue rise {test.blue_rise:g}, red ratio {test.red_ratio:g} (chosen on the HLS series "
        f"against its Fmask: {thresholds}) — "
        + (
            "the defaults are the values chosen here"
            if same
            else "DIFFER from the values chosen here"
        ),
        bool(same),
    )


def default_product_verdict(
    consistency_: Mapping[str, Mapping[str, Any]],
    label: str,
    change_prior: float,
    target: float = 0.10,
    plain: str | None = None,
) -> list[tuple[str, bool | None]]:
    """The no-change target read on a series mapped as ``lulcbook series`` maps it by default.

    For each pair of consecutive clear dates of ``label``: the share of pixels whose class
    changes after the rule (run over dates at ``change_prior``) with its block-bootstrap
    interval, against ``target`` (:func:`lulcbook.targets.verdict`), with the change between
    periods, the share of the simulated changes kept and the pixels the share rests on; with
    ``plain``, the same series read with its own mask alone, also the share of its pixels that
    are left (what the haze test costs). None without a clear pair.
    """
    c = consistency_[label]
    periods = ", ".join(
        f"{k}: {v['rule']['changed_share']:.1%}" for k, v in c.get("periods", {}).items()
    )
    recall = c.get("simulated_change", {}).get("rule", {}).get("recall", float("nan"))
    out: list[tuple[str, bool | None]] = []
    for pair, v in c["date_pairs"].items():
        rule = v["rule"]
        text, ok = targets.verdict(
            rule["changed_share"],
            target,
            "<=",
            f"{label}, mapped as `lulcbook series` maps by default (change prior "
            f"{change_prior:g}): share of pixels changing class between the consecutive clear "
            f"dates {pair}",
            rule["ci95"],
            f"{rule['n_blocks']} blocks",
        )
        n = rule["n_valid_both"]
        base = consistency_.get(plain or "", {}).get("date_pairs", {}).get(pair)
        kept = ""
        if base:
            n0 = base["rule"]["n_valid_both"]
            kept = f" ({n / n0:.0%} of the {n0:,} that {plain} leaves)" if n0 else ""
        out.append(
            (
                f"{text}; on {n:,} pixels with a class on both dates{kept}; between periods "
                f"{periods or 'one period only'}; simulated changes kept {recall:.0%}",
                ok,
            )
        )
    return out


def tradeoff_figure(frame: pd.DataFrame, target: float = 0.10) -> Any:
    """No-change share (x) against recall of simulated change (y), a curve per series over priors.

    Each point is labelled with its prior; the dashed line is ``target``.
    """
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    kdims, vdims = ["no-change share"], ["recall", "series", "prior"]
    layers = []
    for i, (name, part) in enumerate(frame.groupby("series", sort=True)):
        colour = hv.Cycle.default_cycles["default_colors"][i % 10]
        data = part[kdims + vdims]
        layers += [
            hv.Curve(data, kdims, vdims, label=str(name)).opts(color=colour),
            hv.Scatter(data, kdims, vdims, label=str(name)).opts(color=colour),
            hv.Labels(part.assign(text=part["prior"].map("{:g}".format)),
                      ["no-change share", "recall"], "text")
            .opts(text_color=colour, text_font_size="8pt", yoffset=0.03, backend="bokeh")
            .opts(color=colour, size=7, xoffset=0.002, yoffset=0.03, backend="matplotlib"),
        ]  # fmt: skip
    line = hv.VLine(target).opts(color="grey", line_dash="dashed", backend="bokeh")
    fig = hv.Overlay([*layers, line.opts(color="grey", linestyle="dashed", backend="matplotlib")])
    labels = {
        "title": f"The rule over its change prior (points: prior; dashed: {target:.0%})",
        "xlabel": "pixels changing class between periods (no change expected)",
        "ylabel": "simulated changes kept",
    }
    fig = fig.opts(**labels, fig_inches=(7, 4), aspect=1.75, legend_position="bottom_right",
                   backend="matplotlib")  # fmt: skip
    return fig.opts(**labels, width=700, height=400, legend_position="bottom_right",
                    backend="bokeh")  # fmt: skip


SIDE_WORDS: dict[int, str] = {1: "better than", -1: "worse than", 0: "not distinguishable from"}
"""The temporal encoder against another model, by the side of zero its paired interval is on."""


def temporal_verdicts(
    slo: Mapping[str, Any], consistency_: Mapping[str, Mapping[str, Any]], change_prior: float
) -> list[tuple[str, bool | None]]:
    """The verdict sentences, with whether each target is met (``None``: no target).

    The temporal encoder against each other Slovenia model (from the interval of the paired
    difference); per no-change pair of each series, the changed share after the rule against
    5 % and 10 %; the recall of simulated change per prior; the raw change of the single-date
    maps with shared and with per-date superpixels.
    """
    verdicts: list[tuple[str, bool | None]] = []
    tm = slo["models"][TEMPORAL]
    for k, d in slo["differences_temporal_minus"].items():
        lo, hi = d["ci95"]
        word = SIDE_WORDS[bootstrap.interval_side(d["ci95"])]
        verdicts.append(
            (
                f"Slovenia: temporal macro-F1 {tm['macro_f1']:.3f} is {word} {k} "
                f"({slo['models'][k]['macro_f1']:.3f}); difference {d['macro_f1_diff']:+.3f} "
                f"(95 % CI {lo:+.3f} to {hi:+.3f}; CI above zero in "
                f"{d['seeds_ci_above_zero']}/{d['n_seeds']} seeds)",
                None,
            )
        )
    for label, c in consistency_.items():
        for pair, v in c["date_pairs"].items():
            raw, rule = v["raw"]["changed_share"], v["rule"]["changed_share"]
            lo_raw, hi_raw = v["raw"]["ci95"][0], v["raw"]["ci95"][1]
            for target in (0.05, 0.10):
                ok = rule <= target
                verdicts.append(
                    (
                        f"{label} {pair} (no change expected): {rule:.1%} of pixels change after "
                        f"the rule (raw {raw:.1%}, CI {lo_raw:.1%}–{hi_raw:.1%}) — "
                        f"{'meets' if ok else 'MISSES'} ≤ {target:.0%}",
                        ok,
                    )
                )
        sim = c.get("simulated_change", {})
        if sim:
            sweep = ", ".join(
                f"{p}: {v['simulated_recall']:.1%}" for p, v in c["prior_sensitivity"].items()
            )
            verdicts.append(
                (
                    f"{label}: the rule keeps {sim['rule']['recall']:.1%} of "
                    f"{sim['n_changed_pixels']} simulated confident changes at change_prior "
                    f"{change_prior} (raw maps: {sim['raw']['recall']:.0%}); at prior {sweep}",
                    None,
                )
            )
        segs = c.get("segments", {})
        for pair in next(iter(segs.values()), {}):
            shares = {k: v[pair] for k, v in segs.items() if "changed_share" in v[pair]}
            diffs = [
                f"difference {v[pair]['difference']:+.1%} (paired CI {v[pair]['ci95'][0]:+.1%} "
                f"to {v[pair]['ci95'][1]:+.1%})"
                for v in segs.values()
                if "difference" in v[pair]
            ]
            verdicts.append(
                (
                    f"{label} {pair}, single-date maps: "
                    + "; ".join(
                        [
                            f"{v['changed_share']:.1%} of pixels change with {k} superpixels "
                            f"(CI {v['ci95'][0]:.1%}–{v['ci95'][1]:.1%})"
                            for k, v in shares.items()
                        ]
                        + diffs
                    ),
                    None,
                )
            )
        if not c["date_pairs"]:
            verdicts.append(
                (f"{label}: fewer than two clear dates, no no-change pair to judge", None)
            )
    return verdicts


def verdict_lines(verdicts: Sequence[tuple[str, bool | None]]) -> str:
    """The verdicts one a line, marked ✔ (met), ✘ (missed) or blank (no target)."""
    marks = {None: "  ", True: "✔ ", False: "✘ "}
    return "\n".join(marks[ok] + text for text, ok in verdicts)
