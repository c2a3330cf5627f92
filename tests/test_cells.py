"""Points in degrees are located on a raster's grid of cell centres."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer
from rasterio.crs import CRS

from lulcbook import cells


def test_geographic_points_stay_in_degrees_and_projected_ones_are_transformed() -> None:
    lon, lat = np.array([-3.5, 10.0]), np.array([50.7, 45.0])
    px, py = cells.lonlat_to_crs(CRS.from_epsg(4326), lon, lat)
    assert px.tolist() == lon.tolist() and py.tolist() == lat.tolist()
    px, py = cells.lonlat_to_crs(CRS.from_epsg(3035), lon, lat)
    ex, ey = Transformer.from_crs(4326, 3035, always_xy=True).transform(lon, lat)
    assert px == pytest.approx(ex) and py == pytest.approx(ey)


def test_each_point_gets_the_cell_whose_extent_holds_it() -> None:
    xs = 10.0 + 20.0 * np.arange(5)  # columns 0-100 m, centres 10, 30, ...
    ys = 90.0 - 20.0 * np.arange(3)  # rows from the top: 100-40 m
    px = np.array([0.5, 39.9, 40.1, 99.9, 100.1, 50.0])
    py = np.array([99.5, 60.1, 59.9, 40.1, 50.0, 39.9])
    row, col, inside = cells.cells_under(xs, ys, px, py)
    assert inside.tolist() == [True, True, True, True, False, False]
    assert list(zip(row[inside], col[inside], strict=True)) == [(0, 0), (1, 1), (2, 2), (2, 4)]


def test_a_grid_with_rows_from_the_bottom() -> None:
    row, col, inside = cells.cells_under(
        np.array([0.5, 1.5]), np.array([0.5, 1.5, 2.5]), np.array([1.2]), np.array([2.9])
    )
    assert (int(row[0]), int(col[0]), bool(inside[0])) == (2, 1, True)
