"""Scene → land-cover map: tiled, parallel prediction written as a Cloud-Optimized GeoTIFF.

``predict_scene`` reads a scene tile by tile (each tile a rasterio window read inside its
own task, so memory is bounded by the tile size, not the scene size), runs a
:class:`TileClassifier` on every tile with a margin of context (``overlap``) around it, keeps
only the tile's centre, and writes the class, the confidence (maximum probability) and the
uncertainty (normalised entropy) into scratch files as tiles complete. The finished map is
converted to two COGs (``OUT.tif`` with class + confidence, ``OUT_uncertainty.tif``: GDAL's
GeoTIFF driver drops the colour table of a three-band file, and one file cannot mix uint8 and
float32)
and described by a STAC item (:mod:`lulcbook.cog`); all appear only when complete.

Inputs (:func:`open_source`):

* a multi-band raster (GeoTIFF, …) whose band descriptions name the bands (or pass
  ``band_names``);
* a folder of single-band rasters, e.g. a Sentinel-2 granule's ``IMG_DATA`` with
  ``T33UUU_20170216T102101_B04.jp2`` — the band name is parsed from each file name and
  20/60 m bands are resampled (bilinear) to the grid of the finest band;
* a STAC item JSON file, or a STAC API search (:func:`source_from_stac_search`), both
  loaded lazily through :mod:`lulcbook.sources.stac`;
* an ``xarray.DataArray`` ``(band, y, x)`` of reflectance with a CRS.

Digital numbers become reflectance as ``DN * scale + offset`` (:data:`SCALING`).

Parallelism uses dask.distributed: a local cluster of ``workers`` processes (or threads) by
default, or an existing cluster given by its scheduler address. With one worker and no
scheduler the tiles run in this process, one after another.

Safety checks, all before the first tile is predicted:

* output paths (:func:`output_paths`): the map, uncertainty and STAC item are distinct files,
  none is an input (scene, band file, STAC item or asset, model) or a folder, and their
  folders are writable; the three appear together or not at all (:func:`lulcbook.io.output_set`);
* options that do not apply to the kind of input are errors naming the option
  (:func:`open_source`), as are duplicate band names;
* a geographic CRS (degrees) is refused: the models work on metric pixels and areas are
  reported in km²; reproject first (e.g. ``gdalwarp -t_srs EPSG:32633``);
* reflectance plausibility (:func:`check_reflectance`) on a sample of pixels after scaling,
  which catches digital numbers read as reflectance and reflectance scaled twice.

MC dropout is reproducible: each tile draws from generators seeded by the run's ``seed`` and
the tile's position (:func:`tile_seed`), so maps do not depend on the number of workers, the
scheduling order or the process a tile runs in.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor used on DataArray inputs)
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from lulcbook import cog, io, legend
from lulcbook.bands import normalise_band
from lulcbook.cog import (
    CONFIDENCE_SCALE,
    MAP_BANDS,
    UNCERTAINTY_BAND,
    confidence_path,
    uncertainty_path,
)
from lulcbook.progress import progress as tqdm

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

SCALING: dict[str, tuple[float, float]] = {
    "reflectance": (1.0, 0.0),
    "s2-l1c": (1e-4, 0.0),
    "s2-l2a": (1e-4, 0.0),
    "s2-l1c-n0400": (1e-4, -0.1),
    "s2-l2a-n0400": (1e-4, -0.1),
    "hls": (1e-4, 0.0),
    "landsat-c2-l2": (2.75e-5, -0.2),
}
"""``(scale, offset)`` from digital numbers to reflectance per source (``DN * scale + offset``).

* ``s2-l1c`` / ``s2-l2a``: Sentinel-2 products before processing baseline 04.00 (before
  2022-01-25): reflectance = DN / 10000.
* ``s2-l1c-n0400`` / ``s2-l2a-n0400``: baseline ≥ 04.00 adds ``RADIO_ADD_OFFSET`` /
  ``BOA_ADD_OFFSET`` = −1000: reflectance = (DN − 1000) / 10000.
* ``hls``: NASA HLS v2.0 S30/L30 surface reflectance, scale 1e-4.
* ``landsat-c2-l2``: Landsat Collection 2 Level-2 surface reflectance, 2.75e-5 and −0.2.
* ``reflectance``: the input already holds reflectance (float rasters).

