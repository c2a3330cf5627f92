"""The uncertainty study of notebook 06-uncertainty.

Leave-region-out deep ensembles and MC dropout of the superpixel GNN; temperature scaling and
conformal sets fitted per fold and scored on the pooled held-out regions (ECE, NLL, Brier,
accuracy, misclassification AUROC, with paired bootstrap intervals of the change); the
uncertainty maps of the Brandenburg scene; and the stratified area estimate inside its
reference polygons. The notebook shows the tables and figures these functions return.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import holoviews as hv
import numpy as np
import pandas as pd
import xarray as xr
from rasterio import features
from torch import Tensor, nn

from lulcbook import evaluate as ev
from lulcbook import graphs, legend, splits, train, viz
from lulcbook.bootstrap import Estimate, interval_side, resample
from lulcbook.models.gnn import SegmentClassifier
from lulcbook.progress import progress
from lulcbook.uncertainty import (
    METHODS,
    calibrated_probs,
    entropy,
    fit_temperature,
    fold_logits,
    mc_dropout_logits,
    member_probs,
    mutual_information,
    train_ensemble,
)

PIXEL_HA = 0.01
"""Area of one 10 m pixel in hectares."""


def probabilistic_metrics(
    probs: np.ndarray, y: np.ndarray, n_bins: int = 15, score: np.ndarray | None = None
) -> dict[str, float]:
    """ECE, NLL, Brier, accuracy and the misclassification AUROC of ``score``.

    ``score`` defaults to the predictive entropy of ``probs``.
    """
    pred = probs.argmax(axis=1)
    score = entropy(probs) if score is None else score
    return {
        "ece": ev.expected_calibration_error(probs, y, n_bins),
        "nll": ev.negative_log_likelihood(probs, y),
        "brier": ev.brier_score(probs, y),
        "auroc_misclassification": ev.misclassification_auroc(score, y, pred),
        "accuracy": float(np.mean(pred == y)) if len(y) else float("nan"),
    }


def paired_change(
    metric: Callable[[np.ndarray, np.ndarray], float],
    probs_before: np.ndarray,
    probs_after: np.ndarray,
    y: np.ndarray,
    strata: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> Estimate:
    """``metric(after) - metric(before)`` on the same points, with a paired bootstrap interval.

    The same resampled points enter both terms, so the interval shows whether a change (e.g.
    of ECE after temperature scaling) exceeds its sampling noise; ``strata`` (e.g. the held-out
    region of each test point) keeps each stratum's size in every resample.
    """
    y = np.asarray(y)

    def stat(idx: np.ndarray, _rng: np.random.Generator | None) -> float:
        return metric(probs_after[idx], y[idx]) - metric(probs_before[idx], y[idx])

    return resample(stat, len(y), strata=strata, n_boot=n_boot, seed=seed)


def calibration_study(
    folds: Sequence[dict[str, Any]],
    level: float = 0.9,
    conformal_method: str = "aps",
    n_bins: int = 15,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Temperature scaling and split-conformal sets per fold, evaluated on the pooled test folds.

    For each fold and method the temperature is fitted on the calibration logits (``val_y``:
    a validation half that early stopping never saw, see
    :func:`lulcbook.splits.selection_calibration`) and the conformal threshold on the
    calibrated probabilities of the same half; test predictions of all
    folds are then pooled (every sample is a test sample exactly once in leave-region-out).

    Args:
        folds: one dict per fold with ``logits`` (from :func:`fold_logits`), ``val_y`` and
            ``test_y`` (label arrays) and optionally ``region``.
        level: conformal coverage level ``1 - alpha``.
        conformal_method: ``"lac"`` or ``"aps"``.
        n_bins: ECE / reliability bins.
        n_boot: paired bootstrap resamples for the 95% intervals of the ECE and NLL change.

    Returns:
        ``metrics`` (JSON-ready, per method: ``before_calibration``/``after_calibration``
        metric dicts, ``temperature`` and ``val_accuracy`` per fold, ``ece_change_ci95`` and
        ``nll_change_ci95`` (after minus before; test points resampled within their held-out
        region), ``conformal_*``), ``probs`` (per method
        ``before``/``after`` pooled test probabilities), ``mutual_information`` (per method,
        pooled, of the raw passes/members), ``y`` (pooled test labels) and ``region`` (pooled).
    """
    if not folds:
        raise ValueError("calibration_study needs at least one fold")
    methods = list(folds[0]["logits"])
    pooled: dict[str, dict[str, list[np.ndarray]]] = {
        m: {"before": [], "after": [], "mi": [], "covered": [], "size": []} for m in methods
    }
    temps: dict[str, dict[str, float]] = {m: {} for m in methods}
    val_acc: dict[str, dict[str, float]] = {m: {} for m in methods}
    ys: list[np.ndarray] = []
    regions: list[np.ndarray] = []
    for k, fold in enumerate(folds):
        val_y, test_y = np.asarray(fold["val_y"]), np.asarray(fold["test_y"])
        name = str(fold.get("region", k))
        ys.append(test_y)
        regions.append(np.full(len(test_y), name, dtype=object))
        for m in methods:
            zv, zt = fold["logits"][m]["val"], fold["logits"][m]["test"]
            t = fit_temperature(zv, val_y)
            temps[m][name] = t
            val_acc[m][name] = float(np.mean(calibrated_probs(zv).argmax(axis=1) == val_y))
            pooled[m]["before"].append(calibrated_probs(zt, 1.0))
            pooled[m]["after"].append(calibrated_probs(zt, t))
            pooled[m]["mi"].append(mutual_information(member_probs(zt)))
            conf = ev.split_conformal(
                calibrated_probs(zv, t),
                val_y,
                calibrated_probs(zt, t),
                test_y,
                level,
                conformal_method,
            )
            pooled[m]["covered"].append(conf["sets"][np.arange(len(test_y)), test_y])
            pooled[m]["size"].append(conf["sets"].sum(axis=1))
    y = np.concatenate(ys)
    region = np.concatenate(regions).astype(str)
    metrics: dict[str, Any] = {}
    probs: dict[str, dict[str, np.ndarray]] = {}
    mi: dict[str, np.ndarray] = {}
    for m in methods:
        before = np.concatenate(pooled[m]["before"])
        after = np.concatenate(pooled[m]["after"])
        mi[m] = np.concatenate(pooled[m]["mi"])
        probs[m] = {"before": before, "after": after}
        entry = {
            "before_calibration": probabilistic_metrics(before, y, n_bins),
            "after_calibration": probabilistic_metrics(after, y, n_bins),
            "temperature": temps[m],
            "val_accuracy": val_acc[m],
            "ece_change_ci95": list(
                paired_change(
                    lambda p, t: ev.expected_calibration_error(p, t, n_bins),
                    before,
                    after,
                    y,
                    region,
                    n_boot,
                ).ci95
            ),
            "nll_change_ci95": list(
                paired_change(ev.negative_log_likelihood, before, after, y, region, n_boot).ci95
            ),
            "conformal_method": conformal_method,
            "conformal_level": level,
            "conformal_coverage": float(np.concatenate(pooled[m]["covered"]).mean()),
            "conformal_set_size": float(np.concatenate(pooled[m]["size"]).mean()),
        }
        if m != "single":
            entry["auroc_misclassification_mutual_information"] = ev.misclassification_auroc(
                mi[m], y, after.argmax(axis=1)
            )
        metrics[m] = entry
    return {
        "metrics": metrics,
        "probs": probs,
        "mutual_information": mi,
        "y": y,
        "region": region,
    }


