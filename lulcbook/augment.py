"""Measures that judge generated and climate-edited patches, and the colour-jitter baseline.

Edited patches (a patch encoded, DDIM-inverted under its own climate and decoded under another
one, see :mod:`lulcbook.models.diffusion`) are judged, following the questions of ClimSat
(Leonhardt, Gall & Roscher, Science of Remote Sensing 2025, 100235), by

* **realism**: a *detector* (logistic regression on per-band statistics, radially averaged power
  spectra and texture) trained to tell generated from real patches, scored by its held-out
  ROC AUC (0.5: indistinguishable) next to the same detector on two halves of the real set;
  per-band pixel distributions (1-Wasserstein, Kolmogorov-Smirnov) and power spectra are
  reported beside it, and the kernel distance (KID, Bińkowski et al., ICLR 2018) for reference;
* **faithfulness**: a climate regressor, trained elsewhere on real data with a known
  cross-validated R², applied to source and edited patches: does the predicted climate move
  from the source toward the target?
* **land-cover preservation**: the share of edits whose land-cover label (from a classifier
  applied to source and edit alike) is unchanged.

The augmentation experiment itself (graph classifier, leave-region-out) is in
:mod:`lulcbook.experiments.diffusion`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
from scipy import stats
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

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

    Args:
        x: ``(N, C, H, W)`` reflectance.
        gain: half-width of the multiplicative jitter.
        offset: half-width of the additive jitter (reflectance units).
        seed: seed of the draws.

    Returns:
        The jittered reflectance, clipped to [0, 1].
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float32)
    shape = (x.shape[0], x.shape[1], 1, 1)
    g = rng.uniform(1 - gain, 1 + gain, shape).astype(np.float32)
    o = rng.uniform(-offset, offset, shape).astype(np.float32)
    out: np.ndarray = np.clip(x * g + o, 0.0, 1.0)
    return out


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
        out: np.ndarray = (u @ v.T / d + 1.0) ** degree
        return out

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


# --------------------------------------------------------------------------- spatial statistics
def radial_power_spectrum(x: np.ndarray, n_bins: int = 8) -> np.ndarray:
    """Radially averaged log10 power spectrum of every patch and band.

    Each band is demeaned, Fourier-transformed and its power averaged in ``n_bins`` equal rings
    of spatial frequency from the lowest non-zero frequency to Nyquist.

    Args:
        x: ``(N, C, H, W)`` reflectance.
        n_bins: frequency rings.

    Returns:
        ``(N, C, n_bins)`` float64 ``log10`` mean power per ring (low to high frequency).

    Raises:
        ValueError: if ``x`` is not 4-D or too small for ``n_bins`` rings.
    """
    x = np.asarray(x, np.float64)
    if x.ndim != 4:
        raise ValueError(f"patches must be (N, C, H, W); got shape {x.shape}")
    h, w = x.shape[-2:]
    if min(h, w) < 2 * n_bins:
        raise ValueError(f"patches of {h}×{w} px are too small for {n_bins} frequency rings")
    f = np.fft.fft2(x - x.mean(axis=(2, 3), keepdims=True), axes=(2, 3))
    power = np.abs(f) ** 2 / (h * w)
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    radius = np.hypot(fy, fx)
    edges = np.linspace(radius[radius > 0].min(), 0.5, n_bins + 1)
    ring = np.digitize(radius, edges[1:-1])
    keep = (radius > 0) & (radius <= 0.5)
    out = np.stack([power[..., keep & (ring == k)].mean(-1) for k in range(n_bins)], axis=-1)
    return np.log10(out + 1e-12)


def texture_features(x: np.ndarray) -> np.ndarray:
    """Per-band texture: mean absolute gradient (rows, columns) and lag-1 autocorrelation.

    Args:
        x: ``(N, C, H, W)`` reflectance.

    Returns:
        ``(N, 3 C)`` float64: for each band ``[|d/dy|, |d/dx|, autocorrelation]``.
    """
    x = np.asarray(x, np.float64)
    dy = np.abs(np.diff(x, axis=2)).mean(axis=(2, 3))
    dx = np.abs(np.diff(x, axis=3)).mean(axis=(2, 3))
    z = x - x.mean(axis=(2, 3), keepdims=True)
    var = (z**2).mean(axis=(2, 3))
    lag = 0.5 * ((z[:, :, 1:] * z[:, :, :-1]).mean(axis=(2, 3)))
    lag += 0.5 * ((z[:, :, :, 1:] * z[:, :, :, :-1]).mean(axis=(2, 3)))
    ac = np.where(var > 0, lag / np.maximum(var, 1e-12), 0.0)
    return np.stack([dy, dx, ac], axis=2).reshape(x.shape[0], -1)


def realism_features(x: np.ndarray, bands: Sequence[str], n_bins: int = 8) -> np.ndarray:
    """Detector features: :func:`patch_features`, :func:`radial_power_spectrum`, texture.

    Args:
        x: ``(N, C, H, W)`` reflectance.
        bands: band names of the ``C`` axis.
        n_bins: frequency rings of the power spectrum.

    Returns:
        ``(N, F)`` float64 features.
    """
    spec = radial_power_spectrum(x, n_bins).reshape(len(x), -1)
    return np.hstack([patch_features(x, bands), spec, texture_features(x)]).astype(np.float64)


def spectrum_distance(a: np.ndarray, b: np.ndarray, bands: Sequence[str]) -> dict[str, float]:
    """Mean absolute difference of the sets' mean log10 power spectra, per band (decades).

    Args:
        a: ``(N, C, H, W)`` reflectance of one set.
        b: ``(M, C, H, W)`` reflectance of the other set.
        bands: band names of the ``C`` axis.

    Returns:
        ``{band: distance}``.
    """
    sa, sb = radial_power_spectrum(a).mean(0), radial_power_spectrum(b).mean(0)
    return {str(band): float(np.abs(sa[c] - sb[c]).mean()) for c, band in enumerate(bands)}


# --------------------------------------------------------------------------- realism detector
def detector_auc(
    real: np.ndarray,
    other: np.ndarray,
    features: Callable[[np.ndarray], np.ndarray],
    n_splits: int = 5,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Held-out ROC AUC of a classifier that tells ``other`` patches from ``real`` ones.

    A standardised logistic regression is trained on ``features`` in stratified
    ``n_splits``-fold cross-validation; the AUC is computed on the out-of-fold scores of all
    patches. Its 95 % interval is a percentile bootstrap over patches (resampled within each
    set). 0.5 means the detector cannot tell the sets apart; 1.0 means it always can.

    Args:
        real: ``(N, C, H, W)`` real patches.
        other: ``(M, C, H, W)`` generated (or other real) patches.
        features: patches → ``(n, F)`` features (e.g. :func:`realism_features`).
        n_splits: cross-validation folds.
        n_boot: bootstrap resamples.
        seed: seed of folds and resamples.

    Returns:
        ``{"auc", "auc_ci95", "n_real", "n_other"}``.

    Raises:
        ValueError: if a set has fewer patches than ``n_splits``.
    """
    if min(len(real), len(other)) < n_splits:
        raise ValueError(
            f"The detector needs >= {n_splits} patches per set; got {len(real)} real and "
            f"{len(other)} other"
        )
    f = np.vstack([features(real), features(other)])
    f = np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)
    y = np.r_[np.zeros(len(real), int), np.ones(len(other), int)]
    score = np.zeros(len(y))
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    for tr, te in folds.split(f, y):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        clf.fit(f[tr], y[tr])
        score[te] = clf.predict_proba(f[te])[:, 1]
    auc = float(roc_auc_score(y, score))
    rng = np.random.default_rng(seed)
    i0, i1 = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    boots = []
    for _ in range(n_boot):
        idx = np.r_[rng.choice(i0, i0.size), rng.choice(i1, i1.size)]
        boots.append(roc_auc_score(y[idx], score[idx]))
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {
        "auc": auc,
        "auc_ci95": [float(lo), float(hi)],
        "n_real": int(len(real)),
        "n_other": int(len(other)),
    }


