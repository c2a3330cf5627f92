"""The leave-region-out comparison of notebook 02-gnn, over several training seeds.

Every model of the ``gnn`` parameters is trained on every leave-region-out fold once per
seed (:func:`run_seeds`, through :func:`lulcbook.experiments.folds.run_folds`). Each labelled
point of the held-out regions is then predicted once per seed, so a model's predictions form a
``(n_seeds, n_points)`` matrix (:func:`seed_matrix`); accuracies are seed means and their 95 %
intervals come from :func:`lulcbook.bootstrap.seeded_bootstrap`, which resamples seeds and
points (points within their held-out region). No point is counted twice.

The notebook's tables and figures are built here too (:func:`comparison_table`,
:func:`superpixel_figure`, :func:`graph_figure`, :func:`curves_figure`, :func:`scene_figure`),
as are its final model (:func:`fit_final`, :func:`segment_classifier`), the scene map
(:func:`map_scene`) and its metrics (:func:`metrics`).
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, TypeAlias

import holoviews as hv
import numpy as np
import pandas as pd
import xarray as xr
from hvplot.plotting import hvPlotTabular
from skimage.segmentation import mark_boundaries
from torch_geometric.data import Data

from lulcbook import evaluate, legend, splits, viz
from lulcbook.bootstrap import Estimate, Metric, interval_side, seeded_bootstrap
from lulcbook.experiments.folds import (
    Fold,
    FoldResult,
    Patches,
    gnn_experiment,
    run_fold,
    run_folds,
)
from lulcbook.models.gnn import SegmentClassifier
from lulcbook.progress import progress as tqdm

Runs: TypeAlias = Mapping[int, Sequence[FoldResult]]
"""Fold results per training seed (the output of :func:`run_seeds`)."""

Pairs: TypeAlias = Mapping[str, tuple[str, str]]
"""Named model pairs ``{"a - b": (a, b)}``."""

Table: TypeAlias = dict[str, dict[str, Any]]
"""One dict of numbers per model or pair."""

METRIC_KEYS = (
    "oa",
    "macro_f1",
    "macro_f1_ci95",
    "macro_f1_seed_sd",
    "per_class_f1",
    "edge_density",
    "patch_density",
)
"""The per-model numbers of :func:`compare` that go to ``metrics["models"]``."""


@dataclass(frozen=True)
class SeedMatrix:
    """One model's predictions at the held-out points, one row per seed.

    Attributes:
        y_true: ``(n,)`` reference classes.
        y_pred: ``(n_seeds, n)`` predicted classes.
        region: ``(n,)`` held-out region of each point.
        sample: ``(n,)`` patch index of each point.
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    region: np.ndarray
    sample: np.ndarray


def patches_of(ds: xr.Dataset, graph_list: Sequence[Data]) -> Patches:
    """The patches of 01-data's dataset with their graphs, as the models learn from them.

    Args:
        ds: the patch dataset (``reflectance``, ``label``, ``point_y``, ``point_x``).
        graph_list: one graph per patch.

    Returns:
        Graphs, ``(sample, band, y, x)`` reflectance, labels and labelled pixels.
    """
    points = np.stack([ds["point_y"].values, ds["point_x"].values], axis=1)
    refl = ds["reflectance"].transpose("sample", "band", "y", "x").values
    return Patches(graph_list, refl, ds["label"].values, points)


def region_folds(ds: xr.Dataset) -> list[Fold]:
    """The leave-region-out folds, the stored ``split`` dividing training and validation.

    Args:
        ds: the patch dataset (``region``, ``split``).

    Returns:
        One :class:`~lulcbook.experiments.folds.Fold` per held-out region (west to east).
    """
    return [
        Fold(region, *splits.train_val_indices(ds, train_all), test)
        for region, train_all, test in splits.region_folds(ds)
    ]


