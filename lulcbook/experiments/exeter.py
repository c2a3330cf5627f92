"""The Exeter series study of notebook 07-maps: stability between clear dates, and the city.

The sample's Sentinel-2 L2A series of Exeter (five dates of summer 2024, 20 m, four bands) has
no labelled reference. It is checked twice: the share of pixels changing class between
consecutive clear dates, where no real change is expected (:func:`exeter_stability`,
:func:`change_ndvi`; over training seeds, :func:`seed_spread`), and what the maps make of the
city at the centre of the scene (:func:`exeter_city`): the share of artificial land, the LUCAS
points inside the scene, and the change binned by NDVI texture, by the rise of blue reflectance
and by the size of the NDVI change, and how much of the change any correction of haze could
remove (:func:`haze_bound`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import holoviews as hv
import numpy as np
import pandas as pd
import xarray as xr

from lulcbook import (
    cells,
    composite,
    haze,
    legend,
    mapcheck,
    predict,
    scales,
    temporal,
    texture,
    viz,
)
from lulcbook.experiments.maps import (
    HAZE,
    L2A_OFFSETS,
    PREVIOUS,
    SERIES_SEGMENTS,
    SHIPPED_VARIANT,
    MapModel,
    ModelKey,
    classify,
    train_map_model,
    with_offset,
)
from lulcbook.models import spectral
from lulcbook.models.gnn import SegmentClassifier


@dataclass(frozen=True)
class ExeterStability:
    """Class changes between consecutive Exeter dates for every four-band candidate.

    Attributes:
        dates: ``YYYY-MM-DD`` of each scene.
        masked_share: share of masked (SCL) pixels per date.
        clear: indices of the clear dates.
        candidates: the four-band settings compared (20 m segments, with or without offset).
        runs: ``{"all"|"clear": {model: {"d1→d2": changed share}}}``; the models are the
            candidates, the shipped setting on series superpixels (:func:`series_maps`) and the
            previous default.
        table: the same as a table, with the mean over clear pairs.
        series: the maps of the shipped setting on series superpixels, by date.
        haze_flagged: share of each date's pixels that the haze test flags (empty without it).
        clear_intervals: ``{model: {"d1→d2": lulcbook.temporal.change_share(...)}}`` for the
            clear pairs: the changed share with its block-bootstrap 95 % interval (neighbouring
            pixels share their errors, so blocks of pixels are resampled).
    """

    dates: list[str]
    masked_share: dict[str, float]
    clear: list[int]
    candidates: dict[str, spectral.SpectralClassifier]
    runs: dict[str, dict[str, dict[str, float]]]
    table: pd.DataFrame
    series: dict[str, np.ndarray]
    haze_flagged: dict[str, float]
    clear_intervals: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def pixel_metres(scene: xr.DataArray) -> float:
    """Pixel size of a scene in a projected CRS (metres)."""
    return float(abs(scene.rio.resolution()[0]))


def hazed_scenes(
    scenes: Sequence[xr.DataArray], test: haze.HazeTest
) -> tuple[list[xr.DataArray], np.ndarray]:
    """The dates of a series with the haze test's flags set to NaN, and the flags.

    Args:
        scenes: the dates on one grid (already masked with their own mask, e.g. SCL).
        test: the haze test.

    Returns:
        ``(scenes, flags (time, y, x))``.
    """
    bands = [str(b) for b in scenes[0].band.values]
    data = np.stack([np.asarray(a.values) for a in scenes])
    flags = test.flags(data, bands, pixel_metres(scenes[0]))
    masked = haze.apply(data, flags)
    return [a.copy(data=m) for a, m in zip(scenes, masked, strict=True)], flags


def series_maps(
    scenes: Sequence[xr.DataArray], model: spectral.SpectralClassifier
) -> list[np.ndarray]:
    """Single-date maps of a series on one segmentation of it (``lulcbook series``' superpixels).

    Args:
        scenes: the dates, on one grid, bands in the model's order.
        model: the map model (:meth:`~lulcbook.models.spectral.SpectralClassifier.shared_segments`).
    """
    stack = np.stack([np.asarray(a.values, dtype=np.float32) for a in scenes])
    labels = model.shared_segments(stack)
    return [mapcheck.classes_from_proba(model.predict_proba(t, labels=labels)) for t in stack]


def pair_changes(
    maps: Mapping[int, np.ndarray] | Sequence[np.ndarray],
    dates: Sequence[str],
    pairs: Sequence[tuple[int, int]],
) -> dict[str, float]:
    """Share of pixels changing class between the maps of each pair of dates.

    Args:
        maps: class map per date index.
        dates: ``YYYY-MM-DD`` per date index.
        pairs: ``(i, j)`` date indices.

    Returns:
        ``{"d_i→d_j": changed share}``.
    """
    return {
        f"{dates[i]}→{dates[j]}": mapcheck.change_share(maps[i], maps[j])["changed_share"]
        for i, j in pairs
    }


def exeter_stability(
    exeter: Sequence[xr.DataArray],
    models: Mapping[ModelKey, spectral.SpectralClassifier],
    gnn: SegmentClassifier | None,
    clear_max_masked: float,
    haze_test: haze.HazeTest | None = None,
) -> ExeterStability:
    """Share of pixels changing class between consecutive dates, all pairs and clear pairs.

    A date is clear when at most ``clear_max_masked`` of its pixels are masked by the SCL (the
    haze test does not change which dates are clear). With ``haze_test``, the shipped setting
    is also run on the dates without what the test flags, on per-date and on series
    superpixels (rows ending in :data:`HAZE`).
    """
    dates = [d.attrs["datetime"][:10] for d in exeter]
    masked_share = {
        d: float(np.isnan(a.values).any(axis=0).mean()) for d, a in zip(dates, exeter, strict=True)
    }
    candidates = {
        f"s2-4/{v}, offset {o}": with_offset(models["s2-4", v], off, 4)
        for v in ("none", "augmented")
        for o, off in L2A_OFFSETS.items()
    }
    clear = [i for i, d in enumerate(dates) if masked_share[d] <= clear_max_masked]
    pairs = {
        "all": list(zip(range(len(dates) - 1), range(1, len(dates)), strict=True)),
        "clear": list(zip(clear[:-1], clear[1:], strict=True)),
    }
    runs: dict[str, dict[str, dict[str, float]]] = {"all": {}, "clear": {}}
    compared: dict[str, list[np.ndarray]] = {
        name: [classify(model, a.values) for a in exeter] for name, model in candidates.items()
    }
    series_row = product_setting("s2-4") + SERIES_SEGMENTS
    compared[series_row] = series_maps(exeter, candidates[product_setting("s2-4")])
    haze_flagged: dict[str, float] = {}
    if haze_test is not None:
        hazed, flags = hazed_scenes(exeter, haze_test)
        shipped = candidates[product_setting("s2-4")]
        compared[product_setting("s2-4") + HAZE] = [classify(shipped, a.values) for a in hazed]
        compared[series_row + HAZE] = series_maps(hazed, shipped)
        haze_flagged = {d: float(f.mean()) for d, f in zip(dates, flags, strict=True)}
    if gnn:
        compared[PREVIOUS] = [classify(gnn, a.values) for a in exeter]
    intervals: dict[str, dict[str, dict[str, Any]]] = {}
    for name, maps in compared.items():
        runs["all"][name] = pair_changes(maps, dates, pairs["all"])
        intervals[name] = {  # the clear pairs' shares come with their interval
            f"{dates[i]}→{dates[j]}": temporal.change_share(maps[i], maps[j])
            for i, j in pairs["clear"]
        }
        runs["clear"][name] = {k: v["changed_share"] for k, v in intervals[name].items()}
    table = pd.concat({k: pd.DataFrame(v).T for k, v in runs.items()}, axis=1)
    table[("clear", "mean of clear pairs")] = pd.DataFrame(runs["clear"]).T.mean(axis=1)
    series = dict(zip(dates, compared[series_row], strict=True))
    return ExeterStability(
        dates, masked_share, clear, candidates, runs, table, series, haze_flagged, intervals
    )


def product_setting(band_set: str) -> str:
    """The setting ``lulcbook predict`` maps L2A scenes with: the shipped model, no input offset.

    The Exeter verdict is measured on this setting, not on the candidate with the lowest change
    (choosing by the number being judged would bias it); the table shows every candidate.
    """
    return f"{band_set}/{SHIPPED_VARIANT}, offset none"


SEED_REPEATS: int = 5
"""Training seeds of the four-band model whose Exeter change :func:`seed_spread` measures."""


def seed_spread(
    lucas: pd.DataFrame,
    sp: Mapping[str, Any],
    exeter: Sequence[xr.DataArray],
    clear: Sequence[int],
    n_seeds: int = SEED_REPEATS,
    haze_tests: Mapping[str, haze.HazeTest] | None = None,
) -> dict[str, Any]:
    """The Exeter change of the product setting, with the four-band model trained from several seeds.

    The shipped model is trained once, from ``sp["seed"]``; its change between two clear dates
    is one draw of the training. This retrains it from ``sp["seed"]`` and the next
    ``n_seeds − 1`` seeds and maps every clear date with per-date superpixels (as
    ``lulcbook predict``) and with series superpixels (as ``lulcbook series``).

    Args:
        lucas: the LUCAS table the map models learn from.
        sp: the ``spectral`` parameters (:func:`lulcbook.experiments.maps.train_map_model`).
        exeter: the Exeter dates on one grid.
        clear: indices of the clear dates.
        n_seeds: number of training seeds.
        haze_tests: ``{suffix: test}``: also map the dates without what each haze test flags
            (segmentations ``"per-date" + suffix`` and ``"series" + suffix``, e.g.
            ``"per-date, haze test"`` for the suffix :data:`~lulcbook.experiments.maps.HAZE`).

    Returns:
        ``{"seeds", "segments": {segmentation: {"d1→d2": {"changed_share" (per seed),
        "mean", "min", "max"}}}}``; segmentations ``"per-date"``, ``"series"`` and the two of
        each haze test.

    Raises:
        ValueError: ``n_seeds`` below 1.
    """
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be at least 1; got {n_seeds}")
    arrays = spectral.lucas_arrays(lucas, spectral.BANDS_10M)
    seeds = [int(sp["seed"]) + k for k in range(n_seeds)]
    pairs = list(zip(clear[:-1], clear[1:], strict=True))
    dates = [d.attrs["datetime"][:10] for d in exeter]
    shares: dict[str, dict[str, list[float]]] = {"per-date": {}, "series": {}}
    hazed = {k: hazed_scenes(exeter, t)[0] for k, t in (haze_tests or {}).items()}
    for seed in seeds:
        trained = train_map_model(arrays, "s2-4", SHIPPED_VARIANT, sp, seed)
        model = with_offset(trained, L2A_OFFSETS["none"], 4)
        series = series_maps(exeter, model)  # segmented on every date, as `lulcbook series`
        maps = {
            "per-date": {i: classify(model, exeter[i].values) for i in sorted(set(clear))},
            "series": dict(enumerate(series)),
        }
        for suffix, scenes in hazed.items():
            maps["per-date" + suffix] = {
                i: classify(model, scenes[i].values) for i in sorted(set(clear))
            }
            maps["series" + suffix] = dict(enumerate(series_maps(scenes, model)))
        for kind, m in maps.items():
            shares.setdefault(kind, {})
            for pair, share in pair_changes(m, dates, pairs).items():
                shares[kind].setdefault(pair, []).append(share)
    return {
        "seeds": seeds,
        "segments": {
            kind: {
                pair: {"changed_share": v, "mean": float(np.mean(v)), "min": min(v), "max": max(v)}
                for pair, v in by_pair.items()
            }
            for kind, by_pair in shares.items()
        },
    }


def seed_table(spread: Mapping[str, Any]) -> pd.DataFrame:
    """Changed share per training seed (columns) for each segmentation and clear pair (rows)."""
    rows = {
        (kind, pair): dict(zip(spread["seeds"], v["changed_share"], strict=True))
        | {"mean": v["mean"], "min": v["min"], "max": v["max"]}
        for kind, by_pair in spread["segments"].items()
        for pair, v in by_pair.items()
    }
    return pd.DataFrame(rows).T


def seed_sentence(spread: Mapping[str, Any], target: float = 0.10) -> str:
    """One line on the Exeter change over the training seeds of :func:`seed_spread`.

    For each clear pair and segmentation: the mean, the range and how many seeds reach
    ``target``.
    """
    seeds = spread["seeds"]
    names = {"per-date": "per-date superpixels", "series": "series superpixels"}

    def name(kind: str) -> str:
        base, sep, rest = kind.partition(", ")
        return names.get(base, base) + sep + rest

    parts = [
        f"{pair}, {name(kind)}: mean {v['mean']:.1%} (range {v['min']:.1%}–"
        f"{v['max']:.1%}; {sum(x <= target for x in v['changed_share'])} of {len(seeds)} "
        f"seeds ≤ {target:.0%})"
        for kind, by_pair in spread["segments"].items()
        for pair, v in by_pair.items()
    ]
    return (
        f"Exeter change between consecutive clear dates, four-band model trained from seeds "
        f"{seeds[0]}–{seeds[-1]}: " + "; ".join(parts)
    )


def exeter_composite(
    exeter: Sequence[xr.DataArray], model: spectral.SpectralClassifier, name: str
) -> dict[str, Any]:
    """Change between the June and the August median composites (empty without both months)."""
    june = composite.select_dates(exeter, "2024-06-01", "2024-06-30")
    august = composite.select_dates(exeter, "2024-08-01", "2024-08-31")
    if not (june and august):
        return {}
    cm = [classify(model, composite.median_composite(s).values) for s in (june, august)]
    return {
        "model": name,
        "june_dates": len(june),
        "august_dates": len(august),
        **mapcheck.change_share(cm[0], cm[1]),
    }


def change_ndvi(
    before: xr.DataArray,
    after: xr.DataArray,
    cls_before: np.ndarray,
    cls_after: np.ndarray,
    min_share: float = 0.01,
) -> dict[str, dict[str, float]]:
    """NDVI at two dates of the pixels of each class transition between their maps.

    Where the spectra did not change, a map that changes class is noise; where the NDVI dropped
    or rose (mowing, harvest, regrowth), a single-date classifier sees a different surface.

    Args:
        before: ``(band, y, x)`` reflectance with ``B04`` and ``B08`` at the first date.
        after: the same at the second date.
        cls_before: ``(y, x)`` legend indices of the first map (NODATA = masked).
        cls_after: those of the second map.
        min_share: transitions holding less than this share of the pixels valid at both dates
            are left out.

    Returns:
        ``{"from→to": {share, n, ndvi_before, ndvi_after, ndvi_change, ndvi_change_q25,
        ndvi_change_q75}}`` (medians and quartiles), most frequent first.

    Raises:
        ValueError: maps and scenes on different grids.
    """
    ndvi = [_red_nir_ndvi(da)[2] for da in (before, after)]
    if not (ndvi[0].shape == ndvi[1].shape == cls_before.shape == cls_after.shape):
        raise ValueError(
            f"scenes {ndvi[0].shape}, {ndvi[1].shape} and maps {cls_before.shape}, "
            f"{cls_after.shape} are not on one grid"
        )
    ok = (cls_before != legend.NODATA) & (cls_after != legend.NODATA)
    ok &= np.isfinite(ndvi[0]) & np.isfinite(ndvi[1])
    pairs = cls_before[ok].astype(np.int64) * 256 + cls_after[ok]
    before_ok, after_ok, n_ok = ndvi[0][ok], ndvi[1][ok], int(ok.sum())
    codes, counts = np.unique(pairs, return_counts=True)
    out: dict[str, dict[str, float]] = {}
    for code, n in sorted(zip(codes, counts, strict=True), key=lambda t: -t[1]):
        if n / n_ok < min_share:
            continue
        sel = pairs == code
        b, a = before_ok[sel], after_ok[sel]
        q25, q50, q75 = np.quantile(a - b, [0.25, 0.5, 0.75])
        name = f"{legend.KEYS[code // 256]}→{legend.KEYS[code % 256]}"
        out[name] = {"share": float(n / n_ok), "n": int(n),
                     "ndvi_before": float(np.median(b)), "ndvi_after": float(np.median(a)),
                     "ndvi_change": float(q50), "ndvi_change_q25": float(q25),
                     "ndvi_change_q75": float(q75)}  # fmt: skip
    return out


def change_ndvi_sentence(table: Mapping[str, Mapping[str, float]]) -> str:
    """One sentence comparing the NDVI change of pixels that change class and that keep it."""
    changed = {k: v for k, v in table.items() if k.split("→")[0] != k.split("→")[1]}
    kept = {k: v for k, v in table.items() if k not in changed}

    def part(rows: Mapping[str, Mapping[str, float]]) -> str:
        return "; ".join(
            f"{k} {v['share']:.1%} of pixels, median NDVI change {v['ndvi_change']:+.2f}"
            for k, v in rows.items()
        )

    return f"Class changes: {part(changed)}. Kept: {part(kept)}."


def lucas_points_in_scene(lucas: pd.DataFrame, scene: xr.DataArray) -> pd.DataFrame:
    """The LUCAS points of a table (``lon``, ``lat``) that fall inside a scene's grid.

    Args:
        lucas: the ELC10 table (:func:`lulcbook.sources.elc10.read_elc10`).
        scene: a ``(band, y, x)`` scene with a CRS and transform (rioxarray).

    Returns:
        ``point_id``, ``label``, ``source``, ``row`` and ``col`` of each point inside, in the
        table's order (empty when none is).

    Raises:
        ValueError: a scene without a CRS.
    """
    if scene.rio.crs is None:
        raise ValueError(f"scene {scene.attrs.get('source', '')!r} has no CRS")
    px, py = cells.lonlat_to_crs(scene.rio.crs, lucas["lon"].to_numpy(), lucas["lat"].to_numpy())
    row, col, inside = cells.cells_under(scene["x"].values, scene["y"].values, px, py)
    out: pd.DataFrame = lucas.loc[inside, ["point_id", "label", "source"]].reset_index(drop=True)
    return out.assign(row=row[inside], col=col[inside])


def points_mapped(points: pd.DataFrame, maps: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """The class each map gives at each point (``"nodata"`` where masked), with its label.

    Args:
        points: from :func:`lucas_points_in_scene`.
        maps: ``(y, x)`` legend-index maps by name (e.g. date), on the points' grid.
    """

    def name(v: int) -> str:
        return legend.KEYS[v] if v < legend.N_CLASSES else "nodata"

    rows, cols = points["row"].to_numpy(), points["col"].to_numpy()
    return [
        {
            "point_id": int(pid),
            "label": str(label),
            "source": str(source),
            "mapped": {k: name(int(m[rows[i], cols[i]])) for k, m in maps.items()},
        }
        for i, (pid, label, source) in enumerate(
            zip(points["point_id"], points["label"], points["source"], strict=True)
        )
    ]


def _change_by_bins(
    covariate: np.ndarray,
    ndvi: np.ndarray,
    cls_before: np.ndarray,
    cls_after: np.ndarray,
    n_bins: int,
    ndvi_after: np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    """Share of pixels changing class in each quantile bin of a per-pixel ``covariate``.

    Returns:
        ``{"q1": {range, changed_share, share_of_changes, share_of_pixels, ndvi_median}, ...}``,
        lowest covariate first (``ndvi_median``: of ``ndvi``); with ``ndvi_after``, also
        ``ndvi_change_median`` (median of ``ndvi_after − ndvi``).

    Raises:
        ValueError: arrays on different grids, or no pixel valid in both maps.
    """
    if not (covariate.shape == ndvi.shape == cls_before.shape == cls_after.shape):
        raise ValueError(
            f"scene {covariate.shape} and maps {cls_before.shape}, {cls_after.shape} are not "
            "one grid"
        )
    ok = (cls_before != legend.NODATA) & (cls_after != legend.NODATA) & np.isfinite(covariate)
    if not ok.any():
        raise ValueError("no pixel is valid in both maps")
    changed = (cls_before != cls_after) & ok
    edges = np.quantile(covariate[ok], np.linspace(0, 1, n_bins + 1))
    which = np.clip(np.searchsorted(edges, covariate, side="right") - 1, 0, n_bins - 1)
    out: dict[str, dict[str, Any]] = {}
    for i in range(n_bins):
        sel = ok & (which == i)
        empty = not sel.any()  # tied edges can leave a bin empty
        out[f"q{i + 1}"] = {
            "range": [float(edges[i]), float(edges[i + 1])],
            "changed_share": float("nan") if empty else float(changed[sel].mean()),
            "share_of_changes": float(changed[sel].sum() / max(changed.sum(), 1)),
            "share_of_pixels": float(sel.sum() / ok.sum()),
            "ndvi_median": float("nan") if empty else float(np.nanmedian(ndvi[sel])),
        }
        if ndvi_after is not None:
            d = (ndvi_after - ndvi)[sel]
            d = d[np.isfinite(d)]
            out[f"q{i + 1}"]["ndvi_change_median"] = float(np.median(d)) if d.size else float("nan")
    return out


def _red_nir_ndvi(da: xr.DataArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(red, nir, ndvi)`` of a scene with ``B04`` and ``B08`` (float64, NaN where invalid)."""
    red, nir = (da.sel(band=b).values.astype(np.float64) for b in ("B04", "B08"))
    with np.errstate(invalid="ignore", divide="ignore"):
        return red, nir, (nir - red) / (nir + red)


def change_by_texture(
    before: xr.DataArray,
    cls_before: np.ndarray,
    cls_after: np.ndarray,
    pixel_m: float,
    n_bins: int = 4,
) -> dict[str, Any]:
    """Share of pixels changing class in each quantile bin of NDVI texture (first date).

    Texture is the local standard deviation of NDVI in a window of the ground size of the
    LUCAS table's ``ndvi_texture_sd`` (:mod:`lulcbook.texture`): low in fields and woods,
    high in built-up land mixed with gardens and trees.

    Args:
        before: ``(band, y, x)`` reflectance with ``B04`` and ``B08`` at the first date.
        cls_before: ``(y, x)`` legend indices of the first map (NODATA = masked).
        cls_after: those of the second map.
        pixel_m: pixel size of the scene (m).
        n_bins: number of quantile bins.

    Returns:
        ``{"q1": {range, changed_share, share_of_changes, share_of_pixels, ndvi_median},
        ...}``, smoothest bin first, and ``window_px``.

    Raises:
        ValueError: maps and scene on different grids, or no pixel valid in both maps.
    """
    red, nir, ndvi = _red_nir_ndvi(before)
    window = texture.texture_window(pixel_m)
    tex = texture.ndvi_texture(red, nir, window)
    return {"window_px": window, **_change_by_bins(tex, ndvi, cls_before, cls_after, n_bins)}


def change_by_blue_rise(
    before: xr.DataArray,
    after: xr.DataArray,
    cls_before: np.ndarray,
    cls_after: np.ndarray,
    n_bins: int = 4,
) -> dict[str, dict[str, Any]]:
    """Share of pixels changing class in each quantile bin of the rise of blue (B02) reflectance.

    Haze and thin cloud brighten the blue band most; a pixel whose B02 rises between two dates
    while its land cover stays is seen through more atmosphere (the basis of multi-temporal
    cloud tests). But a mown meadow or a harvested field brightens the blue band too, and loses
    NDVI: each bin also gives the median NDVI change, and :func:`haze_bound` separates the
    scene-scale part of the rise (haze) from the field-scale part.

    Args:
        before: ``(band, y, x)`` reflectance with ``B02``, ``B04`` and ``B08`` at the first date.
        after: the same at the second date.
        cls_before: ``(y, x)`` legend indices of the first map (NODATA = masked).
        cls_after: those of the second map.
        n_bins: number of quantile bins.

    Returns:
        As :func:`change_by_texture` (without ``window_px``); ``range`` is the B02 rise,
        ``ndvi_median`` the NDVI at the first date and ``ndvi_change_median`` its change.

    Raises:
        ValueError: maps and scenes on different grids, or no pixel valid in both maps.
    """
    b02 = [da.sel(band="B02").values.astype(np.float64) for da in (before, after)]
    if b02[0].shape != b02[1].shape:
        raise ValueError(f"scenes {b02[0].shape} and {b02[1].shape} are not one grid")
    ndvi = [_red_nir_ndvi(da)[2] for da in (before, after)]
    return _change_by_bins(b02[1] - b02[0], ndvi[0], cls_before, cls_after, n_bins, ndvi[1])


def change_by_ndvi_change(
    before: xr.DataArray,
    after: xr.DataArray,
    cls_before: np.ndarray,
    cls_after: np.ndarray,
    n_bins: int = 4,
) -> dict[str, dict[str, Any]]:
    """Share of pixels changing class in each quantile bin of the size of the NDVI change.

    Where the NDVI changed most (mowing, harvest, drying), a single-date map that changes
    class follows the surface; where it barely changed, a change of class is the map's own
    instability (pixels near a class boundary that a small shift of the spectra tips over).

    Args:
        before: ``(band, y, x)`` reflectance with ``B04`` and ``B08`` at the first date.
        after: the same at the second date.
        cls_before: ``(y, x)`` legend indices of the first map (NODATA = masked).
        cls_after: those of the second map.
        n_bins: number of quantile bins.

    Returns:
        As :func:`change_by_blue_rise`; ``range`` is ``|NDVI change|``.

    Raises:
        ValueError: maps and scenes on different grids, or no pixel valid in both maps.
    """
    ndvi = [_red_nir_ndvi(da)[2] for da in (before, after)]
    if ndvi[0].shape != ndvi[1].shape:
        raise ValueError(f"scenes {ndvi[0].shape} and {ndvi[1].shape} are not one grid")
    size = np.abs(ndvi[1] - ndvi[0])
    return _change_by_bins(size, ndvi[0], cls_before, cls_after, n_bins, ndvi[1])


HAZE_SCALES_M: tuple[float, ...] = (500.0, 1000.0)
"""Gaussian widths (σ, m) of the scene-scale part of a difference between dates.

Haze and errors of the atmospheric correction vary over kilometres; the fields and parcels of
the Exeter scene are a hundred metres or two across. The widths are set here, before the
check, not from its result.
"""


def haze_bound(
    before: xr.DataArray,
    after: xr.DataArray,
    model: MapModel,
    pixel_m: float,
    scales_m: Sequence[float] = HAZE_SCALES_M,
) -> dict[str, Any]:
    """Class change left when every scene-scale difference between two dates is removed.

    For each Gaussian width σ, the difference ``after − before`` of every band is smoothed
    over the pixels valid at both dates (:func:`lulcbook.scales.masked_gaussian`) and taken
    off the second date; both dates are classified by ``model`` and the share of pixels that
    change class is compared with the share as is. This removes haze and the errors of the
    atmospheric correction (and any smooth real change with them), whatever their spectral
    shape: the change it leaves is about the least that a correction of the atmosphere could
    reach. What it leaves is change at the scale of fields.

    Args:
        before: ``(band, y, x)`` reflectance at the first date (with ``B02``).
        after: the same bands at the second date, on the same grid.
        model: the map model.
        pixel_m: pixel size of the scenes (m).
        scales_m: Gaussian widths σ (m).

    Returns:
        ``as_is`` (changed share of the two maps), ``n_valid_both`` and ``by_scale``:
        ``{"500 m": {changed_share, blue_rise_median, blue_rise_scene_variance_share}}`` —
        the median scene-scale rise of B02 and the share of the variance of the B02 rise
        that is scene scale.

    Raises:
        ValueError: scenes with other bands or grids, or no pixel valid at both dates.
    """
    if before.shape != after.shape or list(before.band.values) != list(after.band.values):
        raise ValueError(
            f"scenes {before.shape} {list(before.band.values)} and {after.shape} "
            f"{list(after.band.values)} must have the same bands on one grid"
        )
    b0, b1 = (np.asarray(d.values, dtype=np.float64) for d in (before, after))
    valid = np.asarray(np.isfinite(b0).all(axis=0) & np.isfinite(b1).all(axis=0), dtype=bool)
    if not valid.any():
        raise ValueError("no pixel is valid at both dates")
    first = classify(model, b0)
    blue = list(before.band.values).index("B02")
    diff = b1 - b0
    rise = diff[blue][valid]
    by_scale: dict[str, dict[str, float]] = {}
    for s_m in scales_m:
        sigma = scales.sigma_pixels(s_m, pixel_m)
        smooth = np.stack([scales.masked_gaussian(d, valid, sigma) for d in diff])
        corrected = np.where(valid, b1 - smooth, np.nan)
        by_scale[f"{s_m:g} m"] = {
            "changed_share": mapcheck.change_share(first, classify(model, corrected))[
                "changed_share"
            ],
            "blue_rise_median": float(np.median(smooth[blue][valid])),
            "blue_rise_scene_variance_share": float(
                np.var(smooth[blue][valid]) / max(float(np.var(rise)), 1e-12)
            ),
        }
    return {
        "as_is": mapcheck.change_share(first, classify(model, b1))["changed_share"],
        "n_valid_both": int(valid.sum()),
        "by_scale": by_scale,
    }


def lucas_texture(lucas: pd.DataFrame) -> dict[str, float]:
    """Median ``ndvi_texture_sd`` (NDVI units) of the LUCAS points of each class."""
    med = lucas.groupby("label")["ndvi_texture_sd"].median() / 1000.0
    return {k: float(med[k]) for k in legend.KEYS if k in med.index}


def _texture_phrase(part: str, lo: Mapping[str, Any], hi: Mapping[str, Any]) -> str:
    return (
        f"{lo['changed_share']:.1%} of the pixels change class in the smoothest {part} of "
        f"NDVI texture (median NDVI {lo['ndvi_median']:.2f}) and "
        f"{hi['changed_share']:.1%} in the most textured (median NDVI {hi['ndvi_median']:.2f})"
    )


def _blue_phrase(part: str, lo: Mapping[str, Any], hi: Mapping[str, Any]) -> str:
    def dndvi(b: Mapping[str, Any], sep: str) -> str:
        d = b.get("ndvi_change_median")
        return "" if d is None else f"{sep}median NDVI change {d:+.2f}"

    least = dndvi(lo, "")
    return (
        f"{hi['changed_share']:.1%} change class in the {part} whose blue (B02) rose most "
        f"(by {hi['range'][0]:+.3f} to {hi['range'][1]:+.3f}{dndvi(hi, ', ')}) against "
        f"{lo['changed_share']:.1%} in the {part} whose blue rose least"
        + (f" ({least})" if least else "")
    )


def _ndvi_phrase(part: str, lo: Mapping[str, Any], hi: Mapping[str, Any]) -> str:
    return (
        f"{lo['changed_share']:.1%} change class in the {part} whose NDVI changed least "
        f"(by at most {lo['range'][1]:.3f}) and {hi['changed_share']:.1%} in the {part} "
        f"whose NDVI changed most (by {hi['range'][0]:.2f} or more)"
    )


def _series_phrase(part: str, lo: Mapping[str, Any], hi: Mapping[str, Any]) -> str:
    return (
        f"on series superpixels, {lo['changed_share']:.1%} and {hi['changed_share']:.1%} "
        f"(the {part} of least NDVI change holds {lo['share_of_changes']:.0%} of the "
        f"changes, the {part} of most {hi['share_of_changes']:.0%})"
    )


def _haze_phrase(bound: Mapping[str, Any]) -> str:
    by_scale = bound["by_scale"]
    kept = list(by_scale.values())
    return (
        f"taking the scene-scale difference of every band off the second date (Gaussian σ "
        f"{', '.join(by_scale)}; it holds "
        + ", ".join(f"{v['blue_rise_scene_variance_share']:.0%}" for v in kept)
        + " of the variance of the blue rise) leaves "
        + ", ".join(f"{v['changed_share']:.1%}" for v in kept)
        + f" of the pixels changing class, against {bound['as_is']:.1%} as is"
    )


def exeter_scene_sentence(
    shares: Mapping[str, Mapping[str, float]],
    points: Sequence[Mapping[str, Any]],
    by_texture: Mapping[str, Any],
    by_blue: Mapping[str, Any] | None = None,
    bound: Mapping[str, Any] | None = None,
    by_ndvi: Mapping[str, Any] | None = None,
    by_ndvi_series: Mapping[str, Any] | None = None,
) -> str:
    """What the Exeter maps show of the city: artificial share, LUCAS points, change by bins.

    Args:
        shares: class shares per date (:func:`lulcbook.mapcheck.class_shares`).
        points: from :func:`points_mapped`.
        by_texture: from :func:`change_by_texture`.
        by_blue: from :func:`change_by_blue_rise`.
        bound: from :func:`haze_bound`.
        by_ndvi: from :func:`change_by_ndvi_change`.
        by_ndvi_series: the same for the maps on series superpixels.
    """
    art = ", ".join(f"{v.get('artificial', 0.0):.1%} on {d}" for d, v in shares.items())
    parts = [f"Artificial land is {art} of the mapped pixels"]
    for p in points:
        mapped = ", ".join(f"{v} on {d}" for d, v in p["mapped"].items())
        parts.append(f"the LUCAS 2018 point {p['point_id']} ({p['label']}) is mapped {mapped}")
    spectra = ((by_texture, _texture_phrase), (by_blue, _blue_phrase))
    parts += [say(*ext) for bins, say in spectra if (ext := mapcheck.bin_extremes(bins))]
    if bound and bound.get("by_scale"):
        parts.append(_haze_phrase(bound))
    surface = ((by_ndvi, _ndvi_phrase), (by_ndvi_series, _series_phrase))
    parts += [say(*ext) for bins, say in surface if (ext := mapcheck.bin_extremes(bins))]
    return "; ".join(parts) + "."


def exeter_city(
    lucas: pd.DataFrame,
    scenes: Sequence[xr.DataArray],
    maps: Mapping[str, np.ndarray],
    clear: Sequence[int],
    model: MapModel | None = None,
    series: Mapping[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """What the Exeter maps make of the city: the checks of notebook 07 in one record.

    Args:
        lucas: the ELC10 table (the points inside the scene are looked up in it).
        scenes: the Exeter dates, on one grid.
        maps: the ``(y, x)`` map of each date, by ISO date.
        clear: indices of the clear dates.
        model: the map model of ``maps``; with it, :func:`haze_bound` of each clear pair.
        series: the same dates mapped on series superpixels (:attr:`ExeterStability.series`);
            with them, :func:`change_by_ndvi_change` of those maps too.

    Returns:
        ``text`` (:func:`exeter_scene_sentence`), ``lucas_points`` (:func:`points_mapped` at the
        clear dates), ``change_by_texture``, ``change_by_blue_rise`` and ``change_by_ndvi_change``
        per pair of consecutive
        clear dates, ``lucas_texture_median`` (:func:`lucas_texture`), ``artificial_share`` per
        clear date, ``band_medians`` (median reflectance per clear date over the pixels clear at
        all of them), ``haze_bound`` per clear pair (empty without ``model``) and ``points``
        (the frame of :func:`lucas_points_in_scene`, for figures).
    """
    dates = [s.attrs["datetime"][:10] for s in scenes]
    clear_dates = [dates[i] for i in clear]
    points = lucas_points_in_scene(lucas, scenes[0])
    pixel_m = abs(float(scenes[0].rio.resolution()[0]))
    pairs = {f"{dates[i]}→{dates[j]}": (i, j) for i, j in zip(clear[:-1], clear[1:], strict=True)}
    by_texture = {
        k: change_by_texture(scenes[i], maps[dates[i]], maps[dates[j]], pixel_m)
        for k, (i, j) in pairs.items()
    }
    by_blue = {
        k: change_by_blue_rise(scenes[i], scenes[j], maps[dates[i]], maps[dates[j]])
        for k, (i, j) in pairs.items()
    }
    by_ndvi = {
        k: change_by_ndvi_change(scenes[i], scenes[j], maps[dates[i]], maps[dates[j]])
        for k, (i, j) in pairs.items()
    }
    by_ndvi_series = {
        k: change_by_ndvi_change(scenes[i], scenes[j], series[dates[i]], series[dates[j]])
        for k, (i, j) in pairs.items()
        if series
    }
    bounds = {
        k: haze_bound(scenes[i], scenes[j], model, pixel_m) for k, (i, j) in pairs.items() if model
    }
    shares = {d: mapcheck.class_shares(maps[d]) for d in clear_dates}
    mapped = points_mapped(points, {d: maps[d] for d in clear_dates})
    both = np.logical_and.reduce([np.isfinite(scenes[i].values).all(axis=0) for i in clear])
    band_medians = {
        dates[i]: {
            str(b): float(np.median(v[both]))
            for b, v in zip(scenes[i].band.values, scenes[i].values, strict=True)
        }
        for i in clear
    }
    first = next(iter(pairs), None)
    return {
        "text": exeter_scene_sentence(
            shares,
            mapped,
            by_texture[first] if first else {},
            by_blue[first] if first else {},
            bounds.get(first) if first else None,
            by_ndvi[first] if first else None,
            by_ndvi_series.get(first) if first else None,
        ),
        "lucas_points": mapped,
        "change_by_texture": by_texture,
        "change_by_blue_rise": by_blue,
        "change_by_ndvi_change": by_ndvi,
        "change_by_ndvi_change_series": by_ndvi_series,
        "lucas_texture_median": lucas_texture(lucas),
        "artificial_share": {d: v["artificial"] for d, v in shares.items()},
        "band_medians": band_medians,
        "haze_bound": bounds,
        "points": points,
    }


def bins_table(city: Mapping[str, Any]) -> pd.DataFrame | None:
    """The change bins of every clear pair (texture, blue rise, NDVI change; or ``None``)."""
    tables = {
        (kind, pair): pd.DataFrame({k: v for k, v in bins.items() if k != "window_px"}).T
        for kind in (
            "change_by_texture",
            "change_by_blue_rise",
            "change_by_ndvi_change",
            "change_by_ndvi_change_series",
        )  # fmt: skip
        for pair, bins in city.get(kind, {}).items()
    }
    return pd.concat(tables) if tables else None


def ndvi_change_frame(city: Mapping[str, Any]) -> pd.DataFrame:
    """Changed share per quantile bin of the NDVI change, per clear pair and superpixels.

    Columns ``pair``, ``bin`` (e.g. ``"q1 0.000–0.031"``), ``superpixels`` (``"per date"`` for the
    product maps, ``"series"`` for :attr:`ExeterStability.series`) and ``changed share``.
    """
    rows = [
        {
            "pair": pair,
            "bin": f"{q} {v['range'][0]:.3f}–{v['range'][1]:.3f}",
            "superpixels": name,
            "changed share": v["changed_share"],
        }
        for kind, name in (
            ("change_by_ndvi_change", "per date"),
            ("change_by_ndvi_change_series", "series"),
        )  # fmt: skip
        for pair, bins in city.get(kind, {}).items()
        for q, v in bins.items()
    ]
    return pd.DataFrame(rows, columns=["pair", "bin", "superpixels", "changed share"])


def ndvi_change_figure(city: Mapping[str, Any], target: float = 0.10) -> Any:
    """Bars of :func:`ndvi_change_frame` for the first clear pair, with the target as a line."""
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    df = ndvi_change_frame(city)
    first = df[df["pair"] == df["pair"].iloc[0]] if len(df) else df
    bars = hv.Bars(first, ["bin", "superpixels"], "changed share").opts(
        title=f"Exeter {first['pair'].iloc[0] if len(first) else ''}: pixels changing class "
        f"by quarter of |NDVI change| (dashed: {target:.0%})",
        xlabel="|NDVI change| between the clear dates (quarters)",
    )
    bars = bars.opts(multi_level=False, show_legend=True, color=hv.Cycle(["#1f77b4", "#d62728"]))
    fig = bars * hv.HLine(target).opts(color="grey", line_dash="dashed", backend="bokeh").opts(
        color="grey", linestyle="dashed", backend="matplotlib"
    )
    return fig.opts(fig_inches=(8, 3.5), aspect=2.4, legend_position="right",
                    backend="matplotlib").opts(width=760, height=320, backend="bokeh")  # fmt: skip


def haze_table(city: Mapping[str, Any]) -> pd.DataFrame | None:
    """:func:`haze_bound` of every clear pair, a row per pair and scale (``None``: none)."""
    tables = {
        pair: pd.DataFrame(h["by_scale"]).T.assign(as_is=h["as_is"])
        for pair, h in city.get("haze_bound", {}).items()
    }
    return pd.concat(tables).round(3) if tables else None


def exeter_scene_figure(
    scenes: Sequence[xr.DataArray],
    maps: Sequence[np.ndarray],
    dates: Sequence[str],
    points: pd.DataFrame,
) -> Any:
    """RGB and map of each date, with the LUCAS points of the scene marked (matplotlib)."""
    fig = viz.rgb_class_rows(
        [np.asarray(s.values) for s in scenes],
        [str(b) for b in scenes[0].band.values],
        [[m] for m in maps],
        ["map (`lulcbook predict`)"],
        row_titles=[f"{d} RGB" for d in dates],
        tile_inches=3.2,
        suptitle="Exeter L2A 2024, clear dates (circles: LUCAS 2018 points)",
    )
    for ax in fig.axes[: 2 * len(scenes)]:
        ax.scatter(points["col"], points["row"], s=60, facecolors="none", edgecolors="magenta")
    return fig


def predict_dates(
    scenes: Sequence[xr.DataArray],
    dates: Sequence[str],
    model: spectral.SpectralClassifier,
    out_dir: Path,
    name: str,
    run: Mapping[str, Any],
) -> dict[str, predict.MapResult]:
    """Map each Exeter date with :func:`lulcbook.predict.predict_scene` (``exeter-DATE.tif``)."""
    return {
        d: predict.predict_scene(
            a,
            cast(predict.TileClassifier, model),
            out_dir / f"exeter-{d}.tif",
            model_name=name,
            progress=False,
            **run,
        )
        for d, a in zip(dates, scenes, strict=True)
    }


def dates_figure(results: Mapping[str, predict.MapResult]) -> Any:
    """The class map of every date, three per row."""
    panels = [
        viz.class_map(predict.open_map(r.path)["class"], f"Exeter {d}", width=360)
        for d, r in results.items()
    ]
    return hv.Layout(panels).cols(3).opts(sublabel_format="", backend="matplotlib")
