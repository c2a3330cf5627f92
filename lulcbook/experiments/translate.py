"""The translation study of notebook 05-translate: Landsat-8 OLI → Sentinel-2 MSI.

Four parts, each a function the notebook calls:

* spectral — the published HLS band-pass adjustment (:mod:`lulcbook.harmonise`) against a
  learned linear map and a per-pixel MLP (:mod:`lulcbook.models.translate`) on exactly paired
  spectra, leave-one-source-scene-out (:func:`leave_one_group_out`, :func:`compare_spectral`);
* spatial — bicubic + HLS against a U-Net on Landsat **simulated** from real Sentinel-2
  patches (:mod:`lulcbook.landsat_sim`), leave-region-out (:func:`spatial_leave_region_out`,
  :func:`spatial_scores`);
* land-cover consistency — a Sentinel-2 classifier on real Sentinel-2 against translated
  simulated Landsat (:func:`classify_tiles`, :func:`map_agreement`, :func:`land_cover_consistency`);
* real Landsat-8 chips — translated and classified without a reference (:func:`chip_summary`).

Every number goes into the notebook's metrics; the figure functions return matplotlib figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from lulcbook import evaluate, legend, viz
from lulcbook.bands import DEFAULT_BANDS
from lulcbook.harmonise import (
    HLS_APPROXIMATIONS,
    OLI_FOR_MSI,
    hls_bandpass_array,
    hls_coefficients,
)
from lulcbook.landsat_chips import crop_to_valid, dn_to_toa, translate_chip
from lulcbook.landsat_sim import bicubic_linear, psf_sigma, simulate_landsat, upsample_nearest
from lulcbook.models.translate import TranslateUNet, fit_ols, fit_spectral_mlp, fit_unet
from lulcbook.progress import progress as tqdm
from lulcbook.sources import sample

Fit = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]]
"""``fit(x_train, y_train) -> predict(x_test)``."""

SPATIAL_METHODS: tuple[str, ...] = ("bicubic_linear", "unet")
"""The spatial translators, baseline first."""

FOUR_BANDS: tuple[tuple[str, str], ...] = (
    ("blue", "B02"),
    ("green", "B03"),
    ("red", "B04"),
    ("nir08", "B08"),
)
"""The OLI band and the Sentinel-2 band of each of the classifier's four 10 m bands."""

RED_EDGE: tuple[str, ...] = ("B05", "B06", "B07")
"""Sentinel-2 red-edge bands, which have no OLI counterpart."""


def leave_one_group_out(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str] | np.ndarray,
    fit: Fit,
    progress: bool = True,
    desc: str = "folds",
) -> np.ndarray:
    """Out-of-fold predictions: for each group, ``fit`` on the others and predict it.

    Args:
        x: inputs ``(n, in)``.
        y: targets ``(n, out)``.
        groups: the group of each row (the source scene).
        fit: ``fit(x_train, y_train) -> predict(x_test)``.
        progress: show a progress bar.
        desc: the progress bar's name.

    Returns:
        ``(n, out)`` predictions, each made by a model that never saw its group.
    """
    group_of = np.asarray(groups)
    out = np.full(np.shape(y), np.nan, np.float32)
    for g in tqdm(list(dict.fromkeys(group_of.tolist())), desc=desc, disable=not progress):
        test = group_of == g
        predict = fit(x[~test], y[~test])
        out[test] = predict(x[test])
    return out


