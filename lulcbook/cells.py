"""Which raster cell lies under each point given in degrees.

Points (LUCAS survey points, any lon/lat) are taken into a raster's CRS and located on its grid
of cell centres; a point belongs to the cell whose extent contains it. Used to sample climate
rasters at points (:func:`lulcbook.sources.worldclim.sample_climate`) and to find the survey
points inside a mapped scene (:mod:`lulcbook.experiments.exeter`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def lonlat_to_crs(crs: Any, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes (EPSG:4326) in ``crs``; unchanged when ``crs`` is geographic.

    Args:
        crs: the target CRS (a ``rasterio`` CRS or anything pyproj accepts).
        lon: longitudes (degrees).
        lat: latitudes (degrees), the shape of ``lon``.
    """
    if bool(getattr(crs, "is_geographic", False)):
        return np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
    from pyproj import Transformer

    px, py = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    return np.asarray(px), np.asarray(py)


def cells_under(
    xs: np.ndarray, ys: np.ndarray, px: np.ndarray, py: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column of the cell containing each point, on a regular grid of cell centres.

    Args:
        xs: x coordinates of the column centres (regular, either direction).
        ys: y coordinates of the row centres (regular; usually decreasing).
        px: point x coordinates in the grid's CRS.
        py: point y coordinates.

    Returns:
        ``(row, col, inside)``: integer indices and whether the point lies on the grid (the
        indices of points outside are out of range).
    """
    dx = xs[1] - xs[0] if xs.size > 1 else 1.0
    dy = ys[1] - ys[0] if ys.size > 1 else -1.0
    col = np.floor((px - (xs[0] - dx / 2)) / dx).astype(int)
    row = np.floor((py - (ys[0] - dy / 2)) / dy).astype(int)
    inside = (col >= 0) & (col < xs.size) & (row >= 0) & (row < ys.size)
    return row, col, inside


__all__ = ["cells_under", "lonlat_to_crs"]
