"""One cell of a production run: its scenes → a composite on the cell grid → a map product.

:func:`cell_source` turns the items found for a cell into a :class:`CompositeSource`: each item
is read on the cell's pixel grid (reprojected on the fly with nearest-neighbour resampling, as
odc-stac and stackstac load by default: each pixel keeps a measured spectrum, and the warp
costs a fifth of a bilinear one — ``benchmarks/bench_produce.py`` measures both), pixels masked by the
item's scene classification (``SCL``, where the item has one) or no data become NaN, and the
items are composited best first (the catalog's order: least cloud, then earliest) — each pixel
takes the first item that has it.

:func:`run_cell` predicts the composite with :func:`lulcbook.predict.predict_scene` (tiles
in this process) and writes the cell's product (:mod:`lulcbook.cog`) under
``OUT/cells/<cell id>/``; every file of a cell appears together or not at all, so a cell is
either finished (its STAC item exists) or absent.
"""

from __future__ import annotations

import functools
import os
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
from rasterio.windows import Window

from lulcbook import l2a_offset, product_stac
from lulcbook.predict import BandRef, RasterSource, TileClassifier, canonical_band, load_classifier
from lulcbook.predict.encoding import MIN_CONFIDENCE_PROPERTY
from lulcbook.produce.grid import GridCell

PathLike = str | os.PathLike[str]
SCL_KEYS: tuple[str, ...] = ("scl", "SCL")
"""Asset keys of a Sentinel-2 scene classification layer (used as cloud/shadow mask)."""


@dataclass(frozen=True)
class CompositeSource:
    """Several :class:`lulcbook.predict.RasterSource` on one grid, composited first-valid.

    Small and picklable, like its parts; satisfies the source interface of
    :func:`lulcbook.predict.predict_scene`.

    Attributes:
        parts: the sources, best first; all on the same grid with the same bands.
        name: the composite's name (for messages and metadata).
        datetime: ISO time of the first part.
    """

    parts: tuple[RasterSource, ...]
    name: str = "composite"
    datetime: str | None = None

    @property
    def band_names(self) -> list[str]:
        """The band names, in model order."""
        return self.parts[0].band_names

    @property
    def crs(self) -> str:
        """The grid CRS (WKT)."""
        return self.parts[0].crs

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """The grid transform (GDAL order)."""
        return self.parts[0].transform

    @property
    def affine(self) -> rasterio.Affine:
        """The grid transform."""
        return self.parts[0].affine

    @property
    def width(self) -> int:
        """Grid width in pixels."""
        return self.parts[0].width

    @property
    def height(self) -> int:
        """Grid height in pixels."""
        return self.parts[0].height

    @property
    def resolution(self) -> float:
        """Pixel size in CRS units."""
        return self.parts[0].resolution

    def read(self, window: Window) -> np.ndarray:
        """Read ``window`` as float32 reflectance ``(band, y, x)``; NaN where no part has data.

        Args:
            window: the window on the grid.

        Returns:
            The composite.
        """
        out = self.parts[0].read(window)
        for part in self.parts[1:]:
            missing = ~np.isfinite(out).all(axis=0)
            if not missing.any():
                break
            more = part.read(window)
            out[:, missing] = more[:, missing]
        return out


def item_source(
    item: pystac.Item, bands: Sequence[str], cell: GridCell, resampling: str = "nearest"
) -> RasterSource:
    """The ``bands`` of one STAC item on the pixel grid of ``cell``.

    Args:
        item: the item (asset hrefs absolute or URLs GDAL can read).
        bands: Sentinel-2 band names in model order.
        cell: the target grid.
        resampling: ``"nearest"`` or ``"bilinear"`` reprojection of the bands.

    Returns:
        The source; scaling from the item's metadata
        (:func:`lulcbook.sources.stac.reflectance_scaling`), masked by its SCL asset if any.

    Raises:
        ValueError: naming the item and band, for a missing band or bands scaled differently.
    """
    from lulcbook.cube import SCL_INVALID
    from lulcbook.sources import stac

    refs, scalings, nodatas = [], set(), set()
    for b in bands:
        try:
            key = stac.resolve_asset_key(item, b)
        except (KeyError, ValueError) as err:
            raise ValueError(f"Item {item.id}: band {b} not found ({err})") from err
        refs.append(BandRef(canonical_band(b), item.assets[key].href.removeprefix("file://"), 1))
        scalings.add(stac.reflectance_scaling(item, key))
        nodatas.add(stac._nodata(item, key))
    if len(scalings) != 1 or len(nodatas) != 1:
        raise ValueError(
            f"Item {item.id}: bands {list(bands)} differ in scaling {sorted(scalings)} or nodata "
            f"{sorted(map(str, nodatas))}; one scaling per item is supported"
        )
    (scale, offset), (nodata,) = scalings.pop(), nodatas
    t = cell.transform
    mask = None
    for key in SCL_KEYS:
        if key in item.assets:
            mask = (BandRef("SCL", item.assets[key].href.removeprefix("file://"), 1), SCL_INVALID)
            break
    return RasterSource(
        bands=tuple(refs),
        crs=rasterio.crs.CRS.from_user_input(cell.crs).to_wkt(),
        transform=(t.a, t.b, t.c, t.d, t.e, t.f),
        width=cell.width,
        height=cell.height,
        scale=float(scale),
        offset=float(offset),
        nodata=nodata,
        mask=mask,
        name=item.id,
        datetime=item.datetime.isoformat() if item.datetime else None,
        resampling=resampling,
    )


