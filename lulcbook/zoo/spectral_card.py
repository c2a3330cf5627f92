"""Model card and metadata of a shipped :class:`lulcbook.models.spectral.SpectralClassifier`.

Generated from the numbers the maps notebook measured (``reports/metrics/maps.json``), so the
card never states a figure that was not computed.
"""

from __future__ import annotations

from typing import Any

from lulcbook import mapcheck
from lulcbook.models.spectral import PATH_PROFILE, SpectralClassifier

MODEL_CLASS: str = "lulcbook.models.spectral:SpectralClassifier"


def _ci(x: dict[str, Any], key: str = "recall") -> str:
    lo, hi = x.get("ci95", [float("nan")] * 2)
    return f"{x.get(key, float('nan')):.2f} (95 % CI {lo:.2f}–{hi:.2f})"


def _segmentation(model: SpectralClassifier) -> str:
    if model.segmentation == "grid":
        cell, coarsen = model.grid()
        return (
            f"cells of {cell} px fixed in map coordinates, {model.iterations} iterations on "
            f"{coarsen}×{coarsen} block means; maps do not depend on the tiling with a tile "
            f"margin of {model.context_px} px, which `lulcbook predict` applies"
        )
    return "scikit-image SLIC per tile"


def spectral_metadata(
    model: SpectralClassifier, checks: dict[str, Any], version: str
) -> dict[str, Any]:
    """Metadata of a shipped spectral model (the keys of ``lulcbook.zoo.REQUIRED_METADATA``)."""
    return {
        "kind": "spectral-segments",
        "model_class": MODEL_CLASS,
        "description": "LUCAS 2018 annual-median MLP on SLIC superpixel means",
        "segmentation": model.segmentation,
        "tile_context_px": model.context_px,
        "classes": list(model.classes),
        "bands": list(model.bands),
        "input_level": "L1C (TOA); L2A (BOA) with the documented path offset",
        "scaling": "reflectance (0-1); L2A: add l2a_offset per band before classifying",
        "l2a_offset": {b: PATH_PROFILE[b] for b in model.bands},
        "climate_input": CLIMATE_SOURCE if model.uses_climate else None,
        "resolution_m": 10,
        "segment_size_px": model.segment_size,
        "metrics": checks,
        "training_data": "LUCAS 2018 points with Sentinel-2 L1C 2018 annual band medians "
        "(ELC10 training table, Venter & Sydenham 2021)",
        "licence": "model: MIT (project licence); training data: see the ELC10 table's PROVENANCE.md",
        "version": version,
    }


CLIMATE_SOURCE: str = "WorldClim 2.1 BIO1-19, 10 arc-minutes (Fick & Hijmans 2017)"
"""The climate input of a shipped model with climate input (the LUCAS points' climate)."""


def _climate_input(model: SpectralClassifier, sentence: str) -> list[str]:
    """The input line on the climate (with the measured effect, when given)."""
    measured = f" Measured (notebook 07-maps): {sentence}." if sentence else ""
    if not model.uses_climate:
        return [f"- Climate: not an input of this model.{measured}"]
    return [
        f"- Climate: the {CLIMATE_SOURCE} vector of every pixel, looked up from its "
        "coordinates and averaged over each superpixel. `lulcbook predict`, `series` and "
        "`produce` read it from `--climate PATH` (default: the offline sample's "
        "`worldclim/wc21_10m_bio_europe`, Europe only; `lulcbook.sources.worldclim."
        "download_worldclim` fetches the global files); in Python, "
        "`model.with_climate(lulcbook.climate_field.ClimateField.read(PATH))`, else the same "
        "default. A map the raster does not cover is refused. Pixels with no "
        f"WorldClim cell within 25 km get the training mean.{measured}"
    ]


def _city_limit(scene: dict[str, Any]) -> list[str]:
    """The known-limit line on built-up land from the Exeter scene check (none without it)."""
    art = scene.get("artificial_share", {})
    if not art:
        return []
    shares = ", ".join(f"{v:.1%} on {d}" for d, v in art.items())
    points = "".join(
        f"; the LUCAS 2018 point there ({p['label']}) is mapped "
        + ", ".join(sorted(set(p["mapped"].values())))
        for p in scene.get("points", [])
    )
    return [
        "- Built-up land mixed with gardens and trees is largely missed: in a "
        f"20 m L2A scene centred on the city of Exeter, artificial land is {shares} of the "
        f"mapped pixels{points}."
    ]


HAZE_SHARE_OF_CHANGE: float = 0.25
"""Share of the Exeter change that taking off the scene-scale difference must remove before the
card names haze as a cause of it."""


def _single_date_limit(scene: dict[str, Any]) -> list[str]:
    """The known-limit line on single-date change, with the Exeter checks of its causes."""
    parts = ["- Cropland and grassland are often confused on single dates (Exeter change shares)"]
    for pair, bins in scene.get("change_by_ndvi_change", {}).items():
        if not (ext := mapcheck.bin_extremes(bins)):
            continue
        part, lo, hi = ext
        parts.append(
            f"{pair}: {lo['changed_share']:.1%} of the pixels change class in the {part} whose "
            f"NDVI changed least (by at most {lo['range'][1]:.3f}) and {hi['changed_share']:.1%} "
            f"in the {part} whose NDVI changed most (mowing, harvest, drying)"
        )
    for hb in scene.get("haze_bound", {}).values():
        removed = max(1.0 - v["changed_share"] / max(hb["as_is"], 1e-12)
                      for v in hb["by_scale"].values())  # fmt: skip
        cause = "a scene-scale haze correction removes little of it" if (
            removed < HAZE_SHARE_OF_CHANGE) else (
            f"a scene-scale haze correction removes up to {removed:.0%} of it")  # fmt: skip
        parts.append(
            f"{cause}: {hb['as_is']:.1%} of the pixels change class as is, "
            + " and ".join(f"{v['changed_share']:.1%}" for v in hb["by_scale"].values())
            + " with the scene-scale difference of the bands taken off (Gaussian σ "
            + " and ".join(hb["by_scale"])
            + ")"
        )
    return ["; ".join(parts) + "."]