Without a preset or explicit values, float rasters are taken as reflectance and integer
rasters as Sentinel-2 DN / 10000 (``s2-l1c``).
"""

_RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt", ".img")
_MAP_SUFFIXES = (".tif", ".tiff")
OPTION_NAMES: dict[str, str] = {
    "band_names": "--band-names",
    "preset": "--preset",
    "scale": "--scale",
    "offset": "--offset",
    "nodata": "--nodata",
    "mask_band": "--mask-band",
    "mask_values": "--mask-values",
}
"""Keyword arguments of :func:`open_source` and the command-line options that set them."""


class ImplausibleReflectanceError(ValueError):
    """The scaled input does not look like reflectance (see :func:`check_reflectance`)."""


_BAND_IN_NAME = re.compile(r"(?:^|[_.\-])(B\d{1,2}A?)(?:_(\d+)m)?$", re.IGNORECASE)
_DATE_IN_NAME = re.compile(r"(\d{8}T\d{6})|(\d{4}-\d{2}-\d{2})")


@runtime_checkable
class TileClassifier(Protocol):
    """What ``predict_scene`` needs from a model (``lulcbook.models.gnn.SegmentClassifier``).

    Attributes:
        bands: the input bands in the order the model expects (Sentinel-2 names).
        classes: one legend key (``lulcbook.legend.KEYS``) per output channel.
    """

    bands: Sequence[str]
    classes: Sequence[str]

    def predict_proba(self, tile: np.ndarray, mc_samples: int = 0) -> np.ndarray:
        """Class probabilities ``(n_classes, y, x)`` for a ``(band, y, x)`` float32 tile.

        The tile may contain NaN (no data); the output may be NaN there.
        """
        ...


def _canon(name: str) -> str:
    """Canonical band name: Sentinel-2 names normalised (``b2`` → ``B02``), others upper-cased."""
    try:
        return normalise_band(name)
    except ValueError:
        return str(name).strip().upper()


def match_bands(available: Sequence[str | None], wanted: Sequence[str], source: str) -> list[int]:
    """Return the positions of ``wanted`` in ``available``, matched case-insensitively.

    Raises:
        ValueError: naming the missing band(s) and ``source``.
    """
    canon = [_canon(b) if b else None for b in available]
    missing = [b for b in wanted if _canon(b) not in canon]
    if missing:
        have = [c for c in canon if c]
        raise ValueError(f"Band(s) {missing} missing in {source}; it has {have}")
    return [canon.index(_canon(b)) for b in wanted]


def resolve_scaling(
    preset: str | None, scale: float | None, offset: float | None, dtype: str
) -> tuple[float, float]:
    """Return ``(scale, offset)``: explicit values win over the preset, the preset over defaults.

    Raises:
        ValueError: for an unknown preset.
    """
    if preset is not None and preset not in SCALING:
        raise ValueError(f"Unknown scaling preset {preset!r}; expected one of {sorted(SCALING)}")
    if preset is None:
        preset = "reflectance" if np.dtype(dtype).kind == "f" else "s2-l1c"
    s, o = SCALING[preset]
    return (s if scale is None else float(scale)), (o if offset is None else float(offset))


def _date_from(text: str, tags: dict[str, str] | None = None) -> str | None:
    """An ISO datetime from raster tags (``datetime``) or a name (``20170216T102101``, ``2024-06-02``)."""
    for key in ("datetime", "DATETIME", "TIFFTAG_DATETIME"):
        if tags and tags.get(key):
            return str(tags[key])
    m = _DATE_IN_NAME.search(text)
    if m is None:
        return None
    if m.group(1):
        return datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC).isoformat()
    return f"{m.group(2)}T00:00:00+00:00"


def _open(path: PathLike) -> rasterio.DatasetReader:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Input {path} does not exist")
    try:
        return rasterio.open(path)
    except RasterioIOError as err:
        raise ValueError(f"{path} is not a readable raster: {err}") from err


@dataclass(frozen=True)
class BandRef:
    """One band of one file: its name, the file and the 1-based band index in the file."""

    name: str
    path: str
    index: int = 1


@dataclass(frozen=True)
class RasterSource:
    """Named bands from one or more raster files, read window by window on one target grid.

    Small and picklable: each task opens the files itself and reads only its window. Bands
    on another grid (e.g. 20 m bands of a 10 m scene) are resampled bilinearly on the fly.

    Attributes:
        bands: the bands to read, in model order.
        crs: target CRS (WKT).
        transform: target affine transform (6 GDAL-order coefficients a, b, c, d, e, f).
        width, height: target grid size.
        scale, offset: ``DN * scale + offset`` gives reflectance.
        nodata: the input value that means no data (per file value used when ``None``).
        mask: optional ``(band, values)``: pixels whose mask band has one of ``values`` become
            no data (e.g. Sentinel-2 SCL cloud classes).
        name: the input as given (for messages and metadata).
        datetime: ISO acquisition time if known.
    """

    bands: tuple[BandRef, ...]
    crs: str
    transform: tuple[float, float, float, float, float, float]
    width: int
    height: int
    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None
    mask: tuple[BandRef, tuple[int, ...]] | None = None
    name: str = ""
    datetime: str | None = None

    @property
    def band_names(self) -> list[str]:
        """The band names, in model order."""
        return [b.name for b in self.bands]

    @property
    def affine(self) -> rasterio.Affine:
        """The target grid's affine transform."""
        return rasterio.Affine(*self.transform)

    @property
    def resolution(self) -> float:
        """Pixel size in CRS units."""
        return abs(self.transform[0])

    def _read(
        self, ref: BandRef, window: Window, resampling: Resampling
    ) -> tuple[np.ndarray, float | None]:
        try:
            return self._read_unchecked(ref, window, resampling)
        except (RasterioIOError, rasterio.errors.RasterioError, OSError) as err:
            (r0, r1), (c0, c1) = window.toranges()
            raise ValueError(
                f"Reading band {ref.name} from {ref.path} failed (rows {r0}-{r1}, columns "
                f"{c0}-{c1}); the file may be truncated or corrupt: {err}"
            ) from err

    def _read_unchecked(
        self, ref: BandRef, window: Window, resampling: Resampling
    ) -> tuple[np.ndarray, float | None]:
        with rasterio.open(ref.path) as src:
            nodata = self.nodata if self.nodata is not None else src.nodata
            same = (
                src.crs is not None
                and src.crs.to_wkt() == self.crs
                and src.transform.almost_equals(self.affine)
                and (src.width, src.height) == (self.width, self.height)
            )
            if same:
                return src.read(ref.index, window=window), nodata
            with WarpedVRT(
                src,
                crs=self.crs,
                transform=self.affine,
                width=self.width,
                height=self.height,
                resampling=resampling,
                src_nodata=nodata,
                nodata=nodata,
            ) as vrt:
                return vrt.read(ref.index, window=window), nodata

    def read(self, window: Window) -> np.ndarray:
        """Read ``window`` of the target grid as float32 reflectance ``(band, y, x)``, NaN = no data."""
        out = np.empty((len(self.bands), int(window.height), int(window.width)), dtype=np.float32)
        for i, ref in enumerate(self.bands):
            arr, nodata = self._read(ref, window, Resampling.bilinear)
            band = arr.astype(np.float32)
            if nodata is not None and not np.isnan(nodata):
                band[arr == nodata] = np.nan
            out[i] = band * np.float32(self.scale) + np.float32(self.offset)
        if self.mask is not None:
            ref, values = self.mask
            arr, _ = self._read(ref, window, Resampling.nearest)
            out[:, np.isin(arr, values)] = np.nan
        return out


@dataclass(frozen=True)
class ArraySource:
    """An in-memory or dask-backed ``xarray.DataArray (band, y, x)`` of reflectance with a CRS."""

    data: Any
    name: str = "array"
    datetime: str | None = None
    bands_: tuple[str, ...] = field(default=())
    hrefs: tuple[str, ...] = field(default=())
    """Where the data come from (e.g. STAC asset hrefs), named in read errors."""

    @property
    def band_names(self) -> list[str]:
        """The band names, in model order."""
        return list(self.bands_)

    @property
    def crs(self) -> str:
        """The CRS (WKT)."""
        return str(self.data.rio.crs.to_wkt())

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """The transform (GDAL order a, b, c, d, e, f)."""
        return tuple(self.data.rio.transform())[:6]

    @property
    def affine(self) -> rasterio.Affine:
        """The target grid's affine transform."""
        return self.data.rio.transform()

    @property
    def width(self) -> int:
        """Grid width in pixels."""
        return int(self.data.sizes["x"])

    @property
    def height(self) -> int:
        """Grid height in pixels."""
        return int(self.data.sizes["y"])

    @property
    def resolution(self) -> float:
        """Pixel size in CRS units."""
        return abs(self.transform[0])

    def read(self, window: Window) -> np.ndarray:
        """Read ``window`` as float32 ``(band, y, x)`` (computing only that part of a dask array)."""
        (r0, r1), (c0, c1) = window.toranges()
        part = self.data.isel(y=slice(int(r0), int(r1)), x=slice(int(c0), int(c1)))
        if part.chunks is not None:  # dask-backed: compute just this window, here
            try:
                with warnings.catch_warnings():  # medians of pixels that are no data on every date
                    warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
                    part = part.compute(scheduler="synchronous")
            except Exception as err:  # odc-stac/rasterio/HTTP errors of many types
                assets = f" (reading {', '.join(self.hrefs)})" if self.hrefs else ""
                raise ValueError(
                    f"Reading {self.name} failed (rows {r0}-{r1}, columns {c0}-{c1}){assets}: "
                    f"{type(err).__name__}: {err}"
                ) from err
        return np.asarray(part.values, dtype=np.float32)


@dataclass(frozen=True)
class MemorySource:
    """A source read whole into memory once (small grids predicted as one tile).

    Attributes:
        image: float32 reflectance ``(band, y, x)``, NaN = no data.
        band_names: the band names.
        crs: the CRS (WKT).
        transform: the transform (GDAL order).
        name: the input's name.
        datetime: ISO acquisition time if known.
        scale: the DN scale of the input, if it had one (for messages).
        offset: the DN offset of the input, if it had one (for messages).
    """

    image: np.ndarray
    band_names: list[str]
    crs: str
    transform: tuple[float, float, float, float, float, float]
    name: str = ""
    datetime: str | None = None
    scale: float | None = None
    offset: float | None = None

    @classmethod
    def of(cls, source: Source) -> MemorySource:
        """Read ``source`` whole.

        Args:
            source: the source.

        Returns:
            The same data in memory.
        """
        image = source.read(Window(0, 0, source.width, source.height))
        return cls(
            image,
            list(source.band_names),
            source.crs,
            source.transform,
            source.name,
            source.datetime,
            getattr(source, "scale", None),
            getattr(source, "offset", None),
        )

    @property
    def affine(self) -> rasterio.Affine:
        """The grid's affine transform."""
        return rasterio.Affine(*self.transform)

    @property
    def width(self) -> int:
        """Grid width in pixels."""
        return int(self.image.shape[2])

    @property
    def height(self) -> int:
        """Grid height in pixels."""
        return int(self.image.shape[1])

    @property
    def resolution(self) -> float:
        """Pixel size in CRS units."""
        return abs(self.transform[0])

    def read(self, window: Window) -> np.ndarray:
        """A copy of ``window`` of the image.

        Args:
            window: the window.

        Returns:
            float32 ``(band, y, x)``.
        """
        return np.array(self.image[(slice(None), *window.toslices())], dtype=np.float32)


