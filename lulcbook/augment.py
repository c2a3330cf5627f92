"""Climate-swap augmentation and the measures that judge edited patches.

Edited patches (a patch DDIM-inverted under its own climate and decoded under another one, see
:mod:`lulcbook.models.diffusion`) are judged, following ClimSat (Leonhardt, Gall & Roscher,
Science of Remote Sensing 2025, 100235), by

* **realism**: per-band distances between pixel distributions of generated/edited and real
  patches (1-Wasserstein and Kolmogorov-Smirnov) and a kernel distance (KID, the unbiased
  polynomial-kernel MMD² of Bińkowski et al., ICLR 2018) on the land-cover classifier's input
  features;
* **faithfulness**: a climate regressor trained on real patches, applied to edited patches,
  should predict a climate closer to the target than to the source;
* **land-cover preservation**: a land-cover classifier should give the edited patch the label it
  gives the source patch;

and used as training augmentation for a land-cover classifier, against a colour-jitter
baseline. The classifier here is a random forest on per-patch band statistics
(:func:`patch_features`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from lulcbook import evaluate

QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)


# --------------------------------------------------------------------------- features
def feature_names(bands: Sequence[str]) -> list[str]:
    """Names of the columns of :func:`patch_features` for ``bands``."""
    names = []
    for b in bands:
        names += [f"{b}_mean", f"{b}_std"] + [f"{b}_q{int(q * 100):02d}" for q in QUANTILES]
    if "B04" in bands and "B08" in bands:
        names += ["ndvi_mean", "ndvi_std"]
    return names


def patch_features(x: np.ndarray, bands: Sequence[str]) -> np.ndarray:
    """Per-patch band statistics: mean, std, 10/50/90 % quantiles per band (+ NDVI mean, std).

    Args:
        x: ``(N, C, H, W)`` reflectance.
        bands: band names of the ``C`` axis.

    Returns:
        ``(N, F)`` float32 features, columns named by :func:`feature_names`.

    Raises:
        ValueError: if ``x`` is not 4-D or its band count differs from ``bands``.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4 or x.shape[1] != len(bands):
        raise ValueError(
            f"x must be (N, {len(bands)}, H, W) for bands {list(bands)}; got {x.shape}"
        )
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    qs = np.quantile(flat, QUANTILES, axis=2)  # (Q, N, C)
    cols = []
    for c in range(x.shape[1]):
        cols += [flat[:, c].mean(1), flat[:, c].std(1)] + [
            qs[i, :, c] for i in range(len(QUANTILES))
        ]
    if "B04" in bands and "B08" in bands:
        red, nir = flat[:, list(bands).index("B04")], flat[:, list(bands).index("B08")]
        ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
        cols += [ndvi.mean(1), ndvi.std(1)]
    return np.stack(cols, axis=1).astype(np.float32)


def colour_jitter(
    x: np.ndarray, gain: float = 0.1, offset: float = 0.01, seed: int = 0
) -> np.ndarray:
    """Colour-jitter baseline: per patch and band ``x * U(1-gain, 1+gain) + U(-offset, offset)``.

    Returns the jittered reflectance, clipped to [0, 1].
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float32)
    shape = (x.shape[0], x.shape[1], 1, 1)
    g = rng.uniform(1 - gain, 1 + gain, shape).astype(np.float32)
    o = rng.uniform(-offset, offset, shape).astype(np.float32)
    return np.clip(x * g + o, 0.0, 1.0)


# --------------------------------------------------------------------------- realism
def band_distances(
    generated: np.ndarray,
    real: np.ndarray,
    bands: Sequence[str],
    n_pixels: int = 20_000,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Per-band 1-Wasserstein distance and KS statistic between pixel distributions.

    Pixels are subsampled (seeded) to at most ``n_pixels`` per set and band.

    Returns:
        ``{band: {"wasserstein": w, "ks": d}}`` (reflectance units for ``w``).
    """
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, float]] = {}
    for c, b in enumerate(bands):
        g = np.asarray(generated)[:, c].ravel()
        r = np.asarray(real)[:, c].ravel()
        g = rng.choice(g, min(n_pixels, g.size), replace=False)
        r = rng.choice(r, min(n_pixels, r.size), replace=False)
        out[b] = {
            "wasserstein": float(stats.wasserstein_distance(g, r)),
            "ks": float(stats.ks_2samp(g, r).statistic),
        }
    return out


