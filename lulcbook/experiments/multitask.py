"""Multi-task land cover + LAI on the BigEarthNet L2A patches, leave-country-out (notebook 09).

Data: the 14 BigEarthNet-S2 v1.0 L2A patches of the offline sample (6 countries), 10 bands at
10 m (20 m bands resampled). Land-cover supervision: each patch's CORINE 2018 multi-labels
mapped to legend classes (presence per class, patch level: sparse). LAI supervision: the
dense Sentinel-2 Toolbox LAI of the same patch (:mod:`lulcbook.lai`, default angles), NaN
where the method rejects a pixel.

Design:

* **Leave-country-out**: each country's patches are predicted by models trained on the other
  countries; three configurations (land cover only, LAI only, both) with the same seeds.
* **Metrics**: land cover — micro-F1 of class presence (threshold 0.5) over the held-out
  patches and the classes present in the sample; LAI — RMSE against the toolbox LAI over all
  held-out pixels.
* **Intervals**: percentile bootstrap resampling countries (the clusters) and seeds; the
  multi-task minus single-task differences are paired (same resamples). Six countries make
  these intervals wide and themselves uncertain.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import rasterio
import torch

from lulcbook import lai, legend, viz
from lulcbook.bands import S2_BANDS
from lulcbook.bootstrap import interval_side
from lulcbook.models.multitask import TrainConfig, predict, train_multitask

if TYPE_CHECKING:
    import xarray as xr

INPUT_BANDS: tuple[str, ...] = tuple(b for b in S2_BANDS if b not in ("B01", "B09", "B10"))
"""The ten bands at 10 m and 20 m (the 60 m atmospheric bands left out)."""
TILE_COUNTRY: dict[str, str] = {
    "29UPU": "Ireland",
    "29SND": "Portugal",
    "33UUP": "Austria",
    "34TEQ": "Serbia",
    "34TEP": "Serbia",
    "35WPN": "Finland",
    "35VNH": "Finland",
    "35VPK": "Finland",
    "35VLC": "Lithuania",
}
"""Sentinel-2 tile of each sample patch → country (from the sample's PROVENANCE.md)."""
CONFIGS: dict[str, tuple[float, float]] = {
    "lc_only": (1.0, 0.0),
    "lai_only": (0.0, 1.0),
    "multitask": (1.0, 1.0),
}


def country_of(tile_source: str) -> str:
    """The country of a patch from its source product name (``..._T33UUP_...``).

    Raises:
        ValueError: for a tile not in :data:`TILE_COUNTRY`.
    """
    for tile, country in TILE_COUNTRY.items():
        if f"_T{tile}_" in tile_source:
            return country
    raise ValueError(f"tile of {tile_source!r} not in TILE_COUNTRY")


def load_patches(sample_dir: Path) -> dict[str, Any]:
    """Inputs, labels, LAI targets and countries of the BigEarthNet patches.

    Returns:
        ``x`` (N, 10, H, W) reflectance, ``lc`` (N, K) presence, ``classes`` (K legend keys
        present in the sample), ``lai`` (N, H, W), ``lai_flags``, ``country`` (N,), ``names``,
        ``corine`` (labels per patch), ``dates``.
    """
    from lulcbook.sources.sample import read_bigearthnet

    arrays = read_bigearthnet(sample_dir, INPUT_BANDS)
    x = np.stack([a.values for a in arrays]).astype(np.float32)
    names = [a.attrs["name"] for a in arrays]
    meta = [
        json.loads(
            (Path(a.attrs["source"]) / f"{a.attrs['name']}_labels_metadata.json").read_text()
        )
        for a in arrays
    ]
    country = np.array([country_of(m["tile_source"]) for m in meta])
    keys = [k for k in legend.KEYS if any(k in a.attrs["legend_keys"] for a in arrays)]
    lc = np.array([[k in a.attrs["legend_keys"] for k in keys] for a in arrays], dtype=np.float32)
    band_idx = [INPUT_BANDS.index(b) for b in lai.BANDS]
    lai_maps, flags = [], []
    for a, m in zip(arrays, meta, strict=True):
        day = np.datetime64(m["acquisition_date"][:10]).astype(object)
        res = lai.compute_lai(a.values[band_idx], None, day=day, latitude=_latitude(a))
        lai_maps.append(res.lai.astype(np.float32))
        flags.append(res.flags)
    return {
        "x": x,
        "lc": lc,
        "classes": keys,
        "lai": np.stack(lai_maps),
        "lai_flags": np.stack(flags),
        "country": country,
        "names": names,
        "corine": [m["labels"] for m in meta],
        "dates": [m["acquisition_date"][:10] for m in meta],
    }


def _latitude(da: xr.DataArray) -> float:
    """Latitude in degrees of the centre of a georeferenced grid."""
    from rasterio.warp import transform

    xs, ys = float(da.x.mean()), float(da.y.mean())
    _, lat = transform(da.rio.crs, "EPSG:4326", [xs], [ys])
    return float(lat[0])


def standardise(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Standardise bands with the mean and std of the training patches (NaN → 0)."""
    mu = np.nanmean(x[train], axis=(0, 2, 3), keepdims=True)
    sd = np.nanstd(x[train], axis=(0, 2, 3), keepdims=True) + 1e-6
    result: np.ndarray = np.nan_to_num((x - mu) / sd)
    return result


def run_loco(data: dict[str, Any], cfg: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """Train every configuration × seed × held-out country; collect held-out predictions.

    Returns:
        ``probs[config][seed]`` (N, K) and ``lai_sse[config][seed]`` / ``lai_n`` (N,) per patch,
        ``seconds``.
    """
    torch.set_num_threads(1)
    countries = sorted(set(data["country"]))
    n, k = data["lc"].shape
    probs = {c: {s: np.full((n, k), np.nan) for s in seeds} for c in CONFIGS}
    sse = {c: {s: np.zeros(n) for s in seeds} for c in CONFIGS}
    count = np.isfinite(data["lai"]).reshape(n, -1).sum(axis=1)
    t0 = time.perf_counter()
    for held in countries:
        test = data["country"] == held
        train = ~test
        x = standardise(data["x"], train)
        for name, (wl, wa) in CONFIGS.items():
            tc = TrainConfig(lc_weight=wl, lai_weight=wa, **cfg)
            for s in seeds:
                model = train_multitask(x[train], data["lc"][train], data["lai"][train], tc, seed=s)
                p, l_pred = predict(model, x[test], tc.lai_scale)
                probs[name][s][test] = p
                err = (l_pred - data["lai"][test]) ** 2
                sse[name][s][test] = np.nansum(err.reshape(err.shape[0], -1), axis=1)
    return {"probs": probs, "lai_sse": sse, "lai_n": count, "seconds": time.perf_counter() - t0}


def micro_f1(y: np.ndarray, p: np.ndarray) -> float:
    """Micro-F1 of 0/1 presence ``y`` against probabilities ``p`` (threshold 0.5)."""
    pred = p >= 0.5
    tp = float((pred & (y > 0)).sum())
    fp = float((pred & (y == 0)).sum())
    fn = float((~pred & (y > 0)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def _metrics(
    data: dict[str, Any], res: dict[str, Any], patches: np.ndarray, seeds: list[int]
) -> dict[str, float]:
    y = data["lc"][patches]
    out: dict[str, float] = {}
    for c in CONFIGS:
        if CONFIGS[c][0] > 0:
            out[f"{c}_f1"] = micro_f1(
                np.concatenate([y] * len(seeds)),
                np.concatenate([res["probs"][c][s][patches] for s in seeds]),
            )
        if CONFIGS[c][1] > 0:
            sse = sum(res["lai_sse"][c][s][patches].sum() for s in seeds)
            out[f"{c}_rmse"] = float(np.sqrt(sse / (res["lai_n"][patches].sum() * len(seeds))))
    out["diff_f1"] = out["multitask_f1"] - out["lc_only_f1"]
    out["diff_rmse"] = out["multitask_rmse"] - out["lai_only_rmse"]
    return out


def summarise(
    data: dict[str, Any], res: dict[str, Any], seeds: list[int], n_boot: int, boot_seed: int
) -> dict[str, Any]:
    """Point estimates and country × seed bootstrap intervals (95 %) of all metrics."""
    countries = np.array(sorted(set(data["country"])))
    every = np.arange(len(data["country"]))
    point = _metrics(data, res, every, seeds)
    rng = np.random.default_rng(boot_seed)
    reps: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(n_boot):
        cs = rng.choice(countries, size=len(countries), replace=True)
        patches = np.concatenate([every[data["country"] == c] for c in cs])
        ss = list(rng.choice(seeds, size=len(seeds), replace=True))
        for k, v in _metrics(data, res, patches, ss).items():
            reps[k].append(v)
    per_seed = {s: {k: v for k, v in _metrics(data, res, every, [s]).items()} for s in seeds}
    out: dict[str, Any] = {}
    for k, v in point.items():
        lo, hi = np.nanpercentile(reps[k], [2.5, 97.5])
        out[k] = {
            "estimate": v,
            "lo": float(lo),
            "hi": float(hi),
            "ci": [float(lo), float(hi)],
            "per_seed": [per_seed[s][k] for s in seeds],
        }
    per_country = {}
    for c in countries:
        idx = every[data["country"] == c]
        per_country[str(c)] = {"n_patches": int(idx.size), **_metrics(data, res, idx, seeds)}
    out["per_country"] = per_country
    return out


def verdict(summary: dict[str, Any]) -> dict[str, str]:
    """Sentences generated from the intervals of the two paired differences."""

    def one(key: str, better_if_negative: bool, what: str, other: str) -> str:
        d = summary[key]
        lo, hi, est = d["lo"], d["hi"], d["estimate"]
        side = interval_side((lo, hi))
        if side:
            helps = (side < 0) == better_if_negative
            word = "improved" if helps else "worsened"
            return f"Adding the {other} task {word} {what} out of region ({est:+.3f}, 95 % interval {lo:+.3f} to {hi:+.3f})."
        return (
            f"Adding the {other} task changed {what} out of region by {est:+.3f} (95 % interval "
            f"{lo:+.3f} to {hi:+.3f}): no difference distinguishable with these patches."
        )

    return {
        "land_cover": one("diff_f1", False, "land-cover micro-F1", "LAI"),
        "lai": one("diff_rmse", True, "LAI RMSE", "land-cover"),
    }


def config_dict(cfg: dict[str, Any]) -> dict[str, Any]:
    """The training settings as stored in the metrics (defaults filled in)."""
    return asdict(TrainConfig(**cfg))


# --------------------------------------------------------------------------- notebook steps
PUBLISHED_LAI: dict[str, float] = {
    "global_mean": 4.5,
    "global_sd": 2.5,
    "biome_mean_min": 1.3,
    "biome_mean_max": 8.7,
}
"""Field-measured LAI (Asner, Scurlock & Hicke 2003, Global Ecology and Biogeography 12:
191-205): 1008 measurements, 15 biomes; mean after outlier screening and the range of biome
means."""


def lai_check() -> tuple[dict[str, Any], str]:
    """The LAI network against its published test cases: the errors and a sentence on them."""
    net = lai.load_network()
    x_ref, lai_ref = net.test_cases[:, :11], net.test_cases[:, 11]
    err = np.abs(lai.network_output(x_ref) - lai_ref)
    check = {
        "n_cases": int(len(lai_ref)),
        "max_abs_error": float(np.max(err)),
        "mean_abs_error": float(np.mean(err)),
        "reference_range": [float(lai_ref.min()), float(lai_ref.max())],
        "source": net.provenance["repository"],
    }
    lo, hi = check["reference_range"]
    text = (
        f"On {check['n_cases']} published test cases (LAI {lo:.2f}–{hi:.2f}) the implementation "
        f"differs from the reference by at most {check['max_abs_error']:.1e} LAI units "
        f"(mean {check['mean_abs_error']:.1e})."
    )
    return check, text


def lai_per_label(patch_dirs: Sequence[Path], lai_dir: Path) -> pd.DataFrame:
    """Median and 10–90 % range of pixel LAI per CORINE label, sorted by median.

    A patch's valid pixels count under every label it carries.

    Args:
        patch_dirs: the BigEarthNet patch folders (with ``NAME_labels_metadata.json``).
        lai_dir: where the LAI product of each patch is (``NAME.tif``).
    """
    per_label: dict[str, list[np.ndarray]] = {}
    for folder in patch_dirs:
        with rasterio.open(lai_dir / f"{folder.name}.tif") as src:
            v = src.read(1).ravel()
        v = v[np.isfinite(v)]
        meta_file = folder / f"{folder.name}_labels_metadata.json"
        for lbl in json.loads(meta_file.read_text())["labels"]:
            per_label.setdefault(lbl, []).append(v)
    rows = []
    for k, vs in per_label.items():
        v = np.concatenate(vs)
        rows.append(
            {
                "label": k,
                "n_patches": len(vs),
                "median": float(np.median(v)),
                "lo": float(np.percentile(v, 10)),
                "hi": float(np.percentile(v, 90)),
            }
        )
    return pd.DataFrame(rows).sort_values("median")


def lai_distribution_text(
    dist: pd.DataFrame, published: Mapping[str, float] = PUBLISHED_LAI
) -> str:
    """How the label medians compare with the published biome means and global field mean."""
    lo_row, hi_row = dist.iloc[0], dist.iloc[-1]
    lo_b, hi_b = published["biome_mean_min"], published["biome_mean_max"]
    inside = int(((dist["median"] >= lo_b) & (dist["median"] <= hi_b)).sum())
    below = int((dist["median"] < published["global_mean"] - published["global_sd"]).sum())
    return (
        f"Median LAI per label ranges from {lo_row['median']:.2f} ({lo_row['label']}, "
        f"{lo_row['n_patches']} patches) to {hi_row['median']:.2f} ({hi_row['label']}, "
        f"{hi_row['n_patches']} patches). {inside} of {len(dist)} label medians lie within the "
        f"span of published biome means ({lo_b}–{hi_b}); {below} of {len(dist)} lie more than "
        "one standard deviation below the published global field mean "
        f"({published['global_mean']} ± {published['global_sd']})."
    )


def lai_label_figure(dist: pd.DataFrame) -> Any:
    """Median and 10–90 % range of LAI per CORINE label."""
    fig = viz.interval_plot(
        dist,
        "label",
        "median",
        ylabel="LAI (m² m⁻²)",
        title="Sentinel-2 Toolbox LAI per CORINE label (median, 10–90 %)",
    )
    return fig.opts(xrotation=60)


def multitask_metrics(
    data: Mapping[str, Any],
    summary: Mapping[str, Any],
    verdicts: Mapping[str, str],
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """The multi-task sections of the metrics: results, verdicts and the design."""
    return {
        "multitask": dict(summary),
        "verdicts": dict(verdicts),
        "design": {
            "patches": len(data["names"]),
            "countries": sorted(set(map(str, data["country"]))),
            "classes": data["classes"],
            "seeds": list(params["seeds"]),
            "train": config_dict(params["train"]),
            "n_boot": params["n_boot"],
        },
    }