Source = RasterSource | ArraySource | MemorySource


def _check_crs(src: rasterio.DatasetReader, path: PathLike) -> None:
    if src.crs is None:
        raise ValueError(f"{path} has no CRS; a georeferenced raster is required")


def check_projected(crs: Any, name: str) -> float:
    """Refuse a geographic CRS; return the metres per CRS unit of a projected one.

    The models work on square metric pixels (10 m Sentinel-2) and areas are reported in km²,
    so a scene in degrees is an error that says how to reproject it.

    Raises:
        ValueError: naming ``name`` and the CRS, for a geographic (or unknown-unit) CRS.
    """
    crs = rasterio.crs.CRS.from_user_input(crs)
    if crs.is_geographic:
        raise ValueError(
            f"{name} is in a geographic CRS ({crs.to_string()}, units of degrees); pixel sizes "
            "and areas in degrees are not metric. Reproject it to a projected CRS first, e.g. "
            "its UTM zone: gdalwarp -t_srs EPSG:32633 -tr 10 10 in.tif out.tif"
        )
    unit, factor = crs.linear_units_factor
    if not factor or factor <= 0:
        raise ValueError(f"{name}: unknown linear unit {unit!r} of CRS {crs.to_string()}")
    return float(factor)


def _check_unique(names: Sequence[str | None], source: str, option: str = "") -> None:
    """Raise if a band name occurs twice (after canonicalisation), naming the duplicates."""
    canon = [_canon(n) for n in names if n]
    dup = sorted({c for c in canon if canon.count(c) > 1})
    if dup:
        raise ValueError(
            f"Duplicate band name(s) {dup} {option or 'in'} {source}: {list(names)}; "
            "each band needs its own name"
        )


def source_from_file(
    path: PathLike,
    bands: Sequence[str],
    band_names: Sequence[str] | None = None,
    preset: str | None = None,
    scale: float | None = None,
    offset: float | None = None,
    nodata: float | None = None,
    mask_band: str | None = None,
    mask_values: Sequence[int] = (),
) -> RasterSource:
    """Describe the ``bands`` of a multi-band raster (names from its band descriptions).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: for an unreadable file, a file without CRS, unnamed bands, a wrong number of
            ``band_names`` or a missing band (each message names the file and band).
    """
    with _open(path) as src:
        _check_crs(src, path)
        if band_names is not None:
            names = [str(b) for b in band_names]
            if len(names) != src.count:
                raise ValueError(
                    f"{len(names)} band names {names} given for {path}, which has {src.count} bands"
                )
            _check_unique(names, str(path), "given by --band-names for")
        else:
            names = [d for d in src.descriptions]
            if not any(names):
                raise ValueError(
                    f"{path} has {src.count} bands without descriptions; name them with "
                    f"band_names (CLI: --band-names B02,B03,...)"
                )
            _check_unique(names, f"the band descriptions of {path}", "in")
        idx = match_bands(names, bands, str(path))
        s, o = resolve_scaling(preset, scale, offset, src.dtypes[0])
        mask = None
        if mask_band is not None:
            (m,) = match_bands(names, [mask_band], str(path))
            mask = (
                BandRef(_canon(mask_band), str(path), m + 1),
                tuple(int(v) for v in mask_values),
            )
        return RasterSource(
            bands=tuple(
                BandRef(_canon(b), str(path), i + 1) for b, i in zip(bands, idx, strict=True)
            ),
            crs=src.crs.to_wkt(),
            transform=tuple(src.transform)[:6],
            width=src.width,
            height=src.height,
            scale=s,
            offset=o,
            nodata=nodata,
            mask=mask,
            name=str(path),
            datetime=_date_from(Path(path).name, src.tags()),
        )


