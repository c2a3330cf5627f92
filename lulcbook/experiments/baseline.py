"""Plain gradient boosting on the LUCAS band medians against the shipped map model (held out).

A plain gradient-boosting classifier trained on the continental LUCAS band medians, without
tuning, is the baseline of the independent single-date check of the maps. This module puts it
(as given, with the climate vector, and with the climate vector and the shipped model's
augmented training copies) and the shipped nine-band map model side by side where the project
can measure all of them: on LUCAS points of spatial blocks that none saw in training
(:func:`lulcbook.experiments.within_year.held_out_design`), classified

* from their annual band medians, the input both models learn from, and
* from *simulated* single dates: the annual median moved to each of the point's own 2018 NDVI
  percentiles (:func:`lulcbook.experiments.within_year.percentile_states`; the NIR moves, the
  other bands stay at their median), as a map model meets a scene early or late in the season.

The simulated states are a stand-in for real single dates, not real dates: they vary one band,
so they show how far a model leans on the medians' NIR, not everything a real date changes.

Every model is trained from several seeds on the same folds; overall accuracy, its interval
(bootstrap over the blocks, seeds drawn with replacement) and the paired difference to the
shipped model use the same resamples for every model
(:func:`lulcbook.experiments.continental.resampled_scores`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from lulcbook import viz
from lulcbook.bootstrap import interval_side
from lulcbook.experiments.continental import (
    bootstrap_weights,
    ci95,
    cluster_confusions,
    resampled_scores,
)
from lulcbook.experiments.maps import BAND_SETS
from lulcbook.experiments.within_year import (
    PERCENTILES,
    flip_share,
    held_out_design,
    out_of_fold_classes,
    percentile_states,
)
from lulcbook.models import spectral
from lulcbook.progress import progress

SHIPPED = "shipped map model"
"""Row of the shipped nine-band model (augmented, with the climate input)."""

GB = "gradient boosting"
"""Row of the plain baseline: gradient boosting on the band medians, default settings."""

GB_CLIMATE = "gradient boosting + climate"
"""The baseline with the WorldClim BIO1–19 vector as further columns (as the shipped model)."""

GB_AUGMENTED = "gradient boosting + climate, augmented"
"""The baseline with climate, trained on the shipped model's augmented copies: what is left of
the difference to the shipped model is the network's, the rest is the augmentation's."""

MODELS: tuple[str, ...] = (SHIPPED, GB, GB_CLIMATE, GB_AUGMENTED)
BASELINES: tuple[str, ...] = MODELS[1:]

STATES: tuple[str, ...] = ("annual", *PERCENTILES)
"""Inputs classified: the annual medians, then the simulated single dates (NDVI percentiles)."""

FLIP_PAIR: tuple[str, str] = ("p25", "p75")
"""The two simulated dates whose class changes are counted (the inter-quartile NDVI spread)."""


def gradient_boosting_classes(
    inputs: Mapping[str, np.ndarray],
    y: np.ndarray,
    folds: np.ndarray,
    seeds: Sequence[int],
    climate: np.ndarray | None = None,
    augment: tuple[Sequence[str], np.ndarray, int] | None = None,
) -> dict[str, np.ndarray]:
    """Held-out classes of gradient boosting (default settings) trained on the annual medians.

    Args:
        inputs: state → ``(n, n_bands)`` reflectance; ``"annual"`` is what it learns from.
        y: legend index of every point.
        folds: fold of every point; each fold is classified by a model trained on the others.
        seeds: training seeds (of the early-stopping split and of the augmented copies).
        climate: ``(n, 19)`` BIO1–19 appended as columns (NaN allowed), or ``None``.
        augment: ``(bands, seasonal NDVI (n, k), copies)``: train on the medians and
            ``copies`` augmented copies of them, drawn as the map models' are
            (:func:`lulcbook.models.spectral.augment_reflectance`); ``None``: the medians only.

    Returns:
        ``{state: (n_seeds, n) legend indices}``.
    """

    def columns(x: np.ndarray, c: np.ndarray | None) -> np.ndarray:
        return x if c is None else np.hstack([x, c])

    out = {s: np.zeros((len(seeds), len(y)), np.int64) for s in inputs}
    for k, seed in enumerate(seeds):
        for f in np.unique(folds):
            test = folds == f
            x, c = inputs["annual"][~test], None if climate is None else climate[~test]
            parts = [x]
            if augment is not None:
                bands, seasons, copies = augment
                rng = np.random.default_rng(seed)
                parts += [
                    spectral.augment_reflectance(x, bands, rng, seasons=seasons[~test])
                    for _ in range(copies)
                ]
            model = HistGradientBoostingClassifier(random_state=seed)
            model.fit(
                columns(np.concatenate(parts), None if c is None else np.tile(c, (len(parts), 1))),
                np.tile(y[~test], len(parts)),
            )
            for s, xs in inputs.items():
                out[s][k, test] = model.predict(
                    columns(xs[test], None if climate is None else climate[test])
                )
    return out


def baseline_comparison(
    lucas: pd.DataFrame,
    climate: np.ndarray,
    sp: Mapping[str, Any],
    n_boot: int,
    *,
    seeds: int = 3,
    n_folds: int = 5,
    block_km: float = 200.0,
    band_set: str = "s2-9",
    n_jobs: int = 1,
) -> dict[str, Any]:
    """The shipped map model and the plain baseline on held-out blocks, medians and simulated dates.

    Args:
        lucas: the LUCAS table the map models learn from (``x_laea``, ``y_laea``,
            ``label_index``, band medians, NDVI seasons and percentiles).
        climate: ``(len(lucas), 19)`` BIO1–19 of its points.
        sp: the ``spectral`` parameters; its ``seed`` is the first training seed.
        n_boot: bootstrap replicates.
        seeds: training seeds per fold and model.
        n_folds: spatial folds.
        block_km: side of the LAEA blocks (folds and bootstrap clusters).
        band_set: the band set of the models (a key of
            :data:`lulcbook.experiments.maps.BAND_SETS`).
        n_jobs: worker processes for the map models.

    Returns:
        ``{"simulated": True, "band_set", "seeds", "n_folds", "block_km", "n_points",
        "oa": {state: {model: estimate}}, "difference": {state: {baseline: shipped −
        baseline}}, "flips": {model: estimate}}``; an estimate is ``{"estimate", "ci95"}``
        (flips: :func:`lulcbook.experiments.within_year.flip_share`).

    Raises:
        ValueError: ``climate`` of another length, no point with every NDVI percentile,
            ``seeds`` below 1, ``n_folds`` below 2, or every point in one block.
    """
    if len(climate) != len(lucas):
        raise ValueError(f"{len(lucas)} LUCAS points but {len(climate)} climate rows")
    cols = [f"ndvi_{p}" for p in PERCENTILES]
    keep = np.isfinite(lucas[cols].to_numpy(np.float64)).all(axis=1)
    if not keep.any():
        raise ValueError(f"no LUCAS point has every NDVI percentile {cols}")
    df, clim = lucas[keep].reset_index(drop=True), np.asarray(climate, np.float64)[keep]
    blocks, folds, seed_list = held_out_design(df, int(sp["seed"]), seeds, n_folds, block_km)
    y = df["label_index"].to_numpy()
    bands = BAND_SETS[band_set]
    refl, _, seasons = spectral.lucas_arrays(df, bands)
    inputs = {"annual": refl} | percentile_states(df, bands, PERCENTILES)
    augment = (bands, seasons, int(sp["copies"]))
    with progress(total=len(MODELS), desc="baseline comparison") as bar:
        classes = {
            SHIPPED: out_of_fold_classes(
                df, sp, folds, seed_list, band_sets=(band_set,), states=STATES,
                variants={SHIPPED: clim}, n_jobs=n_jobs,
            )[band_set, SHIPPED]
        }  # fmt: skip
        bar.update(1)
        for name, c, aug in ((GB, None, None), (GB_CLIMATE, clim, None),
                             (GB_AUGMENTED, clim, augment)):  # fmt: skip
            classes[name] = gradient_boosting_classes(inputs, y, folds, seed_list, c, aug)
            bar.update(1)
    n_clusters = np.unique(blocks).size
    weights = bootstrap_weights(len(seed_list), n_clusters, n_boot, int(sp["seed"]))
    oa: dict[str, dict[str, Any]] = {}
    diff: dict[str, dict[str, Any]] = {}
    for s in STATES:
        res = {
            m: resampled_scores(cluster_confusions(y, classes[m][s], blocks), weights)
            for m in MODELS
        }
        oa[s] = {
            m: {"estimate": float(r["point"]["oa"]), "ci95": ci95(r["reps"]["oa"])}
            for m, r in res.items()
        }
        ship = res[SHIPPED]
        diff[s] = {
            m: {
                "estimate": float(ship["point"]["oa"] - res[m]["point"]["oa"]),
                "ci95": ci95(ship["reps"]["oa"] - res[m]["reps"]["oa"]),
            }
            for m in BASELINES
        }
    a, b = FLIP_PAIR
    flips = {m: flip_share(classes[m][a], classes[m][b], blocks, n_boot) for m in MODELS}
    return {
        "simulated": True,
        "band_set": band_set,
        "seeds": seed_list,
        "n_folds": int(np.unique(folds).size),
        "block_km": block_km,
        "n_points": len(df),
        "oa": oa,
        "difference": diff,
        "flips": flips,
    }


def _fmt(e: Mapping[str, Any], pct: bool = False) -> str:
    lo, hi = e["ci95"]
    if pct:
        return f"{e['estimate']:.1%} [{lo:.1%}, {hi:.1%}]"
    return f"{e['estimate']:.3f} [{lo:.3f}, {hi:.3f}]"


def _signed(e: Mapping[str, Any]) -> str:
    lo, hi = e["ci95"]
    return f"{e['estimate']:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def baseline_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """Overall accuracy with its interval per input (rows) and model (columns)."""
    return pd.DataFrame(
        {m: {s: _fmt(result["oa"][s][m]) for s in STATES} for m in MODELS}
    ).rename_axis("input (held-out points)")


def baseline_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """Long table for the figure: input, model, overall accuracy and its interval."""
    rows = [
        {"input": s, "model": m, "oa": e["estimate"], "lo": e["ci95"][0], "hi": e["ci95"][1]}
        for s in STATES
        for m, e in result["oa"][s].items()
    ]
    return pd.DataFrame(rows)


def baseline_figure(result: Mapping[str, Any]) -> Any:
    """Held-out overall accuracy per input for each model, with 95 % intervals."""
    return viz.interval_plot(
        baseline_frame(result),
        "input",
        "oa",
        by="model",
        ylabel="overall accuracy",
        title=(
            f"Held-out LUCAS points ({result['block_km']:g} km blocks, {len(result['seeds'])} "
            "seeds): annual medians, then SIMULATED single dates (NDVI percentile states)"
        ),
    )


def baseline_sentence(result: Mapping[str, Any]) -> str:
    """What the comparison says, computed from its numbers."""
    oa, diff = result["oa"], result["difference"]
    n = len(result["seeds"])

    def says(e: Mapping[str, Any]) -> str:
        words = {1: "shipped higher", -1: "shipped lower"}
        return words.get(interval_side(e["ci95"]), "not distinguishable from the shipped model")

    sims = [s for s in STATES if s != "annual"]

    def lowest(m: str) -> str:
        return min(sims, key=lambda s: float(oa[s][m]["estimate"]))

    worst = {m: lowest(m) for m in MODELS}
    a, b = FLIP_PAIR
    flips = ", ".join(f"{m} {_fmt(result['flips'][m], True)}" for m in MODELS)
    parts = [
        f"On held-out LUCAS points ({result['block_km']:g} km blocks, {n} "
        f"seed{'s' if n != 1 else ''}, {result['band_set']}): from the annual medians the shipped map model reaches "
        f"{_fmt(oa['annual'][SHIPPED])}, plain gradient boosting {_fmt(oa['annual'][GB])} "
        f"(shipped − baseline {_signed(diff['annual'][GB])}: {says(diff['annual'][GB])}), with "
        f"climate {_fmt(oa['annual'][GB_CLIMATE])} ({says(diff['annual'][GB_CLIMATE])}), with "
        f"climate and the shipped model's augmentation {_fmt(oa['annual'][GB_AUGMENTED])} "
        f"({says(diff['annual'][GB_AUGMENTED])})",
        "on SIMULATED single dates the lowest accuracy over the NDVI percentiles is "
        + ", ".join(f"{m} {oa[worst[m]][m]['estimate']:.3f} ({worst[m]})" for m in MODELS),
        f"between the {a} and {b} states the class changes for {flips} of the points",
    ]  # fmt: skip
    return "; ".join(parts) + "."


__all__ = [
    "BASELINES",
    "FLIP_PAIR",
    "GB",
    "GB_AUGMENTED",
    "GB_CLIMATE",
    "MODELS",
    "SHIPPED",
    "STATES",
    "baseline_comparison",
    "baseline_figure",
    "baseline_frame",
    "baseline_sentence",
    "baseline_table",
    "gradient_boosting_classes",
]
