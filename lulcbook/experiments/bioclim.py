"""The leave-region-out experiment of notebook 03-bioclim: does climate context help?

Each climate variant (:mod:`lulcbook.bioclim`) is trained for the superpixel GNN and the pixel
CNN with several seeds on every leave-region-out fold (:func:`lulcbook.splits.region_folds`).
Within a fold the model is trained on the ``train`` split of the other regions and evaluated on
(a) the held-out region (out-of-region) and (b) the ``val`` split of the training regions
(in-region); it is also evaluated on the held-out region with the climate vectors permuted
across its samples (shuffled climate), which shows whether predictions depend on the climate at
all. Training runs a fixed number of epochs without early stopping, so neither evaluation set is
used for model selection.

Climate statistics (and node-feature / band statistics) are fitted on each fold's training
samples only; missing climate vectors follow the missing-climate rule of
:mod:`lulcbook.models.condnorm` (zeros plus a ``missing`` flag).

Metrics are averaged over seeds; 95 % intervals come from
:func:`lulcbook.bootstrap.seeded_bootstrap`, which resamples seeds and points. Out-of-region
points are resampled within their held-out region; an in-region validation patch is scored by
every fold whose training regions contain it, so its copies are resampled together (one cluster
per patch) and never count as independent points. Differences between variants are paired on
the same points.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import torch
import xarray as xr
from hvplot.plotting import hvPlotTabular
from torch import Tensor, nn
from torch_geometric.data import Data

from lulcbook import splits, train
from lulcbook.bioclim import (
    EVALS,
    FAMILIES,
    VARIANTS,
    build_model,
    check,
    cnn_inputs,
    crop_around_points,
    film_plot_frame,
    film_table,
    gnn_inputs,
    model_name,
)
from lulcbook.bootstrap import (
    Estimate,
    Metric,
    interval_side,
    macro_f1_present,
    seeded_bootstrap,
)
from lulcbook.graphs import FeatureScaler
from lulcbook.models.condnorm import ClimateScaler
from lulcbook.models.pixel import band_stats, standardise_bands
from lulcbook.progress import progress as tqdm

METRICS: tuple[Metric, ...] = ("oa", "macro_f1")

__all__ = [
    "EVALS",
    "BioclimResults",
    "climate_figure",
    "climate_frame",
    "film_figure",
    "film_tables",
    "model_sizes",
    "run_leave_region_out",
    "summarise",
]


def _fit_kwargs(cfg: dict[str, Any], epochs: int, seed: int) -> dict[str, Any]:
    """Optimiser keyword arguments of one training run."""
    kw: dict[str, Any] = {k: cfg[k] for k in ("lr", "weight_decay", "batch_size") if k in cfg}
    return {**kw, "epochs": epochs, "seed": seed, "progress": False}


@dataclass
class BioclimResults:
    """Everything the leave-region-out runs produce.

    Attributes:
        predictions: one row per evaluated point: ``family, variant, model, seed, region``
            (held-out region of the fold), ``eval`` (:data:`EVALS`), ``sample``, ``y_true``,
            ``y_pred``.
        runs: one row per training run (``family, variant, seed, region, n_train, seconds,
            train_loss``).
        film_models: the ``climate_norm`` model of the first seed per ``(family, region)``,
            with the climate scaler of its fold, for inspecting the learned scale and shift.
        cond_dim: width of the conditioning vector.
    """

    predictions: pd.DataFrame
    runs: pd.DataFrame
    film_models: dict[tuple[str, str], tuple[nn.Module, ClimateScaler]] = field(
        default_factory=dict
    )
    cond_dim: int = 0


def _fold_cond(
    climate: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray, indicator: bool, seed: int
) -> tuple[ClimateScaler, Tensor, Tensor]:
    scaler = ClimateScaler(indicator=indicator).fit(climate[train_idx])
    cond = torch.as_tensor(scaler.transform(climate))
    rng = np.random.default_rng(seed)
    shuffled = cond.clone()
    shuffled[test_idx] = cond[rng.permutation(test_idx)]
    return scaler, cond, shuffled


@dataclass
class _Inputs:
    """Arrays shared by every fold (picklable, for worker processes)."""

    climate: np.ndarray
    labels: np.ndarray
    is_val: np.ndarray
    graphs: Sequence[Data] | None
    windows: np.ndarray | None
    points: Tensor | None


_FoldOut = tuple[
    list[pd.DataFrame], list[dict[str, Any]], dict[tuple[str, str], tuple[nn.Module, ClimateScaler]]
]


def _run_fold(
    k: int,
    region: str,
    train_all: np.ndarray,
    test: np.ndarray,
    data: _Inputs,
    params: dict[str, Any],
    threads: int | None = None,
) -> _FoldOut:
    """Every family × variant × seed of one leave-region-out fold."""
    if threads is not None:
        torch.set_num_threads(threads)
    families = list(params.get("families", FAMILIES))
    variants = list(params.get("variants", VARIANTS))
    seeds = [int(s) for s in params["seeds"]]
    tr, va = train_all[~data.is_val[train_all]], train_all[data.is_val[train_all]]
    scaler, cond, cond_shuf = _fold_cond(
        data.climate,
        tr,
        test,
        bool(params.get("missing_indicator", True)),
        int(params.get("shuffle_seed", 0)) + k,
    )
    eval_sets = {"out": (test, cond), "in": (va, cond), "out_shuffled": (test, cond_shuf)}
    labels = data.labels
    rows: list[pd.DataFrame] = []
    runs: list[dict[str, Any]] = []
    film: dict[tuple[str, str], tuple[nn.Module, ClimateScaler]] = {}
    for family in families:
        cfg = params.get(family, {})
        epochs = int(cfg.get("epochs", 30))
        if family == "gnn":
            assert data.graphs is not None
            feats = FeatureScaler().fit([data.graphs[i] for i in tr]).transform(data.graphs)
            in_dim = feats[0].x.shape[1]
        else:
            assert data.windows is not None and data.points is not None
            points: Tensor = data.points
            stats = band_stats(data.windows[tr])
            x_all = torch.from_numpy(standardise_bands(data.windows, stats))
            in_dim = x_all.shape[1]
        for variant in variants:
            for seed in seeds:
                train.set_seed(seed)
                model = build_model(family, variant, in_dim, cond.shape[1], cfg)
                t0 = time.perf_counter()
                if family == "gnn":
                    tg = gnn_inputs([feats[i] for i in tr], cond[tr], variant)
                    hist = train.fit_gnn(model, tg, None, **_fit_kwargs(cfg, epochs, seed))
                else:
                    xin, c = cnn_inputs(x_all[tr], cond[tr], variant)
                    hist = train.fit_cnn(
                        model,
                        xin,
                        torch.as_tensor(labels[tr]),
                        points[tr],
                        cond=c,
                        **_fit_kwargs(cfg, epochs, seed),
                    )
                seconds = time.perf_counter() - t0
                preds: dict[str, np.ndarray] = {}
                for ev, (idx, cnd) in eval_sets.items():
                    if ev == "out_shuffled" and variant == "no_climate":
                        preds[ev] = preds["out"]  # the model never sees the climate
                    elif family == "gnn":
                        gi = gnn_inputs([feats[i] for i in idx], cnd[idx], variant)
                        preds[ev] = train.predict_gnn(model, gi).argmax(1).numpy()
                    else:
                        xin, c = cnn_inputs(x_all[idx], cnd[idx], variant)
                        logits = train.predict_cnn(model, xin, points[idx], c)
                        preds[ev] = logits.argmax(1).numpy()
                    rows.append(
                        pd.DataFrame(
                            {
                                "family": family,
                                "variant": variant,
                                "model": model_name(family, variant),
                                "seed": seed,
                                "region": region,
                                "eval": ev,
                                "sample": idx,
                                "y_true": labels[idx],
                                "y_pred": preds[ev],
                            }
                        )
                    )
                runs.append(
                    {
                        "family": family,
                        "variant": variant,
                        "seed": seed,
                        "region": region,
                        "n_train": len(tr),
                        "epochs": len(hist.rows),
                        "seconds": seconds,
                        "train_loss": hist.rows[-1]["train_loss"] if hist.rows else np.nan,
                    }
                )
                if variant == "climate_norm" and seed == seeds[0]:
                    film[(family, region)] = (model, scaler)
    return rows, runs, film


def run_leave_region_out(
    ds: xr.Dataset,
    graphs: Sequence[Data] | None,
    params: dict[str, Any],
    progress: bool = True,
) -> BioclimResults:
    """Train and evaluate every family × variant × seed on every leave-region-out fold.

    Args:
        ds: the 01-data patch dataset (``reflectance``, ``label``, ``point_y/x``, ``region``,
            ``split``, ``climate``).
        graphs: one graph per sample from :func:`lulcbook.graphs.build_graphs` (raw features);
            may be ``None`` if ``"gnn"`` is not among ``params["families"]``.
        params: the ``bioclim`` parameters: ``families``, ``variants``, ``seeds``,
            ``missing_indicator``, ``shuffle_seed``, ``n_jobs`` (folds run in that many
            worker processes, each with one torch thread; 1 = in this process), and per
            family (``gnn``/``cnn``) ``epochs`` and model/optimiser settings; ``cnn.crop``
            sets the CNN window around the labelled pixel.
        progress: show a tqdm bar over the folds.

    Returns:
        The :class:`BioclimResults` (identical for any ``n_jobs`` up to floating-point
        summation order).

    Raises:
        ValueError: for unknown families/variants, missing graphs, or a dataset without
            in-region validation samples.
    """
    families = list(params.get("families", FAMILIES))
    for f in families:
        for v in params.get("variants", VARIANTS):
            check(f, v)
    if "gnn" in families and (graphs is None or len(graphs) != ds.sizes["sample"]):
        raise ValueError("The GNN runs need one graph per sample of ds (build_graphs(ds, ...))")
    is_val = ds["split"].values.astype(str) == "val"
    if not is_val.any():
        raise ValueError("ds has no 'val' samples: the in-region evaluation needs them")
    windows = points = None
    if "cnn" in families:
        refl = ds["reflectance"].transpose("sample", "band", "y", "x").values.astype(np.float32)
        windows, pts = crop_around_points(
            refl, ds["point_y"].values, ds["point_x"].values, params.get("cnn", {}).get("crop")
        )
        points = torch.as_tensor(pts, dtype=torch.long)
    data = _Inputs(
        climate=ds["climate"].transpose("sample", "bio").values.astype(np.float64),
        labels=ds["label"].values.astype(int),
        is_val=is_val,
        graphs=list(graphs) if "gnn" in families and graphs is not None else None,
        windows=windows,
        points=points,
    )
    folds = splits.region_folds(ds)
    n_jobs = max(1, min(int(params.get("n_jobs", 1)), len(folds)))
    outs: list[_FoldOut] = []
    bar = tqdm(total=len(folds), desc="leave-region-out folds", disable=not progress)
    if n_jobs == 1:
        for k, (region, train_all, test) in enumerate(folds):
            outs.append(_run_fold(k, region, train_all, test, data, params))
            bar.update()
    else:
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(n_jobs, mp_context=ctx) as pool:
            futures = [
                pool.submit(_run_fold, k, region, train_all, test, data, params, 1)
                for k, (region, train_all, test) in enumerate(folds)
            ]
            for fut in as_completed(futures):
                fut.result()
                bar.update()
            outs = [fut.result() for fut in futures]
    bar.close()
    rows = [r for o in outs for r in o[0]]
    runs = [r for o in outs for r in o[1]]
    film = {key: val for o in outs for key, val in o[2].items()}
    cond_dim = data.climate.shape[1] + int(bool(params.get("missing_indicator", True)))
    return BioclimResults(pd.concat(rows, ignore_index=True), pd.DataFrame(runs), film, cond_dim)


# ----------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class EvalMatrix:
    """One model's predictions on one evaluation set, one row per seed.

    Attributes:
        y_true: ``(n,)`` reference classes.
        y_pred: ``(n_seeds, n)`` predicted classes.
        region: ``(n,)`` the fold (held-out region) that produced each row.
        sample: ``(n,)`` patch index; an in-region patch occurs once per fold that scores it.
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    region: np.ndarray
    sample: np.ndarray


