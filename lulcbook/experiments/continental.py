"""Continental LUCAS supervision (notebook 08-continental): baselines, regions, climate tests.

Data: the ELC10 LUCAS 2018 table (:mod:`lulcbook.sources.elc10`) with WorldClim 2.1
BIO1–19 sampled at every point (:mod:`lulcbook.sources.worldclim`).

Evaluation design:

* **Spatially blocked CV**: 200 km ETRS89-LAEA blocks, assigned to ``n_folds`` folds
  (balanced by point count); every point is predicted once by a model that saw no point
  of its block.
* **Regions**: climate zones (k-means on standardised BIO1–19) and geographic regions
  (k-means on LAEA coordinates: contiguous parts of Europe). Leave-region-out trains on
  all other regions.
* **Intervals**: percentile bootstrap that resamples the 200 km blocks (points cluster in
  space) and, for neural models, the training seeds too; paired comparisons reuse the
  same resamples. Metrics are recomputed from summed confusion matrices per replicate.
* **In-region vs out-of-region**: the same points scored by the blocked-CV models
  (their region was in training) and by the leave-region-out models; the gap is the
  difference of macro-F1, the fraction of the gap closed by a climate variant is
  ``(out_variant − out_none) / (in_none − out_none)``.
* **Shuffled-climate test**: at test time the climate vectors of the held-out points are
  permuted; a model that uses climate loses accuracy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lulcbook import features, legend
from lulcbook.bootstrap import interval_side
from lulcbook.models.points import PointClassifier, PointEnsemble
from lulcbook.sources import elc10, worldclim

K: int = legend.N_CLASSES
WORLDCLIM_SUBDIR: str = "worldclim/wc21_10m_bio_europe"


# --------------------------------------------------------------------------- data


@dataclass
class PointData:
    """The continental points: table, climate ``(n, 19)``, labels and region columns."""

    df: pd.DataFrame
    climate: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def y(self) -> np.ndarray:
        """Legend indices of the labels."""
        return self.df["label_index"].to_numpy(np.int64)

    def __len__(self) -> int:
        """Number of points."""
        return len(self.df)


def load_points(
    sample: Path, max_points: int | None = None, seed: int = 0, fill_km: float = 25.0
) -> PointData:
    """Read the ELC10 table (S2 + S1) and sample WorldClim 2.1 BIO1–19 at every point.

    Args:
        sample: the offline sample root.
        max_points: a random subset of this size (smoke runs); ``None`` keeps all.
        seed: subset seed.
        fill_km: nearest-valid-cell radius of the climate lookup.
    """
    df = elc10.read_elc10(sample / elc10.SAMPLE_SUBDIR, s1=True, duplicates="prefer_point")
    report = dict(df.attrs["report"])
    # identical locations or identical feature rows would leak across folds
    report["duplicate_locations"] = int(df.duplicated(["x_laea", "y_laea"]).sum())
    report["duplicate_feature_rows"] = int(df.duplicated(list(elc10.S2_FEATURES)).sum())
    if report["duplicate_feature_rows"]:
        df = df[~df.duplicated(list(elc10.S2_FEATURES), keep=False)].reset_index(drop=True)
    if max_points is not None and max_points < len(df):
        keep = np.sort(np.random.default_rng(seed).choice(len(df), max_points, replace=False))
        df = df.iloc[keep].reset_index(drop=True)
    bio = worldclim.read_bioclim(sample / WORLDCLIM_SUBDIR)
    clim, cinfo = worldclim.sample_climate(
        bio, df["lon"].to_numpy(float), df["lat"].to_numpy(float), fill_km
    )
    report.update(n_used=len(df), climate=cinfo)
    df.attrs["report"] = report
    return PointData(df, clim.values.astype(np.float32), report)


def design_matrix(data: PointData, feature_set: str, bio: bool) -> tuple[np.ndarray, list[str]]:
    """Features of ``feature_set`` (:mod:`lulcbook.features`), with BIO1–19 appended if ``bio``."""
    f = features.point_features(data.df, feature_set)
    names = list(f.columns)
    x = f.to_numpy(np.float32)
    if bio:
        x = np.hstack([x, data.climate])
        names += list(worldclim.BIO_NAMES)
    return x, names


# --------------------------------------------------------------------------- regions


def spatial_blocks(x_m: np.ndarray, y_m: np.ndarray, size_km: float) -> np.ndarray:
    """Integer id of the ``size_km`` square LAEA block of each point."""
    bx = np.floor(np.asarray(x_m) / (size_km * 1000)).astype(np.int64)
    by = np.floor(np.asarray(y_m) / (size_km * 1000)).astype(np.int64)
    return bx * 100_000 + by


def block_folds(blocks: np.ndarray, n_folds: int, seed: int = 0) -> np.ndarray:
    """Assign whole blocks to folds, balancing point counts (largest blocks first, seeded ties).

    Returns:
        Fold index ``0 … n_folds − 1`` per point.
    """
    ids, counts = np.unique(blocks, return_counts=True)
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(ids.size), -counts))
    load = np.zeros(n_folds, dtype=np.int64)
    fold_of: dict[int, int] = {}
    for i in order:
        f = int(np.argmin(load + rng.random(n_folds) * 1e-3))
        fold_of[int(ids[i])] = f
        load[f] += counts[i]
    return np.array([fold_of[int(b)] for b in blocks], dtype=np.int64)


def climate_zones(climate: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Climate zones: k-means on standardised BIO1–19; zones numbered by mean BIO1 (cold → warm)."""
    from sklearn.cluster import KMeans

    z = (climate - climate.mean(0)) / np.where(climate.std(0) > 0, climate.std(0), 1)
    lab = KMeans(k, n_init=4, random_state=seed).fit_predict(z)
    order = np.argsort([climate[lab == i, 0].mean() for i in range(k)])
    return np.asarray(np.argsort(order)[lab])