def band_files(folder: PathLike) -> dict[str, Path]:
    """Find single-band rasters in ``folder`` (recursively) and name them by their file names.

    ``T33UUU_20170216T102101_B04.jp2`` → ``B04``; with several resolutions of one band
    (``_B02_10m``, ``_B02_20m`` in L2A granules) the finest is kept.

    Raises:
        FileNotFoundError: if the folder does not exist.
        ValueError: if no file name carries a band name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Input folder {folder} does not exist")
    found: dict[str, tuple[int, Path]] = {}
    for f in sorted(folder.rglob("*")):
        if f.suffix.lower() not in _RASTER_SUFFIXES or not f.is_file():
            continue
        m = _BAND_IN_NAME.search(f.stem)
        if m is None:
            continue
        try:
            name = normalise_band(m.group(1))
        except ValueError:
            continue
        res = int(m.group(2)) if m.group(2) else 0
        if name not in found or res < found[name][0]:
            found[name] = (res, f)
    if not found:
        raise ValueError(f"No band files (names like *_B04.jp2) in {folder}")
    return {k: v[1] for k, v in found.items()}


def source_from_folder(
    folder: PathLike,
    bands: Sequence[str],
    preset: str | None = None,
    scale: float | None = None,
    offset: float | None = None,
    nodata: float | None = 0,
) -> RasterSource:
    """Describe the ``bands`` of a folder of single-band rasters on the grid of the finest one.

    Sentinel-2 granule JP2s carry no nodata value; ESA's products use 0, the default here.

    Raises:
        FileNotFoundError: if the folder does not exist.
        ValueError: for a missing band (naming it and the folder), an unreadable file, a file
            without CRS, or files in different CRSs.
    """
    files = band_files(folder)
    idx = match_bands(list(files), bands, f"{folder} (bands found in file names)")
    chosen = [list(files)[i] for i in idx]
    metas = {}
    for name in chosen:
        with _open(files[name]) as src:
            _check_crs(src, files[name])
            metas[name] = (src.crs, src.transform, src.width, src.height, src.dtypes[0], src.tags())
    crss = {m[0].to_wkt() for m in metas.values()}
    if len(crss) > 1:
        detail = ", ".join(f"{files[n].name}: {m[0].to_string()}" for n, m in metas.items())
        raise ValueError(f"Band files in {folder} are in different CRSs ({detail})")
    ref = min(chosen, key=lambda n: abs(metas[n][1].a))
    crs, transform, width, height, dtype, tags = metas[ref]
    s, o = resolve_scaling(preset, scale, offset, dtype)
    return RasterSource(
        bands=tuple(BandRef(n, str(files[n]), 1) for n in chosen),
        crs=crs.to_wkt(),
        transform=tuple(transform)[:6],
        width=width,
        height=height,
        scale=s,
        offset=o,
        nodata=nodata,
        name=str(folder),
        datetime=_date_from(files[ref].name, tags),
    )


def source_from_array(data: Any, bands: Sequence[str], name: str | None = None) -> ArraySource:
    """Wrap a ``(band, y, x)`` DataArray of reflectance (band coordinate = names, CRS via rioxarray).

    Raises:
        ValueError: if it has no CRS, wrong dims, or lacks a band.
    """
    name = name or str(data.attrs.get("source", "array"))
    if tuple(data.dims) != ("band", "y", "x"):
        raise ValueError(f"{name}: expected dims ('band', 'y', 'x'), got {tuple(data.dims)}")
    if data.rio.crs is None:
        raise ValueError(f"{name} has no CRS; write one with .rio.write_crs()")
    idx = match_bands([str(b) for b in data.band.values], bands, name)
    sel = data.isel(band=idx)
    return ArraySource(
        data=sel,
        name=name,
        datetime=str(data.attrs["datetime"]) if data.attrs.get("datetime") else None,
        bands_=tuple(_canon(b) for b in bands),
    )


def input_kind(input: Any) -> str:
    """``"source"``, ``"array"``, ``"folder"``, ``"stac-item"`` or ``"raster"``."""
    if isinstance(input, (RasterSource, ArraySource)) or all(
        hasattr(input, a) for a in ("read", "band_names", "affine", "crs")
    ):
        return "source"
    if hasattr(input, "dims") and hasattr(input, "rio"):
        return "array"
    path = Path(input)
    if path.is_dir():
        return "folder"
    if path.suffix.lower() == ".json":
        return "stac-item"
    return "raster"


APPLICABLE_OPTIONS: dict[str, tuple[str, ...]] = {
    "raster": tuple(OPTION_NAMES),
    "folder": ("preset", "scale", "offset", "nodata"),
    "stac-item": (),
    "array": (),
    "source": (),
}
"""Which :func:`open_source` keywords apply to which kind of input (the rest are errors)."""

_WHY_NOT = {
    "folder": "a folder of band files (bands are named by their file names; no mask band)",
    "stac-item": "a STAC item (bands, scaling and nodata come from the item's metadata)",
    "array": "an xarray DataArray (named bands of reflectance)",
    "source": "a prepared source",
}


def check_options(input: Any, **kw: Any) -> str:
    """Refuse source options that would be silently ignored for this kind of input.

    Args:
        input: what :func:`open_source` gets.
        **kw: its keyword arguments; ``None`` means not given.

    Returns:
        The input kind (:func:`input_kind`).

    Raises:
        ValueError: naming the options (and their command-line spelling) that do not apply.
    """
    kind = input_kind(input)
    unknown = sorted(set(kw) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(f"Unknown source option(s) {unknown}; expected {sorted(OPTION_NAMES)}")
    bad = [k for k, v in kw.items() if v is not None and k not in APPLICABLE_OPTIONS[kind]]
    if bad:
        opts = ", ".join(f"{OPTION_NAMES[k]} ({k})" for k in bad)
        raise ValueError(f"Option(s) {opts} do not apply to {_WHY_NOT[kind]}: {input}")
    if kw.get("mask_values") is not None and kw.get("mask_band") is None:
        raise ValueError("--mask-values (mask_values) needs --mask-band (mask_band)")
    return kind


def open_source(input: Any, bands: Sequence[str], **kw: Any) -> Source:
    """Dispatch on the input: DataArray, STAC item JSON, folder of band files, or raster file.

    Keyword arguments go to :func:`source_from_file` / :func:`source_from_folder`
    (``band_names``, ``preset``, ``scale``, ``offset``, ``nodata``, ``mask_band``, ``mask_values``);
    ``None`` means not given. An option that does not apply to the kind of input (e.g.
    ``mask_band`` for a folder, any of them for a STAC item) is an error, never ignored.

    Raises:
        ValueError: for options that do not apply (:func:`check_options`) and bad inputs.
    """
    kind = check_options(input, **kw)
    kw = {k: v for k, v in kw.items() if v is not None}
    if kind == "source":
        return input  # type: ignore[no-any-return]
    if kind == "array":
        return source_from_array(input, bands)
    path = Path(input)
    if kind == "folder":
        return source_from_folder(path, bands, **kw)
    if kind == "stac-item":
        return source_from_stac_item(path, bands)
    if "mask_band" in kw and "mask_values" not in kw:
        from lulcbook.cube import SCL_INVALID

        kw["mask_values"] = SCL_INVALID
    return source_from_file(path, bands, **kw)


def input_files(input: Any) -> list[Path]:
    """The files a run reads for ``input`` (for checking that no output overwrites one).

    A raster file itself; every raster in a folder; a STAC item file and its local assets.
    """
    kind = input_kind(input)
    if kind in ("array", "source"):
        return [Path(r.path) for r in getattr(input, "bands", ()) if isinstance(r, BandRef)]
    path = Path(input)
    if kind == "folder":
        return [f for f in path.rglob("*") if f.suffix.lower() in _RASTER_SUFFIXES]
    files = [path]
    if kind == "stac-item" and path.is_file():
        import json

        with contextlib.suppress(ValueError, OSError, AttributeError, TypeError):
            for asset in json.loads(path.read_text()).get("assets", {}).values():
                href = str(asset.get("href", ""))
                if "://" not in href or href.startswith("file://"):
                    local = Path(href.removeprefix("file://"))
                    files.append(local if local.is_absolute() else path.parent / local)
    return files


def output_paths(
    out: PathLike, stac_path: PathLike | None = None, inputs: Sequence[PathLike] = ()
) -> tuple[Path, Path, Path]:
    """Check and return the map, uncertainty and STAC item paths of a run, before any work.

    Args:
        out: the map COG (``.tif`` or ``.tiff``).
        stac_path: the STAC item (default: ``out`` with suffix ``.json``).
        inputs: files the run reads (:func:`input_files`, the model file).

    Raises:
        ValueError: for a map path without ``.tif`` suffix, or paths that coincide with each
            other or with an input (naming both).
        IsADirectoryError, FileNotFoundError, PermissionError: for a folder as output, a
            missing or unwritable output folder.
    """
    out = Path(out)
    if out.suffix.lower() not in _MAP_SUFFIXES:
        raise ValueError(f"--out {out} must end with .tif or .tiff (it is a GeoTIFF)")
    paths = cog.product_paths(out, stac_path)
    io.check_output_paths(
        [paths.classes, paths.uncertainty, paths.item, paths.confidence, paths.aux, paths.style],
        inputs,
        names=[
            "--out",
            "uncertainty output",
            "--stac-out",
            "confidence output",
            "attribute table",
            "QGIS style",
        ],
    )
    return paths.classes, paths.uncertainty, paths.item


def source_from_stac_item(path: PathLike, bands: Sequence[str], chunk: int = 1024) -> ArraySource:
    """Describe the ``bands`` of a STAC item (JSON file) loaded lazily by :mod:`lulcbook.sources.stac`.

    Reflectance scaling comes from the item's own metadata (processing baseline, raster
    extension); only the chunks each tile needs are read.

    Raises:
        FileNotFoundError: if the item file does not exist.
        ValueError: if it is not a STAC item or lacks a band.
    """
    import pystac

    from lulcbook.sources import stac

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Input {path} does not exist")
    try:
        item = pystac.Item.from_file(str(path))
    except Exception as err:  # pystac raises several types for non-item JSON
        raise ValueError(f"{path} is not a readable STAC item: {err}") from err
    item.make_asset_hrefs_absolute()  # relative hrefs resolve against the item file
    wanted = {_canon(b) for b in bands}
    for key, asset in item.assets.items():
        href = asset.href.removeprefix("file://")
        if _canon(key) in wanted and "://" not in href and not Path(href).exists():
            raise FileNotFoundError(f"Asset {key} of STAC item {path} does not exist: {href}")
    da = stac.load([item], list(bands), chunks={"x": chunk, "y": chunk}, resampling="bilinear")
    out = source_from_array(da.isel(time=0, drop=True), bands, name=str(path))
    hrefs = tuple(f"{k}={a.href}" for k, a in item.assets.items() if _canon(k) in wanted)
    return ArraySource(
        out.data,
        out.name,
        item.datetime.isoformat() if item.datetime else None,
        out.bands_,
        hrefs=hrefs,
    )


def source_from_stac_search(
    bands: Sequence[str],
    bbox: Sequence[float],
    datetime: str,
    collection: str = "sentinel-2-l2a",
    url: str | None = None,
    max_cloud: float | None = 20.0,
    chunk: int = 1024,
) -> ArraySource:
    """Search a STAC API (:func:`lulcbook.sources.stac.search`) and describe the result lazily.

    Items of one solar day are mosaicked; several days become their per-pixel median
    (computed tile by tile, NaN ignored).

    Raises:
        ValueError: if the search finds nothing.
    """
    from lulcbook.sources import stac

    kw: dict[str, Any] = {"url": url} if url else {}
    items = stac.search(
        bbox=list(bbox), datetime=datetime, collections=[collection], max_cloud=max_cloud, **kw
    )
    if not items:
        raise ValueError(f"No {collection} items for bbox {list(bbox)} and datetime {datetime!r}")
    da = stac.load(
        items,
        list(bands),
        bbox=list(bbox),
        groupby="solar_day",
        chunks={"x": chunk, "y": chunk},
        resampling="bilinear",
    )
    if da.sizes["time"] > 1:
        da = da.chunk({"time": -1}).median("time", skipna=True).astype("float32")
        da = da.rio.write_crs(da.rio.crs)
    else:
        da = da.isel(time=0, drop=True)
    name = f"STAC {collection} {datetime} {list(bbox)}"
    return source_from_array(da.transpose("band", "y", "x"), bands, name=name)


@dataclass(frozen=True)
class Tile:
    """A tile: the ``core`` window it owns in the output and the ``padded`` window it reads."""

    core: Window
    padded: Window


def tile_windows(width: int, height: int, tile_size: int, overlap: int) -> list[Tile]:
    """Split a ``width``×``height`` grid into core tiles of ``tile_size`` with ``overlap`` context.

    Each tile reads ``overlap`` extra pixels on every side (clipped at the scene edge) and
    keeps only its core, so neighbouring predictions meet without seams.

    Raises:
        ValueError: for a non-positive tile size or a negative overlap.
    """
    if tile_size <= 0 or overlap < 0:
        raise ValueError(f"tile_size must be > 0 and overlap >= 0, got {tile_size}, {overlap}")
    tiles = []
    for r in range(0, height, tile_size):
        for c in range(0, width, tile_size):
            h, w = min(tile_size, height - r), min(tile_size, width - c)
            r0, c0 = max(r - overlap, 0), max(c - overlap, 0)
            r1, c1 = min(r + h + overlap, height), min(c + w + overlap, width)
            tiles.append(Tile(Window(c, r, w, h), Window(c0, r0, c1 - c0, r1 - r0)))
    return tiles


def tile_border_mask(width: int, height: int, tile_size: int, margin: int) -> np.ndarray:
    """Pixels within ``margin`` of an internal tile border of :func:`tile_windows` (``(y, x)`` bool).

    Where seams would show: compare a tiled with an untiled prediction there.
    """
    mask = np.zeros((height, width), dtype=bool)
    for r in range(tile_size, height, tile_size):
        mask[max(r - margin, 0) : r + margin, :] = True
    for c in range(tile_size, width, tile_size):
        mask[:, max(c - margin, 0) : c + margin] = True
    return mask


def encode(
    proba: np.ndarray, invalid: np.ndarray, class_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Turn probabilities ``(C, y, x)`` into the map bands and the uncertainty.

    Returns:
        ``(map, uncertainty)``: ``map`` is uint8 ``(2, y, x)`` — the legend index of the most
        probable class and the confidence (maximum probability) as ``round(p /
        CONFIDENCE_SCALE)`` — with :data:`lulcbook.legend.NODATA` where ``invalid`` or the
        probabilities are not finite; ``uncertainty`` is float32 ``(y, x)``, the entropy
        divided by log C (0 = certain, 1 = uniform), NaN there.
    """
    bad = invalid | ~np.isfinite(proba).all(axis=0)
    p = np.clip(np.nan_to_num(proba.astype(np.float64), nan=0.0), 0.0, None)
    total = p.sum(axis=0, keepdims=True)
    p = np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[0]), where=total > 0)
    cls = class_values[p.argmax(axis=0)].astype(np.uint8)
    conf = np.rint(np.clip(p.max(axis=0), 0, 1) / CONFIDENCE_SCALE).astype(np.uint8)
    ent = -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=0) / math.log(max(p.shape[0], 2))
    out = np.stack([cls, conf])
    out[:, bad] = legend.NODATA
    unc = np.round(np.clip(ent, 0, 1), 4).astype(np.float32)  # 4 decimals compress well
    unc[bad] = np.nan
    return out, unc


