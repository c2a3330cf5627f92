"""Sources: named reflectance bands on one grid, read window by window.

:class:`RasterSource` reads raster files (resampling bands on another grid on the fly),
:class:`ArraySource` an ``xarray.DataArray`` (computing only the window of a dask-backed one),
:class:`MemorySource` an image held in memory. All three are small and picklable, so tile
tasks on other processes read their own windows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor used on DataArray inputs)
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from lulcbook.predict.datasets import open_dataset, open_stack
from lulcbook.predict.stack import GridKey, grid_key, stack_xml
from lulcbook.predict.upsample import integer_factor, read_upsampled

_READ_ERRORS = (RasterioIOError, rasterio.errors.RasterioError, OSError)


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
        resampling: how bands on another grid are resampled: ``"bilinear"`` (default) or
            ``"nearest"`` (each target pixel takes one source pixel's value, as odc-stac and
            stackstac load by default; several times cheaper to reproject).
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
    resampling: str = "bilinear"

    def __post_init__(self) -> None:
        """Refuse a resampling other than bilinear or nearest."""
        if self.resampling not in ("bilinear", "nearest"):
            raise ValueError(f"resampling must be 'bilinear' or 'nearest'; got {self.resampling!r}")

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

    def _failed(self, refs: list[BandRef], window: Window, err: Exception) -> ValueError:
        """The error of a failed read, naming the band(s), file(s) and window."""
        (r0, r1), (c0, c1) = window.toranges()
        names = ", ".join(r.name for r in refs)
        files = ", ".join(dict.fromkeys(r.path for r in refs))
        return ValueError(
            f"Reading band {names} from {files} failed (rows {r0}-{r1}, columns "
            f"{c0}-{c1}); the file may be truncated or corrupt: {err}"
        )

    def _nodata(self, src: rasterio.io.DatasetReader) -> float | None:
        return self.nodata if self.nodata is not None else src.nodata

    def _warp_key(self, ref: BandRef, resampling: Resampling) -> GridKey | None:
        """The source grid of a band that must be warped, ``None`` for a direct read."""
        src = open_dataset(ref.path)  # kept open: GDAL's block cache serves the next read
        same = (
            src.crs is not None
            and src.crs.to_wkt() == self.crs
            and src.transform.almost_equals(self.affine)
            and (src.width, src.height) == (self.width, self.height)
        )
        if same:
            return None
        if resampling == Resampling.bilinear and integer_factor(src, self.crs, self.affine):
            return None
        return grid_key(src, ref.index, self._nodata(src))

    def _read(
        self, ref: BandRef, window: Window, resampling: Resampling
    ) -> tuple[np.ndarray, float | None]:
        """One band on the target grid (read, upsampled or warped) and its no-data value."""
        try:
            key = self._warp_key(ref, resampling)
            if key is not None:
                return self._warp([ref], key, window, resampling)[0], key[5]
            return self._read_direct(ref, window)
        except _READ_ERRORS as err:
            raise self._failed([ref], window, err) from err

    def _read_direct(self, ref: BandRef, window: Window) -> tuple[np.ndarray, float | None]:
        """A band that needs no warp (:meth:`_warp_key` is ``None``): read, or upsampled."""
        src = open_dataset(ref.path)
        factor = integer_factor(src, self.crs, self.affine)
        if factor is None:  # the target grid itself
            return src.read(ref.index, window=window), self._nodata(src)
        # NaN marks no data in the interpolated band
        return read_upsampled(src, ref.index, window, factor, self._nodata(src)), None

    def _warp(
        self, refs: list[BandRef], key: GridKey, window: Window, resampling: Resampling
    ) -> np.ndarray:
        """``(band, y, x)`` of bands sharing the source grid ``key``, warped in one pass."""
        if len(refs) == 1:
            src, indexes = open_dataset(refs[0].path), [refs[0].index]
        else:
            xml = stack_xml([(r.path, r.index) for r in refs], key)
            src, indexes = open_stack(xml, [r.path for r in refs]), list(range(1, len(refs) + 1))
        with WarpedVRT(
            src,
            crs=self.crs,
            transform=self.affine,
            width=self.width,
            height=self.height,
            resampling=resampling,
            src_nodata=key[5],
            nodata=key[5],
            UNIFIED_SRC_NODATA="NO",  # each band's own no data, as when warped alone
        ) as vrt:
            data: np.ndarray = vrt.read(indexes, window=window)
            return data

    def _read_stack(
        self, refs: list[BandRef], key: GridKey, window: Window, resampling: Resampling
    ) -> np.ndarray:
        """:meth:`_warp` with errors naming the file: a failed stack is read band by band."""
        try:
            return self._warp(refs, key, window, resampling)
        except _READ_ERRORS as err:
            for ref in refs:  # raises the error of the first unreadable band, by name
                self._read(ref, window, resampling)
            raise self._failed(refs, window, err) from err

    def read(self, window: Window) -> np.ndarray:
        """Read ``window`` of the target grid as float32 reflectance ``(band, y, x)``, NaN = no data.

        With nearest-neighbour resampling, bands that must be warped and share a source grid
        are warped together (:mod:`lulcbook.predict.stack`); bilinear warps band by band,
        since GDAL's multi-band warper fills pixels whose centre falls on no data from valid
        neighbours, where a band warped alone leaves them no data.
        """
        out = np.empty((len(self.bands), int(window.height), int(window.width)), dtype=np.float32)
        resampling = Resampling[self.resampling]
        together = resampling == Resampling.nearest
        stacks: dict[tuple[GridKey, int], list[int]] = {}
        for i, ref in enumerate(self.bands):
            try:
                key = self._warp_key(ref, resampling)
                if key is None:
                    self._put(out, i, *self._read_direct(ref, window))
                    continue
            except _READ_ERRORS as err:
                raise self._failed([ref], window, err) from err
            stacks.setdefault((key, -1 if together else i), []).append(i)
        for (key, _), idx in stacks.items():
            arrays = self._read_stack([self.bands[i] for i in idx], key, window, resampling)
            for i, arr in zip(idx, arrays, strict=True):
                self._put(out, i, arr, key[5])
        if self.mask is not None:
            ref, values = self.mask
            arr, _ = self._read(ref, window, Resampling.nearest)
            out[:, np.isin(arr, values)] = np.nan
        return out

    def _put(self, out: np.ndarray, i: int, arr: np.ndarray, nodata: float | None) -> None:
        """Band ``i`` of ``out``: ``arr`` as reflectance, NaN where it equals ``nodata``."""
        band = arr.astype(np.float32)
        if nodata is not None and not np.isnan(nodata):
            band[arr == nodata] = np.nan
        out[i] = band * np.float32(self.scale) + np.float32(self.offset)


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
"""Any source :func:`lulcbook.predict.predict_scene` reads."""


__all__ = ["ArraySource", "BandRef", "MemorySource", "RasterSource", "Source"]
