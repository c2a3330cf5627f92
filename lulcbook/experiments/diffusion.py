"""Experiments of notebook 04: the climate-conditional diffusion autoencoder and its uses.

* :func:`load_patches` — the 01-data patches at the model's resolution, with climate vectors
  and a land-cover map of every patch from the project's superpixel classifier (02-gnn).
* :func:`train_autoencoder` — trains the diffusion autoencoder (semantic encoder + U-Net
  conditioned on climate and the land-cover map).
* :func:`lucas_climate_regressor` — a climate regressor on the continental LUCAS points
  (ELC10 Sentinel-2 band medians → WorldClim BIO variables) with spatially blocked CV R².
* :func:`land_cover_labels` — the project's classifier applied to (edited) patches.
* :func:`augmentation_folds` / :func:`augmentation_summary` — the project's Graph U-Net trained
  leave-region-out on real patches alone and with each augmentation set, several seeds, paired
  bootstrap intervals of the change against real-only.
* The notebook's steps: :func:`roundtrip_study`, :func:`generate_samples`,
  :func:`realism_study`, :func:`augmentation_sets`, :func:`climate_transfer`,
  :func:`faithfulness_study`, their figures and :func:`diffusion_verdicts`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.multioutput import MultiOutputRegressor
from torch import Tensor

from lulcbook import augment, cube, evaluate, legend, train, viz
from lulcbook import graphs as G
from lulcbook.bootstrap import interval_side
from lulcbook.models import diffusion
from lulcbook.models import gnn as gnn_models
from lulcbook.models.condnorm import ClimateScaler
from lulcbook.sources import elc10, worldclim

WORLDCLIM_SUBDIR = "worldclim/wc21_10m_bio_europe"


# --------------------------------------------------------------------------- data
@dataclass
class PatchData:
    """Patches at the diffusion model's resolution with everything the experiments need.

    Attributes:
        x: ``(N, C, S, S)`` reflectance, area-averaged to the model's size ``S``.
        bands: band names of the ``C`` axis.
        y: ``(N,)`` labels.
        regions: ``(N,)`` region names.
        valid: ``(N,)`` whether the patch has a valid climate vector.
        climate: ``(N, 19)`` raw BIO1–19 (NaN where missing).
        cond: ``(N, 20)`` standardised climate with the missing flag.
        climate_scaler: the fitted climate standardisation.
        band_scaler: the fitted per-band standardisation of ``x``.
        points: ``(N, 2)`` labelled pixel (row, column) at the model's resolution.
        lc_map: ``(N, K, S, S)`` land-cover class fractions from the project's classifier.
        lc_label: ``(N,)`` the classifier's label at the labelled pixel of the full patch.
        full_size: the full patch size (px) the classifier maps at.
    """

    x: np.ndarray
    bands: list[str]
    y: np.ndarray
    regions: np.ndarray
    valid: np.ndarray
    climate: np.ndarray
    cond: Tensor
    climate_scaler: ClimateScaler
    band_scaler: diffusion.BandScaler
    points: np.ndarray
    lc_map: np.ndarray
    lc_label: np.ndarray
    full_size: int

    @property
    def z(self) -> Tensor:
        """Standardised patches ``(N, C, S, S)``."""
        return self.band_scaler.transform(self.x)

    @property
    def lc_tensor(self) -> Tensor:
        """The land-cover map as a float32 tensor."""
        return torch.as_tensor(self.lc_map, dtype=torch.float32)


def land_cover_maps(
    classifier: gnn_models.SegmentClassifier, x: np.ndarray, size: int
) -> np.ndarray:
    """Land-cover class fractions ``(N, K, size, size)`` of full-resolution patches.

    Each patch is mapped with the classifier (superpixels + graph model), the per-pixel
    argmax one-hot encoded and area-averaged to ``size``.

    Args:
        classifier: the project's superpixel classifier.
        x: ``(N, C, H, W)`` reflectance in the classifier's bands.
        size: output size (must divide H and W).

    Returns:
        float32 class fractions summing to 1 over ``K`` at every pixel.
    """
    k = classifier.n_classes
    onehot = np.zeros((len(x), k, *x.shape[2:]), np.float32)
    for i, patch in enumerate(x):
        cls = np.nan_to_num(classifier.predict_proba(patch), nan=0.0).argmax(0)
        onehot[i] = np.eye(k, dtype=np.float32)[cls].transpose(2, 0, 1)
    return diffusion.downsample(onehot, size)


def land_cover_labels(
    classifier: gnn_models.SegmentClassifier, x: np.ndarray, points: np.ndarray, full: int
) -> np.ndarray:
    """The classifier's label at the labelled pixel of each patch.

    Patches smaller than ``full`` pixels are upsampled (nearest neighbour) to ``full`` first,
    so that source and edited patches are mapped at the same scale.

    Args:
        classifier: the project's superpixel classifier.
        x: ``(N, C, S, S)`` reflectance.
        points: ``(N, 2)`` labelled pixel at size ``full``.
        full: the classifier's patch size (px).

    Returns:
        ``(N,)`` class indices.
    """
    f = full // x.shape[-1]
    out = np.zeros(len(x), np.int64)
    for i, patch in enumerate(np.asarray(x, np.float32)):
        up = patch.repeat(f, axis=1).repeat(f, axis=2) if f > 1 else patch
        probs = np.nan_to_num(classifier.predict_proba(up), nan=0.0)
        out[i] = int(probs[:, int(points[i, 0]), int(points[i, 1])].argmax())
    return out


def load_patches(
    patches: Path, classifier: gnn_models.SegmentClassifier, size: int
) -> tuple[PatchData, np.ndarray]:
    """Read the 01-data patches, their climate and the project's land-cover maps of them.

    Args:
        patches: ``data/processed/patches.nc``.
        classifier: the project's superpixel classifier (``models/gnn.pt``).
        size: the diffusion model's patch size.

    Returns:
        ``(data, labelled pixel at full resolution (N, 2))``.

    Raises:
        ValueError: if the classifier's bands differ from the patches' bands.
    """
    ds = cube.open_patches(patches)
    bands = [str(b) for b in ds["band"].values]
    if classifier.bands != bands:
        raise ValueError(f"The classifier expects bands {classifier.bands}; {patches} has {bands}")
    full = ds["reflectance"].transpose("sample", "band", "y", "x").values.astype(np.float32)
    pts_full = np.stack([ds["point_y"].values, ds["point_x"].values], 1).astype(np.int64)
    x = diffusion.downsample(full, size)
    climate = ds["climate"].values.astype(np.float64)
    cscaler = ClimateScaler().fit(climate)
    data = PatchData(
        x=x,
        bands=bands,
        y=ds["label"].values.astype(np.int64),
        regions=ds["region"].values.astype(str),
        valid=ds["climate_valid"].values.astype(bool),
        climate=climate,
        cond=torch.as_tensor(cscaler.transform(climate), dtype=torch.float32),
        climate_scaler=cscaler,
        band_scaler=diffusion.BandScaler().fit(x),
        points=pts_full * size // full.shape[-1],
        lc_map=land_cover_maps(classifier, full, size),
        lc_label=land_cover_labels(classifier, full, pts_full, full.shape[-1]),
        full_size=int(full.shape[-1]),
    )
    return data, pts_full


# --------------------------------------------------------------------------- model
def train_autoencoder(
    data: PatchData, model_cfg: Mapping[str, Any], train_cfg: Mapping[str, Any], seed: int
) -> tuple[diffusion.ClimateDiffusion, dict[str, Any], list[float], float]:
    """Build and train the diffusion autoencoder on all patches (imagery only, no labels).

    Args:
        data: the patches.
        model_cfg: :func:`lulcbook.models.diffusion.build_diffusion` arguments (without
            ``in_channels``, ``climate_dim``, ``map_channels``, ``seed``).
        train_cfg: :func:`lulcbook.models.diffusion.train_diffusion` arguments.
        seed: seed of weights and training.

    Returns:
        ``(model, its build config, losses, training seconds)``.
    """
    config = dict(
        in_channels=len(data.bands),
        climate_dim=int(data.cond.shape[1]),
        map_channels=int(data.lc_map.shape[1]),
        seed=seed,
        **model_cfg,
    )
    model = diffusion.build_diffusion(**config)
    t0 = time.perf_counter()
    losses = diffusion.train_diffusion(
        model, data.z, data.cond, seed=seed, lc_map=data.lc_tensor, **train_cfg
    )
    return model, config, losses, time.perf_counter() - t0


# --------------------------------------------------------------------------- climate regressor
@dataclass
class ClimateRegressor:
    """A regressor from band statistics to standardised BIO variables, with its blocked-CV R².

    Attributes:
        model: fitted regressor (features → standardised BIO variables).
        bios: the BIO variable names predicted.
        mean: ``(k,)`` mean of each BIO variable over the training points.
        std: ``(k,)`` standard deviation of each.
        cv_r2: spatially blocked cross-validated R² of each variable.
        n_points: training points.
        block_km: block size of the CV.
    """

    model: MultiOutputRegressor
    bios: list[str]
    mean: np.ndarray
    std: np.ndarray
    cv_r2: list[float]
    n_points: int
    block_km: float

    def standardise(self, bio: np.ndarray) -> np.ndarray:
        """Standardise raw BIO values ``(n, k)`` with the training statistics."""
        out: np.ndarray = (np.asarray(bio, np.float64) - self.mean) / self.std
        return out


def lucas_climate_regressor(
    sample: Path,
    bands: Sequence[str],
    bios: Sequence[str],
    max_points: int | None,
    block_km: float,
    seed: int,
    fill_km: float = 25.0,
    max_rows: int | None = None,
    max_iter: int = 200,
) -> ClimateRegressor:
    """Train the climate regressor on the continental LUCAS points at their WorldClim climate.

    Features are the ELC10 annual Sentinel-2 band medians of ``bands`` (TOA reflectance) and
    the NDVI of those medians, i.e. what a patch's band means also give
    (:func:`lulcbook.augment.band_means`). CV folds keep ``block_km`` LAEA blocks whole.

    Args:
        sample: the offline sample root.
        bands: Sentinel-2 band names to use (must be among the ELC10 bands).
        bios: BIO variables to predict (``"bio1"`` …).
        max_points: random subset size (``None``: all points).
        block_km: spatial block size of the CV (km).
        seed: subset, folds and boosting seed.
        fill_km: nearest-valid-cell radius of the climate lookup.
        max_rows: read only the first rows of the table (quick runs); ``None`` reads all.
        max_iter: boosting iterations per BIO variable.

    Returns:
        The fitted regressor with its cross-validated R².

    Raises:
        ValueError: naming a band or BIO variable that the sources do not have.
    """
    df = elc10.read_elc10(
        sample / elc10.SAMPLE_SUBDIR, s1=False, nrows=max_rows, duplicates="prefer_point"
    )
    if max_points is not None and max_points < len(df):
        keep = np.sort(np.random.default_rng(seed).choice(len(df), max_points, replace=False))
        df = df.iloc[keep].reset_index(drop=True)
    refl = elc10.s2_reflectance(df)
    missing = [b for b in bands if b not in refl.columns]
    if missing:
        raise ValueError(f"ELC10 has no band(s) {missing}; it has {list(refl.columns)}")
    unknown = [b for b in bios if b not in worldclim.BIO_NAMES]
    if unknown:
        raise ValueError(f"Unknown BIO variable(s) {unknown}; expected {worldclim.BIO_NAMES}")
    bio = worldclim.read_bioclim(sample / WORLDCLIM_SUBDIR)
    clim, _ = worldclim.sample_climate(
        bio, df["lon"].to_numpy(float), df["lat"].to_numpy(float), fill_km
    )
    cols = [list(worldclim.BIO_NAMES).index(b) for b in bios]
    target = clim.values[:, cols].astype(np.float64)
    feats = augment.with_ndvi(refl[list(bands)].to_numpy(np.float64), bands)
    ok = np.isfinite(target).all(1) & np.isfinite(feats).all(1)
    feats, target = feats[ok], target[ok]
    blocks = (df["x_laea"].to_numpy()[ok] // (block_km * 1000)).astype(np.int64) * 100_000 + (
        df["y_laea"].to_numpy()[ok] // (block_km * 1000)
    ).astype(np.int64)
    mean, std = target.mean(0), target.std(0)
    model, r2 = augment.fit_climate_regressor(
        feats, (target - mean) / std, seed=seed, groups=blocks, max_iter=max_iter
    )
    return ClimateRegressor(model, list(bios), mean, std, r2, int(ok.sum()), float(block_km))


# --------------------------------------------------------------------------- augmentation
def patch_graphs(
    x: np.ndarray, points: np.ndarray, labels: np.ndarray, graph_params: Mapping[str, Any]
) -> list[G.SegmentGraph]:
    """One superpixel graph per patch, labelled at its point.

    Args:
        x: ``(N, C, S, S)`` reflectance.
        points: ``(N, 2)`` labelled pixel (row, column).
        labels: ``(N,)`` class of each patch.
        graph_params: :func:`lulcbook.graphs.segment` arguments.

    Returns:
        Graphs with ``y`` set.
    """
    out = []
    for patch, (r, c), lab in zip(np.asarray(x, np.float32), points, labels, strict=True):
        g = G.patch_graph(G.fill_invalid(patch)[0], (int(r), int(c)), **graph_params)
        g.y = torch.tensor([int(lab)], dtype=torch.long)
        out.append(g)
    return out


def augmentation_folds(
    real: Sequence[G.SegmentGraph],
    extras: Mapping[str, Sequence[G.SegmentGraph] | None],
    regions: np.ndarray,
    labels: np.ndarray,
    gnn_cfg: Mapping[str, Any],
    seeds: Sequence[int],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave-region-out: train the Graph U-Net on real patches ± each augmentation set.

    For every held-out region, the model is trained on the real patches of the other regions
    plus, for each variant, the variant's graphs *of those same training patches* (index-aligned
    with ``real``; ``None`` = real only), and tested on the real patches of the held-out region.

    Args:
        real: one graph per real patch.
        extras: variant name → graphs index-aligned with ``real`` (``None`` for real only).
        regions: ``(N,)`` region of each patch.
        labels: ``(N,)`` class of each patch.
        gnn_cfg: ``model`` (:func:`lulcbook.models.gnn.build_model` kwargs incl. ``name``) and
            ``fit`` (:func:`lulcbook.train.fit_gnn` kwargs).
        seeds: training seeds.

    Returns:
        ``(predictions: variant, seed, region, sample, y_true, y_pred;
        runs: variant, seed, region, n_train, seconds)``.
    """
    rows, runs = [], []
    mcfg = dict(gnn_cfg["model"])
    name = str(mcfg.pop("name", "GraphUNet"))
    for region in np.unique(regions):
        tr = np.flatnonzero(regions != region).tolist()
        te = np.flatnonzero(regions == region)
        scaler = G.FeatureScaler().fit([real[i] for i in tr])
        test = scaler.transform([real[int(i)] for i in te])
        for variant, extra in extras.items():
            graphs = [real[i] for i in tr] + ([] if extra is None else [extra[i] for i in tr])
            train_graphs = scaler.transform(graphs)
            for seed in seeds:
                train.set_seed(int(seed))
                model = gnn_models.build_model(
                    name, in_dim=int(test[0].x.shape[1]), n_classes=legend.N_CLASSES, **mcfg
                )
                t0 = time.perf_counter()
                train.fit_gnn(
                    model, train_graphs, None, seed=int(seed), progress=False, **gnn_cfg["fit"]
                )
                seconds = time.perf_counter() - t0
                pred = train.predict_gnn(model, test)
                assert isinstance(pred, Tensor)
                rows.append(
                    pd.DataFrame(
                        {
                            "variant": variant,
                            "seed": int(seed),
                            "region": region,
                            "sample": te,
                            "y_true": labels[te],
                            "y_pred": pred.argmax(1).numpy(),
                        }
                    )
                )
                runs.append(
                    {
                        "variant": variant,
                        "seed": int(seed),
                        "region": region,
                        "n_train": len(graphs),
                        "seconds": seconds,
                    }
                )
    return pd.concat(rows, ignore_index=True), pd.DataFrame(runs)


