"""Warp the bands of several files that share one pixel grid in a single pass.

A Sentinel-2 scene keeps each band in its own file, and the 10 m bands (or the 20 m bands)
share one pixel grid. Reprojecting them onto another grid one file at a time makes GDAL's
warper find, for every target pixel, the source pixel it falls on once per band, although the
answer is the same for all of them. :func:`stack_xml` describes bands that share a grid as one
virtual multi-band dataset (a GDAL VRT); a single ``WarpedVRT`` over it reads them all and
finds the source pixels once. With nearest-neighbour resampling (production's default) the
values are the warper's, band for band (tested against warping each file alone); on the
production benchmark's 10 km cells it cuts the cost of reading nine bands by about 40 %.

:func:`grid_key` says which bands may share a stack: same CRS, transform, size, data type and
no-data value.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

import rasterio

_GDAL_TYPES = {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16",
               "uint32": "UInt32", "int32": "Int32", "uint64": "UInt64", "int64": "Int64",
               "float32": "Float32", "float64": "Float64"}  # fmt: skip
"""GDAL's names of the data types a band file may have."""

GridKey = tuple[str, tuple[float, ...], int, int, str, float | None]
"""What bands warped together must share: CRS (WKT), transform, width, height, dtype, no data."""


def grid_key(src: rasterio.io.DatasetReader, index: int, nodata: float | None) -> GridKey:
    """The grid of band ``index`` (1-based) of ``src`` and the no-data value it is read with.

    Args:
        src: the open file.
        index: the band.
        nodata: the no-data value used for it (the source's or an override).

    Returns:
        The key; bands with equal keys can be warped as one stack.
    """
    crs = src.crs.to_wkt() if src.crs is not None else ""
    return crs, tuple(src.transform)[:6], src.width, src.height, src.dtypes[index - 1], nodata


def gdal_name(path: str) -> str:
    """The name GDAL opens for ``path``, as :func:`rasterio.open` turns it into one.

    URLs become GDAL's virtual file names (``https://…`` → ``/vsicurl/https://…``,
    ``s3://…`` → ``/vsis3/…``), ``file://`` is dropped, local paths stay as they are.
    """
    from rasterio._path import _parse_path

    return str(_parse_path(path).as_vsi())


def stack_xml(bands: Sequence[tuple[str, int]], key: GridKey) -> str:
    """A GDAL VRT (XML text) of ``bands`` — ``(file, 1-based band)`` pairs — sharing grid ``key``.

    Args:
        bands: the bands, in the order of the stack's bands.
        key: their common grid (:func:`grid_key`).

    Returns:
        The VRT; ``rasterio.open`` opens the text itself, no file is written.

    Raises:
        ValueError: if ``bands`` is empty or of a data type a VRT cannot hold.
    """
    if key[4] not in _GDAL_TYPES:
        raise ValueError(f"Band data type {key[4]} cannot be stacked in a VRT")
    if not bands:
        raise ValueError("A band stack needs at least one band")
    crs, transform, width, height, dtype, _ = key
    a, b, c, d, e, f = transform
    gdal_type = _GDAL_TYPES[dtype]
    parts = [
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">',
        f"<SRS>{escape(crs)}</SRS>",
        f"<GeoTransform>{c!r}, {a!r}, {b!r}, {f!r}, {d!r}, {e!r}</GeoTransform>",
    ]
    for i, (path, index) in enumerate(bands, start=1):
        parts.append(
            f'<VRTRasterBand dataType="{gdal_type}" band="{i}"><SimpleSource>'
            f'<SourceFilename relativeToVRT="0">{escape(gdal_name(path))}</SourceFilename>'
            f"<SourceBand>{int(index)}</SourceBand>"
            f'<SrcRect xOff="0" yOff="0" xSize="{width}" ySize="{height}"/>'
            f'<DstRect xOff="0" yOff="0" xSize="{width}" ySize="{height}"/>'
            "</SimpleSource></VRTRasterBand>"
        )
    parts.append("</VRTDataset>")
    return "".join(parts)


__all__ = ["GridKey", "gdal_name", "grid_key", "stack_xml"]