def class_values(classes: Sequence[str | int]) -> np.ndarray:
    """Legend indices of a model's classes (legend keys, names or indices).

    Raises:
        ValueError: for a class that is not in :mod:`lulcbook.legend`.
    """
    out = []
    for c in classes:
        if isinstance(c, (int, np.integer)) and 0 <= int(c) < legend.N_CLASSES:
            out.append(int(c))
        elif str(c) in legend.KEYS:
            out.append(legend.index_of(str(c)))
        elif str(c) in legend.NAMES:
            out.append(legend.NAMES.index(str(c)))
        else:
            raise ValueError(
                f"Model class {c!r} is not in the legend; expected one of {legend.KEYS}"
            )
    return np.asarray(out, dtype=np.int64)


@dataclass
class TileResult:
    """The encoded core of one tile (see :func:`encode`), its class pixel counts and timing.

    ``cpu_seconds`` is the CPU time of the task's thread, ``seconds`` its wall time; on a busy
    machine the ratio shows how much of the time the task actually ran.
    """

    window: Window
    data: np.ndarray
    uncertainty: np.ndarray
    counts: np.ndarray
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def tile_seed(seed: int, tile: Tile) -> int:
    """The seed of one tile: derived from the run's ``seed`` and the tile's core position.

    Independent of the worker, process and order the tile runs in, so MC-dropout maps are the
    same across runs and worker counts.
    """
    entropy = [int(seed) & 0xFFFFFFFF, int(tile.core.row_off), int(tile.core.col_off)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0])