def _seed_matrix(pred: pd.DataFrame, variant: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference ``(n,)``, regions ``(n,)`` and predictions ``(n_seeds, n)`` of a variant."""
    sub = pred[pred["variant"] == variant]
    wide = sub.pivot_table(
        index=["region", "sample"], columns="seed", values="y_pred", aggfunc="first"
    ).sort_index()
    truth = sub.groupby(["region", "sample"])["y_true"].first().loc[wide.index]
    regions = wide.index.get_level_values("region").to_numpy()
    return truth.to_numpy(int), regions, wide.to_numpy(int).T


def augmentation_summary(
    pred: pd.DataFrame, baseline: str = "real_only", n_boot: int = 1000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Seed-averaged out-of-region macro-F1 per variant with paired bootstrap intervals.

    Patches are resampled within their held-out region (so every region keeps its weight), the
    same resample for every variant and seed; the change against ``baseline`` is computed on
    each resample (paired). Macro-F1 averages over the classes present in the reference.

    Args:
        pred: predictions of :func:`augmentation_folds`.
        baseline: the variant changes are measured against.
        n_boot: bootstrap resamples.
        seed: seed of the resamples.

    Returns:
        ``{variant: {"macro_f1", "macro_f1_ci95", "oa", "delta_macro_f1",
        "delta_macro_f1_ci95", "delta_by_region", "n_seeds"}}``.

    Raises:
        KeyError: if ``baseline`` has no predictions.
    """
    variants = list(dict.fromkeys(pred["variant"]))
    if baseline not in variants:
        raise KeyError(f"Baseline {baseline!r} not among variants {variants}")
    y, regions, base = _seed_matrix(pred, baseline)
    labels = np.unique(y)

    def score(idx: np.ndarray, p: np.ndarray) -> float:
        return float(np.mean([evaluate.macro_f1(y[idx], s[idx], labels) for s in p]))

    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(regions == r) for r in np.unique(regions)]
    draws = [np.concatenate([rng.choice(g, g.size) for g in groups]) for _ in range(n_boot)]
    full = np.arange(y.size)
    base_boot = np.array([score(i, base) for i in draws])
    out: dict[str, dict[str, Any]] = {}
    for v in variants:
        yv, _, p = _seed_matrix(pred, v)
        if not np.array_equal(yv, y):
            raise ValueError(f"Variant {v!r} was not tested on the same patches as {baseline!r}")
        boot = np.array([score(i, p) for i in draws])
        delta = boot - base_boot
        by_region = {
            str(r): score(np.flatnonzero(regions == r), p)
            - score(np.flatnonzero(regions == r), base)
            for r in np.unique(regions)
        }
        out[v] = {
            "macro_f1": score(full, p),
            "macro_f1_ci95": [float(x) for x in np.percentile(boot, [2.5, 97.5])],
            "oa": float(np.mean([(s == y).mean() for s in p])),
            "delta_macro_f1": score(full, p) - score(full, base),
            "delta_macro_f1_ci95": [float(x) for x in np.percentile(delta, [2.5, 97.5])],
            "delta_by_region": by_region,
            "n_seeds": int(p.shape[0]),
        }
    return out


