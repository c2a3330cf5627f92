"""The production grid: equal-area cells of the EEA reference grid (ETRS89-LAEA, EPSG:3035).

Cells are squares of ``cell_km`` kilometres aligned to multiples of the cell size in EPSG:3035,
named as in the EEA reference grid (``10kmE432N321``: easting and northing of the lower-left
corner in units of the cell size), so a rerun, another area or another machine produce the
same cells with the same names. The pixel grid of every cell is aligned to ``resolution``, so
neighbouring cells meet without gaps or overlap and their COGs mosaic exactly.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rasterio
from rasterio.warp import transform_bounds, transform_geom

GRID_CRS: str = "EPSG:3035"
"""The CRS of the grid: ETRS89 Lambert Azimuthal Equal Area (the EEA reference grid)."""


@dataclass(frozen=True, order=True)
class GridCell:
    """One square cell of the grid.

    Attributes:
        x0: easting of the lower-left corner (metres, EPSG:3035).
        y0: northing of the lower-left corner.
        size: edge length in metres.
        resolution: pixel size in metres.
    """

    x0: int
    y0: int
    size: int
    resolution: float = 10.0

    @property
    def id(self) -> str:
        """The EEA reference grid name, e.g. ``10kmE432N321``."""
        km = self.size / 1000
        unit = f"{int(km)}km" if km == int(km) else f"{int(self.size)}m"
        return f"{unit}E{self.x0 // self.size}N{self.y0 // self.size}"

    @property
    def crs(self) -> str:
        """The grid CRS."""
        return GRID_CRS

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(round(self.size / self.resolution))

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.width

    @property
    def transform(self) -> rasterio.Affine:
        """The affine transform of the cell's pixel grid (north up)."""
        return rasterio.Affine(
            self.resolution, 0.0, float(self.x0), 0.0, -self.resolution, float(self.y0 + self.size)
        )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` in EPSG:3035."""
        return (
            float(self.x0),
            float(self.y0),
            float(self.x0 + self.size),
            float(self.y0 + self.size),
        )

    def bounds_wgs84(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` in degrees (densified, so it contains the cell)."""
        w, s, e, n = transform_bounds(GRID_CRS, "EPSG:4326", *self.bounds, densify_pts=21)
        return float(w), float(s), float(e), float(n)

    @property
    def area_km2(self) -> float:
        """The cell's area in km²."""
        return self.size * self.size / 1e6


def _check(cell_km: float, resolution: float) -> int:
    size = int(round(cell_km * 1000))
    if size <= 0 or abs(size - cell_km * 1000) > 1e-6:
        raise ValueError(f"cell_km must be a positive whole number of metres, got {cell_km}")
    if resolution <= 0 or size % resolution:
        raise ValueError(
            f"cell size {size} m is not a multiple of the resolution {resolution} m; choose "
            "cell_km and resolution so that cells hold whole pixels"
        )
    return size


def cells_for_bbox(
    bbox: Sequence[float], cell_km: float = 10.0, resolution: float = 10.0
) -> list[GridCell]:
    """The grid cells that intersect a WGS84 bounding box, row by row from the north-west.

    Args:
        bbox: ``[west, south, east, north]`` in degrees.
        cell_km: cell edge in kilometres (the EEA grid uses 1, 10 and 100 km).
        resolution: pixel size in metres.

    Returns:
        The cells, sorted north to south, then west to east.

    Raises:
        ValueError: for a bbox that is not ``west < east``, ``south < north`` within ±180/±90,
            or a cell size that does not hold whole pixels.
    """
    if len(bbox) != 4:
        raise ValueError(f"bbox must be [west, south, east, north], got {list(bbox)}")
    w, s, e, n = (float(v) for v in bbox)
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ValueError(
            f"bbox {list(bbox)} is not [west, south, east, north] in degrees with west < east "
            "and south < north"
        )
    size = _check(cell_km, resolution)
    left, bottom, right, top = transform_bounds("EPSG:4326", GRID_CRS, w, s, e, n, densify_pts=21)
    area = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    return _cells_in(area, (left, bottom, right, top), size, resolution)


def _cells_in(
    geom_wgs84: dict[str, Any],
    bounds: tuple[float, float, float, float],
    size: int,
    resolution: float,
) -> list[GridCell]:
    from shapely.geometry import box, shape

    area = shape(transform_geom("EPSG:4326", GRID_CRS, geom_wgs84))
    left, bottom, right, top = bounds
    cells = []
    for j in range(math.floor(top / size), math.floor(bottom / size) - 1, -1):
        for i in range(math.floor(left / size), math.ceil(right / size)):
            cell = GridCell(i * size, j * size, size, float(resolution))
            if area.intersects(box(*cell.bounds)):
                cells.append(cell)
    return cells


def cells_for_region(
    path: str | os.PathLike[str], cell_km: float = 10.0, resolution: float = 10.0
) -> list[GridCell]:
    """The grid cells that intersect the polygons of a vector file (GeoPackage, GeoJSON, …).

    Args:
        path: the region file (any CRS that it declares).
        cell_km: cell edge in kilometres.
        resolution: pixel size in metres.

    Returns:
        The cells, sorted north to south, then west to east.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it cannot be read, has no CRS or no geometry.
    """
    import geopandas as gpd
    from shapely.geometry import mapping

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Region file {path} does not exist")
    try:
        gdf = gpd.read_file(path)
    except Exception as err:  # pyogrio raises several types
        raise ValueError(f"Region file {path} cannot be read: {err}") from err
    if gdf.crs is None:
        raise ValueError(f"Region file {path} has no CRS")
    if gdf.empty or gdf.geometry.is_empty.all():
        raise ValueError(f"Region file {path} has no geometry")
    size = _check(cell_km, resolution)
    region = gdf.to_crs("EPSG:4326").geometry.union_all()
    bounds = tuple(gdf.to_crs(GRID_CRS).total_bounds)
    return _cells_in(dict(mapping(region)), bounds, size, resolution)  # type: ignore[arg-type]


def cell_from_id(cell_id: str, resolution: float = 10.0) -> GridCell:
    """Parse an EEA reference grid name (``10kmE432N321``, ``500mE9000N6400``).

    Args:
        cell_id: the name.
        resolution: pixel size in metres.

    Returns:
        The cell.

    Raises:
        ValueError: naming the value, if it is not such a name.
    """
    import re

    m = re.fullmatch(r"(\d+)(km|m)E(-?\d+)N(-?\d+)", cell_id)
    if m is None:
        raise ValueError(f"{cell_id!r} is not an EEA grid cell name like 10kmE432N321")
    size = int(m.group(1)) * (1000 if m.group(2) == "km" else 1)
    return GridCell(int(m.group(3)) * size, int(m.group(4)) * size, size, float(resolution))