def cell_source(
    items: Sequence[pystac.Item],
    bands: Sequence[str],
    cell: GridCell,
    resampling: str = "nearest",
) -> CompositeSource:
    """The first-valid composite of ``items`` (best first) on the grid of ``cell``.

    Args:
        items: the cell's items, best first.
        bands: Sentinel-2 band names in model order.
        cell: the target grid.
        resampling: ``"nearest"`` or ``"bilinear"`` reprojection of the bands.

    Returns:
        The composite.

    Raises:
        ValueError: if ``items`` is empty.
    """
    if not items:
        raise ValueError(f"Cell {cell.id}: no items to composite")
    parts = tuple(item_source(it, bands, cell, resampling) for it in items)
    return CompositeSource(
        parts, name=f"{cell.id} ({len(parts)} item(s))", datetime=parts[0].datetime
    )


@dataclass(frozen=True)
class ModelSpec:
    """How a worker loads the model: the file, its loader class, name and version.

    Attributes:
        path: the model file.
        model_class: ``module:Class`` with a ``load(path)`` class method.
        name: recorded in the items (a shipped model's name).
        version: recorded beside the name.
        offset: per-band input offset added before classifying (``--l2a-offset``,
            :mod:`lulcbook.l2a_offset`), recorded in the items; empty: none.
        climate: the WorldClim raster of a model with climate input
            (:func:`lulcbook.climate_field.attach`); empty: the default.
        climate_sha256: that raster's fingerprint
            (:attr:`lulcbook.climate_field.ClimateField.fingerprint`); empty for a model
            without climate input.
    """

    path: str
    model_class: str
    name: str
    version: str = ""
    offset: dict[str, float] = field(default_factory=dict)
    climate: str = ""
    climate_sha256: str = ""


@functools.lru_cache(maxsize=4)
def _model(path: str, model_class: str, climate: str = "") -> TileClassifier:
    """Load a model once per process, with its climate raster when it takes climate input."""
    from lulcbook import climate_field

    model = load_classifier(path, model_class)
    if not getattr(model, "uses_climate", False):
        return model
    attached: TileClassifier = climate_field.attach(model, climate or None)
    return attached


@dataclass
class CellResult:
    """What happened to one cell.

    Attributes:
        cell: the cell id.
        status: ``done`` (written now), ``skipped`` (finished before), ``empty`` (no scene),
            ``failed`` (the error is in ``error``).
        item: the cell's STAC item, if finished.
        n_items: the number of scenes composited.
        seconds: wall time of the cell.
        cpu_seconds: CPU time of the process during the cell.
        area_km2: the cell area.
        error: one line naming the error (failed cells).
        derived_from: the hrefs of the items used.
    """

    cell: str
    status: str
    item: str | None = None
    n_items: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    area_km2: float = 0.0
    error: str = ""
    derived_from: list[str] = field(default_factory=list)


def cell_paths(out: PathLike, cell: GridCell) -> tuple[Path, Path]:
    """The class COG and STAC item of ``cell`` under the run folder ``out``.

    Args:
        out: the run folder.
        cell: the cell.

    Returns:
        ``(OUT/cells/ID/ID.tif, OUT/cells/ID/ID.json)``.
    """
    folder = Path(out) / "cells" / cell.id
    return folder / f"{cell.id}.tif", folder / f"{cell.id}.json"


