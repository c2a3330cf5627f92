"""Describe raster files, folders of single-band files and DataArrays as sources.

* a multi-band raster (GeoTIFF, …) whose band descriptions name the bands (or pass
  ``band_names``): :func:`source_from_file`;
* a folder of single-band rasters, e.g. a Sentinel-2 granule's ``IMG_DATA`` with
  ``T33UUU_20170216T102101_B04.jp2`` — the band name is parsed from each file name and
  20/60 m bands are resampled (bilinear) to the grid of the finest band:
  :func:`source_from_folder`;
* an ``xarray.DataArray`` ``(band, y, x)`` of reflectance with a CRS: :func:`source_from_array`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rasterio
from rasterio.errors import RasterioIOError

from lulcbook.bands import normalise_band
from lulcbook.predict.bands import canonical_band, check_unique_bands, match_bands
from lulcbook.predict.crs import require_crs
from lulcbook.predict.scaling import resolve_scaling
from lulcbook.predict.sources import ArraySource, BandRef, RasterSource

PathLike = str | os.PathLike[str]

RASTER_SUFFIXES: tuple[str, ...] = (".tif", ".tiff", ".jp2", ".vrt", ".img")
"""File suffixes read as rasters in a folder of band files."""

_BAND_IN_NAME = re.compile(r"(?:^|[_.\-])(B\d{1,2}A?)(?:_(\d+)m)?$", re.IGNORECASE)
_DATE_IN_NAME = re.compile(r"(\d{8}T\d{6})|(\d{4}-\d{2}-\d{2})")


def date_from(text: str, tags: dict[str, str] | None = None) -> str | None:
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
        require_crs(src, path)
        if band_names is not None:
            names = [str(b) for b in band_names]
            if len(names) != src.count:
                raise ValueError(
                    f"{len(names)} band names {names} given for {path}, which has {src.count} bands"
                )
            check_unique_bands(names, str(path), "given by --band-names for")
        else:
            names = [d for d in src.descriptions]
            if not any(names):
                raise ValueError(
                    f"{path} has {src.count} bands without descriptions; name them with "
                    f"band_names (CLI: --band-names B02,B03,...)"
                )
            check_unique_bands(names, f"the band descriptions of {path}", "in")
        idx = match_bands(names, bands, str(path))
        s, o = resolve_scaling(preset, scale, offset, src.dtypes[0])
        mask = None
        if mask_band is not None:
            (m,) = match_bands(names, [mask_band], str(path))
            mask = (
                BandRef(canonical_band(mask_band), str(path), m + 1),
                tuple(int(v) for v in mask_values),
            )
        return RasterSource(
            bands=tuple(
                BandRef(canonical_band(b), str(path), i + 1)
                for b, i in zip(bands, idx, strict=True)
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
            datetime=date_from(Path(path).name, src.tags()),
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
        if f.suffix.lower() not in RASTER_SUFFIXES or not f.is_file():
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
            require_crs(src, files[name])
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
        datetime=date_from(files[ref].name, tags),
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
        bands_=tuple(canonical_band(b) for b in bands),
    )


__all__ = [
    "RASTER_SUFFIXES",
    "band_files",
    "date_from",
    "source_from_array",
    "source_from_file",
    "source_from_folder",
]
