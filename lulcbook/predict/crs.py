"""Coordinate reference system checks of scene inputs: present, projected, metric."""

from __future__ import annotations

import os
from typing import Any

import rasterio

PathLike = str | os.PathLike[str]


def require_crs(src: rasterio.DatasetReader, path: PathLike) -> None:
    """Refuse a raster without a CRS.

    Raises:
        ValueError: naming ``path``.
    """
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


__all__ = ["check_projected", "require_crs"]