_RNG_LOCK = threading.Lock()
"""Serialises seeded stochastic predictions of threads that share the global generators."""


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's and NumPy's global generators for one block; restore them afterwards.

    Holds a lock, so threads of one process (``--threads``) cannot interleave their draws.
    """
    import torch

    with _RNG_LOCK:
        state = np.random.get_state()
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                np.random.seed(seed)
                yield
        finally:
            np.random.set_state(state)


def _accepts_seed(fn: Any) -> bool:
    with contextlib.suppress(TypeError, ValueError):
        return "seed" in inspect.signature(fn).parameters
    return False


def predict_tile(
    source: Source,
    model: TileClassifier,
    tile: Tile,
    mc_samples: int = 0,
    threads: int | None = 1,
    seed: int = 0,
) -> TileResult:
    """Read one padded tile, predict it and return its encoded core.

    Args:
        source: where to read.
        model: the classifier.
        tile: the windows.
        mc_samples: Monte-Carlo dropout samples (0 = deterministic).
        threads: torch intra-op threads for this worker (``None`` leaves the setting alone).
        seed: the run's seed; with ``mc_samples > 0`` the prediction runs with torch's and
            NumPy's global generators seeded by :func:`tile_seed`, and a ``predict_proba``
            with a ``seed`` parameter gets that seed too.
    """
    t0, c0 = time.perf_counter(), time.thread_time()
    if threads is not None:
        with contextlib.suppress(ImportError):
            import torch

            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
    image = source.read(tile.padded)
    invalid = ~np.isfinite(image).all(axis=0)
    r = int(tile.core.row_off - tile.padded.row_off)
    c = int(tile.core.col_off - tile.padded.col_off)
    h, w = int(tile.core.height), int(tile.core.width)
    values = class_values(model.classes)
    if invalid.all():
        data = np.full((len(MAP_BANDS), h, w), legend.NODATA, dtype=np.uint8)
        unc = np.full((h, w), np.nan, dtype=np.float32)
    else:
        if mc_samples > 0:
            ts = tile_seed(seed, tile)
            extra = {"seed": ts} if _accepts_seed(model.predict_proba) else {}
            with seeded(ts):
                proba = model.predict_proba(image, mc_samples=mc_samples, **extra)
        else:
            proba = model.predict_proba(image, mc_samples=mc_samples)
        proba = np.asarray(proba, dtype=np.float32)
        if proba.shape != (len(values), *image.shape[1:]):
            raise ValueError(
                f"predict_proba returned shape {proba.shape}; expected "
                f"{(len(values), *image.shape[1:])} for a tile of {image.shape}"
            )
        core = np.s_[r : r + h, c : c + w]
        data, unc = encode(proba[(slice(None), *core)], invalid[core], values)
    counts = np.bincount(data[0][data[0] != legend.NODATA].ravel(), minlength=legend.N_CLASSES)
    return TileResult(
        tile.core, data, unc, counts[: legend.N_CLASSES], time.perf_counter() - t0,
        time.thread_time() - c0,
    )  # fmt: skip


@dataclass
class MapResult:
    """What :func:`predict_scene` wrote and measured.

    ``seconds`` is the wall time of the whole call; ``task_seconds`` and ``task_cpu_seconds``
    sum the wall and CPU time of the tile tasks (see :class:`TileResult`).
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

    @property
    def area_km2(self) -> float:
        """Area of the scene grid in km²."""
        return self.width * self.height * self.resolution**2 / 1e6

    def class_area_km2(self) -> dict[str, float]:
        """Mapped area per legend class in km² (nodata excluded)."""
        px = self.resolution**2 / 1e6
        return {k: v * px for k, v in self.class_pixels.items()}


def _iter_local(
    tiles: Sequence[Tile], source: Source, model: TileClassifier, mc_samples: int, seed: int = 0
) -> Iterator[TileResult]:
    for t in tiles:
        yield predict_tile(source, model, t, mc_samples, seed=seed)


def _iter_dask(
    client: Any,
    tiles: Sequence[Tile],
    source: Source,
    model: TileClassifier,
    mc_samples: int,
    in_flight: int,
    seed: int = 0,
) -> Iterator[TileResult]:
    """Submit tiles to a dask.distributed client, at most ``in_flight`` at once, yield as done."""
    from distributed import as_completed

    src_f = client.scatter(source, broadcast=True, hash=False)
    model_f = client.scatter(model, broadcast=True, hash=False)
    todo = iter(tiles)
    ac = as_completed()  # type: ignore[no-untyped-call]
    for t in _take(todo, in_flight):
        ac.add(client.submit(predict_tile, src_f, model_f, t, mc_samples, seed=seed, pure=False))  # type: ignore[no-untyped-call]
    for fut in ac:
        res = fut.result()
        fut.release()
        for t in _take(todo, 1):
            ac.add(  # type: ignore[no-untyped-call]
                client.submit(predict_tile, src_f, model_f, t, mc_samples, seed=seed, pure=False)
            )
        yield res


def _take(it: Iterator[Tile], n: int) -> list[Tile]:
    out = []
    for _ in range(n):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out


