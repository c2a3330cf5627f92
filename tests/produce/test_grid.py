"""Tests for lulcbook.produce.grid: EEA grid cells, names, alignment and area selection."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from lulcbook.produce import grid


def test_cells_are_named_aligned_and_cover_the_bbox() -> None:
    bbox = [12.58, 52.47, 12.64, 52.51]  # Brandenburg sample scene
    cells = grid.cells_for_bbox(bbox, cell_km=1, resolution=10)
    assert len({c.id for c in cells}) == len(cells) > 4
    for c in cells:
        assert c.x0 % 1000 == 0 and c.y0 % 1000 == 0 and c.size == 1000
        assert c.id == f"1kmE{c.x0 // 1000}N{c.y0 // 1000}"
        assert grid.cell_from_id(c.id) == c
        assert (c.width, c.height) == (100, 100) and c.transform.c == c.x0
        assert c.transform.f == c.y0 + 1000 and c.area_km2 == 1.0
    # north to south, then west to east
    assert [(-c.y0, c.x0) for c in cells] == sorted((-c.y0, c.x0) for c in cells)
    # the union of the cells' WGS84 boxes contains the bbox
    boxes = [c.bounds_wgs84() for c in cells]
    assert min(b[0] for b in boxes) <= bbox[0] and max(b[2] for b in boxes) >= bbox[2]
    assert min(b[1] for b in boxes) <= bbox[1] and max(b[3] for b in boxes) >= bbox[3]
    ten = grid.cells_for_bbox(bbox, cell_km=10)
    assert all(c.id.startswith("10kmE") for c in ten) and len(ten) < len(cells)
    parents = {(c.x0 // 10000 * 10000, c.y0 // 10000 * 10000) for c in cells}
    assert parents == {(c.x0, c.y0) for c in ten}  # the 1 km cells nest in the 10 km cells


def test_region_file_selects_the_cells_it_touches(tmp_path: Path) -> None:
    region = gpd.GeoDataFrame(geometry=[box(12.60, 52.48, 12.61, 52.485)], crs="EPSG:4326")
    path = region.to_crs("EPSG:32633").to_file(tmp_path / "r.gpkg") or tmp_path / "r.gpkg"
    cells = grid.cells_for_region(path, cell_km=1)
    whole = grid.cells_for_bbox([12.60, 52.48, 12.61, 52.485], cell_km=1)
    assert [c.id for c in cells] == [c.id for c in whole] and 1 <= len(cells) <= 4


@pytest.mark.parametrize(
    ("bbox", "km", "res", "match"),
    [
        ([13, 52, 12, 53], 10, 10, "west < east"),
        ([12, 52, 13], 10, 10, "west, south, east, north"),
        ([12, 52, 13, 53], 0.015, 10, "multiple of the resolution"),
        ([12, 52, 13, 53], 1.0005, 10, "whole number of metres"),
    ],
)
def test_bad_bbox_or_cell_size_is_a_named_error(
    bbox: list[float], km: float, res: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        grid.cells_for_bbox(bbox, cell_km=km, resolution=res)


def test_bad_names_and_region_files_are_named_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'E12N3' is not an EEA grid cell name"):
        grid.cell_from_id("E12N3")
    with pytest.raises(FileNotFoundError, match="nope.gpkg"):
        grid.cells_for_region(tmp_path / "nope.gpkg")
    (tmp_path / "bad.geojson").write_text("not json")
    with pytest.raises(ValueError, match="bad.geojson cannot be read"):
        grid.cells_for_region(tmp_path / "bad.geojson")
