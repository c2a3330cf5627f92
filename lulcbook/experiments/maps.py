"""The map study of notebook 07-maps: LUCAS-trained map models checked on whole scenes.

Trains one :class:`lulcbook.models.spectral.SpectralClassifier` per band set (with and without
augmentation), masks clouds on the Brandenburg L1C scene, and measures every model variant
against the independent references of the offline sample: recall inside the Brandenburg
polygons, patch agreement on BigEarthNet and class shares on the Lausanne Landsat chip (the
Exeter series is :mod:`lulcbook.experiments.exeter`). The notebook shows the tables and
figures these functions return.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import xarray as xr

from lulcbook import cloudmask, evaluate, haze, legend, mapcheck, predict, viz, zoo
from lulcbook.models import spectral
from lulcbook.models.gnn import SegmentClassifier
from lulcbook.sources import elc10
from lulcbook.targets import verdict
from lulcbook.zoo import spectral_card

if TYPE_CHECKING:
    from lulcbook.climate_field import ClimateField

ModelKey = tuple[str, str]
"""``(band set, variant)`` of a trained map model, e.g. ``("s2-9", "augmented")``."""

MapModel = spectral.SpectralClassifier | SegmentClassifier
"""A map model compared on the references: a spectral classifier or the previous GNN."""

BAND_SETS: dict[str, tuple[str, ...]] = {
    "s2-9": tuple(spectral.BANDS_ALL),
    "s2-4": tuple(spectral.BANDS_10M),
    "landsat-6": ("B02", "B03", "B04", "B08", "B11", "B12"),
}
"""Band set of each map model: all LUCAS bands, the 10 m bands, the Landsat-8 OLI match."""

L2A_OFFSETS: dict[str, dict[str, float]] = {"none": {}, "path": dict(spectral.PATH_PROFILE)}
"""Input offsets tried on surface-reflectance inputs: none, and the per-band path offset."""

PREVIOUS = "gnn (previous default)"
"""Row name of the previous default model (the 02-gnn GNN) in every comparison."""

SERIES_SEGMENTS = ", series superpixels"
"""Suffix of the Exeter row whose dates share one segmentation (as ``lulcbook series`` maps)."""

HAZE = ", haze test"
"""Suffix of the Exeter rows whose dates also lose what the haze test flags (:mod:`lulcbook.haze`,
at the thresholds notebook 07 passes)."""

SHIPPED_VARIANT = "augmented"
"""The variant of the four-band and Landsat models that ships (random gain, path offset and
seasonal copies)."""

CLIMATE_VARIANT = "climate"
"""The augmented variant with the WorldClim BIO1–19 vector as a further input."""

SHIPPED: dict[str, str] = {"s2-9": CLIMATE_VARIANT, "s2-4": SHIPPED_VARIANT}
"""The variant that ships per Sentinel-2 band set: the nine-band model takes the climate (held-out
accuracy and every reference in notebook 07); the four-band one stays spectral (its Exeter
change rises with the climate input)."""


SEAM_MARGIN_PX = 16
"""Distance from an internal tile border (pixels) counted as near the border."""


def load_lucas(sample_dir: Path, max_points: int, seed: int) -> pd.DataFrame:
    """The ELC10 LUCAS table (optical columns), subsampled to ``max_points`` when non-zero."""
    lucas = elc10.read_elc10(sample_dir / elc10.SAMPLE_SUBDIR, s1=False)
    if max_points:
        lucas = lucas.sample(max_points, random_state=seed)
    return lucas


def train_map_model(
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
    band_set: str,
    variant: str,
    sp: Mapping[str, Any],
    seed: int | None = None,
    climate: np.ndarray | None = None,
) -> spectral.SpectralClassifier:
    """Train one map model of a band set and variant (``none`` or ``augmented``).

    Args:
        arrays: ``(reflectance, labels, seasons)`` of the band set
            (:func:`lulcbook.models.spectral.lucas_arrays`).
        band_set: a key of :data:`BAND_SETS`.
        variant: ``"none"`` (the medians as they are), ``"augmented"``, or ``"climate"``
            (augmented, with ``climate``).
        sp: the ``spectral`` parameters (copies, hidden, dropout, epochs, seed, segment_size,
            compactness, segmentation, iterations).
        seed: the training seed; ``None`` takes ``sp["seed"]``.
        climate: ``(n, 19)`` WorldClim BIO1–19 of the points: a model with climate input
            (the ``climate`` variant, :mod:`lulcbook.experiments.map_climate`).

    Raises:
        ValueError: the ``climate`` variant without ``climate``.
    """
    refl, labels, seasons = arrays
    if variant == CLIMATE_VARIANT and climate is None:
        raise ValueError(f"the {CLIMATE_VARIANT!r} variant needs the points' climate")
    aug = variant in ("augmented", CLIMATE_VARIANT)
    return spectral.train_spectral(
        refl, labels, BAND_SETS[band_set], augment=aug, seasons=seasons if aug else None,
        copies=sp["copies"], hidden=sp["hidden"], dropout=sp["dropout"], epochs=sp["epochs"],
        seed=sp["seed"] if seed is None else seed, segment_size=sp["segment_size"],
        compactness=sp["compactness"], segmentation=sp["segmentation"],
        iterations=sp["iterations"],
        info={"n_points": len(labels), "augment": "augmented" if aug else "none",
              "band_set": band_set},
        climate=climate,
    )  # fmt: skip


def train_map_models(
    lucas: pd.DataFrame,
    sp: Mapping[str, Any],
    climate: np.ndarray | None = None,
    climate_field: ClimateField | None = None,
) -> tuple[dict[ModelKey, spectral.SpectralClassifier], dict[str, float]]:
    """Train the map models of every band set, plain (``none``) and ``augmented``.

    The Landsat band set is trained augmented only. With ``climate``, the nine-band model is
    also trained with the climate input (``climate`` variant) and looks up the climate of a
    map's pixels in ``climate_field``.

    Args:
        lucas: the LUCAS table (:func:`load_lucas`).
        sp: the ``spectral`` parameters (:func:`train_map_model`).
        climate: ``(len(lucas), 19)`` WorldClim BIO1–19 of the points.
        climate_field: the raster a climate model maps with (required with ``climate``).

    Raises:
        ValueError: ``climate`` without ``climate_field``.

    Returns:
        ``(models by (band set, variant), training seconds by "band set/variant")``.
    """
    if climate is not None and climate_field is None:
        raise ValueError("a climate model needs the climate_field it maps with")
    models: dict[ModelKey, spectral.SpectralClassifier] = {}
    train_s: dict[str, float] = {}
    for name, bands in BAND_SETS.items():
        arrays = spectral.lucas_arrays(lucas, bands)
        for variant in ("none", "augmented") if name != "landsat-6" else ("augmented",):
            t0 = time.perf_counter()
            models[name, variant] = train_map_model(arrays, name, variant, sp)
            train_s[f"{name}/{variant}"] = time.perf_counter() - t0
        if climate is not None and climate_field is not None and name == "s2-9":
            t0 = time.perf_counter()
            m = train_map_model(arrays, name, CLIMATE_VARIANT, sp, climate=climate)
            models[name, CLIMATE_VARIANT] = m.with_climate(climate_field)
            train_s[f"{name}/{CLIMATE_VARIANT}"] = time.perf_counter() - t0
    return models, train_s


def load_previous_default(path: Path) -> SegmentClassifier | None:
    """The previous default GNN of 02-gnn, or ``None`` when it has not been trained."""
    return SegmentClassifier.load(path) if path.exists() else None


def with_offset(
    model: spectral.SpectralClassifier,
    offset: Mapping[str, float],
    segment_divisor: float | None = None,
) -> spectral.SpectralClassifier:
    """A copy of ``model`` with an input ``offset`` and, optionally, smaller segments.

    ``segment_divisor`` divides the segment size (in pixels) for coarser inputs: 4 for 20 m,
    9 for 30 m, so that segments keep their ground size.
    """
    changes: dict[str, Any] = {"offset": dict(offset)}
    if segment_divisor is not None:
        changes["segment_size"] = model.segment_size / segment_divisor
    return spectral.SpectralClassifier(**{**model.__dict__, **changes})


def classify(model: MapModel, values: np.ndarray) -> np.ndarray:
    """Legend indices ``(y, x)`` of a ``(band, y, x)`` reflectance array."""
    return mapcheck.classes_from_proba(model.predict_proba(values))


def classify_scene(model: MapModel, da: xr.DataArray) -> np.ndarray:
    """Legend indices ``(y, x)`` of a georeferenced ``(band, y, x)`` scene.

    A model with climate input gets the climate of every pixel from the scene's CRS and
    transform (:meth:`lulcbook.models.spectral.SpectralClassifier.climate_layers`).
    """
    values = da.sel(band=list(model.bands)).values
    if not getattr(model, "uses_climate", False):
        return classify(model, values)
    assert isinstance(model, spectral.SpectralClassifier)
    climate = model.climate_layers(da.rio.crs, da.rio.transform(), values.shape[1:])
    return mapcheck.classes_from_proba(model.predict_proba(values, climate=climate))


@dataclass(frozen=True)
class BrandenburgScene:
    """The Brandenburg L1C scene, its reference polygons and its cloud mask.

    Attributes:
        scene: ``(band, y, x)`` reflectance of :attr:`bands`.
        bands: the s2cloudless bands and the nine LUCAS bands.
        poly_ids: ``(y, x)`` polygon id (1-based, 0 outside every polygon).
        poly_labels: legend index of each polygon.
        mask: cloud and shadow masks.
        masked: :attr:`scene` with masked pixels set to NaN.
        thresholds: per cloud threshold, the cloud share and the share of reference forest
            it flags.
    """

    scene: xr.DataArray
    bands: list[str]
    poly_ids: np.ndarray
    poly_labels: np.ndarray
    mask: cloudmask.CloudMask
    masked: xr.DataArray
    thresholds: dict[str, dict[str, float]]


def brandenburg_scene(
    scene: xr.DataArray,
    bands: Sequence[str],
    reference: Any,
    cl: Mapping[str, Any],
) -> BrandenburgScene:
    """Mask clouds and shadows of the Brandenburg scene and rasterize its reference polygons.

    Args:
        scene: ``(band, y, x)`` L1C reflectance of ``bands``.
        bands: band names of ``scene``.
        reference: the reference polygons (a GeoDataFrame with a legend class per polygon).
        cl: the ``cloud`` parameters (factor, threshold, average_px, dilation_px,
            shadow_search_px, shadow_nir_max).

    Returns:
        The masked scene; the thresholds compared are the detector default 0.4 and
        ``cl["threshold"]``.
    """
    poly_ids, poly_labels = mapcheck.rasterize_polygons(reference, scene)
    prob = cloudmask.s2cloudless_probability(scene.values, bands, cl["factor"])
    woodland = np.flatnonzero(poly_labels == legend.index_of("woodland"))
    forest = np.isin(poly_ids - 1, woodland) & (poly_ids > 0)
    thresholds = {}
    for th in sorted({0.4, cl["threshold"]}):
        c = cloudmask.cloud_from_probability(prob, th, cl["average_px"], cl["dilation_px"])
        thresholds[str(th)] = {
            "cloud_share": float(c.mean()),
            "forest_reference_flagged": float(c[forest].mean()),
        }
    cloud = cloudmask.cloud_from_probability(
        prob, cl["threshold"], cl["average_px"], cl["dilation_px"]
    )
    shadow = cloudmask.shadow_mask(
        scene.values, bands, cloud, cl["shadow_search_px"], cl["shadow_nir_max"]
    )
    mask = cloudmask.CloudMask(cloud, shadow, prob)
    masked = cloudmask.apply_mask(scene, mask.masked)
    return BrandenburgScene(scene, list(bands), poly_ids, poly_labels, mask, masked, thresholds)


def coarsen(da: xr.DataArray, factor: int = 2) -> xr.DataArray:
    """Block-average a ``(band, y, x)`` scene by ``factor`` (keeps the CRS)."""
    out: xr.DataArray = (
        da.coarsen(y=factor, x=factor, boundary="trim").mean().rio.write_crs(da.rio.crs)
    )
    return out


def polygon_check(
    model: MapModel,
    da: xr.DataArray,
    poly_ids: np.ndarray,
    poly_labels: np.ndarray,
    n_boot: int,
) -> dict[str, Any]:
    """Recall per class inside the reference polygons of ``model``'s map of ``da``."""
    cls = classify_scene(model, da)
    return mapcheck.polygon_recall(cls, poly_ids, cast(Sequence[int], poly_labels), n_boot)