def geographic_regions(x_m: np.ndarray, y_m: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Contiguous regions: k-means on LAEA coordinates; numbered west → east."""
    from sklearn.cluster import KMeans

    xy = np.column_stack([x_m, y_m]) / 1e6
    lab = KMeans(k, n_init=4, random_state=seed).fit_predict(xy)
    order = np.argsort([xy[lab == i, 0].mean() for i in range(k)])
    return np.asarray(np.argsort(order)[lab])


def add_regions(data: PointData, cfg: dict[str, Any]) -> PointData:
    """Add ``block`` (bootstrap cluster), ``fold`` (blocked CV), ``zone`` and ``region`` columns."""
    df = data.df
    x, y = df["x_laea"].to_numpy(), df["y_laea"].to_numpy()
    df["block"] = spatial_blocks(x, y, cfg["block_km"])
    df["fold"] = block_folds(df["block"].to_numpy(), cfg["n_folds"], cfg["seed"])
    df["zone"] = climate_zones(data.climate, cfg["n_zones"], cfg["seed"])
    df["region"] = geographic_regions(x, y, cfg["n_regions"], cfg["seed"])
    return data


# --------------------------------------------------------------------------- models


def make_gbm(cfg: dict[str, Any], seed: int = 0) -> Any:
    """A HistGradientBoostingClassifier from a params dict (``max_iter``, ``learning_rate`` …)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed, early_stopping=False, **cfg)


def _limit_threads() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)


def _fit_predict(
    spec: dict[str, Any],
    x_tr: np.ndarray,
    y_tr: np.ndarray,
    c_tr: np.ndarray,
    x_te: np.ndarray,
    c_te: np.ndarray,
    seed: int,
    shuffle_seed: int | None,
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Train one model and return test probabilities (and with shuffled climate)."""
    _limit_threads()
    t0 = time.process_time()
    shuffled = None
    if spec["kind"] == "gbm":
        model = make_gbm(spec.get("gbm", {}), seed).fit(x_tr, y_tr)
        proba = np.zeros((len(x_te), K), np.float32)
        proba[:, model.classes_] = model.predict_proba(x_te)
    elif spec["kind"] == "mlp":
        clf = PointClassifier({**spec.get("mlp", {}), "seed": seed, "n_classes": K})
        clf.fit(x_tr, y_tr, c_tr)
        proba = clf.predict_proba(x_te, c_te)
        if shuffle_seed is not None and clf.uses_climate:
            perm = np.random.default_rng(shuffle_seed + seed).permutation(len(c_te))
            shuffled = clf.predict_proba(x_te, c_te[perm])
    else:
        raise ValueError(f"Unknown model kind {spec['kind']!r}; expected 'gbm' or 'mlp'")
    return proba, shuffled, time.process_time() - t0


def subsample(idx: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """``n`` of the indices ``idx``, drawn without replacement from ``seed``, sorted.

    All of them (as given) when ``n`` is ``None`` or not smaller than ``idx.size``.
    """
    if n is None or n >= idx.size:
        return idx
    return np.sort(np.random.default_rng(seed).choice(idx, n, replace=False))


def cross_predict(
    x: np.ndarray,
    y: np.ndarray,
    climate: np.ndarray,
    groups: np.ndarray,
    spec: dict[str, Any],
    seeds: Sequence[int] = (0,),
    n_train: int | None = None,
    shuffle_seed: int | None = None,
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Out-of-group predictions: for each group, train on the others and predict it.

    Args:
        x: features of all points.
        y: labels of all points.
        climate: climate vectors of all points.
        groups: fold / region id per point.
        spec: ``{"kind": "gbm"|"mlp", "gbm": {...}|"mlp": {...}}``.
        seeds: one model per seed and group.
        n_train: subsample each training set to this many points (seeded).
        shuffle_seed: also predict with permuted climate (climate MLPs).
        n_jobs: worker processes (joblib).

    Returns:
        ``{"proba": (S, n, K), "proba_shuffled": (S, n, K) or None, "fit_seconds": [...]}``
        (``fit_seconds``: CPU seconds of each fit and prediction, one thread each).
    """
    from joblib import Parallel, delayed

    tasks = []
    for s in seeds:
        for g in np.unique(groups):
            te = np.flatnonzero(groups == g)
            tr = subsample(np.flatnonzero(groups != g), n_train, s * 1000 + int(g))
            tasks.append((s, te, tr))
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(spec, x[tr], y[tr], climate[tr], x[te], climate[te], s, shuffle_seed)
        for s, te, tr in tasks
    )
    proba = np.zeros((len(seeds), len(y), K), np.float32)
    shuffled = np.zeros_like(proba) if shuffle_seed is not None else None
    for (s, te, _), (p, ps, _) in zip(tasks, results, strict=True):
        proba[list(seeds).index(s), te] = p
        if shuffled is not None and ps is not None:
            shuffled[list(seeds).index(s), te] = ps
    has_shuffled = shuffled is not None and any(r[1] is not None for r in results)
    return {
        "proba": proba,
        "proba_shuffled": shuffled if has_shuffled else None,
        "fit_seconds": [r[2] for r in results],
    }