def change_word(ci95: Sequence[float]) -> str:
    """What a paired interval of ``after − before`` says: ``lowers``, ``raises`` or neither.

    Returns:
        ``"lowers"`` when the whole interval is below 0, ``"raises"`` when it is above 0,
        ``"does not detectably change"`` when it holds 0.
    """
    return {1: "raises", -1: "lowers", 0: "does not detectably change"}[interval_side(ci95)]


def calibration_verdicts(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """The verdict of temperature scaling on ECE and NLL per method, read from the intervals.

    A point estimate that falls says little on a few hundred test points: the verdict is
    ``lowers`` or ``raises`` only where the paired bootstrap interval of the change (test
    points resampled within their held-out region) excludes 0.

    Args:
        metrics: ``calibration_study(...)["metrics"]``.

    Returns:
        Per method ``ece`` and ``nll`` (a :func:`change_word`) and ``text``, one sentence with
        the estimates and intervals.
    """
    out: dict[str, dict[str, str]] = {}
    for m, res in metrics.items():
        words: dict[str, str] = {}
        parts = []
        for key, name, digits in (("ece", "ECE", 3), ("nll", "NLL", 3)):
            before = float(res["before_calibration"][key])
            after = float(res["after_calibration"][key])
            lo, hi = res[f"{key}_change_ci95"]
            words[key] = change_word((lo, hi))
            parts.append(
                f"{words[key]} {name} ({before:.{digits}f} → {after:.{digits}f}, change 95 % CI "
                f"{lo:+.{digits}f} to {hi:+.{digits}f})"
            )
        words["text"] = f"{m}: temperature scaling {parts[0]} and {parts[1]}."
        out[m] = words
    return out


def member_spread(folds: Sequence[Mapping[str, Any]], n_bins: int = 15) -> dict[str, Any]:
    """The single-network scores of every ensemble member: how much they hang on one network.

    The ``single`` method of :func:`calibration_study` is the first member of each fold's
    ensemble. The other members differ from it only in their seed, so scoring each of them
    the same way (its own temperature fitted on the calibration half, test folds pooled) gives
    the spread of a single network's scores over training seeds, at no extra training.

    Args:
        folds: as :func:`calibration_study` takes them; ``logits["ensemble"]`` holds the
            members' deterministic passes ``(M, n, C)``.
        n_bins: ECE bins.

    Returns:
        ``members`` (M), per member lists ``ece_before``, ``ece_after``, ``nll_before``,
        ``nll_after`` and ``accuracy``, and ``n_ece_lowered`` (members whose ECE calibration
        lowered).

    Raises:
        ValueError: no folds, or folds with different numbers of members.
    """
    if not folds:
        raise ValueError("member_spread needs at least one fold")
    sizes = {int(np.asarray(f["logits"]["ensemble"]["test"]).shape[0]) for f in folds}
    if len(sizes) != 1:
        raise ValueError(f"the folds' ensembles have different sizes: {sorted(sizes)}")
    n_members = sizes.pop()
    y = np.concatenate([np.asarray(f["test_y"]) for f in folds])
    out: dict[str, Any] = {"members": n_members}
    rows: list[dict[str, float]] = []
    for k in range(n_members):
        before, after = [], []
        for f in folds:
            zv = f["logits"]["ensemble"]["val"][k : k + 1]
            zt = f["logits"]["ensemble"]["test"][k : k + 1]
            t = fit_temperature(zv, np.asarray(f["val_y"]))
            before.append(calibrated_probs(zt, 1.0))
            after.append(calibrated_probs(zt, t))
        pb = probabilistic_metrics(np.concatenate(before), y, n_bins)
        pa = probabilistic_metrics(np.concatenate(after), y, n_bins)
        rows.append(
            {
                "ece_before": pb["ece"],
                "ece_after": pa["ece"],
                "nll_before": pb["nll"],
                "nll_after": pa["nll"],
                "accuracy": pb["accuracy"],
            }
        )
    for key in rows[0]:
        out[key] = [r[key] for r in rows]
    out["n_ece_lowered"] = int(sum(r["ece_after"] < r["ece_before"] for r in rows))
    return out


def member_spread_sentence(spread: Mapping[str, Any]) -> str:
    """What the spread over members says of the single-network rows, in one sentence."""

    def span(key: str) -> str:
        v = np.asarray(spread[key])
        return f"{v.min():.3f}–{v.max():.3f} (mean {v.mean():.3f})"

    return (
        f"Over the {spread['members']} members of each fold's ensemble (seeds only differ), a "
        f"single network's test accuracy spans {span('accuracy')}, its ECE {span('ece_before')} "
        f"before and {span('ece_after')} after temperature scaling; calibration lowered the ECE "
        f"of {spread['n_ece_lowered']} of {spread['members']} members."
    )


def region_fold_logits(
    ds: xr.Dataset,
    patch_graphs: Sequence[Any],
    make_model: Callable[[], nn.Module],
    fit_kwargs: dict[str, Any],
    members: int,
    mc_samples: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Train one ensemble per held-out region and collect the logits of every method.

    The validation patches of the training regions are split into a model-selection half
    (early stopping) and a calibration half (temperature and conformal threshold).

    Args:
        ds: the 01-data patches (``label``, ``region``, ``split``).
        patch_graphs: one superpixel graph per patch.
        make_model: builds an untrained GNN.
        fit_kwargs: keyword arguments of :func:`lulcbook.train.fit_gnn`.
        members: ensemble members.
        mc_samples: MC-dropout passes.
        seed: seeds the split, the members and the passes.

    Returns:
        One dict per fold: ``region``, ``logits`` (:func:`lulcbook.uncertainty.fold_logits`),
        ``val_y`` (calibration labels), ``test_y`` and the split sizes, as
        :func:`calibration_study` takes them.
    """
    labels = ds["label"].values
    folds = []
    for region, train_idx, test_idx in progress(splits.region_folds(ds), desc="regions"):
        tr, va_all = splits.train_val_indices(ds, train_idx)
        va, cal = splits.selection_calibration(ds, va_all, seed)  # disjoint halves
        scaler = graphs.FeatureScaler().fit([patch_graphs[i] for i in tr])
        g_tr, g_va, g_cal, g_te = (
            train.prepare_graphs([patch_graphs[i] for i in ix], scaler)
            for ix in (tr, va, cal, test_idx)
        )
        nets = train_ensemble(
            make_model, train.fit_gnn, g_tr, g_va, members, seed, fit_kwargs, progress=False
        )
        folds.append(
            {
                "region": region,
                "logits": fold_logits(nets, g_cal, g_te, mc_samples, seed),
                "val_y": labels[cal],  # calibration half: temperature and conformal threshold
                "test_y": labels[test_idx],
                "n_train": len(tr),
                "n_val_selection": len(va),
                "n_val_calibration": len(cal),
            }
        )
    return folds


def fold_table(folds: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Region and split sizes of each fold."""
    keys = ("region", "n_train", "n_val_selection", "n_val_calibration")
    return pd.DataFrame([{k: f[k] for k in keys} | {"n_test": len(f["test_y"])} for f in folds])


def reliability_overlay(study: Mapping[str, Any], method: str, n_bins: int) -> hv.Overlay:
    """Reliability diagram of one method before and after calibration, with the diagonal."""
    layers = [hv.Curve([(0, 0), (1, 1)], "confidence", "accuracy").opts(color="grey")]
    for when, colour in (("before", "#d95f02"), ("after", "#1b9e77")):
        rd = ev.reliability_diagram(study["probs"][method][when], study["y"], n_bins)
        ok = rd["count"] > 0
        pts = (rd["confidence"][ok], rd["accuracy"][ok])
        curve = hv.Curve(pts, "confidence", "accuracy", label=f"{when} calibration")
        layers += [
            curve.opts(color=colour),
            hv.Scatter(pts, "confidence", "accuracy").opts(color=colour),
        ]
    return hv.Overlay(layers).opts(title=f"{method} (held-out regions)", legend_position="top_left")


def reliability_figure(study: Mapping[str, Any], n_bins: int) -> hv.Layout:
    """The reliability diagrams of every method, side by side."""
    overlays = [reliability_overlay(study, m, n_bins) for m in METHODS]
    return hv.Layout(overlays).cols(3).opts(sublabel_format="")


def auroc_table(study: Mapping[str, Any]) -> pd.DataFrame:
    """Misclassification AUROC of the entropy (before, after) and of the mutual information."""
    rows = {}
    for m in METHODS:
        res = study["metrics"][m]
        rows[m] = {
            "entropy (before)": res["before_calibration"]["auroc_misclassification"],
            "entropy (after)": res["after_calibration"]["auroc_misclassification"],
            "mutual information": res.get("auroc_misclassification_mutual_information", np.nan),
        }
    return pd.DataFrame(rows).T


def conformal_table(study: Mapping[str, Any]) -> pd.DataFrame:
    """Conformal method, level, empirical coverage and mean set size of every method."""
    keys = ("conformal_method", "conformal_level", "conformal_coverage", "conformal_set_size")
    return pd.DataFrame({m: {k: study["metrics"][m][k] for k in keys} for m in METHODS}).T


def scene_model_temperature(
    clf: SegmentClassifier,
    ds: xr.Dataset,
    cache_dir: Path,
    mc_samples: int,
    seed: int,
) -> tuple[float, int]:
    """Temperature of the 02-gnn model, fitted on the calibration half of its validation patches.

    The same MC-dropout passes as on the scene; 02-gnn early-stopped on the other half.

    Returns:
        ``(temperature, number of calibration patches)``.
    """
    _, va_all = splits.train_val_indices(ds, np.arange(ds.sizes["sample"]))
    _, va_all = splits.selection_calibration(ds, va_all, 0)
    clf_graphs = graphs.build_graphs(ds, cache_dir=cache_dir, progress=False, **clf.graph_params)
    g_val = train.prepare_graphs([clf_graphs[i] for i in va_all], clf.scaler)
    val_logits = cast(Tensor, mc_dropout_logits(clf.model, g_val, mc_samples, seed))
    return fit_temperature(val_logits, ds["label"].values[va_all]), len(va_all)


def uncertainty_maps_figure(
    scene: xr.DataArray, bands: Sequence[str], unc: Mapping[str, np.ndarray], step: int = 2
) -> hv.Layout:
    """True colour, class map, predictive entropy and mutual information of the scene.

    Every ``step``-th pixel is shown.
    """
    grid: dict[str, Any] = {
        "coords": {"y": scene["y"].values, "x": scene["x"].values},
        "dims": ("y", "x"),
    }
    rgb = viz.rgb(scene.values, list(bands))[::step, ::step] / 255.0
    xs, ys = scene["x"].values[::step], scene["y"].values[::step]
    mi = unc["mutual_information"]
    panels = [
        hv.RGB((xs, ys, *np.moveaxis(rgb, -1, 0))).opts(
            title="Sentinel-2 L1C 2017-02-16 (RGB)", xaxis=None, yaxis=None
        ),
        viz.class_map(
            xr.DataArray(unc["classes"], **grid)[::step, ::step], "GNN class map (MC mean)"
        ),
        viz.value_map(
            xr.DataArray(unc["entropy"], **grid)[::step, ::step],
            "predictive entropy",
            clim=(0, float(np.log(legend.N_CLASSES))),
            label="nats",
        ),
        viz.value_map(
            xr.DataArray(mi, **grid)[::step, ::step],
            "mutual information (epistemic)",
            cmap="magma",
            clim=(0, float(np.nanpercentile(mi, 99))),
            label="nats",
        ),
    ]
    return hv.Layout(panels).cols(2).opts(sublabel_format="")


def class_uncertainty_table(class_map: np.ndarray, unc: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Mapped area and mean entropy and mutual information of each mapped class."""
    present = np.unique(class_map[class_map != legend.NODATA])
    return pd.DataFrame(
        {
            "class": [legend.KEYS[c] for c in present],
            "mapped_area_ha": [float((class_map == c).sum()) * PIXEL_HA for c in present],
            "mean_entropy": [float(np.nanmean(unc["entropy"][class_map == c])) for c in present],
            "mean_mutual_information": [
                float(np.nanmean(unc["mutual_information"][class_map == c])) for c in present
            ],
        }
    )


@dataclass(frozen=True)
class PolygonSample:
    """A stratified sample inside the reference polygons and its area estimate.

    Attributes:
        map_px: map class of every population pixel (inside a polygon, mapped).
        ref_px: reference class of the same pixels.
        estimate: the stratified area estimate (ha).
        counts: the sample's ``(map class, reference class)`` counts.
        truth_ha: census area of each reference class in the population (ha).
    """

    map_px: np.ndarray
    ref_px: np.ndarray
    estimate: ev.AreaEstimate
    counts: np.ndarray
    truth_ha: np.ndarray

    @property
    def observed(self) -> list[int]:
        """Reference classes present in the population."""
        return [c for c in range(legend.N_CLASSES) if self.truth_ha[c] > 0]


def polygon_sample(
    polygons: Any,
    class_map: np.ndarray,
    transform: Any,
    n_per_stratum: int,
    seed: int,
) -> PolygonSample:
    """Draw a stratified random sample by map class inside the reference polygons.

    Args:
        polygons: reference polygons with a ``label_index`` column (a GeoDataFrame).
        class_map: ``(y, x)`` map (legend indices, nodata :data:`lulcbook.legend.NODATA`).
        transform: the map's affine transform.
        n_per_stratum: sampled pixels per map class.
        seed: the sample's seed.
    """
    ref_map = features.rasterize(
        zip(polygons.geometry, polygons["label_index"].astype(int), strict=True),
        out_shape=class_map.shape,
        transform=transform,
        fill=legend.NODATA,
        dtype="uint8",
    )
    domain = (ref_map != legend.NODATA) & (class_map != legend.NODATA)
    map_px, ref_px = class_map[domain].astype(int), ref_map[domain].astype(int)
    est, counts = ev.sample_area_estimate(
        map_px, ref_px, legend.N_CLASSES, n_per_stratum, PIXEL_HA, seed
    )
    truth = np.bincount(ref_px, minlength=legend.N_CLASSES) * PIXEL_HA
    return PolygonSample(map_px, ref_px, est, counts, truth)


def sample_counts_table(counts: np.ndarray) -> pd.DataFrame:
    """The sample's counts, map class by reference class, without empty rows and columns."""
    table = pd.DataFrame(counts, index=[f"map {k}" for k in legend.KEYS], columns=legend.KEYS)
    nonzero: pd.DataFrame = table.loc[counts.sum(axis=1) > 0, counts.sum(axis=0) > 0]
    return nonzero


def area_table(ps: PolygonSample) -> pd.DataFrame:
    """Mapped, estimated (95 % interval) and census area and accuracies of each class present."""
    est = ps.estimate
    lo, hi = est.ci95("area")
    table = pd.DataFrame(
        {
            "mapped_ha": est.mapped_area,
            "estimated_ha": est.area,
            "ci95_low": lo,
            "ci95_high": hi,
            "census_truth_ha": ps.truth_ha,
            "users_accuracy": est.users_accuracy,
            "producers_accuracy": est.producers_accuracy,
        },
        index=legend.KEYS,
    )
    present: pd.DataFrame = table[(table.mapped_ha > 0) | (table.census_truth_ha > 0)]
    return present


def area_figure(ps: PolygonSample) -> Any:
    """Estimate with its 95 % interval, census and mapped area of each observed class."""
    est = ps.estimate
    lo, hi = est.ci95("area")
    truth = ps.truth_ha
    rows = [
        {"class": legend.KEYS[c], "area_ha": v, "lo": lo_, "hi": hi_, "what": what}
        for c in ps.observed
        for what, v, lo_, hi_ in (
            ("estimate ± 95% CI", est.area[c], lo[c], hi[c]),
            ("census inside polygons", truth[c], truth[c], truth[c]),
            ("mapped (pixel count)", est.mapped_area[c], est.mapped_area[c], est.mapped_area[c]),
        )
    ]
    return viz.interval_plot(
        pd.DataFrame(rows),
        "class",
        "area_ha",
        by="what",
        ylabel="area (ha)",
        title="Area inside the 30 reference polygons (sample simulated)",
    )


def area_metrics(
    ps: PolygonSample, n_per_stratum: int, coverage: Mapping[str, float], repeats: int
) -> dict[str, Any]:
    """The area section of the metrics: population, sample, estimate and interval coverage.

    The estimate (:meth:`lulcbook.evaluate.AreaEstimate.to_dict`) keeps the classes mapped or
    present in the population, each with its census.

    Args:
        ps: the sample inside the polygons (:func:`polygon_sample`).
        n_per_stratum: sampled pixels per map class.
        coverage: per observed class, the share of repeated samples whose interval covers the
            census.
        repeats: number of repeated samples.
    """
    est, truth = ps.estimate, ps.truth_ha
    keep = [
        legend.KEYS[c] for c in range(legend.N_CLASSES) if est.mapped_area[c] > 0 or truth[c] > 0
    ]
    estimate = est.to_dict(legend.KEYS)
    estimate["classes"] = {
        k: v | {"census_truth": float(truth[legend.index_of(k)])}
        for k, v in estimate["classes"].items()
        if k in keep
    }
    return {
        "population": "pixels inside the 30 Brandenburg reference polygons (water, forest)",
        "sample": "stratified random sample by map class (simulated draw, real labels)",
        "unit": "ha",
        "n_per_stratum": n_per_stratum,
        "n_sample": int(ps.counts.sum()),
        "n_population": len(ps.map_px),
        **estimate,
        "ci95_coverage_repeated": dict(coverage),
        "repeats": repeats,
    }


def scene_metrics(
    class_map: np.ndarray,
    unc: Mapping[str, np.ndarray],
    mc_samples: int,
    temperature: float,
    keys: Sequence[str],
) -> dict[str, Any]:
    """The Brandenburg scene section of the metrics: mean uncertainties and mapped areas."""
    present = np.unique(class_map[class_map != legend.NODATA])
    return {
        "name": "brandenburg-t33uuu-2017-02-16",
        "mc_samples": mc_samples,
        "temperature": temperature,
        "shape": list(class_map.shape),
        **{f"mean_{k}": float(np.nanmean(unc[k])) for k in keys},
        "mapped_area_ha": {
            legend.KEYS[c]: float((class_map == c).sum()) * PIXEL_HA for c in present
        },
    }