def brandenburg_variants(
    models: Mapping[ModelKey, spectral.SpectralClassifier],
    gnn: SegmentClassifier | None,
    bb: BrandenburgScene,
    n_boot: int,
) -> dict[str, dict[str, Any]]:
    """Polygon recall of every Sentinel-2 model variant and input choice on Brandenburg.

    Rows: each model on the masked scene, the shipped nine-band model unmasked, the previous
    default (when present), and the shipped nine-band model at 20 m.
    """

    def check(model: MapModel, da: xr.DataArray, ids: np.ndarray = bb.poly_ids) -> dict[str, Any]:
        return polygon_check(model, da, ids, bb.poly_labels, n_boot)

    m9 = models["s2-9", SHIPPED["s2-9"]]
    runs = {f"{k[0]}/{k[1]}": check(m, bb.masked) for k, m in models.items() if k[0] != "landsat-6"}
    runs[f"s2-9/{SHIPPED['s2-9']}, unmasked"] = check(m9, bb.scene)
    if gnn is not None:
        runs[PREVIOUS] = check(gnn, bb.masked)
    m9_20 = spectral.SpectralClassifier(**{**m9.__dict__, "segment_size": m9.segment_size / 4})
    coarse = coarsen(bb.masked)
    runs[f"s2-9/{SHIPPED['s2-9']}, 20 m"] = check(
        m9_20, coarse, bb.poly_ids[::2, ::2][: coarse.shape[1], : coarse.shape[2]]
    )
    return runs