def seed_matrix(
    predictions: pd.DataFrame, model: str, ev: str, region: str | None = None
) -> EvalMatrix:
    """Stack the seeds of one model on one evaluation set (rows sorted by fold and patch).

    Raises:
        ValueError: if there is no such prediction.
    """
    sub = predictions[(predictions["model"] == model) & (predictions["eval"] == ev)]
    if region is not None:
        sub = sub[sub["region"] == region]
    if sub.empty:
        raise ValueError(f"No predictions for model {model!r}, eval {ev!r}, region {region!r}")
    wide = sub.pivot_table(
        index=["region", "sample"], columns="seed", values="y_pred", aggfunc="first"
    ).sort_index()
    truth = sub.groupby(["region", "sample"])["y_true"].first().loc[wide.index]
    idx = wide.index.to_frame(index=False)
    return EvalMatrix(
        truth.to_numpy(int),
        wide.to_numpy(int).T,
        idx["region"].to_numpy(str),
        idx["sample"].to_numpy(int),
    )


def evaluate_set(
    em: EvalMatrix,
    ev: str,
    metric: Metric,
    n_boot: int,
    seed: int,
    baseline: EvalMatrix | None = None,
) -> Estimate:
    """Seed-and-point bootstrap of one evaluation set (clusters and strata chosen by ``ev``).

    In-region rows are clustered by patch (a patch scored by several folds is one cluster);
    out-of-region rows are stratified by held-out region.

    Raises:
        ValueError: if ``baseline`` is not on the same points.
    """
    if baseline is not None and not (
        np.array_equal(baseline.sample, em.sample) and np.array_equal(baseline.region, em.region)
    ):
        raise ValueError("the baseline model was evaluated on other points")
    kw: dict[str, Any] = {"clusters": em.sample} if ev == "in" else {"strata": em.region}
    return seeded_bootstrap(
        em.y_true,
        em.y_pred,
        metric,
        baseline=None if baseline is None else baseline.y_pred,
        n_boot=n_boot,
        seed=seed,
        **kw,
    )