def verdict(name: str, res: Mapping[str, Any], baseline: str = "real_only") -> str:
    """One sentence on a variant's change against the baseline, generated from its interval.

    Args:
        name: the variant.
        res: its entry of :func:`augmentation_summary`.
        baseline: the baseline's name.

    Returns:
        The sentence.
    """
    lo, hi = res["delta_macro_f1_ci95"]
    d = res["delta_macro_f1"]
    what = {
        1: "improves",
        -1: "lowers",
        0: "does not change detectably (the 95 % interval includes 0)",
    }[interval_side((lo, hi))]
    return (
        f"{name} {what} out-of-region macro-F1 against {baseline}: "
        f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}] ({res['n_seeds']} seeds)."
    )


# --------------------------------------------------------------------------- notebook steps
def loss_figure(losses: Sequence[float]) -> Any:
    """The training loss per step with its rolling mean (a twentieth of the steps)."""
    import hvplot.pandas  # noqa: F401  (registers DataFrame.hvplot)

    curve = pd.DataFrame({"step": np.arange(len(losses)), "loss": losses})
    curve["smoothed"] = curve["loss"].rolling(max(1, len(losses) // 20), min_periods=1).mean()
    return curve.hvplot.line(
        "step",
        ["loss", "smoothed"],
        ylabel="MSE",
        title="Diffusion autoencoder training loss (v-prediction)",
    )


@dataclass(frozen=True)
class RoundTrip:
    """Round-trip reflectance RMSE of encode → invert → decode under the same climate.

    Attributes:
        by_steps: RMSE at the edit strength, by number of DDIM steps.
        pure_noise: RMSE when inverting to pure noise with the most steps.
        pure_noise_steps: that number of steps.
        reflectance_std: standard deviation of the reflectance of the patches used.
    """

    by_steps: dict[int, float]
    pure_noise: float
    pure_noise_steps: int
    reflectance_std: float


def roundtrip_study(
    model: diffusion.ClimateDiffusion,
    data: PatchData,
    n: int,
    steps: Sequence[int],
    strength: float,
) -> RoundTrip:
    """Round-trip RMSE on the first ``n`` patches with climate, for each number of ``steps``."""
    idx = np.flatnonzero(data.valid)[:n]
    lc_map = data.lc_tensor[idx]
    x, cond = data.x[idx], data.cond[idx]
    by_steps = {
        s: diffusion.roundtrip_rmse(model, x, cond, data.band_scaler, s, strength, lc_map)
        for s in sorted(steps)
    }
    most = max(by_steps)
    pure = diffusion.roundtrip_rmse(model, x, cond, data.band_scaler, most, 1.0, lc_map)
    return RoundTrip(by_steps, pure, most, float(x.std()))


def generate_samples(
    model: diffusion.ClimateDiffusion, data: PatchData, steps: int, guidance: float, seed: int
) -> np.ndarray:
    """One simulated patch per patch, from new noise with its code, land-cover map and climate."""
    with torch.no_grad():
        codes = model.encode(data.z)
    shape = (int(data.x.shape[1]), int(data.x.shape[2]), int(data.x.shape[3]))
    out = model.sample(
        data.cond, shape, steps, guidance, seed, semantic=codes, lc_map=data.lc_tensor
    )
    generated: np.ndarray = data.band_scaler.inverse(out).numpy()
    return generated


def detector(
    real: np.ndarray, other: np.ndarray, bands: Sequence[str], n_boot: int, seed: int
) -> dict[str, Any]:
    """Held-out AUC of the realism detector (:func:`lulcbook.augment.realism_features`)."""
    return augment.detector_auc(
        real, other, lambda a: augment.realism_features(a, bands), n_boot=n_boot, seed=seed
    )


def realism_study(
    x: np.ndarray,
    generated: np.ndarray,
    old: np.ndarray,
    bands: Sequence[str],
    n_boot: int,
    seed: int,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, float]]]:
    """Realism detector AUCs and pixel statistics of the generated sets against real patches.

    Rows: two random halves of the real patches (the control), the earlier DDPM's samples
    ``old`` and the autoencoder's ``generated`` samples.

    Returns:
        ``(detector results, pixel statistics)`` by row.
    """
    half = np.random.default_rng(seed).permutation(len(x))
    aucs = {
        "real_half_vs_half": detector(x[half[::2]], x[half[1::2]], bands, n_boot, seed),
        "ddpm400_no_encoder": detector(x, old, bands, n_boot, seed),
        "autoencoder_samples": detector(x, generated, bands, n_boot, seed),
    }
    sets = {
        "real_half_vs_half": (x[half[::2]], x[half[1::2]]),
        "ddpm400_no_encoder": (old, x),
        "autoencoder_samples": (generated, x),
    }
    stats = {}
    for name, (a, b) in sets.items():
        r = augment.realism(a, b, bands, seed)
        stats[name] = {
            "wasserstein_mean": r["wasserstein_mean"],
            "ks_mean": r["ks_mean"],
            "kid": r["kid"],
            "kid_std": r["kid_std"],
            "spectrum_distance": float(
                np.mean(list(augment.spectrum_distance(a, b, bands).values()))
            ),
        }
    return aucs, stats