def check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Check that a dask scheduler address is reachable (a TCP connection within ``timeout``).

    Addresses of other protocols (e.g. ``inproc://``, ``ucx://``) are not checked.

    Raises:
        ValueError: for an address without a port.
        ConnectionError: naming the address when nothing answers in time.
    """
    text = address.strip()
    if "://" in text and not text.startswith(("tcp://", "tls://")):
        return
    m = re.match(r"^(?:(?:tcp|tls)://)?\[?([^\[\]/]+?)\]?:(\d+)/?$", text)
    if m is None:
        raise ValueError(f"--scheduler {address!r} is not an address like tcp://host:8786")
    host, port = m.group(1), int(m.group(2))
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        raise ConnectionError(
            f"--scheduler {address}: no dask scheduler reachable within {timeout:g} s ({err})"
        ) from err


@contextlib.contextmanager
def dask_client(
    workers: int = 1,
    scheduler: str | None = None,
    processes: bool = True,
    connect_timeout: float = 10.0,
) -> Iterator[Any]:
    """Yield a dask.distributed client: the cluster at ``scheduler``, else a local one.

    Yields ``None`` when ``workers == 1`` and no scheduler is given (tiles then run in this
    process, one after another).

    Raises:
        ConnectionError: if the scheduler does not answer within ``connect_timeout`` seconds.
    """
    if scheduler is None and workers <= 1:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        check_scheduler(scheduler, timeout=connect_timeout)
        try:
            client = Client(scheduler, timeout=connect_timeout)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as err:
            raise ConnectionError(
                f"--scheduler {scheduler}: cannot connect within {connect_timeout:g} s ({err})"
            ) from err
        with client:
            yield client
        return
    with (
        local_worker_environ(),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


@contextlib.contextmanager
def local_worker_environ() -> Iterator[None]:
    """Start local dask workers without ``MALLOC_TRIM_THRESHOLD_`` (keeping one BLAS thread each).

    dask.distributed sets ``MALLOC_TRIM_THRESHOLD_=65536`` in new workers so they return memory
    to the OS early; with the many short-lived tile-sized arrays of GDAL reads, segmentation and
    the GNN this made each task about four times slower (measured on the Brandenburg scene). Use
    this context manager around your own ``LocalCluster`` as well.
    """
    import dask

    key = "distributed.nanny.pre-spawn-environ"
    env = {k: v for k, v in dict(dask.config.get(key, {})).items() if k != "MALLOC_TRIM_THRESHOLD_"}
    with dask.config.set({key: env}):
        yield


VISIBLE_BANDS: tuple[str, ...] = ("B02", "B03", "B04")
"""Bands whose median is checked against :data:`PLAUSIBLE_MEDIAN` (all bands if none present)."""
PLAUSIBLE_MEDIAN: tuple[float, float] = (-0.05, 1.0)
"""Range of the median reflectance of a visible band (fresh snow and clouds reach ~0.9)."""
MAX_SHARE_ABOVE: tuple[float, float] = (1.5, 0.05)
"""At most 5 % of the sampled values of any band may exceed reflectance 1.5."""
MIN_P99: float = 0.01
"""The 99th percentile over all bands must reach 0.01 (else: reflectance scaled twice)."""


SAMPLE_WHOLE_PIXELS: int = 2048 * 2048
"""Grids up to this many pixels are read once for :func:`check_reflectance` (each read of a
reprojected source sets up a warp, which costs more than reading a small grid whole)."""


def sample_windows(width: int, height: int, size: int = 64, n: int = 3) -> list[Window]:
    """An ``n``×``n`` grid of ``size``-pixel windows spread evenly over a grid (clipped)."""
    out = []
    for fy in (np.arange(n) + 0.5) / n:
        for fx in (np.arange(n) + 0.5) / n:
            w, h = min(size, width), min(size, height)
            c0 = int(np.clip(round(fx * width - w / 2), 0, width - w))
            r0 = int(np.clip(round(fy * height - h / 2), 0, height - h))
            out.append(Window(c0, r0, w, h))
    return out


def check_reflectance(source: Source, allow: bool = False) -> dict[str, dict[str, float]]:
    """Check that a sample of valid pixels of ``source`` looks like reflectance after scaling.

    Reads a 3×3 grid of 64-pixel windows and checks, per band: the median of each visible band
    (B02–B04) lies in :data:`PLAUSIBLE_MEDIAN`, at most 5 % of the values exceed 1.5
    (:data:`MAX_SHARE_ABOVE`), and the 99th percentile over all bands reaches :data:`MIN_P99`.
    Digital numbers read as reflectance fail the first two, reflectance scaled twice the last.

    Args:
        source: the scene, already scaled (:func:`open_source`).
        allow: warn instead of raising (CLI: ``--allow-implausible``).

    Returns:
        Per band: ``median``, ``p99`` and ``share_above_1_5`` of the sampled valid pixels
        (empty when the sample holds no valid pixel).

    Raises:
        ImplausibleReflectanceError: naming the band, the values seen and the likely cause.
    """
    windows = sample_windows(source.width, source.height)
    if source.width * source.height <= SAMPLE_WHOLE_PIXELS:  # one read instead of nine
        whole = source.read(Window(0, 0, source.width, source.height))
        parts = [whole[(slice(None), *w.toslices())] for w in windows]
    else:
        parts = [source.read(w) for w in windows]
    px = np.concatenate([p.reshape(p.shape[0], -1) for p in parts], axis=1)
    px = px[:, np.isfinite(px).all(axis=0)]
    names = list(source.band_names)
    if px.shape[1] == 0:
        return {}
    stats = {
        b: {
            "median": float(np.median(px[i])),
            "p99": float(np.percentile(px[i], 99)),
            "share_above_1_5": float((px[i] > MAX_SHARE_ABOVE[0]).mean()),
        }
        for i, b in enumerate(names)
    }
    visible = [b for b in names if b in VISIBLE_BANDS] or names
    problems: list[str] = []
    cause = ""
    for b in names:
        st = stats[b]
        if st["share_above_1_5"] > MAX_SHARE_ABOVE[1] or (
            b in visible and st["median"] > PLAUSIBLE_MEDIAN[1]
        ):
            problems.append(
                f"band {b}: median {st['median']:.4g}, {st['share_above_1_5']:.0%} of values > 1.5"
            )
            cause = (
                "digital numbers were not scaled to reflectance (give --preset, e.g. s2-l1c, "
                "or --scale 0.0001)"
            )
        elif b in visible and st["median"] < PLAUSIBLE_MEDIAN[0]:
            problems.append(f"band {b}: median {st['median']:.4g} < {PLAUSIBLE_MEDIAN[0]}")
            cause = (
                "a wrong offset (e.g. an n0400 preset for data before processing baseline 04.00)"
            )
    p99 = max(st["p99"] for st in stats.values())
    if not problems and p99 < MIN_P99:
        problems.append(
            "all bands: 99th percentile "
            + ", ".join(f"{b} {st['p99']:.3g}" for b, st in stats.items())
            + f" < {MIN_P99}"
        )
        cause = (
            "reflectance scaled twice (the input already holds reflectance: use --preset "
            "reflectance or --scale 1)"
        )
    if problems:
        scaling = ""
        scale, offset = getattr(source, "scale", None), getattr(source, "offset", None)
        if scale is not None and offset is not None:
            scaling = f" (after DN × {scale:g} {offset:+g})"
        msg = (
            f"{source.name} does not look like reflectance{scaling}: {'; '.join(problems)} "
            f"(sample of {px.shape[1]} valid pixels). Likely cause: {cause}. If the values are "
            "right, override with --allow-implausible (allow_implausible=True)"
        )
        if not allow:
            raise ImplausibleReflectanceError(msg)
        warnings.warn(msg, stacklevel=2)
    return stats


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
        overlap: context pixels read around each tile and discarded after prediction.
        blocksize: internal COG tile size (a multiple of 16, at least 128).
        mc_samples: Monte-Carlo dropout samples passed to ``predict_proba``.
        seed: seed of the MC-dropout draws (per tile: :func:`tile_seed`).
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
        properties: further STAC item properties.
        **source_kw: passed to :func:`open_source` (band_names, preset, scale, offset, ...).

    Raises:
        FileNotFoundError: missing input or output folder.
        ValueError: unreadable input, no CRS, a geographic CRS, a missing or duplicate band,
            options that do not apply, outputs that coincide with inputs or each other,
            implausible reflectance (each message names the file, band, option or value).
        ConnectionError: an unreachable ``scheduler``.
    """
    t0 = time.perf_counter()
    if blocksize % 16 or blocksize < 128:
        raise ValueError(f"blocksize must be a multiple of 16 and >= 128 (COG), got {blocksize}")
    check_options(input, **source_kw)
    out, unc_out, stac_path = output_paths(
        out, stac_path, [*input_files(input), *map(Path, extra_inputs)]
    )
    if datetime_ is not None:
        cog.parse_datetime(datetime_)
    values = class_values(model.classes)
    if scheduler is not None:
        check_scheduler(scheduler)
    source = open_source(input, list(model.bands), **source_kw)
    metres = check_projected(source.crs, source.name)
    tiles = tile_windows(source.width, source.height, tile_size, overlap)
    if len(tiles) == 1 and source.width * source.height <= SAMPLE_WHOLE_PIXELS:
        source = MemorySource.of(source)  # one read serves the check and the only tile
    check_reflectance(source, allow=allow_implausible)
    counts = np.zeros(legend.N_CLASSES, dtype=np.int64)
    task_s = task_cpu = 0.0
    grid = (source.crs, source.affine, source.width, source.height, blocksize)
    tags = cog.map_tags(
        [int(v) for v in values],
        model_name=_public_name(model_name),
        model_version=model_version,
        source=_public_name(source.name),
        tile_size=tile_size,
        overlap=overlap,
        mc_samples=mc_samples,
        seed=seed,
    )
    paths = cog.product_paths(out, stac_path)
    model_ref = cog.ModelRef(_public_name(model_name), model_version)
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
                results = _iter_local(tiles, source, model, mc_samples, seed)
            else:
                in_flight = 2 * max(len(client.scheduler_info().get("workers", {})), 1)
                results = _iter_dask(client, tiles, source, model, mc_samples, in_flight, seed)
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
                    dst[cog.CLASS_BAND].write(res.data[0], 1, window=res.window)
                    dst[cog.CONFIDENCE_BAND].write(res.data[1], 1, window=res.window)
                    dst[cog.UNCERTAINTY_BAND].write(res.uncertainty, 1, window=res.window)
                    counts += res.counts
                    task_s += res.seconds
                    task_cpu += res.cpu_seconds
                    bar.update(1)
        cog.write_cog(scratch[cog.CLASS_BAND], tmp.classes, blocksize=blocksize)
        cog.write_cog(scratch[cog.CONFIDENCE_BAND], tmp.confidence, blocksize=blocksize)
        cog.write_cog(scratch[cog.UNCERTAINTY_BAND], tmp.uncertainty, blocksize=blocksize)
        cog.write_class_sidecars(tmp.aux, tmp.style)
        item = cog.product_item(
            out.stem,
            cog.map_assets(paths, tmp),
            datetime_=datetime_ or source.datetime,
            properties={
                "lulcbook:model": model_ref.to_dict(),
                "lulcbook:source": _public_name(source.name),
                "lulcbook:mc_samples": mc_samples,
                "lulcbook:seed": seed,
                **(properties or {}),
            },
            derived_from=links,
            self_href=str(paths.item.absolute()),
        )
        tmp.item.write_text(cog.item_json(item))
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
    )


def _public_name(name: str) -> str:
    """A name for the metadata: a file path is reduced to its file name (never a local path)."""
    text = str(name)
    if "/" in text or os.sep in text:
        return Path(text).name
    return text


