"""Within-year class stability of the four-band map model on held-out LUCAS points (simulated).

The Exeter check asks that single-date maps change class on at most 10 % of the pixels between
two clear summer dates. This module asks the same of the LUCAS supervision itself, where the
land cover is known not to change within the year: each LUCAS 2018 point carries its NDVI
percentiles over the year (p5 … p95) but only annual band medians, so two *simulated*
single-date states of the same point are its annual median moved to two of its NDVI
percentiles (:func:`lulcbook.models.spectral.seasonal_reflectance`: the NIR set so that NDVI
equals the percentile; the visible bands stay at their annual median). The share of points whose
class differs between the two states is the change a single-date map of that model would show
where nothing changed, from the within-year NDVI spread alone.

* The simulation moves one band; real dates differ in every band (and in haze, soil moisture,
  illumination), so it is a lower bound on what real dates add, not a replacement for them.
* Every point is predicted by a model that did not see its spatial block (``block_km`` LAEA
  blocks in ``n_folds`` folds, :func:`lulcbook.experiments.continental.block_folds`), trained as
  the shipped four-band model is (:func:`lulcbook.experiments.maps.train_map_model`) from
  several seeds. Intervals: bootstrap over the blocks, seeds drawn with replacement
  (:func:`lulcbook.bootstrap.resample`).
* Reported for every point, for grassland and cropland points (the Exeter changes are almost
  all between these two), and for the points within ``near_km`` of a scene.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import xarray as xr
from pyproj import Transformer

from lulcbook import bootstrap, legend
from lulcbook.experiments.continental import block_folds, spatial_blocks, subsample
from lulcbook.experiments.maps import BAND_SETS, SHIPPED_VARIANT, train_map_model
from lulcbook.models import spectral

PERCENTILES: tuple[str, ...] = ("p5", "p25", "p50", "p75", "p95")
"""NDVI percentiles of the LUCAS table (columns ``ndvi_<p>``) that make the simulated states."""

STATE_PAIRS: tuple[tuple[str, str], ...] = (("p25", "p75"), ("p5", "p95"))
"""Pairs of simulated states compared: the inter-quartile and the 5–95 % spread of NDVI."""

BAND_SET: str = "s2-4"
"""The band set measured: the four 10 m bands of the Exeter maps."""

SEEDS: int = 3
"""Training seeds per fold."""

N_FOLDS: int = 5
BLOCK_KM: float = 200.0
NEAR_KM: float = 200.0
"""Radius (km) of the points counted as near a scene."""

SUBSETS: tuple[str, ...] = ("all", "grassland", "cropland", "near")


def centre_lonlat(da: xr.DataArray) -> tuple[float, float]:
    """Longitude and latitude (degrees) of the centre of a georeferenced scene."""
    left, bottom, right, top = da.rio.bounds()
    to_wgs = Transformer.from_crs(da.rio.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform((left + right) / 2, (bottom + top) / 2)
    return float(lon), float(lat)


def distance_km(lucas: pd.DataFrame, lon: float, lat: float) -> np.ndarray:
    """Great-circle distance (km) of every point of ``lucas`` (``lon``, ``lat``) to one place."""
    lo1, la1 = np.radians(lucas["lon"].to_numpy()), np.radians(lucas["lat"].to_numpy())
    lo0, la0 = np.radians(lon), np.radians(lat)
    h = np.sin((la1 - la0) / 2) ** 2 + np.cos(la0) * np.cos(la1) * np.sin((lo1 - lo0) / 2) ** 2
    return np.asarray(2 * 6371.0 * np.arcsin(np.sqrt(h)))


def percentile_states(
    lucas: pd.DataFrame, bands: Sequence[str], percentiles: Sequence[str] = PERCENTILES
) -> dict[str, np.ndarray]:
    """Reflectance ``(n, n_bands)`` of every point moved to each of its NDVI percentiles.

    Raises:
        lulcbook.sources.elc10.MissingColumnsError: a band or percentile column is missing.
    """
    from lulcbook.sources import elc10

    cols = [f"ndvi_{p}" for p in percentiles]
    elc10.check_columns(lucas, cols, "LUCAS table")
    refl = elc10.s2_reflectance(lucas)[list(bands)].to_numpy(np.float64)
    return {
        p: spectral.seasonal_reflectance(refl, bands, lucas[c].to_numpy(np.float64) / 1000.0)
        for p, c in zip(percentiles, cols, strict=True)
    }


def training_points(held_out: np.ndarray, n_train: int | None, seed: int) -> np.ndarray:
    """Indices of the points outside ``held_out``; a seeded subsample of ``n_train`` of them."""
    return subsample(np.flatnonzero(~held_out), n_train, seed)


def _fit_predict(
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
    climate: np.ndarray | None,
    states: Mapping[str, np.ndarray],
    test: np.ndarray,
    train: np.ndarray,
    band_set: str,
    sp: Mapping[str, Any],
    seed: int,
) -> dict[str, np.ndarray]:
    """Train on the ``train`` points; classes of the ``test`` points in every state."""
    import torch

    torch.set_num_threads(1)
    refl, labels, seasons = arrays
    c_train = None if climate is None else climate[train]
    model = train_map_model(
        (refl[train], labels[train], seasons[train]), band_set, SHIPPED_VARIANT, sp, seed,
        climate=c_train,
    )  # fmt: skip
    c_test = None if climate is None else climate[test]
    return {s: model.predict_vectors(x[test], climate=c_test).argmax(1) for s, x in states.items()}


def out_of_fold_classes(
    lucas: pd.DataFrame,
    sp: Mapping[str, Any],
    folds: np.ndarray,
    seeds: Sequence[int],
    *,
    band_sets: Sequence[str] = (BAND_SET,),
    states: Sequence[str] = PERCENTILES,
    variants: Mapping[str, np.ndarray | None] | None = None,
    n_train: int | None = None,
    n_jobs: int = 1,
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Class of every point in every state, predicted by models that did not see its fold.

    Args:
        lucas: the LUCAS table (rows aligned with ``folds``).
        sp: the ``spectral`` parameters (:func:`lulcbook.experiments.maps.train_map_model`).
        folds: fold (block fold, climate zone, region) of every point; each fold is
            classified by models trained on the others.
        seeds: training seeds.
        band_sets: the band sets trained.
        states: inputs classified: ``"annual"`` (the medians) and NDVI percentiles
            (:func:`percentile_states`).
        variants: name → the ``(n, 19)`` climate that variant is trained with, or ``None``
            for none; default ``{"spectra": None}``.
        n_train: train on a seeded subsample of this many points (:func:`training_points`,
            the same size for every fold); ``None``: on every other point.
        n_jobs: worker processes (joblib), one torch thread each.

    Returns:
        ``{(band set, variant): {state: (n_seeds, n) legend indices}}``.
    """
    from joblib import Parallel, delayed

    variants = {"spectra": None} if variants is None else variants
    tasks, jobs = [], []
    for band_set in band_sets:
        bands = BAND_SETS[band_set]
        arrays = spectral.lucas_arrays(lucas, bands)
        simulated = tuple(s for s in states if s != "annual")
        inputs = {"annual": arrays[0]} | percentile_states(lucas, bands, simulated)
        inputs = {s: inputs[s] for s in states}
        for variant, climate in variants.items():
            for k, seed in enumerate(seeds):
                for f in np.unique(folds):
                    test = folds == f
                    train = training_points(test, n_train, seed * 1000 + int(f))
                    tasks.append((band_set, variant, k, test))
                    jobs.append(
                        delayed(_fit_predict)(arrays, climate, inputs, test, train, band_set, sp,
                                              seed)
                    )  # fmt: skip
    results = Parallel(n_jobs=n_jobs)(jobs)
    out: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for (band_set, variant, k, test), pred in zip(tasks, results, strict=True):
        per = out.setdefault(
            (band_set, variant), {s: np.zeros((len(seeds), len(lucas)), np.int64) for s in states}
        )
        for s, cls in pred.items():
            per[s][k, test] = cls
    return out