def generated_figure(
    x: np.ndarray, generated: np.ndarray, old: np.ndarray, y: np.ndarray, bands: Sequence[str]
) -> Any:
    """Real patches above their simulated counterparts and the earlier model's samples."""
    n = min(6, len(generated), len(old))
    rows = [list(x[:n]), list(generated[:n]), list(old[:n])]
    titles = [
        [f"real · {legend.KEYS[y[i]]}" for i in range(n)],
        ["simulated (autoencoder)"] * n,
        ["simulated (DDPM, 400 steps)"] * n,
    ]
    return viz.image_grid(
        rows,
        list(bands),
        titles,
        suptitle="Real patches, simulated patches with their codes and maps, earlier model",
    )


def spectra_figure(x: np.ndarray, generated: np.ndarray, old: np.ndarray) -> Any:
    """Radially averaged power spectra (mean over bands) of real and simulated patches."""
    import hvplot.pandas  # noqa: F401  (registers DataFrame.hvplot)

    sets = {"real": x, "autoencoder (simulated)": generated, "DDPM 400 steps (simulated)": old}
    spec = {name: augment.radial_power_spectrum(a).mean(axis=(0, 1)) for name, a in sets.items()}
    ring = "frequency ring (low → high)"
    return (
        pd.DataFrame(spec)
        .rename_axis(ring)
        .reset_index()
        .hvplot.line(
            ring,
            list(spec),
            ylabel="log10 power (mean over bands)",
            title="Radially averaged power spectra: real vs simulated patches",
        )
    )