def load_classifier(
    path: PathLike, model_class: str = "lulcbook.models.gnn:SegmentClassifier"
) -> TileClassifier:
    """Load a saved classifier with ``<module>:<Class>.load(path)``.

    Raises:
        FileNotFoundError: if the model file does not exist.
        ValueError: if the class cannot be imported, the file cannot be loaded (corrupt,
            truncated, another format, unsafe content), or the loaded object lacks the
            :class:`TileClassifier` interface.
    """
    import importlib

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Model {path} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"Model {path} is a folder; give the model file")
    module_name, _, cls_name = model_class.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(f"Cannot import model class {model_class!r}: {err}") from err
    try:
        model = cls.load(path)
    except Exception as err:  # torch/pickle/JSON raise many types for a bad file
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"Model {path} cannot be loaded as {model_class} (corrupt, truncated or not a "
            f"{cls_name} file): {type(err).__name__}: {reason}"
        ) from err
    if not isinstance(model, TileClassifier):
        raise ValueError(f"{model_class} loaded from {path} lacks bands/classes/predict_proba")
    return model


def read_map(path: PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a map back as ``(class uint8, confidence float32, uncertainty float32)``.

    ``path`` is the class COG; confidence and uncertainty come from its ``_confidence`` and
    ``_uncertainty`` companions. Class
    nodata stays 255; confidence and uncertainty are NaN there.
    """
    with rasterio.open(path) as src:
        cls = src.read(1)
    with rasterio.open(confidence_path(path)) as src:
        conf_dn = src.read(1)
    with rasterio.open(uncertainty_path(path)) as src:
        unc = src.read(1)
    bad = cls == legend.NODATA
    conf = np.where(bad, np.nan, conf_dn * CONFIDENCE_SCALE).astype(np.float32)
    return cls, conf, np.where(bad, np.nan, unc).astype(np.float32)


def open_map(path: PathLike) -> Any:
    """Open a map as an ``xarray.Dataset`` of ``class``, ``confidence`` and ``uncertainty``.

    ``class`` is uint8 (255 = nodata), ``confidence`` and ``uncertainty`` float32 (NaN = nodata),
    on the map's ``y``/``x`` coordinates with its CRS.

    Args:
        path: the class COG (its companions are read too).

    Returns:
        The dataset.
    """
    import xarray as xr

    cls, conf, unc = read_map(path)
    with rasterio.open(path) as src:
        t, crs = src.transform, src.crs
    xs = t.c + t.a * (np.arange(cls.shape[1]) + 0.5)
    ys = t.f + t.e * (np.arange(cls.shape[0]) + 0.5)
    ds = xr.Dataset(
        {"class": (("y", "x"), cls), "confidence": (("y", "x"), conf),
         "uncertainty": (("y", "x"), unc)},
        coords={"y": ys, "x": xs},
        attrs={"source": str(path)},
    )  # fmt: skip
    return ds.rio.write_crs(crs).rio.write_transform(t)


def agreement_with_polygons(
    map_path: PathLike, polygons: Any, label_column: str = "label_index"
) -> dict[str, Any]:
    """Compare a map with reference polygons (pixels inside them, on the map's grid).

    Args:
        map_path: a map COG written by :func:`predict_scene`.
        polygons: a GeoDataFrame with a CRS and a legend index per polygon in ``label_column``.
        label_column: the column holding the reference legend index.

    Returns:
        ``n_pixels`` (reference pixels with a mapped class), ``nodata_pixels``, ``oa`` (share of
        reference pixels mapped as their class), ``per_class`` (per reference class: pixels,
        ``recall`` and the share mapped as each legend class), ``polygon_oa`` (share of polygons
        whose majority mapped class is their class), and the mean ``uncertainty`` of correctly and
        wrongly mapped reference pixels.

    Raises:
        ValueError: if the polygons have no CRS or lack ``label_column``.
    """
    from rasterio.features import rasterize

    if polygons.crs is None:
        raise ValueError("The reference polygons have no CRS")
    if label_column not in polygons.columns:
        raise ValueError(
            f"Reference polygons lack column {label_column!r}: {list(polygons.columns)}"
        )
    cls, _, unc = read_map(map_path)
    with rasterio.open(map_path) as src:
        shapes = polygons.to_crs(src.crs)
        transform, shape = src.transform, (src.height, src.width)
    ids = rasterize(
        ((g, i + 1) for i, g in enumerate(shapes.geometry)),
        out_shape=shape,
        transform=transform,
        fill=0,
        dtype="int32",
    )
    inside = ids > 0
    ref = np.full(shape, -1, dtype=np.int64)
    ref[inside] = shapes[label_column].to_numpy()[ids[inside] - 1]
    mapped = inside & (cls != legend.NODATA)
    correct = mapped & (cls == ref)
    per_class = {}
    for k in np.unique(ref[mapped]):
        sel = mapped & (ref == k)
        shares = np.bincount(cls[sel], minlength=legend.N_CLASSES)[: legend.N_CLASSES] / sel.sum()
        per_class[legend.KEYS[k]] = {
            "n_pixels": int(sel.sum()),
            "recall": float(shares[k]),
            "mapped_as": {legend.KEYS[j]: float(v) for j, v in enumerate(shares) if v > 0},
        }
    majority = []
    for i in range(len(shapes)):
        sel = mapped & (ids == i + 1)
        if sel.any():
            majority.append(np.bincount(cls[sel]).argmax() == ref[sel][0])
    return {
        "n_pixels": int(mapped.sum()),
        "nodata_pixels": int((inside & ~mapped).sum()),
        "oa": float(correct.sum() / max(mapped.sum(), 1)),
        "per_class": per_class,
        "n_polygons": len(majority),
        "polygon_oa": float(np.mean(majority)) if majority else float("nan"),
        "uncertainty_correct": float(np.nanmean(unc[correct])) if correct.any() else float("nan"),
        "uncertainty_wrong": float(np.nanmean(unc[mapped & ~correct]))
        if (mapped & ~correct).any()
        else float("nan"),
    }


def transition_matrix(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Pixel counts ``(N_CLASSES, N_CLASSES)`` of class ``before`` → ``after`` (both maps valid).

    Raises:
        ValueError: if the maps are not on the same grid (different shapes).
    """
    if before.shape != after.shape:
        raise ValueError(f"Maps differ in shape {before.shape} vs {after.shape}; align them first")
    ok = (before != legend.NODATA) & (after != legend.NODATA)
    n = legend.N_CLASSES
    flat = before[ok].astype(np.int64) * n + after[ok].astype(np.int64)
    return np.bincount(flat, minlength=n * n).reshape(n, n)


__all__: list[str] = [
    "SCALING",
    "CONFIDENCE_SCALE",
    "MAP_BANDS",
    "UNCERTAINTY_BAND",
    "TileClassifier",
    "BandRef",
    "RasterSource",
    "ArraySource",
    "Tile",
    "TileResult",
    "MapResult",
    "match_bands",
    "resolve_scaling",
    "source_from_file",
    "source_from_folder",
    "source_from_array",
    "source_from_stac_item",
    "source_from_stac_search",
    "band_files",
    "open_source",
    "tile_windows",
    "tile_border_mask",
    "encode",
    "class_values",
    "predict_tile",
    "tile_seed",
    "seeded",
    "check_options",
    "check_projected",
    "check_reflectance",
    "check_scheduler",
    "input_files",
    "input_kind",
    "output_paths",
    "ImplausibleReflectanceError",
    "dask_client",
    "local_worker_environ",
    "predict_scene",
    "load_classifier",
    "read_map",
    "open_map",
    "agreement_with_polygons",
    "transition_matrix",
]
