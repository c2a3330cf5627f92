"""Does climate context help models generalise to unseen regions?

Leave-region-out experiments comparing three ways of giving a land-cover model the WorldClim
bioclimatic vector of a patch, following Leonhardt, Drees, Gall & Roscher (GCPR 2023):

* ``no_climate``: the model sees imagery only (BatchNorm).
* ``climate_input``: the standardised climate vector is concatenated to the input (to every
  node's features for the GNN, as constant extra input channels for the CNN).
* ``climate_norm``: every BatchNorm is replaced by the climate-conditional
  :class:`~lulcbook.models.condnorm.ConditionalNorm` (scale and shift predicted from climate).

Each variant is trained for the superpixel GNN (:mod:`lulcbook.models.gnn`) and the pixel CNN
(:class:`lulcbook.models.pixel.PixelCNN`) with several seeds on every leave-region-out fold
(:func:`lulcbook.splits.region_folds`). Within a fold the model is trained on the ``train``
split of the other regions and evaluated on (a) the held-out region (out-of-region) and (b) the
``val`` split of the training regions (in-region); it is also evaluated on the held-out region
with the climate vectors permuted across its samples (shuffled climate), which shows whether
predictions depend on the climate at all. Training runs a fixed number of epochs without early
stopping, so neither evaluation set is used for model selection.

Climate statistics (and node-feature / band statistics) are fitted on each fold's training
samples only; missing climate vectors follow the missing-climate rule of
:mod:`lulcbook.models.condnorm` (zeros plus a ``missing`` flag).

Metrics are averaged over seeds; 95 % intervals are percentile bootstraps over evaluation points
(the same resample for every seed), and differences between variants are paired bootstraps on
the same points.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr
from torch import Tensor, nn
from torch_geometric.data import Data

from lulcbook import legend, splits, train
from lulcbook.evaluate import overall_accuracy
from lulcbook.graphs import FeatureScaler
from lulcbook.models import gnn as gnn_models
from lulcbook.models.condnorm import ClimateScaler, ConditionalNorm
from lulcbook.models.pixel import PixelCNN, band_stats, standardise_bands
from lulcbook.progress import progress as tqdm

VARIANTS: tuple[str, ...] = ("no_climate", "climate_input", "climate_norm")
FAMILIES: tuple[str, ...] = ("gnn", "cnn")
EVALS: tuple[str, ...] = ("out", "in", "out_shuffled")
"""Evaluation sets: held-out region, in-region validation, held-out region with shuffled climate."""


def model_name(family: str, variant: str) -> str:
    """Name of a family/variant combination in tables and metrics (e.g. ``gnn_climate_norm``)."""
    return f"{family}_{variant}"


def _check(family: str, variant: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"Unknown model family {family!r}; expected one of {FAMILIES}")
    if variant not in VARIANTS:
        raise ValueError(f"Unknown climate variant {variant!r}; expected one of {VARIANTS}")


def crop_around_points(
    reflectance: np.ndarray, point_y: np.ndarray, point_x: np.ndarray, size: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``size``×``size`` windows around the labelled pixels (kept inside the patch).

    Args:
        reflectance: ``(n, band, H, W)``.
        point_y, point_x: labelled pixel of every patch.
        size: window size in pixels; ``None`` keeps the whole patch.

    Returns:
        ``(windows (n, band, size, size), points (n, 2))`` with the labelled pixel's position
        inside its window.

    Raises:
        ValueError: if ``size`` exceeds the patch size.
    """
    refl = np.asarray(reflectance)
    py, px = np.asarray(point_y, dtype=int), np.asarray(point_x, dtype=int)
    h, w = refl.shape[2:]
    if size is None:
        return refl, np.stack([py, px], axis=1)
    if size > min(h, w) or size < 1:
        raise ValueError(f"crop size {size} does not fit patches of {h}x{w} px")
    r0 = np.clip(py - size // 2, 0, h - size)
    c0 = np.clip(px - size // 2, 0, w - size)
    out = np.stack(
        [
            refl[i, :, r : r + size, c : c + size]
            for i, (r, c) in enumerate(zip(r0, c0, strict=True))
        ]
    )
    return out, np.stack([py - r0, px - c0], axis=1)


def gnn_inputs(graphs: Sequence[Data], cond: Tensor, variant: str) -> list[Data]:
    """Graphs carrying the variant's climate information.

    Every copy gets ``cond`` (its ``(1, cond_dim)`` standardised climate); for
    ``climate_input`` the vector is also appended to every node's features.

    Raises:
        ValueError: if ``cond`` has not one row per graph.
    """
    _check("gnn", variant)
    if cond.shape[0] != len(graphs):
        raise ValueError(f"cond has {cond.shape[0]} rows for {len(graphs)} graphs")
    out = []
    for g, c in zip(graphs, cond, strict=True):
        h = g.clone()
        h.cond = c[None].float()
        if variant == "climate_input":
            h.x = torch.cat([g.x, c[None].float().expand(g.num_nodes, -1)], dim=1)
        out.append(h)
    return out


def cnn_inputs(x: Tensor, cond: Tensor, variant: str) -> tuple[Tensor, Tensor | None]:
    """Input tensor and conditioning of the CNN for a variant.

    ``climate_input`` appends the climate vector as constant channels; ``climate_norm``
    returns it as the conditioning vector; ``no_climate`` ignores it.
    """
    _check("cnn", variant)
    if cond.shape[0] != x.shape[0]:
        raise ValueError(f"cond has {cond.shape[0]} rows for {x.shape[0]} patches")
    if variant == "climate_input":
        const = cond[:, :, None, None].float().expand(-1, -1, x.shape[2], x.shape[3])
        return torch.cat([x, const], dim=1), None
    if variant == "climate_norm":
        return x, cond.float()
    return x, None


def build_model(
    family: str, variant: str, in_dim: int, cond_dim: int, cfg: dict[str, Any]
) -> nn.Module:
    """Instantiate the model of a family/variant.

    Args:
        family: ``"gnn"`` or ``"cnn"``.
        variant: one of :data:`VARIANTS`.
        in_dim: node features (GNN) or input bands (CNN) without climate.
        cond_dim: width of the standardised climate vector.
        cfg: the family's section of the parameters (``model`` for the GNN class, ``hidden``,
            ``depth``, ``dropout``; other keys are ignored here).
    """
    _check(family, variant)
    norm = "cond" if variant == "climate_norm" else "batch"
    width = in_dim + (cond_dim if variant == "climate_input" else 0)
    kw = {k: cfg[k] for k in ("hidden", "depth", "dropout") if k in cfg}
    cdim = cond_dim if norm == "cond" else 0
    if family == "gnn":
        return gnn_models.build_model(
            cfg.get("model", "GraphUNet"),
            in_dim=width,
            n_classes=legend.N_CLASSES,
            norm=norm,
            cond_dim=cdim,
            **kw,
        )
    return PixelCNN(width, n_classes=legend.N_CLASSES, norm=norm, cond_dim=cdim, **kw)


def _fit_kwargs(cfg: dict[str, Any], epochs: int, seed: int) -> dict[str, Any]:
    kw = {k: cfg[k] for k in ("lr", "weight_decay", "batch_size") if k in cfg}
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
                        data.points[tr],
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
                        logits = train.predict_cnn(model, xin, data.points[idx], c)
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
            _check(f, v)
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


def _macro_f1_present(y_true: np.ndarray, y_pred: np.ndarray, labels: np.ndarray) -> float:
    """Macro-F1 over ``labels``, counting every prediction, skipping classes with no support.

    All predictions count, including those of classes outside ``labels`` (they are misses of
    the reference class, as in scikit-learn's ``f1_score(labels=...)``). On the full evaluation
    set every label has reference points; in a bootstrap resample that happens to miss a rare
    class (no reference point and no prediction), the class is skipped instead of counted as
    F1 = 0, which would bias the interval downwards.
    """
    t, p = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    k = int(max(t.max(initial=0), p.max(initial=0), np.max(labels, initial=0))) + 1
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    lab = np.asarray(labels, dtype=int)
    tp = np.diag(cm)[lab].astype(float)
    denom = 2 * tp + (cm.sum(axis=0)[lab] - tp) + (cm.sum(axis=1)[lab] - tp)
    ok = denom > 0
    return float((2 * tp[ok] / denom[ok]).mean()) if ok.any() else float("nan")


def _metric_fn(metric: str, labels: np.ndarray):
    if metric == "oa":
        return overall_accuracy
    if metric == "macro_f1":
        return lambda t, p: _macro_f1_present(t, p, labels)
    raise ValueError(f"Unknown metric {metric!r}; expected 'oa' or 'macro_f1'")


def seed_matrix(
    predictions: pd.DataFrame, model: str, ev: str, region: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reference labels ``(n,)`` and predictions ``(n_seeds, n)`` of one model/evaluation set.

    Points are ``(region, sample)`` pairs sorted alike for every model, so matrices of
    different models can be compared pairwise.

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
    return truth.to_numpy(int), wide.to_numpy(int).T


def seed_bootstrap(
    y: np.ndarray,
    preds: np.ndarray,
    metric: str = "macro_f1",
    n_boot: int = 1000,
    seed: int = 0,
    baseline: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Seed-averaged metric and its bootstrap distribution over points.

    Args:
        y: ``(n,)`` reference labels.
        preds: ``(n_seeds, n)`` predictions.
        metric: ``"oa"`` or ``"macro_f1"`` (over the classes present in ``y``; a class missing
            from a resample's reference and predictions is skipped there).
        n_boot: resamples (the same point resample is used for every seed).
        seed: random seed.
        baseline: optional ``(n_seeds', n)`` predictions on the same points; the statistic
            becomes ``metric(preds) - metric(baseline)`` (paired bootstrap).

    Returns:
        ``(estimate, resampled estimates (n_boot,))``.
    """
    labels = np.unique(y)
    fn = _metric_fn(metric, labels)

    def stat(idx: np.ndarray) -> float:
        v = float(np.mean([fn(y[idx], p[idx]) for p in preds]))
        if baseline is not None:
            v -= float(np.mean([fn(y[idx], p[idx]) for p in baseline]))
        return v

    full = np.arange(y.size)
    rng = np.random.default_rng(seed)
    boots = np.array([stat(rng.integers(0, y.size, y.size)) for _ in range(n_boot)])
    return stat(full), boots


def _ci(boots: np.ndarray) -> list[float]:
    lo, hi = np.nanpercentile(boots, [2.5, 97.5])
    return [float(lo), float(hi)]


def summarise(
    predictions: pd.DataFrame, n_boot: int = 1000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Per-model metrics with 95 % bootstrap intervals (the ``models`` block of bioclim.json).

    For every model: out-of-region ``oa``/``macro_f1`` (pooled over held-out regions, mean over
    seeds) with CIs and the seed standard deviation; in-region ``oa_in_region`` /
    ``macro_f1_in_region``; ``gap_macro_f1`` = in-region − out-of-region (CI from independent
    resamples of both sets); ``macro_f1_shuffled_climate`` and the paired drop
    ``shuffle_drop_macro_f1``; for climate variants, the paired difference to the same family's
    ``no_climate`` model ``delta_macro_f1_vs_no_climate``; and ``per_region`` metrics.
    """
    out: dict[str, dict[str, Any]] = {}
    models = list(dict.fromkeys(predictions["model"]))
    regions = list(dict.fromkeys(predictions["region"]))
    rng_seed = seed
    for name in models:
        first = predictions[predictions["model"] == name].iloc[0]
        family, variant = str(first["family"]), str(first["variant"])
        y, p = seed_matrix(predictions, name, "out")
        yi, pi = seed_matrix(predictions, name, "in")
        ys, ps = seed_matrix(predictions, name, "out_shuffled")
        m: dict[str, Any] = {
            "family": family,
            "variant": variant,
            "n_seeds": int(p.shape[0]),
            "n_out": int(y.size),
            "n_in": int(yi.size),
        }
        for metric in ("oa", "macro_f1"):
            est, boots = seed_bootstrap(y, p, metric, n_boot, rng_seed)
            est_in, boots_in = seed_bootstrap(yi, pi, metric, n_boot, rng_seed + 1)
            m[metric] = est
            m[f"{metric}_ci95"] = _ci(boots)
            m[f"{metric}_in_region"] = est_in
            m[f"{metric}_in_region_ci95"] = _ci(boots_in)
            m[f"gap_{metric}"] = est_in - est
            m[f"gap_{metric}_ci95"] = _ci(boots_in - boots)
            est_s, _ = seed_bootstrap(ys, ps, metric, 1, rng_seed)
            m[f"{metric}_shuffled_climate"] = est_s
        fn = _metric_fn("macro_f1", np.unique(y))
        m["macro_f1_seed_sd"] = float(np.std([fn(y, q) for q in p], ddof=1)) if len(p) > 1 else 0.0
        drop, boots = seed_bootstrap(y, p, "macro_f1", n_boot, rng_seed, baseline=ps)
        m["shuffle_drop_macro_f1"] = drop
        m["shuffle_drop_macro_f1_ci95"] = _ci(boots)
        base = model_name(family, "no_climate")
        if variant != "no_climate" and base in models:
            yb, pb = seed_matrix(predictions, base, "out")
            if np.array_equal(yb, y):
                d, boots = seed_bootstrap(y, p, "macro_f1", n_boot, rng_seed, baseline=pb)
                m["delta_macro_f1_vs_no_climate"] = d
                m["delta_macro_f1_vs_no_climate_ci95"] = _ci(boots)
                yb_in, pb_in = seed_matrix(predictions, base, "in")
                dg = (m["macro_f1_in_region"] - m["macro_f1"]) - (
                    seed_bootstrap(yb_in, pb_in, "macro_f1", 1)[0]
                    - seed_bootstrap(yb, pb, "macro_f1", 1)[0]
                )
                m["delta_gap_macro_f1_vs_no_climate"] = dg
        per_region: dict[str, Any] = {}
        for r in regions:
            yr, pr = seed_matrix(predictions, name, "out", r)
            sub_in = predictions[(predictions["region"] == r) & (predictions["model"] == name)]
            pr_in = sub_in[sub_in["eval"] == "in"]
            row: dict[str, Any] = {"n": int(yr.size)}
            for metric in ("oa", "macro_f1"):
                est, boots = seed_bootstrap(yr, pr, metric, n_boot, rng_seed)
                row[metric] = est
                row[f"{metric}_ci95"] = _ci(boots)
            if not pr_in.empty:
                yir, pir = seed_matrix(predictions, name, "in", r)
                row["macro_f1_in_region"] = seed_bootstrap(yir, pir, "macro_f1", 1)[0]
                row["gap_macro_f1"] = row["macro_f1_in_region"] - row["macro_f1"]
            ysr, psr = seed_matrix(predictions, name, "out_shuffled", r)
            row["macro_f1_shuffled_climate"] = seed_bootstrap(ysr, psr, "macro_f1", 1)[0]
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
        if lo > 0:
            diff = f"improves out-of-region macro-F1 by {d:.3f} ({ci})"
        elif hi < 0:
            diff = f"lowers out-of-region macro-F1 by {-d:.3f} ({ci})"
        else:
            diff = (
                f"changes out-of-region macro-F1 by {d:+.3f}, but the 95 % CI "
                f"({lo:+.3f} to {hi:+.3f}) includes zero"
            )
        gap = m.get("delta_gap_macro_f1_vs_no_climate", np.nan)
        gap_txt = (
            f"the in-vs-out gap is {m['gap_macro_f1']:.3f} "
            f"({'smaller' if gap < 0 else 'larger'} than without climate by {abs(gap):.3f})"
        )
        ch = -m["shuffle_drop_macro_f1"]
        clo, chi = (-v for v in m["shuffle_drop_macro_f1_ci95"][::-1])
        ci = f"95 % CI {clo:+.3f} to {chi:+.3f}"
        if chi < 0:
            uses = f"shuffling the climate lowers macro-F1 by {-ch:.3f} ({ci}): it uses the climate"
        elif clo > 0:
            uses = f"shuffling the climate raises macro-F1 by {ch:.3f} ({ci}): the climate hurts"
        else:
            uses = (
                f"shuffling the climate changes macro-F1 by {ch:+.3f} ({ci}), so reliance on "
                "the climate is not demonstrated"
            )
        lines.append(f"{name}: {diff}; {gap_txt}; {uses}.")
    return lines


# ----------------------------------------------------------------------------- learned FiLM


def conditional_layers(model: nn.Module) -> list[ConditionalNorm]:
    """The :class:`ConditionalNorm` layers of a model, in forward-definition order."""
    return [m for m in model.modules() if isinstance(m, ConditionalNorm)]


@torch.no_grad()
def film_table(
    model: nn.Module,
    scaler: ClimateScaler,
    climate: np.ndarray,
    bio_names: Sequence[str],
    layer: int = 0,
) -> pd.DataFrame:
    """Learned per-channel scale ``gamma`` and shift ``beta`` for every climate vector.

    Args:
        model: a model with :class:`ConditionalNorm` layers.
        scaler: the climate scaler of the model's training fold.
        climate: ``(n, n_bio)`` raw climate (NaN rows: missing).
        bio_names: names of the climate columns (e.g. ``bio1`` … ``bio19``).
        layer: which conditional layer (0: the first).

    Returns:
        Long table ``sample, channel, gamma, beta, missing`` plus one column per BIO variable.

    Raises:
        ValueError: if the model has no such conditional layer.
    """
    layers = conditional_layers(model)
    if not layers or not -len(layers) <= layer < len(layers):
        raise ValueError(f"Model has {len(layers)} ConditionalNorm layers; asked for layer {layer}")
    cond = torch.as_tensor(scaler.transform(np.asarray(climate, dtype=np.float64)))
    gamma, beta = (t.numpy() for t in layers[layer].film(cond))
    n, c = gamma.shape
    df = pd.DataFrame(
        {
            "sample": np.repeat(np.arange(n), c),
            "channel": np.tile(np.arange(c), n),
            "gamma": gamma.ravel(),
            "beta": beta.ravel(),
            "missing": np.repeat(~np.isfinite(climate).all(axis=1), c),
        }
    )
    for j, b in enumerate(bio_names):
        df[str(b)] = np.repeat(np.asarray(climate)[:, j], c)
    return df


def film_summary(table: pd.DataFrame, bios: Sequence[str] = ("bio1", "bio12")) -> dict[str, float]:
    """How far the learned scale/shift moved from identity, and how it follows BIO variables.

    Returns:
        ``gamma_sd`` / ``beta_sd``: mean over channels of the across-sample standard deviation
        (0 = the layer ignores climate); ``gamma_dev``: mean ``|gamma - 1|``; and for each BIO
        variable the largest absolute Spearman correlation over channels of ``gamma`` and of
        ``beta`` with it (complete climate vectors only).
    """
    valid = table[~table["missing"]]
    res = {
        "gamma_sd": float(valid.groupby("channel")["gamma"].std().mean()),
        "beta_sd": float(valid.groupby("channel")["beta"].std().mean()),
        "gamma_dev": float((valid["gamma"] - 1).abs().mean()),
    }
    for b in bios:
        for p in ("gamma", "beta"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # constant gamma/beta: correlation undefined
                corr = valid.groupby("channel")[[p, b]].apply(
                    lambda d, p=p, b=b: d[p].corr(d[b], method="spearman")
                )
            res[f"max_abs_spearman_{p}_{b}"] = (
                float(corr.abs().max()) if corr.notna().any() else np.nan
            )
    return res


def top_channels(table: pd.DataFrame, k: int = 3, by: str = "gamma") -> list[int]:
    """The ``k`` channels whose ``by`` varies most across (complete) climate vectors."""
    valid = table[~table["missing"]]
    return [int(c) for c in valid.groupby("channel")[by].std().nlargest(k).index]


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


def film_plot_frame(
    table: pd.DataFrame, k: int = 3, temperature_scale: float = 1.0
) -> pd.DataFrame:
    """The ``k`` most climate-dependent channels of a :func:`film_table`, ready to plot.

    Complete climate vectors only, with ``BIO1 (°C)`` (BIO1 / ``temperature_scale``: 1 for
    WorldClim 2.1, 10 for WorldClim 1.4), ``BIO12 (mm)`` and the channel as a string category.
    """
    sub = table[table["channel"].isin(top_channels(table, k, "gamma")) & ~table["missing"]]
    return sub.assign(
        **{
            "BIO1 (°C)": sub["bio1"] / temperature_scale,
            "BIO12 (mm)": sub["bio12"],
            "channel": sub["channel"].astype(str),
        }
    )