def spectral_card(name: str, model: SpectralClassifier, checks: dict[str, Any]) -> str:
    """Markdown model card from the reference checks of notebook 07-maps.

    Args:
        name: shipped name.
        model: the model.
        checks: ``brandenburg`` (per-class recall with ``ci95``), ``bigearthnet`` (per L2A
            input setting, e.g. ``"as is"``, the agreement with ``ci95``), ``exeter`` (per
            setting, the changed share per pair of clear dates), ``exeter_seeds`` (a sentence
            on the same change over training seeds), ``exeter_confidence`` (a sentence on the
            change among the pixels above the confidence threshold), ``within_year`` (a sentence
            on simulated single dates of held-out LUCAS points), ``baseline`` (a sentence on
            plain gradient boosting on the band medians against the model, held-out LUCAS
            points) and ``exeter_scene``
            (``artificial_share`` per date, the LUCAS ``points`` of the scene with their
            mapped classes, from :func:`lulcbook.experiments.exeter.points_mapped`, and
            ``haze_bound`` and ``change_by_ndvi_change`` per clear pair, from
            :mod:`lulcbook.experiments.exeter`); any may be missing.
    """
    info = model.info
    lines = [
        f"# {name}",
        "",
        "Land-cover classifier of Sentinel-2 superpixels (SLIC, mean segment size "
        f"{model.segment_size:g} px, {_segmentation(model)}) trained on the LUCAS 2018 points with their Sentinel-2 L1C "
        "2018 annual band medians (the ELC10 training table, Venter & Sydenham 2021), "
        f"{info.get('n_points', '?')} points, 8 level-1 classes.",
        "",
        "## Inputs",
        f"- Bands: {', '.join(model.bands)} (reflectance 0–1, 10 m; for 20 m inputs divide "
        "`segment_size` by 4 to keep the segments' ground size).",
        "- L1C top-of-atmosphere: as is. L2A surface reflectance: optionally add the per-band "
        "path offset stored in the metadata (`l2a_offset`: `--l2a-offset` of `lulcbook predict`, "
        "`series` and `produce`, or the model's `offset` in Python); its measured effect on each "
        "L2A reference is below and in `reports/metrics/maps.json`.",
        "- Single dates in any season: the training copies are augmented with random gain, a "
        "path-shaped offset and the points' seasonal NDVI medians "
        f"(augmentation: {info.get('augment', '?')}). Median composites of several clear dates "
        "are closer to the annual medians it learned from.",
        *_climate_input(model, checks.get("climate", "")),
        "- Clouds are *not* detected by this model: mask them first (`lulcbook.cloudmask`).",
        "",
        "## Checked against independent references (notebook 07-maps)",
    ]
    bb = checks.get("brandenburg", {})
    for key, v in bb.get("per_class", {}).items():
        lines.append(
            f"- Brandenburg L1C 2017-02-16, {key} recall inside reference polygons: {_ci(v)}, "
            f"{v.get('n_polygons', 0)} polygons (bootstrap over polygons)."
        )
    for setting, ben in checks.get("bigearthnet", {}).items():
        lines.append(
            f"- BigEarthNet L2A patches ({setting}): majority class among the CORINE-derived "
            f"classes in {_ci(ben, 'majority_agreement')} of {ben.get('n_patches', 0)} patches."
        )
    for setting, ex in checks.get("exeter", {}).items():
        lines.append(
            f"- Exeter L2A 2024 ({setting}), share of pixels changing class between consecutive "
            "clear dates: "
            + ", ".join(f"{k}: {v:.1%}" for k, v in ex.items())
            + " (no real change expected for most pixels)."
        )
    if checks.get("exeter"):
        lines.append(
            "- A series of dates mapped with `lulcbook series` at its defaults (one segmentation "
            "of the series, the change rule across dates, the haze test at the thresholds chosen "
            "on the HLS series): its change between the same clear dates, with its interval and "
            "the share of pixels it leaves without a class, is in notebook 10-temporal "
            "(`reports/metrics/temporal.json`)."
        )
    if checks.get("exeter_seeds"):
        lines.append(f"- {checks['exeter_seeds']}.")
    if checks.get("exeter_confidence"):
        lines.append(f"- {checks['exeter_confidence']}.")
    if checks.get("within_year"):
        lines.append(f"- {checks['within_year']}.")
    if checks.get("baseline"):
        lines.append(f"- {checks['baseline'].rstrip('.')}.")
    lines += [
        "",
        "## Known limits",
        "- Trained on annual medians; single winter dates and hazy scenes are a domain shift.",
        *_single_date_limit(checks.get("exeter_scene", {})),
        *_city_limit(checks.get("exeter_scene", {})),
        "- The references cover few classes (water, forest; 14 BigEarthNet patches); intervals "
        "are wide.",
    ]
    return "\n".join(lines)


__all__ = ["MODEL_CLASS", "spectral_card", "spectral_metadata"]