def augmentation_sets(
    model: diffusion.ClimateDiffusion,
    data: PatchData,
    jitter: Mapping[str, Any],
    steps: int,
    guidance: float,
    strength: float,
    seed: int,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The three augmentation sets, one edit per patch in patch order.

    ``climate_swap`` edits each patch to the climate of a random patch of another region;
    ``same_climate`` runs the same edit under the patch's own climate; ``colour_jitter``
    draws a random per-band gain and offset.

    Returns:
        ``(sets by name, index of each patch's target-climate patch)``.
    """
    x, cond, lc = data.x, data.cond, data.lc_tensor
    src, tgt = augment.climate_swap_targets(data.regions, data.valid, np.arange(len(x)), 1, seed)
    if not np.array_equal(src, np.arange(len(x))):
        raise ValueError("climate_swap_targets must give one edit per patch, in patch order")
    args = (data.band_scaler, steps, guidance, strength)
    sets = {
        "colour_jitter": augment.colour_jitter(x, seed=seed, **jitter),
        "same_climate": diffusion.edit_patches(model, x, cond, cond, *args, lc_map=lc),
        "climate_swap": diffusion.edit_patches(model, x, cond, cond[tgt], *args, lc_map=lc),
    }
    return sets, tgt


def region_edit_figures(
    model: diffusion.ClimateDiffusion,
    data: PatchData,
    steps: int,
    guidance: float,
    strength: float,
) -> dict[str, Any]:
    """One patch of each class edited to each region's mean climate (RGB and false colour).

    Returns:
        The figures by name (``rgb``, ``false-colour``).
    """
    x, y, regions, valid, cond = data.x, data.y, data.regions, data.valid, data.cond
    targets = {
        r: cond[valid & (regions == r)].mean(0)
        for r in np.unique(regions)
        if (valid & (regions == r)).any()
    }
    show = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)]
    src = np.repeat(show, len(targets))
    tgt = torch.stack(list(targets.values())).repeat(len(show), 1)
    args = (data.band_scaler, steps, guidance, strength)
    edits = diffusion.edit_patches(model, x[src], cond[src], tgt, *args, lc_map=data.lc_tensor[src])
    grid = edits.reshape(len(show), len(targets), *x.shape[1:])
    rows = [[x[i], *grid[k]] for k, i in enumerate(show)]
    titles = [
        [
            f"{legend.KEYS[y[i]]} · real ({regions[i]})",
            *(f"→ {r} climate (simulated)" for r in targets),
        ]
        for i in show
    ]
    combos = {"rgb": ("B04", "B03", "B02"), "false-colour": ("B08", "B04", "B03")}
    suptitle = "Real patches and simulated edits to each region's mean climate ({})"
    return {
        name: viz.image_grid(rows, data.bands, titles, combo, suptitle=suptitle.format(name))
        for name, combo in combos.items()
    }


def climate_transfer(
    reg: ClimateRegressor, data: PatchData
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """The regressor's R² on the real patches (per-band means) against their WorldClim climate.

    Returns:
        ``(standardised BIO of each patch, per-band means of each patch, R² per BIO)``.
    """
    bio_cols = [list(worldclim.BIO_NAMES).index(b) for b in reg.bios]
    patch_z = reg.standardise(data.climate[:, bio_cols])
    f_real = augment.band_means(data.x, data.bands)
    ok = np.isfinite(patch_z).all(1)
    pred = reg.model.predict(f_real[ok])
    r2 = [
        float(
            1
            - ((pred[:, k] - patch_z[ok, k]) ** 2).sum()
            / ((patch_z[ok, k] - patch_z[ok, k].mean()) ** 2).sum()
        )
        for k in range(len(reg.bios))
    ]
    return patch_z, f_real, r2


def faithfulness_study(
    reg: ClimateRegressor,
    data: PatchData,
    sets: Mapping[str, np.ndarray],
    tgt: np.ndarray,
    patch_z: np.ndarray,
    f_real: np.ndarray,
) -> dict[str, dict[str, float]]:
    """Does each set's predicted climate move toward its target's (patches with both climates)?"""
    ok = data.valid & data.valid[tgt]
    return {
        name: augment.faithfulness(
            reg.model,
            f_real[ok],
            augment.band_means(p, data.bands)[ok],
            patch_z[ok],
            patch_z[tgt][ok],
        )
        for name, p in sets.items()
    }


def augmentation_figure(results: Mapping[str, Mapping[str, Any]]) -> Any:
    """Change in macro-F1 of each variant against ``real_only`` with its paired 95 % interval."""
    import holoviews as hv

    rows = [
        (
            k,
            v["delta_macro_f1"],
            v["delta_macro_f1"] - v["delta_macro_f1_ci95"][0],
            v["delta_macro_f1_ci95"][1] - v["delta_macro_f1"],
        )
        for k, v in results.items()
        if k != "real_only"
    ]
    fig = (
        hv.ErrorBars(rows, kdims="variant", vdims=["delta", "lo", "hi"])
        * hv.Scatter([r[:2] for r in rows], "variant", "delta")
        * hv.HLine(0).opts(color="grey")
    ).opts(title="Leave-region-out GNN: change in macro-F1 against real only (paired 95 % CI)")
    return fig.opts(fig_inches=(7, 3.5), backend="matplotlib").opts(width=650, backend="bokeh")


def auc_sentence(name: str, d: Mapping[str, Any]) -> str:
    """Whether the detector tells a set from real patches, from its AUC interval."""
    lo, hi = d["auc_ci95"]
    if lo > 0.5:
        what = "the detector tells them from real patches"
    else:
        what = "the detector cannot tell them from real patches (interval includes 0.5)"
    return f"{name}: held-out AUC {d['auc']:.3f} [{lo:.3f}, {hi:.3f}] — {what}."


def diffusion_verdicts(
    detector_aucs: Mapping[str, Mapping[str, Any]],
    reg: ClimateRegressor,
    transfer_r2: Sequence[float],
    faith: Mapping[str, Mapping[str, float]],
    preserved: Mapping[str, float],
    results: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    """The verdict sentences of the notebook, generated from its numbers.

    Realism per detector row, the climate regressor and the faithfulness of climate-swap edits
    against the controls, label preservation, and the augmentation verdicts (:func:`verdict`).
    """
    swap_gain = faith["climate_swap"]["shift_gain"]
    ctrl_gain = max(faith["same_climate"]["shift_gain"], faith["colour_jitter"]["shift_gain"])
    verdicts = [auc_sentence(k, v) for k, v in detector_aucs.items()]
    sees = np.mean(transfer_r2) > 0.1
    verdicts.append(
        f"Climate regressor: LUCAS blocked-CV R² {np.mean(reg.cv_r2):.3f} "
        f"(mean over {', '.join(reg.bios)}), {np.mean(transfer_r2):.3f} on the real patches"
        + (
            ""
            if sees
            else " — it does not see climate on these single-date patches, so the faithfulness "
            "numbers below are not evidence either way"
        )
        + f"; climate-swap edits move the predicted climate {swap_gain:+.3f} of the way toward "
        f"the target (controls at most {ctrl_gain:+.3f}), "
        f"{faith['climate_swap']['frac_closer']:.0%} of edits get closer."
    )
    verdicts.append(
        f"Land-cover label kept by {preserved['climate_swap']:.0%} of climate-swap edits "
        f"({preserved['same_climate']:.0%} same-climate, {preserved['colour_jitter']:.0%} "
        "colour jitter)."
    )
    verdicts += [verdict(k, v) for k, v in results.items() if k != "real_only"]
    return verdicts


def regressor_metrics(reg: ClimateRegressor, transfer_r2: Sequence[float]) -> dict[str, Any]:
    """The climate regressor section of the metrics: BIO variables, points, R² per variable."""
    return {
        "bios": reg.bios,
        "n_points": reg.n_points,
        "block_km": reg.block_km,
        "cv_r2": dict(zip(reg.bios, reg.cv_r2, strict=True)),
        "patch_r2": dict(zip(reg.bios, transfer_r2, strict=True)),
    }


def augmentation_run_metrics(acfg: Mapping[str, Any], runs: pd.DataFrame) -> dict[str, Any]:
    """The augmentation section of the metrics: setting, model, seeds, runs and their time."""
    return {
        "setting": "leave-region-out",
        "model": acfg["model"]["name"],
        "seeds": list(acfg["seeds"]),
        "n_runs": len(runs),
        "seconds": float(runs["seconds"].sum()),
    }
