"""A whole scene → map COGs + STAC item: checks first, then tile by tile, all or nothing."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from lulcbook import class_style, cog, io, legend, product_stac
from lulcbook.climate_field import STAC_PROPERTY as CLIMATE_PROPERTY
from lulcbook.predict.classifier import TileClassifier
from lulcbook.predict.cluster import check_scheduler, dask_client, iter_dask, iter_local
from lulcbook.predict.crs import check_projected
from lulcbook.predict.encoding import (
    MIN_CONFIDENCE_PROPERTY,
    UNCONFIDENT_SHARE_PROPERTY,
    blank_unconfident,
    check_min_confidence,
    class_values,
)
from lulcbook.predict.inputs import check_options, input_files, input_kind, open_source
from lulcbook.predict.outputs import output_paths
from lulcbook.predict.reflectance import SAMPLE_WHOLE_PIXELS, check_reflectance
from lulcbook.predict.sources import MemorySource
from lulcbook.predict.tile import TileResult, context_overlap
from lulcbook.progress import progress as tqdm
from lulcbook.tiling import tile_windows

PathLike = str | os.PathLike[str]


@dataclass
class MapResult:
    """What :func:`predict_scene` wrote and measured.

    ``class_pixels`` counts the pixels of each class in the map; ``unconfident_pixels`` those
    left without a class for a confidence below the run's ``min_confidence``. ``seconds`` is
    the wall time of the whole call; ``task_seconds`` and ``task_cpu_seconds`` sum the wall
    and CPU time of the tile tasks (see :class:`TileResult`).
    """

    path: Path
    uncertainty_path: Path
    confidence_path: Path
    stac_path: Path
    width: int
    height: int
    resolution: float
    n_tiles: int
    class_pixels: dict[str, int]
    seconds: float
    task_seconds: float = 0.0
    task_cpu_seconds: float = 0.0
    unconfident_pixels: int = 0

    @property
    def area_km2(self) -> float:
        """Area of the scene grid in km²."""
        return self.width * self.height * self.resolution**2 / 1e6

    def class_area_km2(self) -> dict[str, float]:
        """Mapped area per legend class in km² (nodata excluded)."""
        px = self.resolution**2 / 1e6
        return {k: v * px for k, v in self.class_pixels.items()}


def check_climate(model: object) -> Any:
    """The climate raster a model with climate input maps with; ``None`` for other models.

    The attached raster, else the default one
    (:meth:`lulcbook.models.spectral.SpectralClassifier.resolved_climate_field`).

    Raises:
        ValueError: a model with climate input, no raster attached and no default one, naming
            what to attach (``with_climate``) or pass (``--climate``).
    """
    if not getattr(model, "uses_climate", False):
        return None
    resolve = getattr(model, "resolved_climate_field", None)
    if resolve is None:
        raise ValueError(f"{type(model).__name__} takes climate but cannot say which raster")
    return resolve()


def predict_scene(
    input: Any,
    model: TileClassifier,
    out: PathLike,
    *,
    tile_size: int = 512,
    overlap: int = 32,
    blocksize: int = 512,
    mc_samples: int = 0,
    seed: int = 0,
    workers: int = 1,
    processes: bool = True,
    scheduler: str | None = None,
    progress: bool = True,
    model_name: str = "",
    model_version: str = "",
    datetime_: str | None = None,
    stac_path: PathLike | None = None,
    allow_implausible: bool = False,
    extra_inputs: Sequence[PathLike] = (),
    derived_from: Sequence[str] = (),
    properties: dict[str, Any] | None = None,
    min_confidence: float | None = None,
    **source_kw: Any,
) -> MapResult:
    """Predict a whole scene tile by tile and write the map COGs + STAC item.

    Writes the product of :mod:`lulcbook.cog`: ``out`` (uint8 ``class`` with the legend colour
    table, nodata 255), its raster attribute table ``OUT.tif.aux.xml`` and QGIS style
    ``OUT.qml``, ``OUT_confidence.tif`` (uint8, scale 1/250, nodata 255),
    ``OUT_uncertainty.tif`` (float32 normalised entropy, nodata NaN) and the STAC item
    ``stac_path`` (default: ``out`` with suffix ``.json``). They appear together only when complete
    (:func:`lulcbook.io.output_set`); on any error, or SIGTERM, none is written and existing
    files are left untouched.

    Everything cheap is checked before the first tile: output paths (:func:`output_paths`),
    ``datetime_``, the options for this kind of input, the CRS (:func:`check_projected`) and
    the reflectance of a sample of pixels (:func:`check_reflectance`).

    Args:
        input: raster file, folder of band files, STAC item JSON, DataArray or a source.
        model: a :class:`TileClassifier` (e.g. ``SegmentClassifier.load("models/gnn.pt")``).
        out: the output ``.tif``; its folder must exist.
        tile_size: core tile size in pixels (memory per task ∝ (tile_size + 2·overlap)²).
        overlap: context pixels read around each tile and discarded after prediction; raised to
            the model's ``context_px`` when it has one, so the map does not depend on the tiling.
        blocksize: internal COG tile size (a multiple of 16, at least 128).
        mc_samples: Monte-Carlo dropout samples passed to ``predict_proba``.
        seed: seed of the MC-dropout draws (per tile: :func:`~lulcbook.predict.tile_seed`).
        workers: local dask workers (1 = run in this process).
        processes: local workers as processes (``False``: threads in this process).
        scheduler: address of an existing dask.distributed scheduler (workers must see the input).
        progress: show a tqdm progress bar.
        model_name: the model's name, recorded in the STAC item as ``lulcbook:model`` (a
            path is recorded by its file name only).
        model_version: the model's version, recorded beside its name.
        datetime_: acquisition time for the STAC item (default: from the input).
        stac_path: where the STAC item goes.
        allow_implausible: warn instead of failing when the input does not look like reflectance.
        extra_inputs: further files the run reads (e.g. the model), which no output may replace.
        derived_from: hrefs of the STAC items the map is made from (``derived_from`` links,
            relative to the item when local); a STAC item input is used when empty.
        min_confidence: leave pixels whose confidence is below it without a class (class no
            data; confidence and uncertainty kept;
            :func:`~lulcbook.predict.encoding.blank_unconfident`).
            The item records it (``lulcbook:min_confidence``) with the share of the pixels
            with a class it took away (``lulcbook:unconfident_share``), and so do the COGs'
            metadata (``MIN_CONFIDENCE``, for GDAL and QGIS). ``None``: every pixel with data
            keeps its class.
        properties: further STAC item properties. A model with climate input also records its
            raster (``lulcbook:climate``, :meth:`lulcbook.climate_field.ClimateField.stac_record`).
        **source_kw: passed to :func:`open_source` (band_names, preset, scale, offset, ...).

    Raises:
        FileNotFoundError: missing input or output folder.
        ValueError: unreadable input, no CRS, a geographic CRS, a missing or duplicate band,
            options that do not apply, outputs that coincide with inputs or each other,
            implausible reflectance (each message names the file, band, option or value), a
            model with climate input but no climate raster (:func:`check_climate`) or one that
            does not cover the scene
            (:meth:`lulcbook.climate_field.ClimateField.check_covers`).
        ConnectionError: an unreachable ``scheduler``.
    """
    t0 = time.perf_counter()
    if blocksize % 16 or blocksize < 128:
        raise ValueError(f"blocksize must be a multiple of 16 and >= 128 (COG), got {blocksize}")
    if min_confidence is not None:
        min_confidence = check_min_confidence(min_confidence)
    check_options(input, **source_kw)
    out, unc_out, stac_path = output_paths(
        out, stac_path, [*input_files(input), *map(Path, extra_inputs)]
    )
    if datetime_ is not None:
        product_stac.parse_datetime(datetime_)
    values = class_values(model.classes)
    climate = check_climate(model)
    if scheduler is not None:
        check_scheduler(scheduler)
    source = open_source(input, list(model.bands), **source_kw)
    metres = check_projected(source.crs, source.name)
    if climate is not None:
        climate.check_covers(source.crs, source.affine, (source.height, source.width), source.name)
    overlap = context_overlap(model, overlap)
    tiles = tile_windows(source.width, source.height, tile_size, overlap)
    if source.width * source.height <= SAMPLE_WHOLE_PIXELS:
        source = MemorySource.of(source)  # one read serves the check and every tile
    check_reflectance(source, allow=allow_implausible)
    counts = np.zeros(legend.N_CLASSES, dtype=np.int64)
    unconfident = 0
    task_s = task_cpu = 0.0
    grid = (source.crs, source.affine, source.width, source.height, blocksize)
    tags = cog.map_tags(
        [int(v) for v in values],
        model_name=product_stac.public_name(model_name),
        model_version=model_version,
        source=product_stac.public_name(source.name),
        tile_size=tile_size,
        overlap=overlap,
        mc_samples=mc_samples,
        seed=seed,
        **({"min_confidence": min_confidence} if min_confidence is not None else {}),
    )
    paths = cog.product_paths(out, stac_path)
    model_ref = product_stac.ModelRef(product_stac.public_name(model_name), model_version)
    if not derived_from and input_kind(input) == "stac-item":
        derived_from = [str(input)]
    links = [
        Path(os.path.relpath(Path(h).absolute(), paths.item.absolute().parent)).as_posix()
        if "://" not in str(h)
        else str(h)
        for h in derived_from
    ]
    with io.output_set(paths.all) as outs:
        tmp = cog.ProductPaths(*outs.tmp)
        scratch = {b: outs.scratch / f"{b}.tif" for b in cog.PRODUCT_BANDS}
        scratch[cog.CLASS_BAND] = outs.scratch / "map.tif"
        with dask_client(workers, scheduler, processes) as client:
            results: Iterable[TileResult]
            if client is None:
                results = iter_local(tiles, source, model, mc_samples, seed)
            else:
                in_flight = 2 * max(len(client.scheduler_info().get("workers", {})), 1)
                results = iter_dask(client, tiles, source, model, mc_samples, in_flight, seed)
            with contextlib.ExitStack() as stack:
                dst = {
                    b: stack.enter_context(
                        rasterio.open(p, "w", **cog.scratch_profile(*grid, band=b))
                    )
                    for b, p in scratch.items()
                }
                bar = stack.enter_context(
                    tqdm(
                        total=len(tiles),
                        desc=f"predict {out.name}",
                        unit="tile",
                        disable=not progress,
                    )
                )
                for b, d in dst.items():
                    cog.describe(d, b, tags)
                for res in results:
                    data, tile_counts = res.data, res.counts
                    if min_confidence is not None:
                        data = data.copy()
                        unconfident += blank_unconfident(data, min_confidence)
                        tile_counts = legend.class_counts(data[0])
                    dst[cog.CLASS_BAND].write(data[0], 1, window=res.window)
                    dst[cog.CONFIDENCE_BAND].write(data[1], 1, window=res.window)
                    dst[cog.UNCERTAINTY_BAND].write(res.uncertainty, 1, window=res.window)
                    counts += tile_counts
                    task_s += res.seconds
                    task_cpu += res.cpu_seconds
                    bar.update(1)
        cog.write_cog(scratch[cog.CLASS_BAND], tmp.classes, blocksize=blocksize)
        cog.write_cog(scratch[cog.CONFIDENCE_BAND], tmp.confidence, blocksize=blocksize)
        cog.write_cog(scratch[cog.UNCERTAINTY_BAND], tmp.uncertainty, blocksize=blocksize)
        class_style.write_class_sidecars(tmp.aux, tmp.style)
        item = product_stac.product_item(
            out.stem,
            product_stac.map_assets(paths, tmp),
            datetime_=datetime_ or source.datetime,
            properties={
                "lulcbook:model": model_ref.to_dict(),
                "lulcbook:source": product_stac.public_name(source.name),
                "lulcbook:mc_samples": mc_samples,
                "lulcbook:seed": seed,
                **({CLIMATE_PROPERTY: climate.stac_record()} if climate is not None else {}),
                **(
                    {
                        MIN_CONFIDENCE_PROPERTY: min_confidence,
                        UNCONFIDENT_SHARE_PROPERTY: unconfident
                        / max(unconfident + int(counts.sum()), 1),
                    }
                    if min_confidence is not None
                    else {}
                ),
                **(properties or {}),
            },
            derived_from=links,
            self_href=str(paths.item.absolute()),
        )
        tmp.item.write_text(product_stac.item_json(item))
    return MapResult(
        path=out,
        uncertainty_path=unc_out,
        confidence_path=paths.confidence,
        stac_path=stac_path,
        width=source.width,
        height=source.height,
        resolution=source.resolution * metres,
        n_tiles=len(tiles),
        class_pixels={k: int(counts[i]) for i, k in enumerate(legend.KEYS)},
        seconds=time.perf_counter() - t0,
        task_seconds=task_s,
        task_cpu_seconds=task_cpu,
        unconfident_pixels=unconfident,
    )


__all__ = ["MapResult", "check_climate", "predict_scene"]