def spatial_leave_region_out(
    s2: np.ndarray,
    regions: Sequence[str],
    bands: Sequence[str] = DEFAULT_BANDS,
    satellite: str = "S2A",
    mtf_nyquist: float = 0.3,
    factor: int = 3,
    progress: bool = True,
    **unet_kwargs: Any,
) -> dict[str, Any]:
    """Simulate Landsat from Sentinel-2 patches and translate it back, leave-region-out.

    For every region the U-Net is trained on the patches of all other regions and applied to
    that region, so each U-Net output comes from a model that never saw its region.

    Args:
        s2: real Sentinel-2 patches ``(n, band, y, x)``.
        regions: the region of each patch.
        bands: the Sentinel-2 band names of ``s2``.
        satellite: Sentinel-2 satellite of the HLS coefficients.
        mtf_nyquist: system MTF at the 30 m Nyquist frequency of the simulation.
        factor: resolution ratio (30 m / 10 m).
        progress: show progress bars.
        **unet_kwargs: passed to :func:`fit_unet`.

    Returns:
        ``{"landsat_sim": (n, oli_band, y/3, x/3) SIMULATED Landsat, "bicubic_linear": baseline,
        "unet": out-of-region U-Net output}`` (both on the 10 m grid of ``s2``) and
        ``"models"``: the trained U-Net of each region's fold, in sorted region order.
    """
    s2 = np.asarray(s2, np.float32)
    lowres, oli_bands = simulate_landsat(s2, bands, satellite, mtf_nyquist, factor)
    base = bicubic_linear(lowres, oli_bands, s2.shape[-2:], bands, satellite, factor)
    region_of = np.asarray(regions).astype(str)
    out = np.full_like(s2, np.nan)
    models = []
    for name in tqdm(sorted(set(region_of)), desc="regions", disable=not progress):
        test = region_of == name
        models.append(fit_unet(base[~test], s2[~test], progress=progress, **unet_kwargs))
        out[test] = models[-1].predict(base[test])
    return {"landsat_sim": lowres, "bicubic_linear": base, "unet": out, "models": models}


def classify_tiles(classifier: Any, tiles: np.ndarray, progress: bool = True) -> np.ndarray:
    """Classify tiles ``(n, band, y, x)`` with a ``SegmentClassifier``; legend-index maps.

    Returns:
        ``(n, y, x)`` uint8 legend indices (:mod:`lulcbook.legend`), ``legend.NODATA`` where
        the input is invalid.
    """
    to_legend = np.array([legend.index_of(c) for c in classifier.classes], dtype=np.uint8)
    tiles = np.asarray(tiles, np.float32)
    out = np.full((tiles.shape[0], *tiles.shape[-2:]), legend.NODATA, np.uint8)
    for i in tqdm(range(tiles.shape[0]), desc="classify", disable=not progress, leave=False):
        proba = classifier.predict_proba(tiles[i])
        ok = np.isfinite(proba).all(axis=0)
        out[i][ok] = to_legend[np.argmax(proba[:, ok], axis=0)]
    return out