# --------------------------------------------------------------------------- faithfulness
class Regressor(Protocol):
    """Anything with a scikit-learn style ``predict``."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predict targets ``(n, k)`` for features ``(n, F)``."""
        ...


def fit_climate_regressor(
    features: np.ndarray,
    climate_z: np.ndarray,
    seed: int = 0,
    groups: np.ndarray | None = None,
    n_splits: int = 5,
    max_iter: int = 200,
) -> tuple[MultiOutputRegressor, list[float]]:
    """Gradient boosting from features to standardised climate, with cross-validated R².

    With ``groups`` (e.g. spatial blocks) the folds keep every group whole (spatially blocked
    CV), so the R² says how well climate is predicted *away* from the training locations.

    Args:
        features: ``(N, F)`` features of real observations.
        climate_z: ``(N, k)`` standardised climate variables (no NaN).
        seed: seed of the CV folds (without groups) and of the boosting.
        groups: ``(N,)`` group of every row for blocked CV, or ``None`` for shuffled K-fold.
        n_splits: folds.
        max_iter: boosting iterations per variable.

    Returns:
        ``(regressor fitted on all rows, cross-validated R² of each variable)``.

    Raises:
        ValueError: if ``climate_z`` contains NaN or has fewer than ``2 * n_splits`` rows.
    """
    y = np.asarray(climate_z, np.float64)
    x = np.asarray(features, np.float64)
    if y.ndim != 2:
        raise ValueError(f"climate_z must be (N, k); got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("climate_z contains NaN; use only rows with a valid climate vector")
    if y.shape[0] < 2 * n_splits:
        raise ValueError(f"Need >= {2 * n_splits} rows to fit a regressor; got {y.shape[0]}")

    def make() -> MultiOutputRegressor:
        return MultiOutputRegressor(
            HistGradientBoostingRegressor(max_iter=max_iter, random_state=seed)
        )

    pred = np.zeros_like(y)
    if groups is None:
        splits = KFold(n_splits, shuffle=True, random_state=seed).split(x)
    else:
        splits = GroupKFold(n_splits).split(x, y, np.asarray(groups))
    for tr, te in splits:
        pred[te] = make().fit(x[tr], y[tr]).predict(x[te])
    r2 = [float(r2_score(y[:, k], pred[:, k])) for k in range(y.shape[1])]
    return make().fit(x, y), r2


def faithfulness(
    regressor: Regressor,
    feat_source: np.ndarray,
    feat_edited: np.ndarray,
    source_z: np.ndarray,
    target_z: np.ndarray,
) -> dict[str, float]:
    """Does the predicted climate of edited patches move from the source toward the target?

    Distances are Euclidean in standardised climate space divided by ``sqrt(k)`` (RMS per
    variable).

    Args:
        regressor: features → standardised climate.
        feat_source: ``(n, F)`` features of the source patches.
        feat_edited: ``(n, F)`` features of their edits.
        source_z: ``(n, k)`` standardised source climates.
        target_z: ``(n, k)`` standardised target climates.

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


def band_means(x: np.ndarray, bands: Sequence[str]) -> np.ndarray:
    """Per-patch band means (and the NDVI of the means, with B04 and B08): point-like features.

    These are the statistics a patch shares with a point table of band values, so a
    regressor trained on points can be applied to patches.

    Args:
        x: ``(N, C, H, W)`` reflectance.
        bands: band names of the ``C`` axis.

    Returns:
        ``(N, C)`` or ``(N, C + 1)`` float64.
    """
    m = np.asarray(x, np.float64).mean(axis=(2, 3))
    return with_ndvi(m, bands)


def with_ndvi(means: np.ndarray, bands: Sequence[str]) -> np.ndarray:
    """Append ``(B08 - B04) / (B08 + B04)`` of band values ``(N, C)`` when both bands exist.

    Args:
        means: ``(N, C)`` band reflectances.
        bands: band names of the columns.

    Returns:
        ``(N, C)`` or ``(N, C + 1)`` float64.
    """
    m = np.asarray(means, np.float64)
    names = list(bands)
    if "B04" in names and "B08" in names:
        red, nir = m[:, names.index("B04")], m[:, names.index("B08")]
        m = np.hstack([m, ((nir - red) / np.maximum(nir + red, 1e-6))[:, None]])
    return m


# --------------------------------------------------------------------------- preservation
def label_agreement(labels_source: np.ndarray, labels_edited: np.ndarray) -> float:
    """Share of patches whose predicted land-cover label is unchanged by editing.

    Raises:
        ValueError: if the arrays differ in length or are empty.
    """
    a, b = np.asarray(labels_source), np.asarray(labels_edited)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"Label arrays must be equal-length and non-empty; got {a.shape}, {b.shape}"
        )
    return float((a == b).mean())


# --------------------------------------------------------------------------- climate swap
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