def run_seeds(
    folds: Sequence[Fold],
    patches: Patches,
    params: Mapping[str, Any],
    n_classes: int,
    seeds: Sequence[int],
    n_jobs: int = 1,
) -> dict[int, list[FoldResult]]:
    """Train every model on every fold once per seed.

    Args:
        folds: the leave-region-out folds.
        patches: graphs, reflectance, labels and labelled pixels of every patch.
        params: the ``gnn`` section of ``params.yaml``.
        n_classes: number of legend classes.
        seeds: training seeds.
        n_jobs: worker processes; every (seed, fold) is one task of a single pool, and the
            results equal a sequential run's because each task is seeded on its own.

    Returns:
        ``{seed: fold results}``, in the order of ``seeds``.

    Raises:
        ValueError: if ``seeds`` is empty or repeats a seed.
    """
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and non-empty, got {list(seeds)}")
    if n_jobs <= 1:
        return {
            int(s): run_folds(folds, patches, params, n_classes, seed=int(s), n_jobs=1)
            for s in seeds
        }
    # One pool for every (seed, fold): workers start once and stay busy across seeds.
    tasks = [(int(s), k, Fold(*f)) for s in seeds for k, f in enumerate(folds)]
    with ProcessPoolExecutor(n_jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {
            (s, k): pool.submit(run_fold, fold, patches, dict(params), n_classes, s, 1)
            for s, k, fold in tasks
        }
        bar = tqdm(as_completed(futures.values()), total=len(tasks), desc="seed × fold")
        for fut in bar:
            fut.result()
    return {
        int(s): [r for k in range(len(folds)) for r in futures[int(s), k].result()] for s in seeds
    }


def models(runs: Runs) -> list[str]:
    """Return the model names of a run, in first-seen order."""
    first = next(iter(runs.values()))
    return list(dict.fromkeys(r.model for r in first))


def seed_matrix(runs: Runs, model: str) -> SeedMatrix:
    """Stack one model's held-out predictions of every seed.

    Raises:
        KeyError: if no fold result is called ``model``.
        ValueError: if seeds disagree on the points or their reference (they must not).
    """
    rows, ref = [], None
    for seed, results in runs.items():
        rs = [r for r in results if r.model == model]
        if not rs:
            raise KeyError(f"no results for model {model!r} (seed {seed})")
        key = (
            np.concatenate([r.y_true for r in rs]),
            np.concatenate([np.full(len(r.test_idx), r.region) for r in rs]),
            np.concatenate([r.test_idx for r in rs]),
        )
        if ref is None:
            ref = key
        elif not all(np.array_equal(a, b) for a, b in zip(ref, key, strict=True)):
            raise ValueError(f"seed {seed} of {model!r} predicts other points than the first seed")
        rows.append(np.concatenate([r.y_pred for r in rs]))
    assert ref is not None
    if np.unique(ref[2]).size != ref[2].size:
        raise ValueError(f"{model!r}: a held-out patch occurs in two folds")
    return SeedMatrix(ref[0], np.stack(rows), ref[1], ref[2])


def _bootstrap(
    sm: SeedMatrix,
    metric: Metric,
    labels: Sequence[int],
    n_boot: int,
    seed: int,
    baseline: np.ndarray | None = None,
) -> Estimate:
    """The seed-and-point bootstrap of ``metric`` (of a difference to ``baseline``, if given)."""
    return seeded_bootstrap(
        sm.y_true,
        sm.y_pred,
        metric,
        baseline=baseline,
        strata=sm.region,
        labels=np.asarray(labels),
        n_boot=n_boot,
        seed=seed,
    )


def compare(runs: Runs, labels: Sequence[int], n_boot: int = 1000, seed: int = 0) -> Table:
    """Seed-mean OA and macro-F1 of every model with seed-and-point bootstrap intervals.

    Args:
        runs: output of :func:`run_seeds`.
        labels: classes averaged by macro-F1.
        n_boot: bootstrap replicates.
        seed: bootstrap seed.

    Returns:
        ``{model: {oa, oa_ci95, macro_f1, macro_f1_ci95, macro_f1_seed_sd, per_class_f1,
        confusion, edge_density, patch_density, n, n_seeds}}``; per-class F1 and fragmentation
        are seed means, the confusion matrix sums all seeds.
    """
    out: Table = {}
    lab = np.asarray(labels)
    for name in models(runs):
        sm = seed_matrix(runs, name)
        m: dict[str, Any] = {"n": int(sm.y_true.size), "n_seeds": int(sm.y_pred.shape[0])}
        for metric in ("oa", "macro_f1"):
            est = _bootstrap(sm, metric, labels, n_boot, seed)
            m[metric], m[f"{metric}_ci95"] = est.estimate, list(est.ci95)
        per_seed = [evaluate.classification_metrics(sm.y_true, p, lab) for p in sm.y_pred]
        m["macro_f1_seed_sd"] = (
            float(np.std([c["macro_f1"] for c in per_seed], ddof=1)) if len(per_seed) > 1 else 0.0
        )
        m["per_class_f1"] = {
            k: float(np.mean([c["per_class_f1"][k] for c in per_seed]))
            for k in per_seed[0]["per_class_f1"]
        }
        m["confusion"] = np.sum([c["confusion"] for c in per_seed], axis=0).astype(int).tolist()
        frags = [
            evaluate.fragmentation(np.concatenate([r.maps for r in res if r.model == name]))
            for res in runs.values()
        ]
        for k in ("edge_density", "patch_density"):
            m[k] = float(np.mean([f[k] for f in frags]))
        out[name] = m
    return out


def paired(
    runs: Runs, pairs: Pairs, labels: Sequence[int], n_boot: int = 1000, seed: int = 0
) -> Table:
    """Macro-F1 differences between models on the same points, seeds and points resampled.

    Args:
        runs: output of :func:`run_seeds`.
        pairs: ``{name: (model a, model b)}``; the difference is ``a - b``.
        labels: classes averaged by macro-F1.
        n_boot: bootstrap replicates.
        seed: bootstrap seed.

    Returns:
        ``{name: Estimate.as_dict()}`` (``p_positive``: share of resamples in which ``a`` wins).
    """
    out = {}
    for name, (a, b) in pairs.items():
        baseline = seed_matrix(runs, b).y_pred
        est = _bootstrap(seed_matrix(runs, a), "macro_f1", labels, n_boot, seed, baseline)
        out[name] = est.as_dict()
    return out


def verdict(name: str, diff: Mapping[str, Any], what: str = "macro-F1") -> str:
    """One sentence on a paired difference, generated from its interval.

    Args:
        name: ``"a - b"``.
        diff: an ``Estimate.as_dict()``.
        what: the metric's name in the sentence.

    Returns:
        e.g. ``"gnn - cnn: +0.026 [-0.031, +0.082]: no detectable difference."``.
    """
    lo, hi = diff["ci95"]
    a, b = (s.strip() for s in name.split(" - "))
    tail = {
        1: f"{a} is better than {b}",
        -1: f"{b} is better than {a}",
        0: "no detectable difference",
    }[interval_side((lo, hi))]
    return f"{name}: {what} {diff['estimate']:+.3f} [{lo:+.3f}, {hi:+.3f}]: {tail}."


def region_macro_f1(runs: Runs, labels: Sequence[int]) -> dict[str, dict[str, float]]:
    """Seed-mean macro-F1 of every model in every held-out region.

    Args:
        runs: output of :func:`run_seeds`.
        labels: classes averaged by macro-F1.

    Returns:
        ``{region: {model: macro-F1}}``.
    """
    out: dict[str, dict[str, float]] = {}
    for name in models(runs):
        sm = seed_matrix(runs, name)
        for region in np.unique(sm.region):
            k = sm.region == region
            f1 = [evaluate.macro_f1(sm.y_true[k], p[k], labels) for p in sm.y_pred]
            out.setdefault(str(region), {})[name] = float(np.mean(f1))
    return out


def comparison_metrics(
    runs: Runs, summary: Table, diffs: Table, labels: Sequence[int]
) -> dict[str, Any]:
    """The comparison part of the notebook's metrics.

    Args:
        runs: output of :func:`run_seeds`.
        summary: output of :func:`compare`.
        diffs: output of :func:`paired` (keys ``"a - b"``).
        labels: classes averaged by macro-F1.

    Returns:
        ``models`` (the :data:`METRIC_KEYS` of every model), ``oa_ci95``,
        ``macro_f1_per_region``, ``paired_macro_f1_diff`` (keys ``a_minus_b``) and ``verdicts``
        (one sentence per pair, :func:`verdict`).
    """
    return {
        "models": {k: {key: m[key] for key in METRIC_KEYS} for k, m in summary.items()},
        "oa_ci95": {k: m["oa_ci95"] for k, m in summary.items()},
        "macro_f1_per_region": region_macro_f1(runs, labels),
        "paired_macro_f1_diff": {k.replace(" - ", "_minus_"): v for k, v in diffs.items()},
        "verdicts": [verdict(k, v) for k, v in diffs.items()],
    }


def comparison_table(summary: Table) -> pd.DataFrame:
    """One row per model: OA, macro-F1 with its interval and seed SD, fragmentation."""
    return pd.DataFrame(
        {
            name: {
                "OA": m["oa"],
                "macro-F1": m["macro_f1"],
                "macro-F1 95% CI": "[{:.3f}, {:.3f}]".format(*m["macro_f1_ci95"]),
                "seed SD": m["macro_f1_seed_sd"],
                "edge density (m/ha)": m["edge_density"],
                "patch density (/100 ha)": m["patch_density"],
            }
            for name, m in summary.items()
        }
    ).T


def interval_frame(summary: Table) -> pd.DataFrame:
    """Macro-F1 and its 95 % interval per model (columns ``model, macro_f1, lo, hi``)."""
    return pd.DataFrame(
        [
            {"model": k, "macro_f1": m["macro_f1"], "lo": m["macro_f1_ci95"][0],
             "hi": m["macro_f1_ci95"][1]}
            for k, m in summary.items()
        ]
    )  # fmt: skip


def curves_frame(results: Sequence[FoldResult]) -> pd.DataFrame:
    """The training histories of ``results``, one row per model, region and epoch."""
    return pd.DataFrame(
        [{"model": r.model, "region": r.region, **row} for r in results for row in r.history]
    )


def curves_figure(curves: pd.DataFrame) -> Any:
    """Validation loss per epoch: one panel per held-out region, one curve per model.

    Args:
        curves: output of :func:`curves_frame`.

    Returns:
        A holoviews layout with a single legend.
    """
    fig = (
        hvPlotTabular(curves)
        .line(
            x="epoch",
            y="val_loss",
            by="model",
            groupby="region",
            dynamic=False,
            ylabel="validation loss",
        )
        .layout()
        .cols(2)
    )
    fig = fig.opts(
        hv.opts.NdOverlay(fig_inches=(3.6, 2.4), show_legend=False),
        hv.opts.Layout(sublabel_format="", title="Validation loss per held-out region", vspace=0.8),
    )
    fig[list(fig.keys())[1]].opts(show_legend=True, legend_position="right")  # one legend
    return fig


def loop_figure(history: pd.DataFrame, best_epoch: int, title: str) -> Any:
    """Training and validation loss per epoch of one training run, the best epoch marked.

    Args:
        history: columns ``epoch``, ``train_loss`` and ``val_loss``.
        best_epoch: the epoch whose weights were kept.
        title: figure title.

    Returns:
        A holoviews overlay.
    """
    long = history.melt("epoch", ["train_loss", "val_loss"], "curve", "loss")
    lines = hvPlotTabular(long).line(x="epoch", y="loss", by="curve", title=title)
    return (lines * hv.VLine(best_epoch).opts(color="grey", linestyle="--")).opts(
        legend_position="right"
    )


def superpixel_figure(patches: Patches, bands: list[str], show: Sequence[int]) -> Any:
    """RGB of the ``show`` patches with their superpixel borders and the labelled pixel.

    Args:
        patches: graphs, reflectance, labels and labelled pixels.
        bands: band names of the reflectance.
        show: patch indices, one panel each.

    Returns:
        A holoviews layout with one row of panels.
    """
    size = patches.reflectance.shape[-1]
    up4 = np.ones((4, 4), int)  # 4x upsampled for thin borders
    panels = []
    for i in show:
        g = patches.graphs[i]
        rgb = np.kron(viz.rgb(patches.reflectance[i], bands), up4[..., None].astype(np.uint8))
        seg = np.kron(g.segments[0].numpy(), up4)
        img = mark_boundaries(rgb, seg, (1, 1, 0), mode="inner")  # type: ignore[no-untyped-call]
        y, x = patches.points[i]
        pt = hv.Points([(x + 0.5, size - 0.5 - y)]).opts(color="red", s=60, marker="*")
        title = f"{legend.KEYS[patches.labels[i]]}: {g.num_nodes} segments"
        rgb_el = hv.RGB(img[::-1], bounds=(0, 0, size, size))
        panels.append((rgb_el * pt).opts(title=title, xaxis=None, yaxis=None))
    return hv.Layout(panels).cols(len(panels)).opts(sublabel_format="", fig_inches=2.2)


def graph_figure(graph: Data, image: np.ndarray, bands: list[str]) -> Any:
    """One region-adjacency graph over its patch: edges coloured by weight, labelled node red.

    Args:
        graph: a graph of :func:`lulcbook.graphs.build_graphs`.
        image: its ``(band, y, x)`` reflectance.
        bands: band names of ``image``.

    Returns:
        A holoviews overlay.
    """
    size = image.shape[-1]
    pos = graph.pos.numpy()
    px, py = pos[:, 1], size - 1 - pos[:, 0]
    src, dst = graph.edge_index.numpy()
    keep = src < dst
    segs = pd.DataFrame(
        {"x0": px[src[keep]], "y0": py[src[keep]], "x1": px[dst[keep]], "y1": py[dst[keep]],
         "weight": graph.edge_weight.numpy()[keep]}
    )  # fmt: skip
    base = hv.RGB(viz.rgb(image, bands)[::-1], bounds=(0, 0, size, size)).opts(alpha=0.5)
    edges = hv.Segments(segs, ["x0", "y0", "x1", "y1"], "weight").opts(
        color="weight", cmap="viridis", linewidth=2, colorbar=True, clim=(0, 1)
    )
    nodes = hv.Points((px, py)).opts(color="black", s=12)
    node = int(graph.label_node)
    lab = hv.Points([(px[node], py[node])]).opts(color="red", s=60)
    return (base * edges * nodes * lab).opts(
        title=f"Region-adjacency graph: {graph.num_nodes} nodes, {keep.sum()} edges",
        xaxis=None,
        yaxis=None,
        fig_inches=5,
    )


def maps_by_model(results: Sequence[FoldResult]) -> dict[str, dict[int, np.ndarray]]:
    """The held-out class maps of every model, by patch index."""
    out: dict[str, dict[int, np.ndarray]] = {r.model: {} for r in results}
    for r in results:
        out[r.model].update({int(s): m for s, m in zip(r.test_idx, r.maps, strict=True)})
    return out


def fit_final(
    ds: xr.Dataset, graph_list: Sequence[Data], params: Mapping[str, Any], seed: int
) -> tuple[Fold, FoldResult]:
    """Train the ``final_model`` on the patches of all regions.

    Early stopping uses one half of the stored validation split; the other half (kept for
    calibration in 06-uncertainty) is the fold's test set, so its OA is on patches early
    stopping never saw.

    Args:
        ds: the patch dataset of 01-data (``split``, ``region``, ``label``).
        graph_list: one graph per patch.
        params: the ``gnn`` parameters.
        seed: seed of the split halves, initialisation and training.

    Returns:
        The fold (region ``"all"``) and the result with the fitted model.
    """
    name = params["final_model"]
    spec = params["models"][name]
    tr, va_all = splits.train_val_indices(ds, np.arange(ds.sizes["sample"]))
    va, cal = splits.selection_calibration(ds, va_all, seed)
    fold = Fold("all", tr, va, cal)
    result = gnn_experiment(
        name, fold, graph_list, spec["cls"], {"n_classes": legend.N_CLASSES, **spec["model"]},
        params["fit"], semi=params["semi"] if spec["semi"] else None, seed=seed, progress=False,
    )  # fmt: skip
    return fold, result


def segment_classifier(
    final: FoldResult, bands: Sequence[str], superpixels: dict[str, Any], n_train: int
) -> SegmentClassifier:
    """The deployable :class:`~lulcbook.models.gnn.SegmentClassifier` of the final model.

    Args:
        final: the result of :func:`fit_final`.
        bands: band names of the training patches.
        superpixels: the segmentation parameters.
        n_train: number of training patches.

    Returns:
        The classifier with its model card metadata.
    """
    f = final.fitted
    meta = {
        "model": final.model,
        "trained_on": "EuroSAT-MS patches, all regions (labelled centre pixels)",
        "n_train": n_train,
        "best_epoch": int(np.argmin([h["val_loss"] for h in final.history])),
    }
    return SegmentClassifier(
        f["model"], f["kwargs"], bands, legend.KEYS, superpixels, f["scaler"], meta=meta
    )


def map_scene(clf: SegmentClassifier, scene: xr.DataArray, tiling: Mapping[str, Any]) -> np.ndarray:
    """Classify a scene tile by tile; pixels without a prediction get :data:`legend.NODATA`.

    Args:
        clf: the segment classifier.
        scene: ``(band, y, x)`` reflectance.
        tiling: ``tile_size`` and ``overlap`` in pixels.

    Returns:
        The ``(y, x)`` uint8 class map.
    """
    proba = clf.predict_proba_tiled(scene, tiling["tile_size"], tiling["overlap"])
    valid = np.isfinite(proba).all(axis=0)
    return np.where(valid, np.nan_to_num(proba).argmax(axis=0), legend.NODATA).astype(np.uint8)


def scene_summary(scene_map: np.ndarray) -> dict[str, Any]:
    """Mapped area (km², 10 m pixels), class fractions and fragmentation of a scene map."""
    valid = scene_map != legend.NODATA
    fractions = {
        legend.KEYS[c]: float((scene_map == c).sum() / valid.sum()) for c in range(legend.N_CLASSES)
    }
    return {
        "area_km2": float(valid.sum() * 1e-4),
        "class_fraction": fractions,
        **evaluate.fragmentation(scene_map),
    }


def scene_figure(
    scene: xr.DataArray, scene_map: np.ndarray, bands: list[str], titles: tuple[str, str]
) -> Any:
    """The scene in true colour above its class map.

    Args:
        scene: ``(band, y, x)`` reflectance with ``x``/``y`` coordinates.
        scene_map: its ``(y, x)`` class map.
        bands: band names of ``scene``.
        titles: titles of the RGB and of the map.

    Returns:
        A one-column holoviews layout.
    """
    classes = xr.DataArray(scene_map, dims=("y", "x"), coords={"y": scene["y"], "x": scene["x"]})
    bounds = (
        float(scene.x.min()),
        float(scene.y.min()),
        float(scene.x.max()),
        float(scene.y.max()),
    )
    rgb = hv.RGB(viz.rgb(scene.values, bands)[::-1], bounds=bounds)
    rgb = rgb.opts(title=titles[0], xaxis=None, yaxis=None, fig_inches=6.5)
    return (rgb + viz.class_map(classes, title=titles[1])).cols(1).opts(sublabel_format="")