# --------------------------------------------------------------------------- statistics


def cluster_confusions(y: np.ndarray, pred: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Confusion matrices per cluster: ``(n_clusters, K, K)`` (rows reference, cols predicted).

    ``pred`` may be ``(n,)`` or ``(S, n)`` (seeds) → ``(S, n_clusters, K, K)``.
    """
    _, cid = np.unique(clusters, return_inverse=True)
    n_c = int(cid.max()) + 1
    p = np.atleast_2d(pred)
    out = np.zeros((p.shape[0], n_c, K, K), np.float64)
    for s in range(p.shape[0]):
        np.add.at(out[s], (cid, y, p[s]), 1.0)
    return out if np.ndim(pred) == 2 else out[0]


def scores(conf: np.ndarray) -> dict[str, np.ndarray]:
    """OA, macro-F1 and per-class F1 of summed confusions ``(..., K, K)``."""
    tp = np.diagonal(conf, axis1=-2, axis2=-1)
    ref, mapped = conf.sum(-1), conf.sum(-2)
    total = conf.sum((-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(ref + mapped > 0, 2 * tp / (ref + mapped), 0.0)
        oa = tp.sum(-1) / total
    return {"oa": oa, "macro_f1": f1.mean(-1), "f1": f1}


def bootstrap_weights(
    n_seeds: int, n_clusters: int, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial resampling weights for seeds ``(B, S)`` and clusters ``(B, G)``."""
    rng = np.random.default_rng(seed)
    ws = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_boot).astype(float)
    wg = rng.multinomial(n_clusters, np.full(n_clusters, 1 / n_clusters), size=n_boot)
    return ws, wg.astype(float)


