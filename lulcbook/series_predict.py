"""Time-series prediction: a series of scenes → one consistent map per period + a change layer.

Inputs are several raster files (one date each), folders of band files (one folder per date;
a folder whose sub-folders are dates expands to them), or a STAC search with a date range
(:func:`stac_series`, one time step per solar day). Every date is read through
:func:`lulcbook.predict.open_source` (so scaling presets and cloud-mask bands work as for one
scene) onto the grid of the first date, classified with the model's ``predict_proba``, and
combined by :mod:`lulcbook.temporal`: per-period mean probabilities, the sticky hidden Markov
rule that separates change from noise, and the change layer.

:func:`predict_series` writes, all together and only when complete (:func:`lulcbook.io.output_set`):

* per period the map product of :mod:`lulcbook.cog` with the stem ``OUT_<period>``: class COG
  (legend colours), confidence and uncertainty COGs, attribute table, QGIS style and STAC item;
* ``OUT_change.tif`` (uint8 ``change``: 0 no change, ``i`` = first change between period
  ``i − 1`` and ``i``, 255 no data) and its STAC item ``OUT_change.json``.

The whole series is held in memory (dates × classes × pixels float32): it is meant for
scenes of up to a few thousand pixels a side; larger areas are cut into windows first.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import rasterio
from rasterio.windows import Window

from lulcbook import (
    class_style,
    climate_field,
    cloudmask,
    cog,
    haze,
    io,
    l2a_offset,
    legend,
    product_stac,
    temporal,
)
from lulcbook.cli_options import (
    add_climate_option,
    add_command,
    add_l2a_offset_option,
    add_model_options,
    add_stac_search_options,
    choose_model,
    name_list,
    number_list,
)
from lulcbook.predict import (
    ArraySource,
    RasterSource,
    Source,
    TileClassifier,
    check_climate,
    check_projected,
    class_values,
    input_files,
    open_source,
    search_items,
    source_from_array,
)

PathLike = str | os.PathLike[str]

CHANGE_BAND: str = "change"
"""Name of the band of the change layer."""

HLS_FMASK_INVALID: tuple[int, ...] = cloudmask.fmask_values(
    cloudmask.FMASK_CLOUD | cloudmask.FMASK_ADJACENT | cloudmask.FMASK_SHADOW
)
"""HLS v2 Fmask values with the cloud (bit 1), adjacent-to-cloud/shadow (bit 2) or cloud-shadow
(bit 3) bit set: pass as ``mask_values`` with ``mask_band="Fmask"``."""


SEGMENTS: tuple[str, ...] = ("shared", "per-date")
"""Superpixels of a series: one segmentation for every date (``shared``, for models that offer
``shared_segments``) or each date its own (``per-date``)."""

DEFAULT_SEGMENTS: str = "shared"
"""The superpixels ``lulcbook series`` uses unless told otherwise (measured in notebook
10-temporal: fewer pixels change class between clear dates than with per-date superpixels)."""


@runtime_checkable
class SharesSegments(Protocol):
    """A classifier that segments a series once and classifies every date on those segments.

    :class:`lulcbook.models.spectral.SpectralClassifier` is one.
    """

    def shared_segments(self, series: np.ndarray) -> np.ndarray:
        """``(y, x)`` superpixels of a ``(time, band, y, x)`` series."""
        ...

    def predict_proba(self, tile: np.ndarray, *, labels: np.ndarray | None = None) -> np.ndarray:
        """``(n_classes, y, x)`` probabilities of a tile on the given superpixels."""
        ...


@dataclass(frozen=True)
class Series:
    """A series of acquisitions on one grid.

    Attributes:
        data: ``(time, band, y, x)`` float32 reflectance, NaN where masked.
        dates: ISO date of each time step (sorted).
        bands: band names.
        crs: CRS (WKT).
        transform: affine transform of the grid.
        names: the input of each time step.
    """

    data: np.ndarray
    dates: list[str]
    bands: list[str]
    crs: str
    transform: rasterio.Affine
    names: list[str]


@dataclass(frozen=True)
class SeriesResult:
    """What :func:`predict_series` wrote and measured.

    Attributes:
        periods: period labels in time order.
        maps: map COG per period.
        stac_items: STAC item per period and ``"change"``.
        change: the change COG.
        dates: the input dates.
        raw_change_share: share of pixels changing class between consecutive periods,
            per-period argmax without the rule.
        change_share: the same after the rule (smoothed classes).
        seconds: wall time.
        nodata_share: share of the pixels without a class in each period's map (masked, or
            flagged by the haze test, on every date of the period).
    """

    periods: list[str]
    maps: dict[str, Path]
    stac_items: dict[str, Path]
    change: Path
    dates: list[str]
    raw_change_share: dict[str, float]
    change_share: dict[str, float]
    seconds: float
    nodata_share: dict[str, float]


def series_inputs(inputs: Sequence[PathLike]) -> list[Path]:
    """Expand the inputs into one path per date.

    A folder whose entries include sub-folders stands for a folder per date (each sub-folder
    is one date, sorted by name); anything else is one date.

    Raises:
        FileNotFoundError: an input that does not exist.
        ValueError: no inputs.
    """
    out: list[Path] = []
    for raw in inputs:
        p = Path(raw)
        if not p.exists():
            raise FileNotFoundError(f"Series input {p} does not exist")
        subs = sorted(c for c in p.iterdir() if c.is_dir()) if p.is_dir() else []
        out.extend(subs or [p])
    if not out:
        raise ValueError("A series needs at least one input")
    return out


def _on_grid(source: Any, like: Source) -> Any:
    if isinstance(source, RasterSource) and isinstance(like, RasterSource):
        return dataclasses.replace(
            source, crs=like.crs, transform=like.transform, width=like.width, height=like.height
        )
    if (source.crs, source.width, source.height) != (like.crs, like.width, like.height):
        raise ValueError(f"{source.name} is not on the grid of {like.name}")
    return source


def read_series(
    inputs: Sequence[Any],
    bands: Sequence[str],
    dates: Sequence[str] | None = None,
    **source_kw: Any,
) -> Series:
    """Read every input on the grid of the first (bilinear warp), sorted by date.

    Args:
        inputs: paths (files, band-file folders, STAC items) or sources/DataArrays.
        bands: the bands to read.
        dates: ISO date per input (default: from each input's tags or name).
        **source_kw: passed to :func:`lulcbook.predict.open_source` (preset, mask_band, ...).

    Raises:
        ValueError: an input without a date, duplicate dates, or inputs that cannot be aligned.
    """
    sources = [open_source(i, list(bands), **source_kw) for i in inputs]
    if dates is None:
        dates = [str(s.datetime or "") for s in sources]
    if len(dates) != len(sources):
        raise ValueError(f"{len(dates)} dates given for {len(sources)} inputs")
    for s, d in zip(sources, dates, strict=True):
        if not d:
            raise ValueError(f"{s.name} has no acquisition date (tags or file name); give dates")
        temporal.parse_date(d)
    days = [temporal.parse_date(d).isoformat() for d in dates]
    if len(set(days)) != len(days):
        raise ValueError(f"duplicate dates in the series: {sorted(days)}")
    order = np.argsort(days, kind="stable")
    sources = [sources[i] for i in order]
    like = sources[0]
    check_projected(like.crs, like.name)
    window = Window(0, 0, like.width, like.height)
    data = np.stack([_on_grid(s, like).read(window) for s in sources]).astype(np.float32)
    return Series(
        data=data,
        dates=[days[i] for i in order],
        bands=list(bands),
        crs=like.crs,
        transform=like.affine,
        names=[str(s.name) for s in sources],
    )


def stac_series(
    bands: Sequence[str],
    bbox: Sequence[float],
    datetime: str,
    collection: str = "sentinel-2-l2a",
    url: str | None = None,
    max_cloud: float | None = 20.0,
) -> list[ArraySource]:
    """Search a STAC API for a date range; one source per solar day, on one grid.

    Raises:
        ValueError: the search finds nothing.
    """
    from lulcbook.sources import stac

    items = search_items(bbox, datetime, collection, url, max_cloud)
    da = stac.load(items, list(bands), bbox=list(bbox), groupby="solar_day", resampling="bilinear")
    out = []
    for t in range(da.sizes["time"]):
        day = str(np.datetime_as_string(da["time"].values[t], unit="D"))
        step = da.isel(time=t, drop=True).transpose("band", "y", "x").rio.write_crs(da.rio.crs)
        src = source_from_array(step, bands, name=f"STAC {collection} {day} {list(bbox)}")
        out.append(dataclasses.replace(src, datetime=day))
    return out


def for_resolution(model: Any, resolution_m: float, model_resolution_m: float) -> Any:
    """The model with its superpixel size (pixels) scaled to a grid of ``resolution_m``.

    Segment-based models (``segment_size`` in pixels of their training resolution) keep the
    same segment *area* on coarser grids, e.g. 48 px at 10 m → 12 px at 20 m; models without
    ``segment_size`` are returned unchanged.

    Raises:
        ValueError: a non-positive resolution.
    """
    if resolution_m <= 0 or model_resolution_m <= 0:
        raise ValueError(f"resolutions must be > 0, got {resolution_m} and {model_resolution_m}")
    size = getattr(model, "segment_size", None)
    if not size or not dataclasses.is_dataclass(model) or isinstance(model, type):
        return model
    return dataclasses.replace(model, segment_size=size * (model_resolution_m / resolution_m) ** 2)


def series_probabilities(
    model: TileClassifier, series: Series, segments: str = DEFAULT_SEGMENTS
) -> np.ndarray:
    """Per-date probabilities ``(time, legend.N_CLASSES, y, x)``; NaN where a date is masked.

    The model's classes are placed at their legend index (classes it lacks get 0). With
    ``segments="shared"`` a model that offers it (:class:`SharesSegments`) classifies every
    date on one segmentation of the series; other models segment each date on its own. A model
    with climate input gets the climate of every pixel of the series' grid
    (:meth:`lulcbook.models.spectral.SpectralClassifier.climate_layers`).

    Raises:
        ValueError: an unknown ``segments``.
    """
    if segments not in SEGMENTS:
        raise ValueError(f"segments must be one of {SEGMENTS}; got {segments!r}")
    values = class_values(model.classes)
    t, _, h, w = series.data.shape
    out = np.full((t, legend.N_CLASSES, h, w), np.nan, dtype=np.float32)
    sharer = model if segments == "shared" and isinstance(model, SharesSegments) else None
    labels = sharer.shared_segments(series.data) if sharer is not None else None
    layers = getattr(model, "climate_layers", None)
    climate = layers(series.crs, series.transform, (h, w)) if layers is not None else None
    kw: dict[str, Any] = {} if climate is None else {"climate": climate}
    for i in range(t):
        p = np.asarray(
            sharer.predict_proba(series.data[i], labels=labels, **kw)
            if sharer is not None
            else model.predict_proba(series.data[i], **kw),
            dtype=np.float32,
        )
        ok = np.isfinite(p).all(axis=0)
        full = np.zeros((legend.N_CLASSES, h, w), dtype=np.float32)
        full[values] = np.nan_to_num(p)
        out[i][:, ok] = full[:, ok]
    return out


def normalised_entropy(proba: np.ndarray) -> np.ndarray:
    """Entropy of ``(n_classes, y, x)`` probabilities over ``log(n_classes)``; NaN stays NaN."""
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0)
    h = -(p * np.log(p)).sum(axis=0) / np.log(p.shape[0])
    return np.asarray(np.where(np.isfinite(proba).all(axis=0), h, np.nan), dtype=np.float32)


def change_colours(n_periods: int) -> dict[int, tuple[int, int, int, int]]:
    """Colour table of the change layer: no change light grey, changes in shades of red.

    Args:
        n_periods: the number of periods (change values 1 … n_periods − 1).

    Returns:
        value → RGBA, with nodata transparent.
    """
    out = {0: (230, 230, 230, 255), legend.NODATA: (0, 0, 0, 0)}
    for i in range(1, n_periods):
        shade = int(80 + 150 * (i - 1) / max(n_periods - 2, 1))
        out[i] = (shade, 20, 20, 255)
    return out


def change_asset(href: str, path: Path, periods: Sequence[str]) -> product_stac.AssetSpec:
    """The STAC asset of the change layer (one uint8 ``change`` band).

    Args:
        href: the asset href (relative to the item).
        path: the file as written so far.
        periods: the period labels in time order.

    Returns:
        The asset spec for :func:`lulcbook.product_stac.product_item`.
    """
    meaning = "; ".join(f"{i} = {periods[i - 1]} to {periods[i]}" for i in range(1, len(periods)))
    return product_stac.AssetSpec(
        key=CHANGE_BAND,
        href=href,
        title="Land-cover change between periods",
        description="uint8: 0 = the same class in every period; i = the first change of class, "
        f"between period i-1 and period i ({meaning or 'one period only'}); 255 = no data. "
        "A change is kept only where the sticky hidden Markov rule of lulcbook.temporal accepts it.",
        bands=(product_stac.BandSpec(CHANGE_BAND, "uint8", nodata=legend.NODATA),),
        path=path,
        roles=("data",),
    )


def consecutive_change(classes: np.ndarray, periods: Sequence[str]) -> dict[str, float]:
    """Share of pixels valid in both periods whose class differs, per consecutive pair."""
    out = {}
    for i in range(1, len(periods)):
        a, b = classes[i - 1], classes[i]
        ok = (a != legend.NODATA) & (b != legend.NODATA)
        out[f"{periods[i - 1]}→{periods[i]}"] = (
            float((a[ok] != b[ok]).mean()) if ok.any() else float("nan")
        )
    return out


def predict_series(
    inputs: Sequence[Any],
    model: TileClassifier,
    out: PathLike,
    *,
    period: str = "month",
    change_prior: float = temporal.SERIES_CHANGE_PRIOR,
    dates: Sequence[str] | None = None,
    blocksize: int = 512,
    model_resolution_m: float | None = None,
    model_name: str = "",
    extra_inputs: Sequence[PathLike] = (),
    segments: str = DEFAULT_SEGMENTS,
    properties: Mapping[str, Any] | None = None,
    haze_test: haze.HazeTest | None = None,
    **source_kw: Any,
) -> SeriesResult:
    """Classify a series and write one map per period and a change layer (COGs + STAC items).

    Args:
        inputs: one entry per date: raster files, band-file folders, STAC items, or sources
            (e.g. from :func:`stac_series`); see :func:`series_inputs` for folders of dates.
        model: a classifier with ``bands``, ``classes`` and ``predict_proba``.
        out: base output path ``OUT.tif``; files are named ``OUT_<period>.tif`` etc.
        period: ``"date"``, ``"month"``, ``"season"`` or ``"year"``.
        change_prior: prior probability of a class change between consecutive periods
            (:func:`lulcbook.temporal.viterbi_smooth`); below ``(K − 1)/K`` for ``K`` classes
            (:func:`lulcbook.temporal.check_sticky`). Default: the operating point of notebook
            10-temporal (:data:`lulcbook.temporal.SERIES_CHANGE_PRIOR`).
        dates: ISO date per input (default: from the inputs).
        blocksize: internal COG tile size.
        model_resolution_m: the resolution the model's segment size refers to; given, the
            segments are scaled to the series grid (:func:`for_resolution`).
        model_name: recorded in the items.
        extra_inputs: files the run reads besides the inputs (the model), never overwritten.
        segments: ``"shared"`` (one segmentation of the series for every date) or
            ``"per-date"`` (:func:`series_probabilities`).
        properties: further STAC item properties of every period map and of the change layer.
            A model with climate input also records its raster (``lulcbook:climate``).
        haze_test: a multi-temporal haze test (:class:`lulcbook.haze.HazeTest`) that sets the
            pixels it flags to nodata before classifying, on top of the inputs' own mask; the
            items record it (``lulcbook:haze_test``). ``None`` (the default here): none; the
            command line runs :data:`lulcbook.haze.SERIES_DEFAULT` unless told otherwise.
        **source_kw: passed to :func:`lulcbook.predict.open_source` (preset, mask_band, ...).

    Raises:
        ValueError: an unknown period, a change prior that favours change for the model's
            classes, a missing output folder, outputs that would replace an input, inputs that
            do not form a series (named in the message), or a haze test on a single date or
            without B02 and B04.
    """
    t0 = time.perf_counter()
    out = Path(out)
    if out.suffix.lower() not in (".tif", ".tiff"):
        raise ValueError(f"--out {out} must end in .tif")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"Output folder {out.parent} does not exist")
    if period not in temporal.PERIODS:
        raise ValueError(f"Unknown period {period!r}; expected one of {temporal.PERIODS}")
    if segments not in SEGMENTS:
        raise ValueError(f"Unknown segments {segments!r}; expected one of {SEGMENTS}")
    temporal.check_sticky(change_prior, len(model.classes))
    reads = [p for i in inputs if isinstance(i, str | os.PathLike) for p in input_files(i)]
    reads += [Path(e) for e in extra_inputs]
    stem = out.with_suffix("")
    change_tif = Path(f"{stem}_change.tif")
    change_item = change_tif.with_suffix(".json")
    io.check_output_paths([change_tif, change_item], reads)  # cheap checks before any reading
    climate = check_climate(model)
    if climate is not None:  # every item says which raster gave the climate
        properties = {climate_field.STAC_PROPERTY: climate.stac_record(), **(properties or {})}
    series = read_series(inputs, list(model.bands), dates, **source_kw)
    metres = check_projected(series.crs, series.names[0])
    if haze_test is not None:
        flags = haze_test.flags(series.data, series.bands, abs(series.transform.a) * metres)
        series = dataclasses.replace(series, data=haze.apply(series.data, flags))
        record = haze_test.record(flags, series.dates)
        properties = {haze.STAC_PROPERTY: record, **(properties or {})}
    if climate is not None:
        climate.check_covers(series.crs, series.transform, series.data.shape[2:], series.names[0])
    if model_resolution_m is not None:
        model = for_resolution(model, abs(series.transform.a) * metres, model_resolution_m)
    proba = series_probabilities(model, series, segments)
    labels, pp, n_obs = temporal.period_probabilities(proba, series.dates, period)
    _, log_e, _ = temporal.period_log_evidence(proba, series.dates, period)
    smooth = temporal.viterbi_smooth(log_e, n_obs, change_prior)
    observed = n_obs > 0
    smooth = np.where(observed, smooth, legend.NODATA).astype(np.uint8)
    raw = temporal.raw_classes(pp)
    change = temporal.change_layer(smooth)
    products = {lab: cog.product_paths(Path(f"{stem}_{lab}.tif")) for lab in labels}
    targets = [p for pr in products.values() for p in pr.all] + [change_tif, change_item]
    io.check_output_paths(targets, reads)
    h, w = smooth.shape[1:]
    grid = (series.crs, series.transform, w, h, blocksize)
    groups = temporal.group_periods(series.dates, period)
    ref = product_stac.ModelRef(product_stac.public_name(model_name))
    values = [int(v) for v in class_values(model.classes)]
    with io.output_set(targets) as outs:
        tmp_of = dict(zip(targets, outs.tmp, strict=True))
        for p, lab in enumerate(labels):
            final = products[lab]
            tmp = cog.ProductPaths(*(tmp_of[f] for f in final.all))
            cls = smooth[p]
            safe = np.minimum(cls, legend.N_CLASSES - 1).astype(np.int64)[None]
            conf = np.take_along_axis(np.nan_to_num(pp[p]), safe, 0)[0]
            layers = {
                cog.CLASS_BAND: cls,
                cog.CONFIDENCE_BAND: np.where(
                    cls == legend.NODATA,
                    legend.NODATA,
                    np.clip(np.round(conf / cog.CONFIDENCE_SCALE), 0, 250),
                ).astype(np.uint8),
                cog.UNCERTAINTY_BAND: np.where(
                    observed[p], normalised_entropy(pp[p]), np.nan
                ).astype(np.float32),
            }
            tags = cog.map_tags(values, model_name=ref.name, period=lab, change_prior=change_prior)
            for band, arr in layers.items():
                scratch = outs.scratch / f"{lab}_{band}.tif"
                with rasterio.open(scratch, "w", **cog.scratch_profile(*grid, band=band)) as dst:
                    cog.describe(dst, band, tags)
                    dst.write(arr, 1)
                target = {
                    cog.CLASS_BAND: tmp.classes,
                    cog.CONFIDENCE_BAND: tmp.confidence,
                    cog.UNCERTAINTY_BAND: tmp.uncertainty,
                }[band]
                cog.write_cog(scratch, target, blocksize=blocksize)
            class_style.write_class_sidecars(tmp.aux, tmp.style)
            period_dates = [series.dates[i] for i in groups[lab]]
            item = product_stac.product_item(
                final.classes.stem,
                product_stac.map_assets(final, tmp),
                datetime_=f"{period_dates[0]}T00:00:00Z",
                properties={
                    "lulcbook:model": ref.to_dict(),
                    "lulcbook:period": lab,
                    "lulcbook:dates": period_dates,
                    "lulcbook:change_prior": change_prior,
                    "start_datetime": f"{period_dates[0]}T00:00:00Z",
                    "end_datetime": f"{period_dates[-1]}T23:59:59Z",
                    **(properties or {}),
                },
                self_href=str(final.item.absolute()),
            )
            tmp.item.write_text(product_stac.item_json(item))
        scratch = outs.scratch / "change.tif"
        with rasterio.open(scratch, "w", **cog.scratch_profile(*grid, band=cog.CLASS_BAND)) as dst:
            dst.set_band_description(1, CHANGE_BAND)
            dst.write_colormap(1, change_colours(len(labels)))
            dst.update_tags(PERIODS=",".join(labels), CHANGE_PRIOR=str(change_prior))
            dst.write(change, 1)
        cog.write_cog(scratch, tmp_of[change_tif], blocksize=blocksize)
        item = product_stac.product_item(
            change_tif.stem,
            [change_asset(change_tif.name, tmp_of[change_tif], labels)],
            datetime_=f"{series.dates[-1]}T00:00:00Z",
            properties={
                "lulcbook:model": ref.to_dict(),
                "lulcbook:periods": labels,
                "lulcbook:dates": series.dates,
                "lulcbook:change_prior": change_prior,
                "start_datetime": f"{series.dates[0]}T00:00:00Z",
                "end_datetime": f"{series.dates[-1]}T23:59:59Z",
                **(properties or {}),
            },
            derived_from=[products[lab].item.name for lab in labels],
            self_href=str(change_item.absolute()),
        )
        tmp_of[change_item].write_text(product_stac.item_json(item))
    maps = {lab: products[lab].classes for lab in labels}
    items = {lab: products[lab].item for lab in labels}
    items["change"] = change_item
    return SeriesResult(
        periods=labels,
        maps=maps,
        stac_items=items,
        change=change_tif,
        dates=series.dates,
        raw_change_share=consecutive_change(raw, labels),
        change_share=consecutive_change(smooth, labels),
        seconds=time.perf_counter() - t0,
        nodata_share={
            lab: float((c == legend.NODATA).mean()) for lab, c in zip(labels, smooth, strict=True)
        },
    )


# --------------------------------------------------------------------------- command line
class SeriesUsageError(ValueError):
    """A wrong ``lulcbook series`` command line (exit status 2)."""


def add_series_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``series`` subcommand to the ``lulcbook`` subparsers.

    Args:
        sub: the subparsers action of the ``lulcbook`` parser.

    Returns:
        The ``series`` parser.
    """
    from lulcbook.predict import SCALING

    p = add_command(
        sub,
        "series",
        help="map a time series: a consistent map per period + a change layer (COGs + STAC)",
        description="Classify every date of a series (several files, a folder with one "
        "sub-folder per date, or 'stac' with --bbox and a --datetime range), combine the dates "
        "per period and keep a change of class only where the evidence outweighs "
        "--change-prior (sticky hidden Markov rule). Writes OUT_<period>.tif (+ confidence, "
        "uncertainty, STAC item) per period and OUT_change.tif + OUT_change.json, all together.",
    )
    p.add_argument("inputs", nargs="+", help="one raster / band folder per date, or 'stac'")
    p.add_argument("--out", required=True, type=Path, help="base output COG (.tif)")
    add_model_options(
        p, model_help="shipped model name or model file", class_help="module:Class for a model file"
    )
    p.add_argument(
        "--model-resolution",
        type=float,
        default=None,
        help="resolution (m) the model's segment size refers to (default: a shipped model's)",
    )
    p.add_argument("--period", choices=temporal.PERIODS, default="month", help="map period")
    p.add_argument(
        "--segments",
        choices=SEGMENTS,
        default=DEFAULT_SEGMENTS,
        help="superpixels: one segmentation of the series for every date, or one per date",
    )
    p.add_argument(
        "--change-prior",
        type=float,
        default=temporal.SERIES_CHANGE_PRIOR,
        help="prior probability of a class change per period, below (K-1)/K for K classes "
        f"(default {temporal.SERIES_CHANGE_PRIOR:g}: the operating point notebook 10-temporal "
        "chooses on the sample's HLS Exeter series; smaller keeps fewer changes)",
    )
    p.add_argument("--dates", type=name_list, default=None, help="ISO date per input")
    p.add_argument("--preset", choices=sorted(SCALING), default=None, help="DN scaling preset")
    p.add_argument("--band-names", type=name_list, default=None, help="band names of the files")
    p.add_argument("--mask-band", default=None, help="cloud-mask band (SCL, Fmask)")
    p.add_argument("--mask-values", type=number_list(int), default=None, help="mask values to drop")
    add_l2a_offset_option(p)
    add_climate_option(p)
    default = haze.SERIES_DEFAULT
    p.add_argument(
        "--haze-test",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also mask haze and thin cloud that the mask band misses: a rise of blue (B02) "
        f"by more than {default.blue_rise:g} against the pixel's clearest other date, with "
        f"red rising at most {default.red_ratio:g} times as much, widened by "
        f"{default.dilation_m:g} m (lulcbook.haze; thresholds chosen on the sample's HLS "
        "series against its Fmask). Default: on where the series allows it (two dates or "
        "more, a model reading B02 and B04)",
    )
    p.add_argument(
        "--haze-thresholds",
        type=number_list(float),
        default=None,
        metavar="BLUE_RISE,RED_RATIO",
        help=f"the haze test with these two thresholds instead of {default.blue_rise:g},"
        f"{default.red_ratio:g} (notebook 07-maps compares pairs on both Exeter series)",
    )
    p.add_argument("--blocksize", type=int, default=512, help="COG internal tile size")
    p.add_argument("--bbox", type=number_list(float), default=None, help="'stac': lon/lat bbox")
    p.add_argument("--datetime", default=None, help="'stac': date range, e.g. 2024-05/2024-09")
    add_stac_search_options(p, collection="sentinel-2-l2a", max_cloud=20.0)
    return p


def _haze_test(args: argparse.Namespace) -> tuple[haze.HazeTest | None, bool]:
    """The haze test of the command line (``None``: none) and whether it was asked for.

    Without ``--haze-test``, ``--no-haze-test`` or ``--haze-thresholds`` the test is
    :data:`lulcbook.haze.SERIES_DEFAULT`, not asked for: a series it cannot run on goes without.

    Raises:
        SeriesUsageError: ``--haze-thresholds`` that are not two positive numbers, or given
            with ``--no-haze-test``.
    """
    if args.haze_thresholds is None:
        if args.haze_test is False:
            return None, False
        return haze.SERIES_DEFAULT, bool(args.haze_test)
    if args.haze_test is False:
        raise SeriesUsageError("--haze-thresholds sets the haze test that --no-haze-test turns off")
    if len(args.haze_thresholds) != 2:
        raise SeriesUsageError(
            f"--haze-thresholds takes BLUE_RISE,RED_RATIO; got {len(args.haze_thresholds)} "
            f"numbers {args.haze_thresholds}"
        )
    blue_rise, red_ratio = args.haze_thresholds
    try:
        return haze.HazeTest(blue_rise=blue_rise, red_ratio=red_ratio), True
    except ValueError as err:
        raise SeriesUsageError(f"--haze-thresholds: {err}") from None


def _runnable_haze_test(
    test: haze.HazeTest | None, asked: bool, n_dates: int, bands: Sequence[str]
) -> haze.HazeTest | None:
    """``test`` if the series allows it; else ``None`` with a warning, or an error if asked for.

    Raises:
        SeriesUsageError: a haze test asked for on one date, or with a model without B02/B04.
    """
    if test is None:
        return None
    missing = [b for b in (haze.BLUE, haze.RED) if b not in bands]
    if n_dates < 2:
        problem = f"compares dates; the series has {n_dates}"
    elif missing:
        problem = (
            f"reads {haze.BLUE} and {haze.RED}; the model's bands {list(bands)} lack {missing}"
        )
    else:
        return test
    if asked:
        raise SeriesUsageError(f"--haze-test {problem}")
    warnings.warn(f"no haze test: it {problem}", UserWarning, stacklevel=2)
    return None


def series_command(args: argparse.Namespace) -> int:
    """Run ``lulcbook series``; returns the exit status.

    Args:
        args: the parsed command line.

    Returns:
        0 on success.

    Raises:
        SeriesUsageError: a wrong command line, found before anything is read.
    """
    from lulcbook import zoo
    from lulcbook.predict import load_classifier

    if not 0.0 < args.change_prior < 1.0:
        raise SeriesUsageError(f"--change-prior must lie in (0, 1), got {args.change_prior}")
    haze_test, haze_asked = _haze_test(args)
    if args.out.suffix.lower() not in (".tif", ".tiff") or not args.out.parent.is_dir():
        raise SeriesUsageError(f"--out {args.out} must be a .tif file in an existing folder")
    stac = args.inputs == ["stac"]
    if stac and (args.bbox is None or args.datetime is None or len(args.bbox) != 4):
        raise SeriesUsageError("INPUT 'stac' needs --bbox west,south,east,north and --datetime")
    if args.l2a_offset:
        try:
            l2a_offset.check_input(
                args.preset, [] if stac else args.inputs, args.collection if stac else None
            )
        except ValueError as err:
            raise SeriesUsageError(f"--l2a-offset: {err}") from None
    name = args.model or zoo.DEFAULT_LULC
    try:
        choice = choose_model(args.model, args.model_class)
    except (KeyError, FileNotFoundError, ValueError) as err:
        raise SeriesUsageError(f"--model {name!r} is neither a file nor a shipped model") from err
    model_res = args.model_resolution
    if model_res is None and choice.metadata.get("resolution_m"):
        model_res = float(choice.metadata["resolution_m"])
    try:
        model = climate_field.attach(
            load_classifier(choice.weights, choice.model_class), args.climate
        )
    except (climate_field.ClimateFieldError, FileNotFoundError) as err:
        raise SeriesUsageError(str(err)) from None
    properties: dict[str, Any] = {}
    if args.l2a_offset:
        try:
            model, offset = l2a_offset.apply_documented(
                model, list(model.bands), choice.metadata, choice.name
            )
        except ValueError as err:
            raise SeriesUsageError(f"--l2a-offset: {err}") from None
        properties[l2a_offset.STAC_PROPERTY] = offset
    kw = {
        "preset": args.preset,
        "band_names": args.band_names,
        "mask_band": args.mask_band,
        "mask_values": args.mask_values,
    }
    kw = {k: v for k, v in kw.items() if v is not None}
    inputs: list[Any]
    if stac:
        if kw:
            raise SeriesUsageError("scaling and mask options do not apply to INPUT 'stac'")
        inputs = list(
            stac_series(
                model.bands,
                args.bbox,
                args.datetime,
                args.collection,
                args.stac_url,
                args.max_cloud,
            )
        )
    else:
        try:
            inputs = list(series_inputs(args.inputs))
        except (FileNotFoundError, ValueError) as err:
            raise SeriesUsageError(str(err)) from None
    try:
        temporal.check_sticky(args.change_prior, len(model.classes))
    except ValueError as err:
        raise SeriesUsageError(f"--change-prior: {err}") from None
    haze_test = _runnable_haze_test(haze_test, haze_asked, len(inputs), list(model.bands))
    r = predict_series(
        inputs,
        model,
        args.out,
        period=args.period,
        change_prior=args.change_prior,
        dates=args.dates,
        blocksize=args.blocksize,
        model_resolution_m=model_res,
        model_name=str(name),
        extra_inputs=[choice.weights],
        segments=args.segments,
        properties=properties,
        haze_test=haze_test,
        **kw,
    )
    shares = ", ".join(
        f"{k}: {r.change_share[k]:.1%} (raw {r.raw_change_share[k]:.1%})" for k in r.change_share
    )
    empty = ", ".join(f"{k}: {v:.1%}" for k, v in r.nodata_share.items())
    print(
        f"wrote {len(r.maps)} period maps ({', '.join(r.periods)}) and {r.change} from "
        f"{len(r.dates)} dates in {r.seconds:.1f} s; changed: {shares or 'one period only'}; "
        f"no class: {empty}"
    )
    return 0


__all__ = [
    "CHANGE_BAND",
    "DEFAULT_SEGMENTS",
    "HLS_FMASK_INVALID",
    "SEGMENTS",
    "Series",
    "SharesSegments",
    "SeriesResult",
    "SeriesUsageError",
    "add_series_parser",
    "change_asset",
    "change_colours",
    "consecutive_change",
    "for_resolution",
    "normalised_entropy",
    "predict_series",
    "read_series",
    "series_inputs",
    "series_command",
    "series_probabilities",
    "stac_series",
]