def kernel_distance(
    feat_a: np.ndarray, feat_b: np.ndarray, reference: np.ndarray | None = None, degree: int = 3
) -> float:
    """KID: unbiased MMD² with the kernel ``k(x, y) = (x·y / d + 1)^degree``.

    Features are standardised with the mean/std of ``reference`` (default ``feat_b``, the real
    set), so the distance does not depend on feature units. 0 means equal distributions; the
    unbiased estimate can be slightly negative.

    Raises:
        ValueError: if a set has fewer than 2 rows or the widths differ.
    """
    a, b = np.asarray(feat_a, np.float64), np.asarray(feat_b, np.float64)
    if a.shape[0] < 2 or b.shape[0] < 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"KID needs two sets of >= 2 rows of equal width; got {a.shape}, {b.shape}"
        )
    ref = b if reference is None else np.asarray(reference, np.float64)
    mu, sd = ref.mean(0), ref.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    a, b = (a - mu) / sd, (b - mu) / sd
    d = a.shape[1]

    def k(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return (u @ v.T / d + 1.0) ** degree

    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    m, n = a.shape[0], b.shape[0]
    return float(
        (kaa.sum() - np.trace(kaa)) / (m * (m - 1))
        + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
        - 2 * kab.mean()
    )


def kid_subsets(
    feat_a: np.ndarray,
    feat_b: np.ndarray,
    n_subsets: int = 50,
    subset_size: int = 50,
    seed: int = 0,
) -> tuple[float, float]:
    """KID as mean and standard deviation over random subsets (Bińkowski et al. 2018).

    Features are standardised with the statistics of the whole ``feat_b`` (the real set); each
    subset draws ``min(subset_size, len(a), len(b))`` rows of each set without replacement.

    Returns:
        ``(mean, std)`` of :func:`kernel_distance` over the subsets.
    """
    a, b = np.asarray(feat_a, np.float64), np.asarray(feat_b, np.float64)
    m = min(subset_size, a.shape[0], b.shape[0])
    rng = np.random.default_rng(seed)
    vals = [
        kernel_distance(
            a[rng.choice(a.shape[0], m, replace=False)],
            b[rng.choice(b.shape[0], m, replace=False)],
            reference=b,
        )
        for _ in range(n_subsets)
    ]
    return float(np.mean(vals)), float(np.std(vals))


def realism(
    generated: np.ndarray, real: np.ndarray, bands: Sequence[str], seed: int = 0
) -> dict[str, Any]:
    """Band distances (mean over bands and per band) and KID (mean ± std over subsets).

    KID is computed on :func:`patch_features`, the land-cover classifier's input features.
    """
    bd = band_distances(generated, real, bands, seed=seed)
    kid, kid_std = kid_subsets(
        patch_features(generated, bands), patch_features(real, bands), seed=seed
    )
    return {
        "wasserstein_mean": float(np.mean([v["wasserstein"] for v in bd.values()])),
        "ks_mean": float(np.mean([v["ks"] for v in bd.values()])),
        "kid": kid,
        "kid_std": kid_std,
        "per_band": bd,
    }


# --------------------------------------------------------------------------- faithfulness
def fit_climate_regressor(
    features: np.ndarray, climate_z: np.ndarray, seed: int = 0
) -> tuple[Pipeline, float]:
    """Ridge regression from patch features to standardised climate, with its 5-fold CV R².

    Args:
        features: ``(N, F)`` features of real patches with a valid climate vector.
        climate_z: ``(N, n_bio)`` standardised climate (no missing flag, no NaN).
        seed: seed of the CV folds.

    Returns:
        ``(fitted pipeline, cross-validated R² averaged over the climate variables)``.

    Raises:
        ValueError: if ``climate_z`` contains NaN or has fewer than 10 rows.
    """
    y = np.asarray(climate_z, np.float64)
    if not np.isfinite(y).all():
        raise ValueError("climate_z contains NaN; use only patches with a valid climate vector")
    if y.shape[0] < 10:
        raise ValueError(f"Need >= 10 patches with climate to fit a regressor; got {y.shape[0]}")
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 3, 12)))
    pred = cross_val_predict(model, features, y, cv=KFold(5, shuffle=True, random_state=seed))
    r2 = float(r2_score(y, pred, multioutput="uniform_average"))
    return model.fit(features, y), r2