def flip_share(
    a: np.ndarray, b: np.ndarray, blocks: np.ndarray, n_boot: int, seed: int = 0
) -> dict[str, Any]:
    """Share of points whose class differs between two states, with a block bootstrap.

    Args:
        a: ``(n_seeds, n)`` classes in the first state.
        b: ``(n_seeds, n)`` classes in the second state.
        blocks: spatial block of each point (resampled whole).
        n_boot: bootstrap replicates.
        seed: seed of the resampling.

    Returns:
        :meth:`lulcbook.bootstrap.Estimate.as_dict`.
    """
    changed = np.asarray(a != b, dtype=np.float64)
    n_seeds = changed.shape[0]

    def stat(idx: np.ndarray, rng: np.random.Generator | None) -> float:
        rows = np.arange(n_seeds) if rng is None else rng.integers(0, n_seeds, size=n_seeds)
        return float(changed[np.ix_(rows, idx)].mean())

    est = bootstrap.resample(
        stat, changed.shape[1], clusters=blocks, n_boot=n_boot, seed=seed, n_seeds=n_seeds
    )
    return est.as_dict()


def held_out_design(
    df: pd.DataFrame, seed: int, seeds: int, n_folds: int, block_km: float
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Blocks, block folds and training seeds of a held-out design on LUCAS points.

    Args:
        df: points with ``x_laea`` and ``y_laea`` (metres).
        seed: the first training seed (and the seed of the fold assignment).
        seeds: number of training seeds.
        n_folds: folds (fewer when there are fewer blocks).
        block_km: side of the LAEA blocks.

    Returns:
        ``(block of each point, fold of each point, seeds)``.

    Raises:
        ValueError: ``seeds`` below 1, ``n_folds`` below 2, or every point in one block.
    """
    if seeds < 1 or n_folds < 2:
        raise ValueError(f"seeds must be at least 1 and n_folds at least 2; got {seeds}, {n_folds}")
    blocks = spatial_blocks(df["x_laea"].to_numpy(), df["y_laea"].to_numpy(), block_km)
    if np.unique(blocks).size < 2:
        raise ValueError(f"the points lie in one {block_km:g} km block; folds need two or more")
    folds = block_folds(blocks, min(n_folds, np.unique(blocks).size), seed)
    return blocks, folds, [seed + k for k in range(seeds)]


def within_year_flips(
    lucas: pd.DataFrame,
    sp: Mapping[str, Any],
    near: tuple[float, float],
    n_boot: int,
    *,
    seeds: int = SEEDS,
    n_folds: int = N_FOLDS,
    block_km: float = BLOCK_KM,
    near_km: float = NEAR_KM,
) -> dict[str, Any]:
    """Simulated within-year class changes of the four-band model on held-out LUCAS points.

    Args:
        lucas: the LUCAS table the map models learn from (``x_laea``, ``y_laea``, ``lon``,
            ``lat``, ``label_index``, band medians, NDVI percentiles and seasons).
        sp: the ``spectral`` parameters; its ``seed`` is the first training seed.
        near: ``(lon, lat)`` of the scene whose surroundings are reported apart.
        n_boot: bootstrap replicates.
        seeds: training seeds per fold.
        n_folds: spatial folds.
        block_km: side of the LAEA blocks (folds and bootstrap clusters).
        near_km: radius of the surroundings.

    Returns:
        ``{"simulated": True, "band_set", "seeds", "n_folds", "block_km", "near": {"lon",
        "lat", "km", "n_points"}, "n_points", "accuracy": {state: OA}, "pairs": {"pA→pB":
        {subset: estimate}}}``, subsets :data:`SUBSETS` (a subset with no point is left out).

    Raises:
        ValueError: ``seeds`` below 1, ``n_folds`` below 2, no point with every percentile,
            or every point in one block.
    """
    cols = [f"ndvi_{p}" for p in PERCENTILES]
    keep = np.isfinite(lucas[cols].to_numpy(np.float64)).all(axis=1)
    df = lucas[keep].reset_index(drop=True)
    if df.empty:
        raise ValueError(f"no LUCAS point has every NDVI percentile {cols}")
    blocks, folds, seed_list = held_out_design(df, int(sp["seed"]), seeds, n_folds, block_km)
    classes = out_of_fold_classes(df, sp, folds, seed_list)[BAND_SET, "spectra"]
    y = df["label_index"].to_numpy()
    close = distance_km(df, *near) <= near_km
    subsets = {
        "all": np.ones(len(df), dtype=bool),
        "grassland": y == legend.KEYS.index("grassland"),
        "cropland": y == legend.KEYS.index("cropland"),
        "near": close,
    }
    pairs: dict[str, dict[str, Any]] = {}
    for a, b in STATE_PAIRS:
        pairs[f"{a}→{b}"] = {
            name: flip_share(classes[a][:, m], classes[b][:, m], blocks[m], n_boot)
            for name, m in subsets.items()
            if m.any()
        }
    return {
        "simulated": True,
        "band_set": BAND_SET,
        "seeds": seed_list,
        "n_folds": int(np.unique(folds).size),
        "block_km": block_km,
        "near": {"lon": near[0], "lat": near[1], "km": near_km, "n_points": int(close.sum())},
        "n_points": len(df),
        "accuracy": {s: float((c == y[None, :]).mean()) for s, c in classes.items()},
        "pairs": pairs,
    }


def within_year_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """Changed share and its interval per pair of states (rows) and subset (columns)."""
    rows = {
        pair: {
            name: f"{e['estimate']:.1%} [{e['ci95'][0]:.1%}, {e['ci95'][1]:.1%}]"
            for name, e in by_subset.items()
        }
        for pair, by_subset in result["pairs"].items()
    }
    return pd.DataFrame(rows).T


def within_year_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """Long table: ``pair``, ``subset``, ``changed share``, ``low``, ``high`` (95 % interval)."""
    rows = [
        {"pair": pair, "subset": name, "changed share": e["estimate"],
         "low": e["ci95"][0], "high": e["ci95"][1]}
        for pair, by_subset in result["pairs"].items()
        for name, e in by_subset.items()
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["pair", "subset", "changed share", "low", "high"])


def within_year_figure(result: Mapping[str, Any], target: float = 0.10) -> Any:
    """Points with 95 % intervals of :func:`within_year_frame`, the target as a dashed line."""
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    df = within_year_frame(result)
    df["x"] = df["subset"] + " · " + df["pair"]
    df["neg"], df["pos"] = df["changed share"] - df["low"], df["high"] - df["changed share"]
    points = (
        hv.Scatter(df, "x", ["changed share", "pair"])
        .opts(color="pair", cmap=["#1f77b4", "#d62728"], size=8, backend="bokeh")
        .opts(color="pair", cmap=["#1f77b4", "#d62728"], s=40, backend="matplotlib")
    )
    bars = hv.ErrorBars(df, "x", ["changed share", "neg", "pos"])
    line = (
        hv.HLine(target)
        .opts(color="grey", line_dash="dashed", backend="bokeh")
        .opts(color="grey", linestyle="dashed", backend="matplotlib")
    )
    labels = {
        "title": "SIMULATED single dates of held-out LUCAS points: share changing class\n"
        f"(95 % block-bootstrap interval; dashed: {target:.0%})",
        "xlabel": "subset · NDVI states compared",
        "ylabel": "changed share",
        "xrotation": 20,
        "legend_position": "right",
    }
    return (
        (bars * points * line)
        .opts(fig_inches=(10, 4), aspect=2.6, backend="matplotlib", **labels)
        .opts(width=820, height=360, backend="bokeh", **labels)
    )


def within_year_sentence(result: Mapping[str, Any], target: float = 0.10) -> str:
    """One sentence: the simulated change of held-out LUCAS points against ``target``."""
    pair = f"{STATE_PAIRS[0][0]}→{STATE_PAIRS[0][1]}"
    wide = f"{STATE_PAIRS[1][0]}→{STATE_PAIRS[1][1]}"

    def est(p: str, name: str) -> str:
        e = result["pairs"][p].get(name)
        return (
            "n/a" if e is None else f"{e['estimate']:.1%} [{e['ci95'][0]:.1%}, {e['ci95'][1]:.1%}]"
        )

    near = result["near"]
    blocks = result["pairs"][pair].get("near", {}).get("n_clusters", 0)
    return (
        f"Simulated single dates (held-out LUCAS points, annual median moved to the point's own "
        f"2018 NDVI percentiles, NIR only): between the {pair} states "
        f"{est(pair, 'all')} of {result['n_points']} points change class (grassland "
        f"{est(pair, 'grassland')}, cropland {est(pair, 'cropland')}; within {near['km']:.0f} km "
        f"of the scene, {near['n_points']} points in {blocks} blocks: {est(pair, 'near')}), and "
        f"between the {wide} "
        f"states {est(wide, 'all')} (near the scene {est(wide, 'near')}); the Exeter target is "
        f"≤ {target:.0%}"
    )


__all__ = [
    "BAND_SET",
    "BLOCK_KM",
    "N_FOLDS",
    "NEAR_KM",
    "PERCENTILES",
    "SEEDS",
    "STATE_PAIRS",
    "SUBSETS",
    "centre_lonlat",
    "distance_km",
    "flip_share",
    "held_out_design",
    "out_of_fold_classes",
    "training_points",
    "percentile_states",
    "within_year_figure",
    "within_year_flips",
    "within_year_frame",
    "within_year_sentence",
    "within_year_table",
]