def recall_table(runs: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run: recall and its 95 % interval per class."""
    rows = {
        run: {f"{k} recall": v["recall"] for k, v in r["per_class"].items()}
        | {f"{k} CI": f"{v['ci95'][0]:.2f}–{v['ci95'][1]:.2f}" for k, v in r["per_class"].items()}
        for run, r in runs.items()
    }
    return pd.DataFrame(rows).T


def recall_summary(reference: Mapping[str, Any]) -> dict[str, tuple[float, list[float]]]:
    """``class: (recall, [low, high])`` of a polygon check, rounded to three decimals."""
    return {
        k: (round(v["recall"], 3), [round(x, 3) for x in v["ci95"]])
        for k, v in reference["per_class"].items()
    }


def brandenburg_figure(bb: BrandenburgScene, map_path: Path) -> Any:
    """True colour, cloud/shadow mask and the map of the Brandenburg scene, one above another."""
    rgb_bands = ["B02", "B03", "B04", "B08"]
    rgb = viz.rgb(bb.scene.sel(band=rgb_bands).values, rgb_bands)
    mask = bb.scene.isel(band=0).copy(data=bb.mask.masked.astype("float32"))
    layout = (
        viz.rgb_image(rgb, bb.scene.rio.bounds(), "Sentinel-2 L1C true colour, 2017-02-16")
        + viz.value_map(mask, "Cloud / shadow mask", "gray")
        + viz.class_map(predict.open_map(map_path)["class"], "LUCAS-trained map (masked = white)")
    )
    return layout.cols(1).opts(sublabel_format="", backend="matplotlib")


def seam_check(
    da: xr.DataArray,
    model: spectral.SpectralClassifier,
    tiling: Mapping[str, int],
    margin: int = SEAM_MARGIN_PX,
) -> dict[str, float]:
    """Agreement of a single-tile and a tiled prediction near tile borders and elsewhere.

    Seams would show as lower agreement within ``margin`` pixels of an internal tile border.

    Args:
        da: ``(band, y, x)`` scene in the model's bands.
        model: the map model.
        tiling: ``tile_size``, ``overlap`` and ``blocksize`` of the tiled run.
        margin: distance (pixels) from an internal tile border counted as near it.
    """
    tile_size, overlap, blocksize = tiling["tile_size"], tiling["overlap"], tiling["blocksize"]
    kw: dict[str, Any] = {"blocksize": blocksize, "progress": False}
    tile_model = cast(predict.TileClassifier, model)
    with tempfile.TemporaryDirectory() as tmp:
        whole = max(da.sizes["x"], da.sizes["y"])
        one = predict.predict_scene(da, tile_model, f"{tmp}/one.tif", tile_size=whole, **kw)
        tiled = predict.predict_scene(
            da, tile_model, f"{tmp}/tiled.tif", tile_size=tile_size, overlap=overlap, **kw
        )
        a, b = predict.read_map(one.path)[0], predict.read_map(tiled.path)[0]
    valid = (a != legend.NODATA) & (b != legend.NODATA)
    border = predict.tile_border_mask(tiled.width, tiled.height, tile_size, margin=margin)
    return {
        "agreement_near_borders": float((a == b)[border & valid].mean()),
        "agreement_elsewhere": float((a == b)[~border & valid].mean()),
        "border_margin_px": margin,
    }


def tiling_sensitivity(
    da: xr.DataArray,
    models: Mapping[str, spectral.SpectralClassifier],
    poly_ids: np.ndarray,
    poly_labels: np.ndarray,
    tile_sizes: Sequence[int],
    overlap: int,
    n_boot: int,
    blocksize: int = 512,
) -> dict[str, dict[str, Any]]:
    """Recall inside the reference polygons of each model's map under several tilings.

    The scene is mapped with each core tile size in ``tile_sizes`` and once as a single tile.
    With superpixels cut per tile (scikit-image SLIC), where tile borders fall changes the
    segments and hence the map; with the grid superpixels and the model's context margin, the
    maps must be identical. The spread of the recalls is how much the tiling alone moves them.

    Args:
        da: ``(band, y, x)`` scene in the models' bands.
        models: the map models compared, by name.
        poly_ids: ``(y, x)`` polygon id (1-based, 0 outside every polygon).
        poly_labels: legend index of each polygon.
        tile_sizes: core tile sizes (pixels) of the tiled runs.
        overlap: the context margin asked for (raised to a model's ``context_px``).
        n_boot: bootstrap resamples (over polygons) of the recall intervals.
        blocksize: internal COG tile size.

    Returns:
        Per ``"MODEL, tiles N px (margin M px)"`` and ``"MODEL, whole scene"``, the
        :func:`lulcbook.mapcheck.polygon_recall` result plus ``"pixels_differing"``, the share
        of pixels whose class differs from the whole-scene map.
    """
    whole = max(da.sizes["x"], da.sizes["y"])
    labels = cast(Sequence[int], poly_labels)
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in models.items():
            tile_model = cast(predict.TileClassifier, model)
            margin = predict.context_overlap(model, overlap)
            runs = {f"{name}, tiles {t} px (margin {margin} px)": t for t in tile_sizes}
            maps = {}
            for i, (run, size) in enumerate({**runs, f"{name}, whole scene": whole}.items()):
                res = predict.predict_scene(
                    da, tile_model, f"{tmp}/{name}-{i}.tif", tile_size=size, overlap=overlap,
                    blocksize=blocksize, progress=False,
                )  # fmt: skip
                maps[run] = predict.read_map(res.path)[0]
                out[run] = mapcheck.polygon_recall(maps[run], poly_ids, labels, n_boot)
            ref = maps[f"{name}, whole scene"]
            for run, m in maps.items():
                out[run]["pixels_differing"] = float((m != ref).mean())
    return out


def per_tile_slic(
    model: spectral.SpectralClassifier, segment_size: float = 48.0
) -> spectral.SpectralClassifier:
    """The same model with scikit-image's SLIC run per tile (the previous maps' segmentation)."""
    return spectral.SpectralClassifier(
        **{**model.__dict__, "segmentation": "slic", "segment_size": segment_size}
    )


def tiling_table(tiling: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """:func:`recall_table` of the tiling study plus the share of pixels that differ."""
    table = recall_table(tiling).round(3)
    table["pixels_differing"] = [r["pixels_differing"] for r in tiling.values()]
    return table


def tiling_verdict(tiling: Mapping[str, Mapping[str, Any]], shipped: str) -> tuple[str, bool]:
    """A sentence per model: identical maps over its tilings, or the range of each class's recall.

    Args:
        tiling: the result of :func:`tiling_sensitivity`.
        shipped: the name of the shipped model in it.

    Returns:
        ``(sentence, whether the shipped model's maps are identical over its tilings)``.
    """
    by_model: dict[str, list[Mapping[str, Any]]] = {}
    for run, res in tiling.items():
        by_model.setdefault(run.rsplit(", ", 1)[0], []).append(res)
    if shipped not in by_model:
        raise ValueError(f"shipped model {shipped!r} is not in the tiling study {list(by_model)}")
    parts = []
    for name, runs in by_model.items():
        differ = max(r["pixels_differing"] for r in runs)
        if differ == 0:
            parts.append(f"{name}: the {len(runs)} tilings give identical maps")
            continue
        ranges = []
        for cls in runs[0]["per_class"]:
            r = [run["per_class"][cls]["recall"] for run in runs]
            ranges.append(f"{cls} recall {min(r):.3f}–{max(r):.3f}")
        parts.append(
            f"{name}: up to {differ:.1%} of pixels change with the tiling, " + ", ".join(ranges)
        )
    same = max(r["pixels_differing"] for r in by_model[shipped]) == 0
    return f"Tiling of the Brandenburg map (shipped: {shipped}) — " + "; ".join(parts), same


def polygon_area(
    cls: np.ndarray,
    poly_ids: np.ndarray,
    poly_labels: np.ndarray,
    resolution: float,
    n_per_stratum: int,
    seed: int,
) -> tuple[dict[str, Any], np.ndarray]:
    """Area estimate (stratified sample) and census inside the reference polygons.

    Args:
        cls: ``(y, x)`` mapped legend indices (nodata = :data:`lulcbook.legend.NODATA`).
        poly_ids: ``(y, x)`` polygon id (0 outside).
        poly_labels: legend index of each polygon.
        resolution: pixel size in metres.
        n_per_stratum: sampled pixels per map class.
        seed: the sample's seed.

    Returns:
        ``(estimate as a dict (lulcbook.evaluate.AreaEstimate.to_dict), census km² per class)``.
    """
    inside = (poly_ids > 0) & (cls != legend.NODATA)
    ref_px = poly_labels[poly_ids[inside] - 1]
    px_km2 = (resolution**2) / 1e6
    est, _ = evaluate.sample_area_estimate(
        cls[inside], ref_px, legend.N_CLASSES, n_per_stratum, px_km2, seed=seed
    )
    census: np.ndarray = np.bincount(ref_px, minlength=legend.N_CLASSES) * px_km2
    return est.to_dict(legend.KEYS), census


def area_table(area: Mapping[str, Any], census: np.ndarray) -> pd.DataFrame:
    """Census, estimate with its interval and mapped area of each class present."""
    cl = area["classes"]
    rows = {
        k: {
            "census_km2": census[i],
            "estimate_km2": cl[k]["area"],
            "ci95": "{:.3f}–{:.3f}".format(*cl[k]["area_ci95"]),
            "mapped_km2": cl[k]["mapped_area"],
        }
        for i, k in enumerate(legend.KEYS)
        if census[i] > 0 or cl[k]["mapped_area"] > 0
    }
    return pd.DataFrame(rows).T


def patch_check(
    model: MapModel, patches: Sequence[xr.DataArray], offset: Mapping[str, float]
) -> dict[str, Any]:
    """Majority agreement of ``model`` (with ``offset`` where it takes one) with patch labels."""
    m = with_offset(model, offset) if isinstance(model, spectral.SpectralClassifier) else model
    maps = [classify_scene(m, d) for d in patches]
    return mapcheck.patch_agreement(maps, [d.attrs["legend_keys"] for d in patches])


def bigearthnet_runs(
    models: Mapping[ModelKey, spectral.SpectralClassifier],
    gnn: SegmentClassifier | None,
    patches: Sequence[xr.DataArray],
) -> dict[str, dict[str, Any]]:
    """Patch agreement of every Sentinel-2 model with each L2A offset, and the previous default."""
    runs = {
        f"{k[0]}/{k[1]}, offset {o}": patch_check(m, patches, off)
        for k, m in models.items()
        if k[0] != "landsat-6"
        for o, off in L2A_OFFSETS.items()
    }
    if gnn is not None:
        runs[PREVIOUS] = patch_check(gnn, patches, {})
    return runs


def agreement_table(runs: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Majority agreement, its interval and the pixel share in the label set, one row per run."""
    rows = {
        k: {
            "majority agreement": v["majority_agreement"],
            "CI": "{:.2f}–{:.2f}".format(*v["ci95"]),
            "pixel share in label set": v["pixel_share"],
        }
        for k, v in runs.items()
    }
    return pd.DataFrame(rows).T


def ship_checks(
    ship: str,
    bb_ref: Mapping[str, Any],
    bb_runs: Mapping[str, Mapping[str, Any]],
    ben_runs: Mapping[str, Mapping[str, Any]],
    ex_clear: Mapping[str, Mapping[str, float]],
    city: Mapping[str, Any],
    ex_seeds: str = "",
    within_year: str = "",
    climate_sentences: Mapping[str, str] | None = None,
    confidence: str = "",
    baseline: str = "",
) -> dict[str, dict[str, Any]]:
    """The checks each shipped card reports, for its own model and both L2A input settings.

    Args:
        ship: shipped name of the nine-band model (the four-band one is ``ship-10m``).
        bb_ref: Brandenburg reference check of the shipped nine-band map.
        bb_runs: Brandenburg checks of every variant.
        ben_runs: BigEarthNet checks of every variant and offset.
        ex_clear: Exeter changes between clear dates of every four-band setting (and of the
            shipped one on series superpixels, when present).
        city: from :func:`exeter_city`.
        ex_seeds: the sentence on the Exeter change over training seeds
            (:func:`lulcbook.experiments.exeter.seed_sentence`), if measured.
        within_year: the sentence on simulated single dates of held-out LUCAS points
            (:func:`lulcbook.experiments.within_year.within_year_sentence`), if measured.
        climate_sentences: per band set, the sentence on the climate input
            (:func:`lulcbook.experiments.map_climate.band_set_sentence`), if measured.
        confidence: the sentence on the Exeter change among the pixels confident on both dates
            (:func:`lulcbook.experiments.exeter_confidence.confidence_verdict`), if measured.
        baseline: the sentence on the nine-band model against plain gradient boosting on the
            band medians (:func:`lulcbook.experiments.baseline.baseline_sentence`), if measured.
    """
    climate_sentences = climate_sentences or {}
    l2a = {"as is": "offset none", "with l2a_offset": "offset path"}
    series = f"offset none{SERIES_SEGMENTS}"  # the dates of a series on one segmentation
    hand = haze.HazeTest()  # the thresholds the notebook's haze rows use
    exeter_rows = {
        **l2a,
        "as is, series superpixels of `lulcbook series`": series,
        "as is, series superpixels of `lulcbook series`, haze test with thresholds set on this "
        f"scene (`--haze-thresholds {hand.blue_rise:g},{hand.red_ratio:g}`)": series + HAZE,
    }
    return {
        ship: {
            "brandenburg": dict(bb_ref),
            "bigearthnet": {k: ben_runs[f"s2-9/{SHIPPED['s2-9']}, {o}"] for k, o in l2a.items()},
            "climate": climate_sentences.get("s2-9", ""),
            "baseline": baseline,
        },
        f"{ship}-10m": {
            "brandenburg": bb_runs[f"s2-4/{SHIPPED_VARIANT}"],
            "bigearthnet": {k: ben_runs[f"s2-4/{SHIPPED_VARIANT}, {o}"] for k, o in l2a.items()},
            "exeter": {
                k: {p: float(v) for p, v in ex_clear[f"s2-4/{SHIPPED_VARIANT}, {o}"].items()}
                for k, o in exeter_rows.items()
                if f"s2-4/{SHIPPED_VARIANT}, {o}" in ex_clear
            },
            "exeter_seeds": ex_seeds,
            "exeter_confidence": confidence,
            "within_year": within_year,
            "climate": climate_sentences.get("s2-4", ""),
            "exeter_scene": {
                "artificial_share": city["artificial_share"],
                "points": city["lucas_points"],
                "haze_bound": city.get("haze_bound", {}),
                "change_by_ndvi_change": city.get("change_by_ndvi_change", {}),
            },
        },
    }


def lausanne_shares(
    chip: np.ndarray, model: spectral.SpectralClassifier
) -> dict[str, dict[str, float]]:
    """Class shares of the Landsat chip at 30 m (segments of a ninth), per L2A offset."""
    return {
        f"offset {o}": mapcheck.class_shares(classify(with_offset(model, off, 9), chip))
        for o, off in L2A_OFFSETS.items()
    }


def ship_models(
    ship: str,
    models: Mapping[ModelKey, spectral.SpectralClassifier],
    checks: Mapping[str, dict[str, Any]],
    models_dir: Path,
) -> dict[str, str]:
    """Save and export the shipped models with cards generated from their own checks.

    The shipped nine-band model (:data:`SHIPPED`) ships as ``ship``, the four-band one as
    ``ship-10m``.

    Returns:
        Where each shipped model was exported, by name (:func:`lulcbook.zoo.shipped_path`).
    """
    shipped = {}
    pairs = (
        (ship, models["s2-9", SHIPPED["s2-9"]]),
        (f"{ship}-10m", models["s2-4", SHIPPED["s2-4"]]),
    )
    for name, model in pairs:
        weights = model.save(models_dir / f"{name}.pt")
        card = spectral_card.spectral_card(name, model, checks[name])
        meta = spectral_card.spectral_metadata(model, checks[name], version="1")
        shipped[name] = zoo.shipped_path(zoo.export_model(weights, name, card, meta))
    return shipped


def exeter_verdict(
    clear_changes: Mapping[str, float],
    setting: str,
    intervals: Mapping[str, Mapping[str, Any]] | None = None,
    target: float = 0.10,
) -> tuple[str, bool]:
    """The Exeter verdict of one setting: its worst pair of consecutive clear dates.

    Args:
        clear_changes: ``{"d1→d2": changed share}`` of the setting's clear pairs.
        setting: the setting's name, shown in the sentence.
        intervals: ``{"d1→d2": {"ci95": [lo, hi], "n_blocks": n, ...}}``
            (:func:`lulcbook.temporal.change_share`); with them the worst pair's interval is
            shown.
        target: the largest changed share that meets the target.
    """
    worst = max(clear_changes, key=lambda k: clear_changes[k], default=None)
    iv = (intervals or {}).get(worst) if worst is not None else None
    value = clear_changes[worst] if worst is not None else float("nan")
    return verdict(
        value,
        target,
        "<=",
        f"Exeter change between consecutive clear dates, worst pair ({setting})",
        iv["ci95"] if iv else None,
        f"{iv['n_blocks']} blocks" if iv else "",
    )


def map_verdicts(
    reference: Mapping[str, Any],
    clear_changes: Mapping[str, float],
    ex_setting: str,
    ben_runs: Mapping[str, Mapping[str, Any]],
    lausanne: Mapping[str, Mapping[str, float]],
    clear_intervals: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[tuple[str, bool | None]]:
    """The verdict sentences of the notebook, with whether each target is met (``None``: none).

    Targets: forest recall ≥ 0.8 and water recall ≥ 0.95 in the Brandenburg polygons, at most
    10 % of pixels changing between consecutive clear Exeter dates (worst pair; its
    block-bootstrap interval from ``clear_intervals``, :func:`exeter_verdict`). Each target is
    judged on the estimate, as stated; the sentence shows the interval where there is one.
    """
    pc = reference["per_class"]

    def recall(key: str, target: float, name: str) -> tuple[str, bool]:
        c = pc[key]
        n = c.get("n_polygons")
        return verdict(c["recall"], target, ">=", f"Brandenburg {name} recall (shipped map)",
                       c.get("ci95"), f"{n} polygons" if n else "")  # fmt: skip

    verdicts: list[tuple[str, bool | None]] = [
        recall("woodland", 0.8, "forest"),
        recall("water", 0.95, "water"),
        exeter_verdict(clear_changes, ex_setting, clear_intervals),
    ]
    best = ben_runs[f"s2-9/{SHIPPED['s2-9']}, offset path"]
    gnn_ben = ben_runs.get(PREVIOUS, {}).get("majority_agreement", float("nan"))
    verdicts.append(
        (
            f"BigEarthNet majority agreement {best['majority_agreement']:.2f} "
            f"(CI {best['ci95'][0]:.2f}–{best['ci95'][1]:.2f}); previous default {gnn_ben:.2f}",
            None,
        )
    )
    wood = max(v["woodland"] for v in lausanne.values())
    verdicts.append((f"Lausanne woodland share {wood:.1%} (previous maps: 0 %)", wood > 0))
    return verdicts


def climate_reference_sentence(
    bb_runs: Mapping[str, Mapping[str, Any]], ben_runs: Mapping[str, Mapping[str, Any]]
) -> str:
    """The nine-band model without and with the climate input on the independent references.

    The ``augmented`` → ``climate`` rows of :func:`brandenburg_variants` and
    :func:`bigearthnet_runs`.
    """
    a, c = f"s2-9/{SHIPPED_VARIANT}", f"s2-9/{CLIMATE_VARIANT}"
    parts = [
        f"Brandenburg {k} recall {bb_runs[a]['per_class'][k]['recall']:.3f} → "
        f"{bb_runs[c]['per_class'][k]['recall']:.3f}"
        for k in ("woodland", "water")
        if k in bb_runs[a]["per_class"]
    ]
    parts += [
        f"BigEarthNet agreement (offset {o}) {ben_runs[f'{a}, offset {o}']['majority_agreement']:.2f}"
        f" → {ben_runs[f'{c}, offset {o}']['majority_agreement']:.2f}, pixel share "
        f"{ben_runs[f'{a}, offset {o}']['pixel_share']:.2f} → "
        f"{ben_runs[f'{c}, offset {o}']['pixel_share']:.2f}"
        for o in L2A_OFFSETS
    ]
    return "Nine-band model without → with the climate input: " + "; ".join(parts)


def verdict_lines(verdicts: Sequence[tuple[str, bool | None]]) -> str:
    """The verdicts one a line, marked ✔ (met), ✘ (missed) or blank (no target)."""
    marks = {None: "  ", True: "✔ ", False: "✘ "}
    return "\n".join(marks[ok] + text for text, ok in verdicts)


def brandenburg_metrics(
    bb: BrandenburgScene,
    threshold: float,
    variants: Mapping[str, Any],
    reference: Mapping[str, Any],
    product: predict.MapResult,
    cls: np.ndarray,
    seams: Mapping[str, float],
    area: Mapping[str, Any],
    census: np.ndarray,
) -> dict[str, Any]:
    """The Brandenburg section of the notebook's metrics JSON.

    Args:
        bb: the masked scene (:func:`brandenburg_scene`).
        threshold: the cloud probability threshold used.
        variants: :func:`brandenburg_variants`.
        reference: the polygon check of the shipped map product.
        product: the map product of the scene.
        cls: its ``(y, x)`` classes.
        seams: :func:`seam_check`.
        area: the area estimate in the polygons (:func:`polygon_area`).
        census: census km² per class in the polygons.
    """
    return {
        "cloud_mask": {
            "shares": bb.mask.shares(),
            "thresholds": bb.thresholds,
            "threshold": threshold,
        },
        "variants": variants,
        "reference": reference,
        "area_km2": product.area_km2,
        "runtime_s": product.seconds,
        "n_tiles": product.n_tiles,
        "class_area_km2": product.class_area_km2(),
        "nodata_share": float((cls == legend.NODATA).mean()),
        "seams": seams,
        "area_estimate_in_polygons": dict(area)
        | {"census_km2": dict(zip(legend.KEYS, census.tolist(), strict=True))},
    }
