"""The WorldClim climate vector as an input of the map model: what it does, measured.

The map models of :mod:`lulcbook.experiments.maps` classify a superpixel's mean reflectance
alone. The continental point models of notebook 08 also take the WorldClim 2.1 BIO1–19 vector
of the point. This module asks what the same climate input does for the map model's band sets
(:func:`lulcbook.models.spectral.train_spectral` with ``climate=``):

* **held-out accuracy**: every LUCAS point is classified by a model that did not see its
  ``block_km`` LAEA block (``n_folds`` block folds, :func:`~lulcbook.experiments.continental.
  block_folds`), with and without the climate vector, from several seeds; overall accuracy and
  macro-F1 get 95 % intervals from a bootstrap over blocks that also redraws the seeds, and the
  difference (climate − spectra) is bootstrapped on the same replicates (paired);
* **simulated within-year change**: the share of held-out points whose class differs between
  the two simulated single dates of :mod:`lulcbook.experiments.within_year` (annual median moved
  to the point's own NDVI p25 and p75; SIMULATED);
* **the Exeter dates**: the share of pixels changing class between the clear dates, four-band
  model with and without climate, trained on every point from the same seeds. The scene (7 km)
  is smaller than a WorldClim 10′ cell, so one climate vector, at its centre, serves it all.

Blocked cross-validation interpolates between blocks; how climate input does in regions and
climates left out of training is the subject of notebooks 03 and 08.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import xarray as xr

from lulcbook import mapcheck
from lulcbook.bootstrap import interval_side
from lulcbook.experiments.continental import (
    WORLDCLIM_SUBDIR,
    bootstrap_weights,
    ci95,
    climate_zones,
    cluster_confusions,
    geographic_regions,
    resampled_scores,
)
from lulcbook.experiments.maps import BAND_SETS, L2A_OFFSETS, train_map_model, with_offset
from lulcbook.experiments.within_year import (
    distance_km,
    flip_share,
    held_out_design,
    out_of_fold_classes,
)
from lulcbook.models import spectral
from lulcbook.sources import worldclim

VARIANTS: tuple[str, ...] = ("spectra", "spectra + climate")
"""The map model without and with the climate vector (the first is the reference)."""

BAND_SETS_COMPARED: tuple[str, ...] = ("s2-4", "s2-9")
"""The four 10 m bands (Exeter) and the nine LUCAS bands (the shipped default)."""

STATES: tuple[str, ...] = ("annual", "p25", "p75")
"""Inputs classified: the annual medians and the two simulated single dates."""

SEEDS: int = 3
N_FOLDS: int = 5
BLOCK_KM: float = 200.0
NEAR_KM: float = 200.0
SCENE_SEGMENT_DIVISOR: float = 4.0
"""Exeter is 20 m: segments of a quarter of the 10 m size in pixels keep their ground size."""


SIGN_WORDS: dict[int, str] = {1: "raises", -1: "lowers", 0: "does not change"}
"""What the climate input does to a metric, by the side of zero its paired interval is on."""


def read_climate(sample: Path) -> xr.DataArray:
    """WorldClim 2.1 BIO1–19 for Europe from the offline sample (the continental points' source)."""
    return worldclim.read_bioclim(sample / WORLDCLIM_SUBDIR)


def points_climate(
    bio: xr.DataArray, lon: np.ndarray, lat: np.ndarray, fill_km: float = 25.0
) -> np.ndarray:
    """BIO1–19 ``(n, 19)`` at points in degrees (nearest valid cell within ``fill_km``; NaN beyond)."""
    clim, _ = worldclim.sample_climate(bio, np.asarray(lon, float), np.asarray(lat, float), fill_km)
    return np.asarray(clim.values, dtype=np.float64)


def _variants(climate: np.ndarray) -> dict[str, np.ndarray | None]:
    """:data:`VARIANTS` → the climate each is trained with (none for the spectral model)."""
    return {VARIANTS[0]: None, VARIANTS[1]: climate}


def _estimate(point: float, reps: np.ndarray) -> dict[str, Any]:
    return {"estimate": float(point), "ci95": ci95(reps)}


def accuracy_comparison(
    y: np.ndarray,
    classes: Mapping[str, np.ndarray],
    blocks: np.ndarray,
    n_boot: int,
    seed: int = 0,
) -> dict[str, Any]:
    """Overall accuracy and macro-F1 per variant, and their paired difference (climate − spectra).

    Args:
        y: reference classes ``(n,)``.
        classes: ``{variant: (n_seeds, n)}`` held-out classes (:data:`VARIANTS`).
        blocks: spatial block of each point (bootstrap clusters).
        n_boot: bootstrap replicates (the same replicates for every variant).
        seed: seed of the replicates.
    """
    first = classes[VARIANTS[0]]
    conf0 = cluster_confusions(y, first, blocks)
    weights = bootstrap_weights(conf0.shape[0], conf0.shape[1], n_boot, seed)
    res = {
        v: resampled_scores(cluster_confusions(y, c, blocks), weights) for v, c in classes.items()
    }
    out: dict[str, Any] = {}
    for metric in ("oa", "macro_f1"):
        out[metric] = {v: _estimate(r["point"][metric], r["reps"][metric]) for v, r in res.items()}
        a, b = res[VARIANTS[0]], res[VARIANTS[1]]
        out[metric]["difference"] = _estimate(
            b["point"][metric] - a["point"][metric], b["reps"][metric] - a["reps"][metric]
        )
    return out


def climate_comparison(
    lucas: pd.DataFrame,
    climate: np.ndarray,
    sp: Mapping[str, Any],
    near: tuple[float, float],
    n_boot: int,
    *,
    seeds: int = SEEDS,
    n_folds: int = N_FOLDS,
    block_km: float = BLOCK_KM,
    near_km: float = NEAR_KM,
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Held-out accuracy and simulated within-year change, with and without climate input.

    Args:
        lucas: the LUCAS table (``x_laea``, ``y_laea``, ``lon``, ``lat``, ``label_index``, band
            medians, NDVI seasons and percentiles).
        climate: ``(len(lucas), 19)`` BIO1–19 of its points (:func:`points_climate`).
        sp: the ``spectral`` parameters; its ``seed`` is the first training seed.
        near: ``(lon, lat)`` of the scene whose surroundings are reported apart.
        n_boot: bootstrap replicates.
        seeds: training seeds per fold.
        n_folds: spatial folds.
        block_km: side of the LAEA blocks (folds and bootstrap clusters).
        near_km: radius of the surroundings.
        n_jobs: worker processes.

    Returns:
        ``{"seeds", "n_folds", "block_km", "n_points", "near": {"lon", "lat", "km",
        "n_points"}, "band_sets": {band set: {"oa", "macro_f1": {variant | "difference":
        estimate}, "within_year": {variant: {"all", "near": estimate}}}}}``.

    Raises:
        ValueError: ``climate`` of another length, ``seeds`` below 1, ``n_folds`` below 2, no
            point with both NDVI percentiles, or every point in one block.
    """
    if len(climate) != len(lucas):
        raise ValueError(f"{len(lucas)} LUCAS points but {len(climate)} climate rows")
    keep = np.isfinite(lucas[["ndvi_p25", "ndvi_p75"]].to_numpy(np.float64)).all(axis=1)
    if not keep.any():
        raise ValueError("no LUCAS point has both NDVI percentiles ndvi_p25 and ndvi_p75")
    df, clim = lucas[keep].reset_index(drop=True), np.asarray(climate, np.float64)[keep]
    blocks, folds, seed_list = held_out_design(df, int(sp["seed"]), seeds, n_folds, block_km)
    classes = out_of_fold_classes(df, sp, folds, seed_list, band_sets=BAND_SETS_COMPARED,
                                  states=STATES, variants=_variants(clim), n_jobs=n_jobs)  # fmt: skip
    y = df["label_index"].to_numpy()
    close = distance_km(df, *near) <= near_km
    band_sets: dict[str, Any] = {}
    for band_set in BAND_SETS_COMPARED:
        annual = {v: classes[band_set, v]["annual"] for v in VARIANTS}
        result = accuracy_comparison(y, annual, blocks, n_boot)
        result["within_year"] = {
            v: {
                name: flip_share(classes[band_set, v]["p25"][:, m],
                                 classes[band_set, v]["p75"][:, m], blocks[m], n_boot)
                for name, m in (("all", np.ones(len(df), bool)), ("near", close)) if m.any()
            }
            for v in VARIANTS
        }  # fmt: skip
        band_sets[band_set] = result
    return {
        "seeds": seed_list,
        "n_folds": int(np.unique(folds).size),
        "block_km": block_km,
        "n_points": len(df),
        "near": {"lon": near[0], "lat": near[1], "km": near_km, "n_points": int(close.sum())},
        "band_sets": band_sets,
    }


def scene_change(
    lucas: pd.DataFrame,
    climate: np.ndarray,
    scenes: Sequence[xr.DataArray],
    pair: tuple[int, int],
    scene_climate: np.ndarray,
    sp: Mapping[str, Any],
    seeds: int = SEEDS,
) -> dict[str, Any]:
    """Share of a scene's pixels changing class between two dates, four-band model ± climate.

    Each variant is trained on every point from ``seeds`` seeds and maps each date on its own
    superpixels, without input offset (as ``lulcbook predict`` maps one scene).

    Args:
        lucas: the LUCAS table.
        climate: ``(len(lucas), 19)`` BIO1–19 of its points.
        scenes: the dates, on one grid, bands B02, B03, B04, B08 (20 m).
        pair: indices of the two dates compared.
        scene_climate: the scene's ``(19,)`` BIO1–19.
        sp: the ``spectral`` parameters; its ``seed`` is the first seed.
        seeds: training seeds.

    Returns:
        ``{"seeds", "pair", "changed_share": {variant: [share per seed]}, "mean": {variant:
        mean}}``.
    """
    arrays = spectral.lucas_arrays(lucas, BAND_SETS["s2-4"])
    seed_list = [int(sp["seed"]) + k for k in range(seeds)]
    shares: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for v in VARIANTS:
        clim = climate if v == VARIANTS[1] else None
        vec = scene_climate if v == VARIANTS[1] else None
        for seed in seed_list:
            model = train_map_model(arrays, "s2-4", "augmented", sp, seed, climate=clim)
            model = with_offset(model, L2A_OFFSETS["none"], SCENE_SEGMENT_DIVISOR)
            maps = [
                mapcheck.classes_from_proba(model.predict_proba(scenes[i].values, climate=vec))
                for i in pair
            ]
            shares[v].append(mapcheck.change_share(*maps)["changed_share"])
    dates = [str(scenes[i].attrs.get("datetime", i))[:10] for i in pair]
    return {
        "seeds": seed_list,
        "pair": f"{dates[0]}→{dates[1]}",
        "changed_share": shares,
        "mean": {v: float(np.mean(s)) for v, s in shares.items()},
    }


TRANSFER_KINDS: tuple[str, ...] = ("zone", "region")
"""Groups left out of training: climate zones (k-means on standardised BIO1–19) and geographic
regions (k-means on LAEA coordinates), as in notebook 08."""

TRANSFER_BAND_SET: str = "s2-9"
"""The band set of the shipped climate model."""


def transfer_groups(
    df: pd.DataFrame, climate: np.ndarray, n_groups: int, seed: int
) -> dict[str, np.ndarray]:
    """Climate zone and geographic region of every point (:data:`TRANSFER_KINDS`)."""
    x, y = df["x_laea"].to_numpy(np.float64), df["y_laea"].to_numpy(np.float64)
    return {
        "zone": climate_zones(climate, n_groups, seed),
        "region": geographic_regions(x, y, n_groups, seed),
    }


def _parts(i: Mapping[str, Any], o: Mapping[str, Any], metric: str) -> dict[str, tuple[Any, Any]]:
    """``(point, replicates)`` of ``metric`` in-block, left out, and their gap."""
    pi, po = i["point"][metric], o["point"][metric]
    ri, ro = i["reps"][metric], o["reps"][metric]
    return {"in": (pi, ri), "out": (po, ro), "gap": (pi - po, ri - ro)}


def _estimates(parts: Mapping[str, tuple[Any, Any]]) -> dict[str, Any]:
    return {k: _estimate(*pr) for k, pr in parts.items()}


def _difference(parts: Mapping[str, Mapping[str, tuple[Any, Any]]]) -> dict[str, Any]:
    """Climate − spectra of every part, on the same replicates (paired)."""
    a, b = parts[VARIANTS[0]], parts[VARIANTS[1]]
    return {k: _estimate(b[k][0] - a[k][0], b[k][1] - a[k][1]) for k in a}


def _group_rows(
    y: np.ndarray,
    cls: Mapping[tuple[str, str], np.ndarray],
    kind: str,
    groups: np.ndarray,
    blocks: np.ndarray,
    climate: np.ndarray,
    n_boot: int,
) -> list[dict[str, Any]]:
    """Overall accuracy of each left-out group, per variant, in and out (block bootstrap)."""
    rows = []
    for g in np.unique(groups):
        m = groups == g
        confs = {
            (w, v): cluster_confusions(y[m], cls[w, v][:, m], blocks[m])
            for w in ("in", kind) for v in VARIANTS
        }  # fmt: skip
        s, n_blocks = confs["in", VARIANTS[0]].shape[:2]
        weights = bootstrap_weights(s, n_blocks, n_boot, int(g))
        res = {k: resampled_scores(c, weights) for k, c in confs.items()}
        parts = {v: _parts(res["in", v], res[kind, v], "oa") for v in VARIANTS}
        rows.append({
            "group": int(g),
            "n_points": int(m.sum()),
            "n_blocks": int(n_blocks),
            "bio1_mean": float(np.mean(climate[m, 0])),
            "bio12_mean": float(np.mean(climate[m, 11])),
            "oa": {v: _estimates(p) for v, p in parts.items()},
            "oa_difference_out": _difference(parts)["out"],
        })  # fmt: skip
    return rows


def climate_transfer(
    lucas: pd.DataFrame,
    climate: np.ndarray,
    sp: Mapping[str, Any],
    n_boot: int,
    *,
    n_groups: int = 6,
    seeds: int = SEEDS,
    n_train: int | None = None,
    n_folds: int = N_FOLDS,
    block_km: float = BLOCK_KM,
    n_jobs: int = 1,
) -> dict[str, Any]:
    """The nine-band map model with and without climate, in regions and climates left out.

    Every point is classified three times per variant and seed: by a model that did not see
    its ``block_km`` block (``in``: its climate and region were in training), by one that did
    not see its climate zone, and by one that did not see its geographic region (:func:`
    transfer_groups`, ``n_groups`` each). Every fit trains on ``n_train`` points drawn from
    the others, so the in-block and left-out models learn from as many points. All estimates
    of one call share one bootstrap over blocks and seeds (paired); each group's overall
    accuracy has its own bootstrap over the blocks in it.

    Args:
        lucas: the LUCAS table (``x_laea``, ``y_laea``, ``label_index``, band medians, NDVI
            seasons).
        climate: ``(len(lucas), 19)`` BIO1–19 of its points; points without a complete
            vector are left out (zones need one).
        sp: the ``spectral`` parameters; its ``seed`` is the first training seed and the
            seed of the folds and the k-means groups.
        n_boot: bootstrap replicates.
        n_groups: climate zones and geographic regions.
        seeds: training seeds per fold.
        n_train: training points per fit (``None``: every point outside the fold).
        n_folds: block folds of the in-block models.
        block_km: side of the LAEA blocks (folds and bootstrap clusters).
        n_jobs: worker processes.

    Returns:
        ``{"band_set", "seeds", "n_points", "n_groups", "n_train", "block_km", "kinds":
        {kind: {"oa", "macro_f1": {variant: {"in", "out", "gap"}, "difference": {"in",
        "out", "gap"}}, "groups": [row per group]}}}``; the ``difference`` is climate −
        spectra.

    Raises:
        ValueError: ``climate`` of another length, fewer complete vectors than
            ``n_groups`` points, ``n_groups`` below 2, or every point in one block.
    """
    if len(climate) != len(lucas):
        raise ValueError(f"{len(lucas)} LUCAS points but {len(climate)} climate rows")
    if n_groups < 2:
        raise ValueError(f"n_groups must be at least 2; got {n_groups}")
    keep = np.isfinite(np.asarray(climate, np.float64)).all(axis=1)
    if keep.sum() < n_groups:
        raise ValueError(
            f"{int(keep.sum())} of {len(lucas)} points have all of BIO1-19; "
            f"{n_groups} climate zones need at least {n_groups}"
        )
    df = lucas.iloc[np.flatnonzero(keep)].reset_index(drop=True)
    clim = np.asarray(climate, np.float64)[keep]
    seed = int(sp["seed"])
    blocks, folds, seed_list = held_out_design(df, seed, seeds, n_folds, block_km)
    groups = transfer_groups(df, clim, n_groups, seed)
    cls: dict[tuple[str, str], np.ndarray] = {}
    for where, g in {"in": folds, **groups}.items():
        by = out_of_fold_classes(df, sp, g, seed_list, band_sets=(TRANSFER_BAND_SET,),
                                 states=("annual",), variants=_variants(clim), n_train=n_train,
                                 n_jobs=n_jobs)  # fmt: skip
        cls |= {(where, v): by[TRANSFER_BAND_SET, v]["annual"] for v in VARIANTS}
    y = df["label_index"].to_numpy()
    confs = {k: cluster_confusions(y, c, blocks) for k, c in cls.items()}
    s, n_blocks = confs["in", VARIANTS[0]].shape[:2]
    res = {
        k: resampled_scores(c, bootstrap_weights(s, n_blocks, n_boot, 0)) for k, c in confs.items()
    }
    kinds: dict[str, Any] = {}
    for kind in TRANSFER_KINDS:
        out: dict[str, Any] = {}
        for metric in ("oa", "macro_f1"):
            parts = {v: _parts(res["in", v], res[kind, v], metric) for v in VARIANTS}
            out[metric] = {v: _estimates(p) for v, p in parts.items()}
            out[metric]["difference"] = _difference(parts)
        out["groups"] = _group_rows(y, cls, kind, groups[kind], blocks, clim, n_boot)
        kinds[kind] = out
    return {
        "band_set": TRANSFER_BAND_SET,
        "seeds": seed_list,
        "n_points": len(df),
        "n_groups": n_groups,
        "n_train": n_train,
        "block_km": block_km,
        "kinds": kinds,
    }


def transfer_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """Rows kind × variant (and the difference): in-block, left-out and gap, OA and macro-F1."""
    rows = []
    for kind, r in result["kinds"].items():
        for v in (*VARIANTS, "difference"):
            row = {"left out": kind, "model": v if v != "difference" else "climate − spectra"}
            for metric, name in (("oa", "OA"), ("macro_f1", "macro-F1")):
                for part, label in (("in", "in-block"), ("out", "left out"), ("gap", "gap")):
                    row[f"{name} {label}"] = _fmt(r[metric][v][part])
            rows.append(row)
    return pd.DataFrame(rows)


def transfer_group_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """One row per kind × group × variant: left-out and in-block OA with intervals.

    ``group`` labels a zone ``Z1``… and a region ``R1``…, with its mean BIO1 (°C).
    """
    rows = []
    for kind, r in result["kinds"].items():
        for g in r["groups"]:
            label = f"{kind[0].upper()}{g['group'] + 1}\n{g['bio1_mean']:.0f} °C"
            for v in VARIANTS:
                e = g["oa"][v]
                rows.append({
                    "left out": kind, "group": label, "model": v, "n_points": g["n_points"],
                    "bio1_mean": g["bio1_mean"], "bio12_mean": g["bio12_mean"],
                    "out": e["out"]["estimate"], "out_low": e["out"]["ci95"][0],
                    "out_high": e["out"]["ci95"][1], "in": e["in"]["estimate"],
                })  # fmt: skip
    return pd.DataFrame(rows)


def transfer_figure(result: Mapping[str, Any]) -> Any:
    """Left-out overall accuracy of each zone and region, with and without climate (95 %)."""
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    df = transfer_group_frame(result)
    df["neg"], df["pos"] = df["out"] - df["out_low"], df["out_high"] - df["out"]
    panels = []
    for n, kind in enumerate(result["kinds"]):
        overlays = []
        for v, colour in zip(VARIANTS, ["#7f7f7f", "#2ca02c"], strict=True):
            d = df[(df["left out"] == kind) & (df["model"] == v)]
            overlays.append(hv.ErrorBars(d, "group", ["out", "neg", "pos"]))
            overlays.append(
                hv.Scatter(d, "group", "out", label=f"{v}, left out")
                .opts(color=colour, size=8, backend="bokeh")
                .opts(color=colour, s=40, backend="matplotlib")
            )
            overlays.append(
                hv.Scatter(d, "group", "in", label=f"{v}, in-block")
                .opts(color=colour, size=8, marker="triangle", alpha=0.6, backend="bokeh")
                .opts(color=colour, s=40, marker="^", alpha=0.6, backend="matplotlib")
            )
        labels = {"title": f"{kind}s left out of training", "xlabel": f"{kind} (mean BIO1)",
                  "ylabel": "overall accuracy", "show_legend": n == len(result["kinds"]) - 1,
                  "legend_position": "right"}  # fmt: skip
        panels.append(
            hv.Overlay(overlays)
            .opts(aspect=1.6, backend="matplotlib", **labels)
            .opts(
                width=520 + 180 * (n == len(result["kinds"]) - 1),
                height=360,
                backend="bokeh",
                **labels,
            )
        )
    title = (
        f"Nine-band map model with and without climate: {_n_train(result)} training "
        f"points per fit, {len(result['seeds'])} seeds (LUCAS 2018 points)"
    )
    return (
        hv.Layout(panels)
        .cols(len(panels))
        .opts(fig_inches=(7, 4), title=title, backend="matplotlib")
        .opts(title=title, backend="bokeh")
    )


def transfer_sentence(result: Mapping[str, Any]) -> str:
    """What the climate input does where the zone or region was left out of training."""
    parts = []
    for kind, r in result["kinds"].items():
        oa, d = r["oa"], r["oa"]["difference"]["out"]
        sign = SIGN_WORDS[interval_side(d["ci95"])]
        better = sum(g["oa_difference_out"]["estimate"] > 0 for g in r["groups"])
        parts.append(
            f"{kind}s left out: climate input {sign} overall accuracy ({_fmt(oa[VARIANTS[0]]['out'])}"
            f" → {_fmt(oa[VARIANTS[1]]['out'])}, difference {_fmt(d)}; higher in {better} of "
            f"{len(r['groups'])} {kind}s; gap to in-block {_fmt(oa[VARIANTS[0]]['gap'])} → "
            f"{_fmt(oa[VARIANTS[1]]['gap'])})"
        )
    return (
        f"Nine-band map model, {_n_train(result)} training points per fit, "
        f"{len(result['seeds'])} seeds: " + "; ".join(parts)
    )


def _n_train(result: Mapping[str, Any]) -> str:
    n = result["n_train"]
    return f"{int(n):,}" if n else "all"


def _fmt(e: Mapping[str, Any], pct: bool = False) -> str:
    f = "{:.1%}" if pct else "{:.3f}"
    lo, hi = e["ci95"]
    return f"{f.format(e['estimate'])} [{f.format(lo)}, {f.format(hi)}]"


def comparison_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """Rows band set × variant (and the difference); accuracy, macro-F1 and simulated change."""
    rows = []
    for band_set, r in result["band_sets"].items():
        for v in (*VARIANTS, "difference"):
            wy = r["within_year"].get(v, {})
            rows.append({
                "band set": band_set,
                "model": v if v != "difference" else "climate − spectra",
                "overall accuracy": _fmt(r["oa"][v]),
                "macro-F1": _fmt(r["macro_f1"][v]),
                "simulated p25→p75 change": _fmt(wy["all"], True) if "all" in wy else "",
                "near the scene": _fmt(wy["near"], True) if "near" in wy else "",
            })  # fmt: skip
    return pd.DataFrame(rows)


def comparison_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """Long table: ``band set``, ``model``, ``metric``, ``value``, ``low``, ``high``."""
    rows = [
        {"band set": bs, "model": v, "metric": m, "value": r[m][v]["estimate"],
         "low": r[m][v]["ci95"][0], "high": r[m][v]["ci95"][1]}
        for bs, r in result["band_sets"].items()
        for m in ("oa", "macro_f1")
        for v in VARIANTS
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["band set", "model", "metric", "value", "low", "high"])


def comparison_figure(result: Mapping[str, Any]) -> Any:
    """Held-out overall accuracy and macro-F1 with 95 % intervals, per band set and variant."""
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    df = comparison_frame(result)
    df["x"] = df["band set"] + " · " + df["metric"].map({"oa": "OA", "macro_f1": "macro-F1"})
    df["neg"], df["pos"] = df["value"] - df["low"], df["high"] - df["value"]
    colours = ["#7f7f7f", "#2ca02c"]
    overlays = []
    for v, colour in zip(VARIANTS, colours, strict=True):
        d = df[df["model"] == v]
        overlays.append(hv.ErrorBars(d, "x", ["value", "neg", "pos"]))
        overlays.append(
            hv.Scatter(d, "x", "value", label=v)
            .opts(color=colour, size=8, backend="bokeh")
            .opts(color=colour, s=40, backend="matplotlib")
        )
    labels = {
        "title": "Map model with and without the WorldClim climate input: held-out LUCAS points\n"
        f"({result['block_km']:.0f} km blocks, {len(result['seeds'])} seeds; 95 % intervals)",
        "xlabel": "band set · metric",
        "ylabel": "score",
        "legend_position": "right",
    }
    return (
        hv.Overlay(overlays)
        .opts(fig_inches=(9, 4), aspect=2.2, backend="matplotlib", **labels)
        .opts(width=760, height=360, backend="bokeh", **labels)
    )


def band_set_sentence(
    result: Mapping[str, Any], band_set: str, scene: Mapping[str, Any] | None = None
) -> str:
    """What the climate input does to one band set's held-out accuracy and simulated change.

    With ``scene`` (:func:`scene_change`, four bands), the four-band sentence also gives the
    scene's change between its two dates.
    """
    r = result["band_sets"][band_set]
    d = r["oa"]["difference"]
    sign = SIGN_WORDS[interval_side(d["ci95"])]
    wy = r["within_year"]
    return (
        f"{band_set}: climate input {sign} held-out overall accuracy "
        f"({_fmt(r['oa'][VARIANTS[0]])} → {_fmt(r['oa'][VARIANTS[1]])}, difference "
        f"{_fmt(d)}; macro-F1 difference {_fmt(r['macro_f1']['difference'])}; "
        f"{result['block_km']:.0f} km blocks, {len(result['seeds'])} seeds); simulated p25→p75 "
        f"change {_fmt(wy[VARIANTS[0]]['all'], True)} → {_fmt(wy[VARIANTS[1]]['all'], True)}"
        + (_scene_part(scene) if scene is not None and band_set == "s2-4" else "")
    )


def _scene_part(scene: Mapping[str, Any]) -> str:
    m = scene["mean"]
    return (
        f"; Exeter {scene['pair']} change (four bands, mean of {len(scene['seeds'])} seeds) "
        f"{m[VARIANTS[0]]:.1%} → {m[VARIANTS[1]]:.1%}"
    )


def comparison_sentence(result: Mapping[str, Any], scene: Mapping[str, Any] | None = None) -> str:
    """One sentence per band set (and the scene's change): what the climate input does."""
    parts = [band_set_sentence(result, bs) for bs in result["band_sets"]]
    text = "Map model with the WorldClim BIO1-19 input: " + "; ".join(parts)
    return text + (_scene_part(scene) if scene is not None else "")


__all__ = [
    "BAND_SETS_COMPARED",
    "BLOCK_KM",
    "NEAR_KM",
    "N_FOLDS",
    "SEEDS",
    "STATES",
    "TRANSFER_BAND_SET",
    "TRANSFER_KINDS",
    "VARIANTS",
    "accuracy_comparison",
    "band_set_sentence",
    "climate_comparison",
    "climate_transfer",
    "comparison_figure",
    "comparison_frame",
    "comparison_sentence",
    "comparison_table",
    "points_climate",
    "read_climate",
    "scene_change",
    "transfer_figure",
    "transfer_group_frame",
    "transfer_groups",
    "transfer_sentence",
    "transfer_table",
]