def map_agreement(
    reference: np.ndarray,
    maps: np.ndarray,
    points: tuple[np.ndarray, np.ndarray] | None = None,
    labels: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Agreement of class maps with reference maps, at the labelled pixels and over the patches.

    Args:
        reference: ``(n, y, x)`` legend indices (e.g. the classification of real Sentinel-2).
        maps: ``(n, y, x)`` legend indices to compare (e.g. of translated simulated Landsat).
        points: ``(rows, cols)`` of the labelled pixel of each patch (``None``: patch only).
        labels: classes over which macro-F1 is averaged (default: those in the reference).

    Returns:
        ``{"pixel": metrics, "patch": metrics}`` with
        :func:`lulcbook.evaluate.classification_metrics` (OA, macro-F1, per-class F1), both
        ignoring ``legend.NODATA``.
    """
    reference, maps = np.asarray(reference), np.asarray(maps)
    if reference.shape != maps.shape:
        raise ValueError(f"reference {reference.shape} and maps {maps.shape} differ in shape")
    out: dict[str, Any] = {}
    if points is not None:
        n = np.arange(reference.shape[0])
        r, m = reference[n, points[0], points[1]], maps[n, points[0], points[1]]
        ok = (r != legend.NODATA) & (m != legend.NODATA)
        out["pixel"] = evaluate.classification_metrics(r[ok].astype(int), m[ok].astype(int), labels)
    ok = (reference != legend.NODATA) & (maps != legend.NODATA)
    out["patch"] = evaluate.classification_metrics(
        reference[ok].astype(int), maps[ok].astype(int), labels
    )
    return out


def hls_coefficient_table(satellite: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The published HLS coefficients and their inverse, as a table and a metrics block.

    Args:
        satellite: ``"S2A"`` or ``"S2B"``.

    Returns:
        A table with one row per MSI band and the ``hls_coefficients`` metrics block.
    """
    pub = hls_coefficients(satellite, "msi_to_oli")
    inv = hls_coefficients(satellite, "oli_to_msi")
    table = pd.DataFrame(
        {
            b: {
                "OLI band": OLI_FOR_MSI[b],
                "published slope": pub[b][0],
                "published offset": pub[b][1],
                "OLI→MSI slope": inv[b][0],
                "OLI→MSI intercept": inv[b][1],
                "coefficients": f"of {HLS_APPROXIMATIONS[b]} (approximation)"
                if b in HLS_APPROXIMATIONS
                else "published",
            }
            for b in pub
        }
    ).T
    block = {
        "satellite": satellite,
        "msi_to_oli": pub,
        "oli_to_msi": inv,
        "approximations": HLS_APPROXIMATIONS,
    }
    return table, block


def mlp_fit(**kwargs: Any) -> Fit:
    """A :data:`Fit` that trains :func:`~lulcbook.models.translate.fit_spectral_mlp`.

    Args:
        **kwargs: passed to ``fit_spectral_mlp`` (hidden, depth, epochs, seed, ...).

    Returns:
        ``fit(x, y) -> predict``.
    """

    def fit(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return fit_spectral_mlp(x, y, **kwargs).predict

    return fit


def _scored(pred: np.ndarray, true: np.ndarray, bands: Sequence[str]) -> dict[str, Any]:
    """Spectral metrics of a per-pixel translator (no PSNR or SSIM for spectra)."""
    return {**evaluate.spectral_metrics(pred, true, bands), "psnr": None, "ssim": None}


@dataclass(frozen=True)
class SpectralComparison:
    """The spectral translators scored leave-one-source-scene-out.

    Attributes:
        bands: the MSI bands scored (those with an OLI counterpart).
        predictions: out-of-scene predictions on ``bands`` of each translator.
        methods: the metrics of each translator (``spectral/NAME`` in the metrics file).
        red_edge: metrics of the learned models on the red-edge bands.
        per_scene: RMSE of each translator (columns) on each scene (rows).
        n_spectra: paired spectra.
    """

    bands: list[str]
    predictions: dict[str, np.ndarray]
    methods: dict[str, dict[str, Any]]
    red_edge: dict[str, dict[str, Any]]
    per_scene: pd.DataFrame
    n_spectra: int


def compare_spectral(
    pairs: xr.Dataset, satellite: str, mlp_kwargs: Mapping[str, Any]
) -> SpectralComparison:
    """HLS, a learned linear map and the MLP on all paired bands, leave-one-scene-out.

    Args:
        pairs: paired spectra (:func:`lulcbook.sources.spectra.read_paired_spectra`).
        satellite: Sentinel-2 satellite of the HLS coefficients.
        mlp_kwargs: passed to :func:`~lulcbook.models.translate.fit_spectral_mlp`.

    Returns:
        The scores of ``hls_linear``, ``ols_linear`` and ``mlp``.
    """
    x, y, scene = pairs["source"].values, pairs["target"].values, pairs["scene"].values
    src, tgt = (
        [str(b) for b in pairs["source_band"].values],
        [str(b) for b in pairs["target_band"].values],
    )
    common = [b for b in tgt if b in OLI_FOR_MSI]  # MSI bands with an OLI counterpart
    ci = [tgt.index(b) for b in common]
    ols_full = leave_one_group_out(x, y, scene, fit_ols, desc="OLS, scene folds")
    mlp_full = leave_one_group_out(x, y, scene, mlp_fit(**mlp_kwargs), desc="MLP, scene folds")
    preds = {
        "hls_linear": hls_bandpass_array(x, src, common, satellite, axis=1),
        "ols_linear": ols_full[:, ci],
        "mlp": mlp_full[:, ci],
    }
    red_edge = [b for b in RED_EDGE if b in tgt]
    ri = [tgt.index(b) for b in red_edge]
    per_scene = pd.DataFrame(
        {
            n: {
                s: float(evaluate.rmse(p[scene == s], y[scene == s][:, ci]))
                for s in np.unique(scene)
            }
            for n, p in preds.items()
        }
    )
    return SpectralComparison(
        bands=common,
        predictions=preds,
        methods={n: _scored(p, y[:, ci], common) for n, p in preds.items()},
        red_edge={
            n: evaluate.spectral_metrics(p[:, ri], y[:, ri], red_edge)
            for n, p in {"ols_linear": ols_full, "mlp": mlp_full}.items()
        },
        per_scene=per_scene,
        n_spectra=len(x),
    )


def compare_spectral_4band(
    pairs: xr.Dataset, satellite: str, mlp_kwargs: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """The spectral comparison on the classifier's four 10 m bands (:data:`FOUR_BANDS`).

    Args:
        pairs: paired spectra (:func:`lulcbook.sources.spectra.read_paired_spectra`).
        satellite: Sentinel-2 satellite of the HLS coefficients.
        mlp_kwargs: passed to :func:`~lulcbook.models.translate.fit_spectral_mlp`.

    Returns:
        The metrics of ``hls_linear``, ``ols_linear`` and ``mlp`` (``spectral_4band/NAME``).
    """
    src = [str(b) for b in pairs["source_band"].values]
    tgt = [str(b) for b in pairs["target_band"].values]
    in4, out4 = [o for o, _ in FOUR_BANDS], [m for _, m in FOUR_BANDS]
    x4 = pairs["source"].values[:, [src.index(b) for b in in4]]
    y4 = pairs["target"].values[:, [tgt.index(b) for b in out4]]
    scene = pairs["scene"].values
    preds = {
        "hls_linear": hls_bandpass_array(x4, in4, out4, satellite, axis=1),
        "ols_linear": leave_one_group_out(x4, y4, scene, fit_ols, desc="OLS 4-band"),
        "mlp": leave_one_group_out(x4, y4, scene, mlp_fit(**mlp_kwargs), desc="MLP 4-band"),
    }
    return {n: _scored(p, y4, out4) for n, p in preds.items()}


def metric_table(
    methods: Mapping[str, Mapping[str, Any]], keys: Sequence[str] = ("rmse", "mae", "sam")
) -> pd.DataFrame:
    """One row per method, one column per metric of ``keys``."""
    return pd.DataFrame({n: {k: m[k] for k in keys} for n, m in methods.items()}).T


def per_band_table(methods: Mapping[str, Mapping[str, Any]], key: str = "rmse") -> pd.DataFrame:
    """The metric ``key`` per band (rows) and method (columns)."""
    return pd.DataFrame(
        {n: {b: v[key] for b, v in m["per_band"].items()} for n, m in methods.items()}
    )


def per_band_figure(per_band: pd.DataFrame) -> Any:
    """Bar chart of the per-band RMSE of the spectral translators (a matplotlib figure)."""
    ax = per_band.plot.bar(
        rot=0,
        figsize=(8, 3.2),
        ylabel="RMSE (reflectance)",
        xlabel="Sentinel-2 band",
        title="L8 OLI → S2A MSI, leave-one-scene-out (spectra simulated from airborne spectra)",
    )
    return ax.figure


def simulation_summary(mtf_nyquist: float, factor: int) -> dict[str, Any]:
    """The simulation settings and the PSF width in metres (the ``simulation`` metrics block)."""
    return {
        "mtf_nyquist": mtf_nyquist,
        "factor": factor,
        "psf_sigma_m": psf_sigma(mtf_nyquist, 10.0 * factor) * 10,
        "simulated": True,
    }


def spatial_scores(
    sim: Mapping[str, Any], s2: np.ndarray, regions: np.ndarray, bands: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Image metrics of each spatial translator, overall and per held-out region.

    Args:
        sim: the result of :func:`spatial_leave_region_out`.
        s2: the real Sentinel-2 patches.
        regions: the region of each patch.
        bands: their band names.

    Returns:
        ``{name: metrics with "per_region"}`` for :data:`SPATIAL_METHODS` (``spatial/NAME``).
    """
    out: dict[str, dict[str, Any]] = {}
    for name in SPATIAL_METHODS:
        m = evaluate.image_metrics(sim[name], s2, bands)
        m["per_region"] = {
            r: {
                k: v
                for k, v in evaluate.image_metrics(
                    sim[name][regions == r], s2[regions == r], bands
                ).items()
                if k != "per_band"
            }
            for r in sorted(set(regions))
        }
        out[name] = m
    return out


def per_region_table(spatial: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """RMSE, SAM and SSIM per held-out region (rows) and translator (column groups)."""
    return pd.concat(
        {n: pd.DataFrame(m["per_region"]).T[["rmse", "sam", "ssim"]] for n, m in spatial.items()},
        axis=1,
    )


def simulated_examples_figure(
    s2: np.ndarray, sim: Mapping[str, Any], regions: np.ndarray, bands: list[str], factor: int
) -> Any:
    """One patch per region: real Sentinel-2, simulated Landsat, bicubic + HLS and U-Net.

    Returns:
        A matplotlib figure (:func:`lulcbook.viz.image_grid`).
    """
    show = [int(np.flatnonzero(regions == r)[0]) for r in sorted(set(regions))]
    # OLI blue, green, red, NIR order
    near = upsample_nearest(sim["landsat_sim"], s2.shape[-2:], factor)
    rows = [[s2[i], near[i], sim["bicubic_linear"][i], sim["unet"][i]] for i in show]
    titles = [
        [f"S2 real · {regions[i]}", "Landsat SIMULATED 30 m (OLI)", "bicubic + HLS", "U-Net"]
        for i in show
    ]
    return viz.image_grid(
        rows,
        bands,
        titles,
        suptitle="SIMULATED Landsat-8 from real Sentinel-2, translated back (held-out regions)",
    )


@dataclass(frozen=True)
class Consistency:
    """Land-cover maps of real Sentinel-2 and translated simulated Landsat, and their agreement.

    Attributes:
        idx: the classified patches (indices into the patch dataset).
        maps: ``(n, y, x)`` legend-index maps of ``sentinel2`` and each spatial translator.
        agreement: :func:`map_agreement` with the Sentinel-2 maps, by ``spatial/NAME``.
        label_accuracy: accuracy at the labelled pixel against the labels of the validation
            split, by input.
        metrics: the ``consistency`` metrics block.
    """

    idx: np.ndarray
    maps: dict[str, np.ndarray]
    agreement: dict[str, dict[str, Any]]
    label_accuracy: dict[str, dict[str, Any]]
    metrics: dict[str, Any]


def land_cover_consistency(
    classifier: Any, ds: xr.Dataset, sim: Mapping[str, Any], max_patches: int | None
) -> Consistency:
    """Classify real Sentinel-2 and both translations; agreement and accuracy at the labels.

    Args:
        classifier: a ``SegmentClassifier`` with the bands of the patches.
        ds: the patch dataset (reflectance, labels, points, splits).
        sim: the result of :func:`spatial_leave_region_out` on its reflectance.
        max_patches: patches to classify, spread over the dataset (``None``: all).

    Returns:
        The maps, agreements and accuracies.
    """
    s2 = ds["reflectance"].values
    n = max_patches or len(s2)
    idx = np.unique(np.linspace(0, len(s2) - 1, n).astype(int))  # spread over classes and regions
    inputs = {"sentinel2": s2, **{k: sim[k] for k in SPATIAL_METHODS}}
    maps = {k: classify_tiles(classifier, v[idx]) for k, v in inputs.items()}
    points = (ds["point_y"].values[idx], ds["point_x"].values[idx])
    labels = sorted(set(ds["label"].values[idx].tolist()))
    agreement = {
        f"spatial/{k}": map_agreement(maps["sentinel2"], maps[k], points, labels)
        for k in SPATIAL_METHODS
    }
    truth, val = ds["label"].values[idx], ds["split"].values[idx].astype(str) == "val"
    at_point = {k: m[np.arange(len(idx)), points[0], points[1]] for k, m in maps.items()}
    label_acc = {
        k: evaluate.classification_metrics(truth[val], p[val].astype(int), labels)
        for k, p in at_point.items()
    }
    block = {
        "reference": "02-gnn on real Sentinel-2",
        "n_patches": len(idx),
        **agreement,
        "label_accuracy_val": {
            k: {m: v[m] for m in ("oa", "macro_f1", "per_class_f1", "n")}
            for k, v in label_acc.items()
        },
    }
    return Consistency(idx, maps, agreement, label_acc, block)


def agreement_table(agreement: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """OA and macro-F1 of the agreement at the labelled pixel and over the patch."""
    return pd.DataFrame(
        {
            k: {
                "pixel OA": v["pixel"]["oa"],
                "pixel macro-F1": v["pixel"]["macro_f1"],
                "patch OA": v["patch"]["oa"],
                "patch macro-F1": v["patch"]["macro_f1"],
            }
            for k, v in agreement.items()
        }
    ).T


def label_accuracy_table(label_accuracy: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """OA, macro-F1 and the number of points of each input against the labels."""
    return pd.DataFrame(
        {
            k: {"OA": v["oa"], "macro-F1": v["macro_f1"], "n": v["n"]}
            for k, v in label_accuracy.items()
        }
    ).T


def consistency_figure(consistency: Consistency, regions: np.ndarray) -> Any:
    """One classified patch per region: real Sentinel-2 and both translations.

    Args:
        consistency: the result of :func:`land_cover_consistency`.
        regions: the region of every patch of the dataset.

    Returns:
        A matplotlib figure (:func:`lulcbook.viz.class_grid`).
    """
    reg = regions[consistency.idx]
    pos = [int(np.flatnonzero(reg == r)[0]) for r in sorted(set(reg))]
    rows = [[m[p] for m in consistency.maps.values()] for p in pos]
    titles = [
        [f"{k} · {reg[p]}" for k in ("S2 real", "bicubic+HLS (sim.)", "U-Net (sim.)")] for p in pos
    ]
    return viz.class_grid(
        rows, titles, suptitle="02-gnn land cover: real Sentinel-2 vs translated SIMULATED Landsat"
    )


def read_chips(
    sample_dir: str | Path, sun_elevation_deg: float, max_size: int | None
) -> dict[str, xr.DataArray]:
    """The real Landsat-8 chips as reflectance, cropped to their valid area.

    Lausanne is read as it is (reflectance); Poppendorf's digital numbers are converted to
    TOA reflectance with the ASSUMED sun elevation (:func:`~lulcbook.landsat_chips.dn_to_toa`).

    Args:
        sample_dir: the offline sample folder.
        sun_elevation_deg: the assumed sun elevation of the Poppendorf scene.
        max_size: crop each chip to at most this many pixels per side (``None``: whole).

    Returns:
        ``{"lausanne": chip, "poppendorf": chip}``.
    """
    chips = {
        "lausanne": sample.read_landsat_chip(sample_dir, "lausanne"),
        "poppendorf": dn_to_toa(
            sample.read_landsat_chip(sample_dir, "poppendorf"), sun_elevation_deg
        ),
    }
    return {k: crop_to_valid(v, max_size) for k, v in chips.items()}


def translate_chips(
    chips: Mapping[str, xr.DataArray],
    unets: Sequence[TranslateUNet],
    bands: Sequence[str],
    satellite: str,
    factor: int,
) -> dict[str, dict[str, xr.DataArray]]:
    """Each chip translated by bicubic + HLS and by the averaged U-Nets.

    Returns:
        ``{chip: {"bicubic_linear": 10 m array, "unet": 10 m array}}``.
    """
    return {
        k: {
            "bicubic_linear": translate_chip(v, None, bands, satellite, factor),
            "unet": translate_chip(v, unets, bands, satellite, factor),
        }
        for k, v in chips.items()
    }


def chip_summary(
    classifier: Any,
    chips: Mapping[str, xr.DataArray],
    translated: Mapping[str, Mapping[str, xr.DataArray]],
    sun_elevation_deg: float,
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any]]:
    """Classify the translated chips; class fractions and the agreement of the translators.

    Args:
        classifier: a ``SegmentClassifier``.
        chips: the chips at 30 m (:func:`read_chips`).
        translated: their translations (:func:`translate_chips`).
        sun_elevation_deg: the assumed sun elevation of Poppendorf (recorded).

    Returns:
        The maps ``{chip: {method: (y, x)}}`` and the ``chips`` metrics block
        (``validated: False``: no reference exists).
    """
    maps = {
        k: {
            m: classify_tiles(classifier, da.values[None], progress=False)[0] for m, da in v.items()
        }
        for k, v in translated.items()
    }
    block: dict[str, Any] = {}
    for k, v in maps.items():
        valid = v["unet"] != legend.NODATA
        frac = {
            m: {legend.KEYS[c]: float((mp[valid] == c).mean()) for c in np.unique(mp[valid])}
            for m, mp in v.items()
        }
        block[k] = {
            "units": chips[k].attrs.get("units"),
            "shape_10m": list(v["unet"].shape),
            "valid_fraction": float(valid.mean()),
            "class_fraction": frac,
            "agreement_unet_vs_bicubic": float(
                (v["unet"][valid] == v["bicubic_linear"][valid]).mean()
            ),
            "validated": False,
        }
    block["poppendorf"]["assumed_sun_elevation_deg"] = sun_elevation_deg
    return maps, block


def chips_rgb_figure(
    chips: Mapping[str, xr.DataArray],
    translated: Mapping[str, Mapping[str, xr.DataArray]],
    bands: list[str],
    satellite: str,
    factor: int,
) -> Any:
    """Each chip at 30 m (HLS-adjusted, nearest) next to its two 10 m translations.

    Returns:
        A matplotlib figure (:func:`lulcbook.viz.image_grid`).
    """
    oli4 = [o for o, _ in FOUR_BANDS]
    rows, titles = [], []
    for k, da in chips.items():
        lr_s2 = hls_bandpass_array(da.sel(band=oli4).values, oli4, bands, satellite)
        t = translated[k]
        h, w = t["unet"].shape[-2:]
        rows.append(
            [
                upsample_nearest(lr_s2, (h, w), factor),
                t["bicubic_linear"].values,
                t["unet"].values,
            ]
        )
        titles.append([f"{k} · Landsat-8 30 m (real)", "bicubic + HLS 10 m", "U-Net 10 m"])
    return viz.image_grid(
        rows,
        bands,
        titles,
        tile_inches=3.0,
        suptitle="Real Landsat-8 chips translated to Sentinel-2-like 10 m (no reference: not validated)",
    )


def chips_landcover_figure(maps: Mapping[str, Mapping[str, np.ndarray]]) -> Any:
    """The land-cover maps of both translations of each chip (a matplotlib figure)."""
    rows = [[m["bicubic_linear"], m["unet"]] for m in maps.values()]
    titles = [[f"{k} · bicubic + HLS", f"{k} · U-Net"] for k in maps]
    return viz.class_grid(
        rows,
        titles,
        tile_inches=3.0,
        suptitle="02-gnn land cover on translated real Landsat-8 (not validated)",
    )


def _change(name: str, new: float, old: float, lower_is_better: bool, fmt: str) -> str:
    """A sentence saying whether ``new`` improves on ``old``."""
    better = new < old if lower_is_better else new > old
    word = "improves" if better else "does not improve"
    return f"{name}: {old:{fmt}} → {new:{fmt}} ({word})"


def key_numbers(metrics: Mapping[str, Any]) -> list[str]:
    """The headline comparisons of the notebook, as sentences generated from its metrics.

    Args:
        metrics: the notebook's metrics (``methods`` and ``consistency`` blocks).

    Returns:
        One line per comparison.
    """
    m = metrics["methods"]
    h, o, p = (m[f"spectral/{k}"] for k in ("hls_linear", "ols_linear", "mlp"))
    lines = [
        f"spectral, {len(h['per_band'])} bands, unseen scenes: RMSE HLS {h['rmse']:.4f} | learned "
        f"linear {o['rmse']:.4f} | MLP {p['rmse']:.4f}; SAM {h['sam']:.2f}° | {o['sam']:.2f}° | "
        f"{p['sam']:.2f}°",
        _change("spectral RMSE, learned linear vs HLS", o["rmse"], h["rmse"], True, ".4f"),
        _change("spectral RMSE, MLP vs learned linear", p["rmse"], o["rmse"], True, ".4f"),
    ]
    b, u = m["spatial/bicubic_linear"], m["spatial/unet"]
    lines.append(
        f"spatial (SIMULATED Landsat, unseen regions): PSNR {b['psnr']:.2f} → {u['psnr']:.2f} dB, "
        f"SSIM {b['ssim']:.3f} → {u['ssim']:.3f}, SAM {b['sam']:.2f}° → {u['sam']:.2f}°, "
        f"RMSE {b['rmse']:.4f} → {u['rmse']:.4f}"
    )
    lines.append(_change("spatial RMSE, U-Net vs bicubic + HLS", u["rmse"], b["rmse"], True, ".4f"))
    for k in (f"spatial/{n}" for n in SPATIAL_METHODS):
        c = metrics["consistency"][k]
        lines.append(
            f"land-cover agreement with real S2, {k}: pixel OA {c['pixel']['oa']:.3f}, "
            f"patch OA {c['patch']['oa']:.3f}, patch macro-F1 {c['patch']['macro_f1']:.3f}"
        )
    return lines