def faithfulness(
    regressor: Pipeline,
    feat_source: np.ndarray,
    feat_edited: np.ndarray,
    source_z: np.ndarray,
    target_z: np.ndarray,
) -> dict[str, float]:
    """Does the predicted climate of edited patches move from the source toward the target?

    Distances are Euclidean in standardised climate space divided by ``sqrt(n_bio)`` (RMS per
    variable).

    Returns:
        ``dist_source_to_target`` (predicted climate of the unedited patch vs the target),
        ``dist_edited_to_target`` (edited patch vs target), ``frac_closer`` (share of edits whose
        predicted climate got closer to the target), ``shift_cosine`` (mean cosine between the
        predicted shift and the true source→target direction) and ``shift_gain`` (mean
        projection of the predicted shift onto the true direction, as a fraction of its length:
        1 = the regressor sees the full climate change).
    """
    p_src, p_edit = regressor.predict(feat_source), regressor.predict(feat_edited)
    tgt, src = np.asarray(target_z, np.float64), np.asarray(source_z, np.float64)
    n = tgt.shape[1]
    d_src = np.linalg.norm(p_src - tgt, axis=1) / np.sqrt(n)
    d_edit = np.linalg.norm(p_edit - tgt, axis=1) / np.sqrt(n)
    shift, true = p_edit - p_src, tgt - src
    tn = np.linalg.norm(true, axis=1)
    ok = tn > 1e-9
    cos = (shift * true).sum(1)[ok] / (np.linalg.norm(shift, axis=1)[ok] * tn[ok] + 1e-12)
    gain = (shift * true).sum(1)[ok] / tn[ok] ** 2
    return {
        "dist_source_to_target": float(d_src.mean()),
        "dist_edited_to_target": float(d_edit.mean()),
        "frac_closer": float((d_edit < d_src).mean()),
        "shift_cosine": float(cos.mean()) if ok.any() else float("nan"),
        "shift_gain": float(gain.mean()) if ok.any() else float("nan"),
    }


# --------------------------------------------------------------------------- classifiers
def fit_classifier(
    features: np.ndarray, labels: np.ndarray, seed: int = 0, n_estimators: int = 200
) -> RandomForestClassifier:
    """Random-forest land-cover classifier on patch features (balanced class weights, seeded)."""
    clf = RandomForestClassifier(
        n_estimators=n_estimators, class_weight="balanced", random_state=seed, n_jobs=1
    )
    return clf.fit(features, labels)


def label_agreement(classifier: Any, feat_source: np.ndarray, feat_edited: np.ndarray) -> float:
    """Share of patches whose predicted land-cover label is unchanged by editing."""
    return float((classifier.predict(feat_source) == classifier.predict(feat_edited)).mean())