def resampled_scores(conf: np.ndarray, weights: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    """Scores of ``conf (S, G, K, K)`` and of each bootstrap replicate of ``weights``."""
    ws, wg = weights
    point = scores(conf.sum((0, 1)))
    reps = scores(np.einsum("bs,bg,sgkl->bkl", ws, wg, conf, optimize=True))
    return {"point": point, "reps": reps}


def ci95(reps: np.ndarray) -> list[float]:
    """2.5 and 97.5 percentiles (NaN-aware)."""
    lo, hi = np.nanpercentile(reps, [2.5, 97.5], axis=0)
    return [float(lo), float(hi)]


def summarise(
    y: np.ndarray,
    proba: np.ndarray,
    clusters: np.ndarray,
    n_boot: int,
    seed: int = 0,
) -> dict[str, Any]:
    """Metrics with cluster(-and-seed) bootstrap intervals for ``proba (S, n, K)`` or ``(n, K)``.

    Returns:
        ``{"oa", "oa_ci95", "macro_f1", "macro_f1_ci95", "per_class_f1", "per_class_f1_ci95",
        "n", "n_seeds"}``; seed-level scores are pooled through summed confusions.
    """
    p = proba if proba.ndim == 3 else proba[None]
    conf = cluster_confusions(y, p.argmax(-1), clusters)
    r = resampled_scores(conf, bootstrap_weights(conf.shape[0], conf.shape[1], n_boot, seed))
    per_seed = scores(conf.sum(1))
    return {
        "oa": float(r["point"]["oa"]),
        "oa_ci95": ci95(r["reps"]["oa"]),
        "macro_f1": float(r["point"]["macro_f1"]),
        "macro_f1_ci95": ci95(r["reps"]["macro_f1"]),
        "macro_f1_seed_sd": float(np.std(per_seed["macro_f1"], ddof=1)) if p.shape[0] > 1 else 0.0,
        "per_class_f1": {k: float(v) for k, v in zip(legend.KEYS, r["point"]["f1"], strict=True)},
        "per_class_f1_ci95": {k: ci95(r["reps"]["f1"][:, i]) for i, k in enumerate(legend.KEYS)},
        "confusion": conf.sum((0, 1)).astype(int).tolist(),
        "n": int(len(y)),
        "n_seeds": int(p.shape[0]),
    }


# --------------------------------------------------------------------------- experiments


def model_comparison(
    data: PointData, cfg: dict[str, Any], log: Callable[[str], None] = print
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Blocked-CV comparison of the models in ``cfg["models"]`` (GBM, MLP and ensembles).

    ``cfg["models"][name]`` = ``{"kind": "gbm"|"mlp", "features": set, "bio": bool,
    "seeds": [...]}`` or ``{"kind": "ensemble", "members": [names]}`` (mean probability).

    Returns:
        ``(metrics by name, out-of-fold probabilities by name (S, n, K))``.
    """
    y, folds, blocks = data.y, data.df["fold"].to_numpy(), data.df["block"].to_numpy()
    out: dict[str, Any] = {}
    probas: dict[str, np.ndarray] = {}
    for name, spec in cfg["models"].items():
        t0 = time.perf_counter()
        if spec["kind"] == "ensemble":
            p = np.mean([probas[m].mean(0) for m in spec["members"]], axis=0)[None]
        else:
            x, _ = design_matrix(data, spec["features"], spec.get("bio", False))
            run = cross_predict(
                x,
                y,
                data.climate,
                folds,
                _spec(spec, cfg),
                spec.get("seeds", [0]),
                n_jobs=cfg["n_jobs"],
            )
            p = run["proba"]
        probas[name] = p
        out[name] = summarise(y, p, blocks, cfg["n_boot"], cfg["boot_seed"])
        cpu = float(sum(run["fit_seconds"])) if spec["kind"] != "ensemble" else 0.0
        out[name].update(describe_spec(spec), seconds=time.perf_counter() - t0, fit_cpu_seconds=cpu)
        log(f"{name}: OA {out[name]['oa']:.3f}, macro-F1 {out[name]['macro_f1']:.3f}")
    return out, probas


def _spec(spec: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    if spec["kind"] == "gbm":
        return {"kind": "gbm", "gbm": {**cfg["gbm"], **spec.get("gbm", {})}}
    return {"kind": "mlp", "mlp": {**cfg["mlp"], **spec.get("mlp", {})}}


def describe_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The descriptive fields of a model spec (for the metrics table)."""
    keys = ("kind", "features", "bio", "members")
    d = {k: spec[k] for k in keys if k in spec}
    if "mlp" in spec and "variant" in spec["mlp"]:
        d["variant"] = spec["mlp"]["variant"]
    return d


def learning_curve(data: PointData, cfg: dict[str, Any], sizes: Sequence[int]) -> pd.DataFrame:
    """Blocked-CV metrics of a model of ``cfg["models"]`` trained on ``n`` points per fold.

    The model is ``cfg["learning_curve"]["model"]``; sizes at or above the training-set
    size are skipped (the comparison already has the all-points result).
    """
    spec = cfg["models"][cfg["learning_curve"]["model"]]
    x, _ = design_matrix(data, spec["features"], spec.get("bio", False))
    rows = []
    for n in sizes:
        run = cross_predict(
            x,
            data.y,
            data.climate,
            data.df["fold"].to_numpy(),
            _spec(spec, cfg),
            n_train=int(n),
            n_jobs=cfg["n_jobs"],
        )
        m = summarise(data.y, run["proba"], data.df["block"].to_numpy(), cfg["n_boot"])
        rows.append(
            {
                "n_train": int(n),
                **{k: m[k] for k in ("oa", "macro_f1")},
                "lo": m["macro_f1_ci95"][0],
                "hi": m["macro_f1_ci95"][1],
                "oa_lo": m["oa_ci95"][0],
                "oa_hi": m["oa_ci95"][1],
            }
        )
    return pd.DataFrame(rows)


def climate_experiment(
    data: PointData, cfg: dict[str, Any], log: Callable[[str], None] = print
) -> dict[str, Any]:
    """In-region (blocked CV) vs leave-region-out predictions of each climate variant × seed.

    Returns:
        ``{"in": {variant: run}, "<region kind>": {variant: run}}`` where each run is the
        output of :func:`cross_predict` (with shuffled-climate probabilities).
    """
    c = cfg["climate"]
    x, _ = design_matrix(data, c["features"], False)
    runs: dict[str, Any] = {}
    for where, col in (("in", "fold"), *((k, k) for k in c["region_kinds"])):
        runs[where] = {}
        for variant in c["variants"]:
            spec = {"kind": "mlp", "mlp": {**cfg["mlp"], **c.get("mlp", {}), "variant": variant}}
            runs[where][variant] = cross_predict(
                x,
                data.y,
                data.climate,
                data.df[col].to_numpy(),
                spec,
                c["seeds"],
                n_train=c["n_train"],
                shuffle_seed=c["shuffle_seed"],
                n_jobs=cfg["n_jobs"],
            )
            log(f"{where} / {variant}: done")
    return runs


def gap_analysis(
    data: PointData, runs: dict[str, Any], cfg: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """In/out-of-region macro-F1, gap, shuffled-climate drop and fraction of gap closed.

    All quantities of one region kind share the same bootstrap replicates (blocks and
    seeds), so their intervals are paired.

    Returns:
        A tidy table (one row per region kind × variant) and the same as nested dicts.
    """
    y, blocks = data.y, data.df["block"].to_numpy()
    base = cfg["climate"]["variants"][0]
    rows: list[dict[str, Any]] = []
    nested: dict[str, dict[str, Any]] = {}
    for kind in cfg["climate"]["region_kinds"]:
        confs: dict[tuple[str, str], np.ndarray] = {}
        for v in cfg["climate"]["variants"]:
            confs[(v, "in")] = cluster_confusions(y, runs["in"][v]["proba"].argmax(-1), blocks)
            confs[(v, "out")] = cluster_confusions(y, runs[kind][v]["proba"].argmax(-1), blocks)
            sh = runs[kind][v]["proba_shuffled"]
            if sh is not None:
                confs[(v, "shuffled")] = cluster_confusions(y, sh.argmax(-1), blocks)
        s, g = confs[(base, "in")].shape[:2]
        w = bootstrap_weights(s, g, cfg["n_boot"], cfg["boot_seed"])
        res = {k: resampled_scores(cf, w) for k, cf in confs.items()}
        mf = {k: (float(r["point"]["macro_f1"]), r["reps"]["macro_f1"]) for k, r in res.items()}
        in0, out0 = mf[(base, "in")], mf[(base, "out")]
        for v in cfg["climate"]["variants"]:
            row = _gap_row(kind, v, mf, in0, out0)
            rows.append(row)
            nested.setdefault(kind, {})[v] = row
    return pd.DataFrame(rows), nested


def _gap_row(kind: str, v: str, mf: dict[Any, Any], in0: Any, out0: Any) -> dict[str, Any]:
    (i, ir), (o, orr) = mf[(v, "in")], mf[(v, "out")]
    with np.errstate(invalid="ignore", divide="ignore"):
        closed_reps = (orr - out0[1]) / (in0[1] - out0[1])
    row = {
        "region_kind": kind,
        "variant": v,
        "reference_gap": in0[0] - out0[0],
        "reference_gap_ci95": ci95(in0[1] - out0[1]),
        "in_macro_f1": i,
        "in_macro_f1_ci95": ci95(ir),
        "out_macro_f1": o,
        "out_macro_f1_ci95": ci95(orr),
        "gap": i - o,
        "gap_ci95": ci95(ir - orr),
        "gap_closed_fraction": (o - out0[0]) / (in0[0] - out0[0]),
        "gap_closed_fraction_ci95": ci95(closed_reps),
    }
    if (v, "shuffled") in mf:
        s, sr = mf[(v, "shuffled")]
        row.update(shuffled_out_macro_f1=s, shuffle_drop=o - s, shuffle_drop_ci95=ci95(orr - sr))
    return row


def region_table(data: PointData, kind: str) -> pd.DataFrame:
    """Points, mean BIO1/BIO12 and class shares of each region of ``kind`` (zone/region)."""
    df = data.df.assign(bio1=data.climate[:, 0], bio12=data.climate[:, 11])
    t = df.groupby(kind).agg(
        n=("label", "size"),
        lon=("lon", "mean"),
        lat=("lat", "mean"),
        bio1_c=("bio1", "mean"),
        bio12_mm=("bio12", "mean"),
    )
    shares = pd.crosstab(df[kind], df["label"], normalize="index").reindex(
        columns=list(legend.KEYS), fill_value=0.0
    )
    return t.join(shares.round(3))


# --------------------------------------------------------------------------- product


def train_export_model(
    data: PointData, spec: dict[str, Any], cfg: dict[str, Any], out: Path
) -> PointEnsemble:
    """Train the shipped model (one MLP per seed on all points) and save it to ``out``."""
    from joblib import Parallel, delayed

    x, names = design_matrix(data, spec["features"], False)
    mlp = {**cfg["mlp"], **spec.get("mlp", {})}

    def _train(seed: int) -> dict[str, Any]:
        _limit_threads()
        clf = PointClassifier({**mlp, "seed": seed, "n_classes": K}, feature_names=names)
        return clf.fit(x, data.y, data.climate).state()

    states = Parallel(n_jobs=cfg["n_jobs"])(delayed(_train)(s) for s in spec["seeds"])
    ens = PointEnsemble([PointClassifier.from_state(s) for s in states])
    ens.save(out)
    return ens


def model_card(
    name: str, spec: dict[str, Any], m: dict[str, Any], info: dict[str, Any], gaps: dict[str, Any]
) -> str:
    """The model card of the shipped point model, generated from the computed metrics."""
    f1 = m["per_class_f1"]
    worst = sorted(f1, key=f1.get)[:3]
    variant = spec.get("mlp", {}).get("variant", "no_climate")
    lines = [
        f"# Model card: `{name}`",
        "",
        f"Neural point classifier (MLP, variant `{variant}`, mean of {len(spec['seeds'])} "
        "seed(s)) for the eight LUCAS level-1 land-cover classes from Sentinel-2 "
        + ("and Sentinel-1 " if spec["features"].startswith("s2s1") else "")
        + "annual features of one point.",
        "",
        "## Inputs",
        "",
        f"- Features (`{spec['features']}`): {', '.join(features.feature_names(spec['features']))}.",
        "- Input level: **Sentinel-2 L1C top-of-atmosphere, 2018 annual medians** of cloud-masked "
        "scenes (ELC10 extraction): band medians as reflectance × 1e7 (DN × 1000), index "
        "statistics × 1000; Sentinel-1 VV/VH medians and SDs in dB × 1000. L2A or single-date "
        "inputs are outside the training distribution.",
        "- Climate: WorldClim 2.1 BIO1–19 (10′) looked up at the point (°C, mm), "
        "standardised with the training statistics stored in the weights.",
        f"- Classes: {', '.join(legend.KEYS)}.",
        "",
        "## Training data and licence",
        "",
        f"- {info['n_used']} LUCAS 2018 points (LUCAS_point and LUCAS_polygon) of the ELC10 training "
        "table (Venter & Sydenham 2021); points in 12–18 °E × 46–50 °N are withheld from the "
        "project's copy.",
        "- Data: LUCAS © EU/Eurostat (re-use with attribution); contains modified Copernicus "
        "Sentinel data 2018; ELC10 map CC-BY-SA-4.0. Climate: WorldClim 2.1 (Fick & Hijmans "
        "2017), free for research use. Model weights: MIT (this project).",
        "",
        "## Accuracy (200 km spatially blocked CV, 95 % block-and-seed bootstrap intervals)",
        "",
        f"- Overall accuracy {m['oa']:.3f} [{m['oa_ci95'][0]:.3f}, {m['oa_ci95'][1]:.3f}], "
        f"macro-F1 {m['macro_f1']:.3f} [{m['macro_f1_ci95'][0]:.3f}, {m['macro_f1_ci95'][1]:.3f}].",
        "- Per-class F1: " + ", ".join(f"{k} {v:.2f}" for k, v in f1.items()) + ".",
        "",
        "## Known failure cases",
        "",
        f"- Weakest classes: {', '.join(f'{k} (F1 {f1[k]:.2f})' for k in worst)}.",
    ]
    for kind, rows in gaps.items():
        r = rows.get(variant)
        if r:
            lines.append(
                f"- Unseen {kind.replace('_', ' ')}s (leave-region-out): macro-F1 drops by "
                f"{r['gap']:.3f} [{r['gap_ci95'][0]:.3f}, {r['gap_ci95'][1]:.3f}] "
                "(measured with smaller training sets than this model)."
            )
    lines += [f"- Most frequent confusion (reference → predicted, share of the reference class): {t}."
              for t in top_confusions(m.get("confusion"), 3)]  # fmt: skip
    lines += [
        "",
        "Load with `lulcbook.models.points.load_point_model` (`torch.load(weights_only=True)`); "
        "classify a table with `lulcbook classify-points`.",
    ]
    return "\n".join(lines)


def top_confusions(confusion: Sequence[Sequence[float]] | None, k: int = 3) -> list[str]:
    """The ``k`` largest off-diagonal cells of a confusion matrix, as readable strings."""
    if confusion is None:
        return []
    c = np.asarray(confusion, dtype=float)
    rows = c.sum(1, keepdims=True)
    share = np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)
    np.fill_diagonal(c, 0)
    order = np.dstack(np.unravel_index(np.argsort(-c, axis=None), c.shape))[0][:k]
    return [
        f"{legend.KEYS[i]} → {legend.KEYS[j]} ({int(c[i, j])} points, {share[i, j]:.0%})"
        for i, j in order
        if c[i, j] > 0
    ]


def export_metadata(
    name: str, spec: dict[str, Any], m: dict[str, Any], info: dict[str, Any], version: str
) -> dict[str, Any]:
    """Machine-readable metadata of the shipped point model (``lulcbook.zoo`` keys)."""
    return {
        "kind": "lulc-point-classifier",
        "description": "LUCAS point classifier, S2 L1C annual features + WorldClim",
        "loader": "lulcbook.models.points:load_point_model",
        "classes": list(legend.KEYS),
        "bands": [elc10.S2_BAND_IDS[b] for b in elc10.S2_BANDS],
        "feature_set": spec["features"],
        "features": features.feature_names(spec["features"]),
        "needs_climate": spec.get("mlp", {}).get("variant", "no_climate") != "no_climate",
        "climate": "WorldClim 2.1 BIO1-19, 10 arc-min",
        "input_level": "L1C",
        "scaling": "ELC10 table units: band medians reflectance x 1e7, indices x 1000, S1 dB x 1000",
        "metrics": {
            "validation": "200 km spatially blocked CV",
            **{k: m[k] for k in ("oa", "oa_ci95", "macro_f1", "macro_f1_ci95", "per_class_f1")},
        },
        "training_data": f"ELC10 LUCAS 2018 table, {info['n_used']} points",
        "licence": "weights MIT; LUCAS (c) EU/Eurostat; Copernicus Sentinel data 2018; "
        "WorldClim 2.1 research use",
        "version": version,
    }


def env_threads() -> None:
    """Keep BLAS/OpenMP/torch at one thread per process (parallelism is across folds)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    _limit_threads()


# --------------------------------------------------------------------------- tables and verdicts


def comparison_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per model: OA and macro-F1 with their 95 % intervals (rounded for display)."""
    return pd.DataFrame(
        {
            name: {
                "oa": round(r["oa"], 3),
                "oa_ci95": np.round(r["oa_ci95"], 3).tolist(),
                "macro_f1": round(r["macro_f1"], 3),
                "macro_f1_ci95": np.round(r["macro_f1_ci95"], 3).tolist(),
            }
            for name, r in results.items()
        }
    ).T


def interval_frame(
    results: dict[str, Any], metrics: Sequence[str] = ("oa", "macro_f1")
) -> pd.DataFrame:
    """Long table ``model, metric, value, lo, hi`` for :func:`lulcbook.viz.interval_plot`."""
    return pd.DataFrame(
        [
            {
                "model": n,
                "metric": m,
                "value": r[m],
                "lo": r[f"{m}_ci95"][0],
                "hi": r[f"{m}_ci95"][1],
            }
            for n, r in results.items()
            for m in metrics
        ]
    )


def per_class_frame(results: dict[str, Any]) -> pd.DataFrame:
    """Long table ``class, model, value, lo, hi`` of per-class F1."""
    return pd.DataFrame(
        [
            {
                "class": k,
                "model": n,
                "value": r["per_class_f1"][k],
                "lo": r["per_class_f1_ci95"][k][0],
                "hi": r["per_class_f1_ci95"][k][1],
            }
            for n, r in results.items()
            for k in legend.KEYS
        ]
    )


def curve_point(result: dict[str, Any], n_train: int) -> pd.DataFrame:
    """A learning-curve row (as :func:`learning_curve`) from a blocked-CV result."""
    return pd.DataFrame(
        [
            {
                "n_train": int(n_train),
                "oa": result["oa"],
                "macro_f1": result["macro_f1"],
                "lo": result["macro_f1_ci95"][0],
                "hi": result["macro_f1_ci95"][1],
                "oa_lo": result["oa_ci95"][0],
                "oa_hi": result["oa_ci95"][1],
            }
        ]
    )


def gap_long_frame(gap_table: pd.DataFrame) -> pd.DataFrame:
    """In- and out-of-region macro-F1 of each region kind × variant, long, for plotting."""
    parts = []
    for where, col in (("in-region", "in_macro_f1"), ("out-of-region", "out_macro_f1")):
        ci = gap_table[f"{col}_ci95"]
        parts.append(
            gap_table.assign(where=where, value=gap_table[col], lo=ci.str[0], hi=ci.str[1])
        )
    long = pd.concat(parts, ignore_index=True)
    long["case"] = long["region_kind"] + " · " + long["variant"]
    return long


def model_verdict(results: dict[str, Any], anchors: dict[str, float]) -> str:
    """The sentence answering question 1, generated from the blocked-CV numbers."""
    best = max(results, key=lambda n: results[n]["macro_f1"])
    b = results[best]
    lo, hi = b["oa_ci95"]
    rel = (
        "above"
        if lo > anchors["elc10_oa"]
        else "below"
        if hi < anchors["elc10_oa"]
        else ("not distinguishable from")
    )
    met = b["oa"] >= anchors["target_oa"] and b["macro_f1"] >= anchors["target_macro_f1"]
    s1_gain = results["gbm_s2s1"]["oa"] - results["gbm_s2"]["oa"]
    return (
        f"Best model under spatially blocked CV: {best}, OA {b['oa']:.3f} [{lo:.3f}, {hi:.3f}], "
        f"macro-F1 {b['macro_f1']:.3f} [{b['macro_f1_ci95'][0]:.3f}, {b['macro_f1_ci95'][1]:.3f}]. "
        f"Its OA is {rel} ELC10's reported {anchors['elc10_oa']:.2f}; the target (OA ≥ "
        f"{anchors['target_oa']:.2f} and macro-F1 ≥ {anchors['target_macro_f1']:.2f}) is "
        f"{'met' if met else 'not met'}. Sentinel-1 adds {100 * s1_gain:+.1f} OA points to "
        "gradient boosting on Sentinel-2 (ELC10 reports about +3)."
    )


def gap_sentence(r: dict[str, Any] | pd.Series) -> str:
    """The sentence for one region kind × climate variant of :func:`gap_analysis`."""
    lo, hi = r["gap_closed_fraction_ci95"]
    if r["reference_gap_ci95"][0] <= 0:
        verdict = "no measurable gap without climate, so no fraction to close"
    else:
        verdict = {
            1: "closes part of the gap",
            -1: "widens the gap",
            0: "does not measurably change the gap",
        }[interval_side((lo, hi))]
    drop = r.get("shuffle_drop", float("nan"))
    drop_ci = np.round(r.get("shuffle_drop_ci95", [np.nan, np.nan]), 3).tolist()
    return (
        f"{r['region_kind']} / {r['variant']}: gap {r['gap']:.3f} [{r['gap_ci95'][0]:.3f}, "
        f"{r['gap_ci95'][1]:.3f}] (no climate: {r['reference_gap']:.3f}), fraction closed "
        f"{r['gap_closed_fraction']:.2f} [{lo:.2f}, {hi:.2f}] → {verdict}; shuffled-climate "
        f"drop {drop:.3f} {drop_ci}."
    )


DATA_KEYS: tuple[str, ...] = (
    "n_used",
    "duplicates",
    "duplicate_locations",
    "duplicate_feature_rows",
    "s1",
    "climate",
    "class_counts",
)
DESIGN_KEYS: tuple[str, ...] = ("block_km", "n_folds", "n_zones", "n_regions", "n_boot")


def data_summary(data: PointData) -> pd.Series:
    """Counts of the loaded points: duplicates, missing Sentinel-1 and climate, blocks."""
    info = data.info
    return pd.Series(
        {
            "points used": info["n_used"],
            "duplicate POINT_IDs (rows removed)": info["duplicates"]["rows_removed"],
            "duplicate locations": info["duplicate_locations"],
            "duplicate feature rows (removed)": info["duplicate_feature_rows"],
            "points without Sentinel-1": info["s1"]["points_without_s1"],
            "points without climate": info["climate"]["missing"],
            "200 km blocks": int(data.df["block"].nunique()) if "block" in data.df else None,
        }
    )


def region_records(zones: pd.DataFrame, regions: pd.DataFrame) -> dict[str, list[dict[Any, Any]]]:
    """The climate-zone and region tables (:func:`region_table`) as JSON records."""
    return {
        "zone": zones.reset_index().to_dict("records"),
        "region": regions.reset_index().to_dict("records"),
    }