def check_same_model(
    out: PathLike, cell: GridCell, model: ModelSpec, min_confidence: float | None = None
) -> None:
    """Refuse to resume a finished cell made with another model, offset, climate or threshold.

    A resumed run skips finished cells; a mosaic of cells made by two models (with and
    without ``--l2a-offset``, or with two climate rasters), or with two minimum confidences,
    would not say so anywhere. The cell's STAC item records all four (the climate raster by its
    fingerprint).

    Args:
        out: the run folder.
        cell: a finished cell (:func:`is_finished`).
        model: the model of this run.
        min_confidence: the minimum confidence of this run (``None``: none).

    Raises:
        ValueError: naming the cell, what made it and what this run uses.
    """
    import json

    from lulcbook.climate_field import STAC_PROPERTY as CLIMATE_PROPERTY

    _, item_path = cell_paths(out, cell)
    props = json.loads(item_path.read_text()).get("properties", {})
    made = {
        "model": dict(props.get("lulcbook:model", {})),
        "input_offset": dict(props.get(l2a_offset.STAC_PROPERTY, {})),
        "climate_sha256": str(dict(props.get(CLIMATE_PROPERTY, {})).get("sha256", "")),
        "min_confidence": props.get(MIN_CONFIDENCE_PROPERTY),
    }
    wanted = {  # as predict_scene records them
        "model": product_stac.ModelRef(
            product_stac.public_name(model.name), model.version
        ).to_dict(),
        "input_offset": dict(model.offset),
        "climate_sha256": model.climate_sha256,
        "min_confidence": min_confidence,
    }
    if made != wanted:
        raise ValueError(
            f"cell {cell.id} in {out} was made with {made}, this run uses {wanted}: give another "
            f"--out, or remove {item_path.parent} to redo the cell"
        )


def is_finished(out: PathLike, cell: GridCell) -> bool:
    """Whether the cell's product is complete: its item exists and names existing assets.

    Args:
        out: the run folder.
        cell: the cell.

    Returns:
        True if the cell need not be redone.
    """
    import json

    _, item_path = cell_paths(out, cell)
    if not item_path.exists():
        return False
    try:
        assets = json.loads(item_path.read_text())["assets"]
    except (OSError, ValueError, KeyError):
        return False
    return all((item_path.parent / a["href"]).exists() for a in assets.values())


def run_cell(
    cell: GridCell,
    items: Sequence[pystac.Item],
    model: ModelSpec,
    out: PathLike,
    period: tuple[datetime, datetime],
    tile_size: int = 512,
    overlap: int = 32,
    blocksize: int = 512,
    resampling: str = "nearest",
    min_confidence: float | None = None,
) -> CellResult:
    """Composite, predict and write one cell; errors become a ``failed`` result, never raise.

    Args:
        cell: the cell.
        items: its items, best first (:meth:`~lulcbook.produce.catalog.StaticCatalog.search`).
        model: the model to load (once per process).
        out: the run folder.
        period: the period searched (recorded as ``start_datetime``/``end_datetime``).
        tile_size: core tile size of the prediction in pixels.
        overlap: context pixels around each tile.
        blocksize: internal COG tile size.
        resampling: reprojection of the bands onto the cell grid (``"nearest"``,
            ``"bilinear"``).
        min_confidence: pixels below it get no class
            (:func:`~lulcbook.predict.encoding.blank_unconfident`); ``None``: none.

    Returns:
        The cell's result.
    """
    from lulcbook.predict import predict_scene

    t0, c0 = time.perf_counter(), time.process_time()
    result = CellResult(cell.id, "failed", area_km2=cell.area_km2, n_items=len(items))
    try:
        if not items:
            result.status = "empty"
            return result
        classifier = _model(model.path, model.model_class, model.climate)
        extra: dict[str, Any] = {}
        if model.offset:
            classifier = l2a_offset.with_input_offset(classifier, model.offset, model.name)
            extra[l2a_offset.STAC_PROPERTY] = dict(model.offset)
        source = cell_source(items, list(classifier.bands), cell, resampling)
        tif, item_path = cell_paths(out, cell)
        tif.parent.mkdir(parents=True, exist_ok=True)
        hrefs = [it.get_self_href() or it.id for it in items]
        result.derived_from = [str(h) for h in hrefs]
        predict_scene(
            source,
            classifier,
            tif,
            tile_size=tile_size,
            overlap=overlap,
            blocksize=blocksize,
            workers=1,
            progress=False,
            model_name=model.name,
            model_version=model.version,
            stac_path=item_path,
            derived_from=[str(h) for h in hrefs if h],
            properties={
                "start_datetime": period[0].isoformat(),
                "end_datetime": period[1].isoformat(),
                "lulcbook:grid": "EEA reference grid (EPSG:3035)",
                "lulcbook:cell": cell.id,
                "lulcbook:composite": "first valid pixel, items by cloud cover then date",
                "lulcbook:resampling": resampling,
                **extra,
            },
            allow_implausible=False,
            min_confidence=min_confidence,
        )
        result.status, result.item = "done", str(item_path)
    except Exception as err:  # one bad cell is reported, never fatal for the run
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        result.error = last.splitlines()[0] if last else type(err).__name__
    finally:
        result.seconds = time.perf_counter() - t0
        result.cpu_seconds = time.process_time() - c0
    return result


def run_cell_task(args: dict[str, Any]) -> CellResult:
    """:func:`run_cell` with its arguments in one dict (for dask submission).

    Args:
        args: keyword arguments of :func:`run_cell`.

    Returns:
        The cell's result.
    """
    return run_cell(**args)