def paired_bootstrap(
    y_true: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    baseline: str,
    labels: Sequence[int],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Macro-F1 of each model with its bootstrap 95 % CI, and paired CIs of the change.

    The per-model interval is :func:`lulcbook.evaluate.bootstrap_ci`. For the change
    ``macro_f1 - macro_f1[baseline]`` every resample of the test points is shared by all models
    (a paired bootstrap with the same seed and draws), so its interval accounts for their
    correlation.

    Args:
        y_true: ``(n,)`` true labels.
        predictions: model name → ``(n,)`` predicted labels.
        baseline: the name the changes are measured against.
        labels: the classes macro-F1 averages over.
        n_boot: bootstrap resamples.
        seed: seed of the resamples.

    Returns:
        ``{name: {"macro_f1", "macro_f1_ci95", "delta_macro_f1", "delta_macro_f1_ci95"}}``.

    Raises:
        KeyError: if ``baseline`` is not in ``predictions``.
    """
    if baseline not in predictions:
        raise KeyError(f"Baseline {baseline!r} not among models {sorted(predictions)}")
    y_true = np.asarray(y_true)
    lab = np.asarray(list(labels))
    idx = np.random.default_rng(seed).integers(0, y_true.size, size=(n_boot, y_true.size))
    boot = {
        k: np.array([evaluate.macro_f1(y_true[i], np.asarray(p)[i], lab) for i in idx])
        for k, p in predictions.items()
    }
    base = evaluate.macro_f1(y_true, np.asarray(predictions[baseline]), lab)
    out: dict[str, dict[str, Any]] = {}
    for k, p in predictions.items():
        score = evaluate.macro_f1(y_true, np.asarray(p), lab)
        delta = boot[k] - boot[baseline]
        out[k] = {
            "macro_f1": score,
            "macro_f1_ci95": list(
                evaluate.bootstrap_ci(y_true, np.asarray(p), "macro_f1", n_boot, seed, labels=lab)
            ),
            "delta_macro_f1": score - base,
            "delta_macro_f1_ci95": [
                float(np.percentile(delta, 2.5)),
                float(np.percentile(delta, 97.5)),
            ],
        }
    return out


# --------------------------------------------------------------------------- experiment
def climate_swap_targets(
    regions: np.ndarray,
    climate_valid: np.ndarray,
    source: np.ndarray,
    n_per_source: int = 3,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick target climates for climate-swap augmentation: patches of *other* regions.

    For each source patch, ``n_per_source`` target patches with a valid climate vector are
    drawn (seeded), cycling through the other regions so each one is used about equally.

    Args:
        regions: ``(N,)`` region of every patch.
        climate_valid: ``(N,)`` whether a patch has a valid climate vector.
        source: indices of the patches to edit.
        n_per_source: edits per source patch.
        seed: seed of the draw.

    Returns:
        ``(source_rep, target)``: index arrays of equal length ``len(source) * n_per_source``
        (the source patch of each edit, and the patch whose climate is the target).

    Raises:
        ValueError: if no other region has a patch with a valid climate vector.
    """
    rng = np.random.default_rng(seed)
    regions, valid = np.asarray(regions), np.asarray(climate_valid, bool)
    src_rep, tgt = [], []
    for s in np.asarray(source):
        others = [
            r for r in np.unique(regions) if r != regions[s] and (valid & (regions == r)).any()
        ]
        if not others:
            raise ValueError(f"No region other than {regions[s]!r} has a valid climate vector")
        order = rng.permutation(len(others))
        for k in range(n_per_source):
            r = others[order[k % len(others)]]
            tgt.append(int(rng.choice(np.flatnonzero(valid & (regions == r)))))
            src_rep.append(int(s))
    return np.asarray(src_rep, np.int64), np.asarray(tgt, np.int64)


def augmentation_experiment(
    train: tuple[np.ndarray, np.ndarray],
    extras: Mapping[str, tuple[np.ndarray, np.ndarray] | None],
    test: tuple[np.ndarray, np.ndarray],
    bands: Sequence[str],
    labels: Sequence[int],
    baseline: str = "real_only",
    n_estimators: int = 200,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Train one classifier per augmentation variant, test all on the same patches.

    Args:
        train: ``(x, y)`` real training patches (reflectance ``(N, C, H, W)``) and labels.
        extras: variant name → additional ``(x, y)`` training patches (``None``: no extras).
        test: ``(x, y)`` test patches and labels.
        bands: band names.
        labels: classes macro-F1 averages over.
        baseline: the variant changes are measured against.
        n_estimators: trees of each random forest.
        n_boot: bootstrap resamples of the test set.
        seed: seed of forests and bootstrap.

    Returns:
        :func:`paired_bootstrap` results plus ``n_train`` and ``oa`` per variant.
    """
    f_train, f_test = patch_features(train[0], bands), patch_features(test[0], bands)
    preds, n_train = {}, {}
    for name, extra in extras.items():
        fx, fy = f_train, np.asarray(train[1])
        if extra is not None:
            fx = np.concatenate([fx, patch_features(extra[0], bands)])
            fy = np.concatenate([fy, np.asarray(extra[1])])
        preds[name] = fit_classifier(fx, fy, seed, n_estimators).predict(f_test)
        n_train[name] = len(fy)
    res = paired_bootstrap(test[1], preds, baseline, labels, n_boot, seed)
    for name in res:
        res[name]["oa"] = float((preds[name] == np.asarray(test[1])).mean())
        res[name]["n_train"] = n_train[name]
    return res