def _ci(est: Estimate) -> list[float]:
    """Return an estimate's interval as a JSON pair."""
    return [est.ci95[0], est.ci95[1]]


def _gap_ci(est_in: Estimate, est_out: Estimate) -> list[float]:
    """Interval of in-region minus out-of-region from their independent resamples."""
    lo, hi = np.nanpercentile(est_in.resamples - est_out.resamples, [2.5, 97.5])
    return [float(lo), float(hi)]


def summarise(
    predictions: pd.DataFrame, n_boot: int = 1000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Per-model metrics with 95 % bootstrap intervals (the ``models`` block of bioclim.json).

    For every model: out-of-region ``oa``/``macro_f1`` (pooled over held-out regions, mean over
    seeds) with CIs and the seed standard deviation; in-region ``oa_in_region`` /
    ``macro_f1_in_region`` (patches resampled as clusters, see the module docstring);
    ``gap_macro_f1`` = in-region − out-of-region (CI from independent resamples of both sets);
    ``macro_f1_shuffled_climate`` and the paired drop ``shuffle_drop_macro_f1``; for climate
    variants, the paired difference to the same family's ``no_climate`` model
    ``delta_macro_f1_vs_no_climate``; and ``per_region`` metrics.
    """
    out: dict[str, dict[str, Any]] = {}
    models = list(dict.fromkeys(predictions["model"]))
    regions = list(dict.fromkeys(predictions["region"]))
    for name in models:
        first = predictions[predictions["model"] == name].iloc[0]
        family, variant = str(first["family"]), str(first["variant"])
        mo = seed_matrix(predictions, name, "out")
        mi = seed_matrix(predictions, name, "in")
        ms = seed_matrix(predictions, name, "out_shuffled")
        m: dict[str, Any] = {
            "family": family,
            "variant": variant,
            "n_seeds": int(mo.y_pred.shape[0]),
            "n_out": int(mo.y_true.size),
            "n_in_patches": int(np.unique(mi.sample).size),
            "n_in_scores": int(mi.y_true.size),
        }
        for metric in METRICS:
            e_out = evaluate_set(mo, "out", metric, n_boot, seed)
            e_in = evaluate_set(mi, "in", metric, n_boot, seed + 1)
            m[metric] = e_out.estimate
            m[f"{metric}_ci95"] = _ci(e_out)
            m[f"{metric}_in_region"] = e_in.estimate
            m[f"{metric}_in_region_ci95"] = _ci(e_in)
            m[f"gap_{metric}"] = e_in.estimate - e_out.estimate
            m[f"gap_{metric}_ci95"] = _gap_ci(e_in, e_out)
            m[f"{metric}_shuffled_climate"] = evaluate_set(ms, "out", metric, 1, seed).estimate
        labels = np.unique(mo.y_true)
        f1 = [macro_f1_present(mo.y_true, q, labels) for q in mo.y_pred]
        m["macro_f1_seed_sd"] = float(np.std(f1, ddof=1)) if len(f1) > 1 else 0.0
        drop = evaluate_set(mo, "out", "macro_f1", n_boot, seed, baseline=ms)
        m["shuffle_drop_macro_f1"] = drop.estimate
        m["shuffle_drop_macro_f1_ci95"] = _ci(drop)
        base = model_name(family, "no_climate")
        if variant != "no_climate" and base in models:
            bo = seed_matrix(predictions, base, "out")
            d = evaluate_set(mo, "out", "macro_f1", n_boot, seed, baseline=bo)
            m["delta_macro_f1_vs_no_climate"] = d.estimate
            m["delta_macro_f1_vs_no_climate_ci95"] = _ci(d)
            bi = seed_matrix(predictions, base, "in")
            base_gap = (
                evaluate_set(bi, "in", "macro_f1", 1, seed).estimate
                - evaluate_set(bo, "out", "macro_f1", 1, seed).estimate
            )
            m["delta_gap_macro_f1_vs_no_climate"] = m["gap_macro_f1"] - base_gap
        per_region: dict[str, Any] = {}
        for r in regions:
            mr = seed_matrix(predictions, name, "out", r)
            row: dict[str, Any] = {"n": int(mr.y_true.size)}
            for metric in METRICS:
                est = evaluate_set(mr, "out", metric, n_boot, seed)
                row[metric] = est.estimate
                row[f"{metric}_ci95"] = _ci(est)
            sub_in = predictions[
                (predictions["region"] == r)
                & (predictions["model"] == name)
                & (predictions["eval"] == "in")
            ]
            if not sub_in.empty:
                mir = seed_matrix(predictions, name, "in", r)
                row["macro_f1_in_region"] = evaluate_set(mir, "in", "macro_f1", 1, seed).estimate
                row["gap_macro_f1"] = row["macro_f1_in_region"] - row["macro_f1"]
            msr = seed_matrix(predictions, name, "out_shuffled", r)
            row["macro_f1_shuffled_climate"] = evaluate_set(
                msr, "out", "macro_f1", 1, seed
            ).estimate
            per_region[str(r)] = row
        m["per_region"] = per_region
        out[name] = m
    return out


def models_table(summary: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per model with the headline numbers (CIs as ``lo–hi`` columns)."""
    rows = []
    for name, m in summary.items():
        rows.append(
            {
                "model": name,
                "oa": m["oa"],
                "macro_f1": m["macro_f1"],
                "macro_f1_lo": m["macro_f1_ci95"][0],
                "macro_f1_hi": m["macro_f1_ci95"][1],
                "macro_f1_in_region": m["macro_f1_in_region"],
                "gap_macro_f1": m["gap_macro_f1"],
                "macro_f1_shuffled_climate": m["macro_f1_shuffled_climate"],
                "delta_vs_no_climate": m.get("delta_macro_f1_vs_no_climate", np.nan),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def region_table(summary: dict[str, dict[str, Any]], metric: str = "macro_f1") -> pd.DataFrame:
    """Long table ``model, region, value, lo, hi`` of a per-region metric (plus ``pooled``)."""
    rows = []
    for name, m in summary.items():
        for r, v in {**m["per_region"], "pooled": m}.items():
            lo, hi = v[f"{metric}_ci95"]
            rows.append({"model": name, "region": r, metric: v[metric], "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def gap_table(summary: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Long table ``model, eval (in-region | out-of-region), macro_f1, lo, hi``."""
    rows = []
    for name, m in summary.items():
        for label, key in (("in-region", "macro_f1_in_region"), ("out-of-region", "macro_f1")):
            lo, hi = m[f"{key}_ci95"]
            rows.append({"model": name, "eval": label, "macro_f1": m[key], "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def verdict(summary: dict[str, dict[str, Any]]) -> list[str]:
    """Plain-language reading of the comparison, computed from the numbers.

    One sentence per climate model: whether its out-of-region macro-F1 differs from the same
    family's ``no_climate`` model beyond the paired 95 % interval, whether the in-vs-out gap
    shrank, and whether shuffling the climate changes its predictions measurably.
    """
    lines = []
    for name, m in summary.items():
        if "delta_macro_f1_vs_no_climate" not in m:
            continue
        d, (lo, hi) = m["delta_macro_f1_vs_no_climate"], m["delta_macro_f1_vs_no_climate_ci95"]
        ci = f"paired 95 % CI of the difference {lo:+.3f} to {hi:+.3f}"
        diff = {
            1: f"improves out-of-region macro-F1 by {d:.3f} ({ci})",
            -1: f"lowers out-of-region macro-F1 by {-d:.3f} ({ci})",
            0: f"changes out-of-region macro-F1 by {d:+.3f}, but the 95 % CI "
            f"({lo:+.3f} to {hi:+.3f}) includes zero",
        }[interval_side((lo, hi))]
        gap = m.get("delta_gap_macro_f1_vs_no_climate", np.nan)
        gap_txt = (
            f"the in-vs-out gap is {m['gap_macro_f1']:.3f} "
            f"({'smaller' if gap < 0 else 'larger'} than without climate by {abs(gap):.3f})"
        )
        ch = -m["shuffle_drop_macro_f1"]
        clo, chi = (-v for v in m["shuffle_drop_macro_f1_ci95"][::-1])
        ci = f"95 % CI {clo:+.3f} to {chi:+.3f}"
        uses = {
            -1: f"shuffling the climate lowers macro-F1 by {-ch:.3f} ({ci}): it uses the climate",
            1: f"shuffling the climate raises macro-F1 by {ch:.3f} ({ci}): the climate hurts",
            0: f"shuffling the climate changes macro-F1 by {ch:+.3f} ({ci}), so reliance on "
            "the climate is not demonstrated",
        }[interval_side((clo, chi))]
        lines.append(f"{name}: {diff}; {gap_txt}; {uses}.")
    return lines


def shuffle_table(summary: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Per model: macro-F1, macro-F1 with shuffled climate, the paired drop and its CI."""
    return pd.DataFrame(
        [
            {
                "model": name,
                "macro_f1": m["macro_f1"],
                "macro_f1_shuffled_climate": m["macro_f1_shuffled_climate"],
                "drop": m["shuffle_drop_macro_f1"],
                "lo": m["shuffle_drop_macro_f1_ci95"][0],
                "hi": m["shuffle_drop_macro_f1_ci95"][1],
            }
            for name, m in summary.items()
        ]
    )


def climate_frame(ds: xr.Dataset) -> pd.DataFrame:
    """BIO1 (°C), BIO12 (mm), region and class of every patch with both values.

    Args:
        ds: the patch dataset of 01-data (``climate``, ``bio``, ``region``, ``label_name``).

    Returns:
        Columns ``"BIO1 (°C)"``, ``"BIO12 (mm)"``, ``region`` and ``class``.
    """
    climate = ds["climate"].transpose("sample", "bio").values
    bio_names = [str(b) for b in ds["bio"].values]
    scale = ds.attrs.get("climate_temperature_scale", 1.0)
    return pd.DataFrame(
        {
            "BIO1 (°C)": climate[:, bio_names.index("bio1")] / scale,
            "BIO12 (mm)": climate[:, bio_names.index("bio12")],
            "region": ds["region"].values,
            "class": ds["label_name"].values,
        }
    ).dropna()


def climate_figure(frame: pd.DataFrame) -> Any:
    """Annual mean temperature against precipitation, one colour per region.

    Args:
        frame: output of :func:`climate_frame`.

    Returns:
        A holoviews overlay.
    """
    return hvPlotTabular(frame).scatter(
        "BIO1 (°C)",
        "BIO12 (mm)",
        by="region",
        alpha=0.7,
        title="Patches with climate: annual mean temperature vs precipitation by region",
    )


def model_sizes(params: dict[str, Any], in_dims: dict[str, int], cond_dim: int) -> pd.DataFrame:
    """Trainable parameters of every family and climate variant.

    Args:
        params: the ``bioclim`` parameters (``families``, ``variants`` and each family's
            section).
        in_dims: node features (``gnn``) and input bands (``cnn``) without climate.
        cond_dim: width of the standardised climate vector.

    Returns:
        One row per model name, column ``parameters``.
    """
    rows = [
        {
            "model": model_name(f, v),
            "parameters": sum(
                p.numel() for p in build_model(f, v, in_dims[f], cond_dim, params[f]).parameters()
            ),
        }
        for f in params["families"]
        for v in params["variants"]
    ]
    return pd.DataFrame(rows).set_index("model")


def film_tables(
    results: BioclimResults, climate: np.ndarray, bio_names: Sequence[str]
) -> dict[tuple[str, str], pd.DataFrame]:
    """The learned scale and shift of every ``climate_norm`` model at the given climates.

    Args:
        results: output of :func:`run_leave_region_out`.
        climate: raw ``(sample, bio)`` climate.
        bio_names: names of the climate columns.

    Returns:
        ``{(family, held-out region): lulcbook.bioclim.film_table(...)}``.
    """
    return {
        key: film_table(model, scaler, climate, list(bio_names))
        for key, (model, scaler) in results.film_models.items()
    }


def film_figure(
    film: dict[tuple[str, str], pd.DataFrame], families: Sequence[str], temperature_scale: float
) -> Any:
    """γ against BIO1 and β against BIO12 of the most climate-dependent channels, per family.

    The first fold of each family is shown, its three channels whose γ varies most.

    Args:
        film: output of :func:`film_tables`.
        families: the model families, one row of panels each.
        temperature_scale: divisor that turns stored temperatures into °C.

    Returns:
        A two-column holoviews layout.
    """
    panels = []
    for family in families:
        key = next(k for k in film if k[0] == family)
        sub = film_plot_frame(film[key], k=3, temperature_scale=temperature_scale)
        for x, y, name in (("BIO1 (°C)", "gamma", "γ"), ("BIO12 (mm)", "beta", "β")):
            title = f"{family} (held out {key[1]}): {name} vs {x.split()[0]}"
            fig = hvPlotTabular(sub).scatter(x, y, by="channel", title=title)
            panels.append(fig.opts(title=title, backend="matplotlib"))
    return hv.Layout(panels).cols(2)
