"""Tests for lulcbook.point_check: a map against labelled reference points."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Point, box

from lulcbook import cli, legend, point_check

CROP, WOOD, GRASS = (legend.index_of(k) for k in ("cropland", "woodland", "grassland"))
ORIGIN = (330000.0, 5822000.0)  # UTM 33N, Brandenburg


def _map(folder: Path) -> Path:
    """A 10 x 10 map at 10 m: woodland on the left half, cropland on the right, one pixel
    without a class (row 5, column 7)."""
    cls = np.full((10, 10), WOOD, np.uint8)
    cls[:, 5:] = CROP
    cls[5, 7] = legend.NODATA
    path = folder / "map.tif"
    profile = {"driver": "GTiff", "width": 10, "height": 10, "count": 1, "dtype": "uint8",
               "crs": "EPSG:32633", "transform": from_origin(*ORIGIN, 10, 10),
               "nodata": legend.NODATA}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(cls, 1)
    return path


def _at(row: float, col: float) -> Point:
    """The centre of a pixel of :func:`_map`, in its CRS."""
    return Point(ORIGIN[0] + 10 * col + 5, ORIGIN[1] - 10 * row - 5)


def _points(folder: Path) -> Path:
    """Nine points in WGS84: three woodland and one grassland point on the woodland half, two
    cropland points on the cropland half, one on the pixel without a class, one outside the
    map, and a copy of the first point."""
    rows = [
        (_at(1, 1), "woodland"), (_at(3, 2), "Woodland"), (_at(8, 4), "2"),
        (_at(6, 0), "grassland"), (_at(2, 8), "cropland"), (_at(9, 9), "cropland"),
        (_at(5, 7), "cropland"), (_at(5, 30), "woodland"), (_at(1, 1), "woodland"),
    ]  # fmt: skip
    gdf = gpd.GeoDataFrame(
        {"cls": [r[1] for r in rows]}, geometry=[r[0] for r in rows], crs="EPSG:32633"
    ).to_crs("EPSG:4326")
    path = folder / "points.gpkg"
    gdf.to_file(path)
    return path


def test_assess_counts_and_scores_every_point(tmp_path: Path) -> None:
    points = point_check.read_points(_points(tmp_path), "cls")
    assert len(points) == 8 and points.attrs["n_duplicates"] == 1
    report = point_check.assess(_map(tmp_path), points)
    assert (report["n_points"], report["n_outside"], report["n_no_class"]) == (8, 1, 1)
    assert report["n_assessed"] == 6
    oa = report["overall_accuracy"]
    assert oa["estimate"] == pytest.approx(5 / 6) and oa["n"] == 6
    assert oa["ci95"][0] < 5 / 6 < oa["ci95"][1] < 1.0
    rec, prec = report["recall"], report["precision"]
    assert rec["woodland"]["estimate"] == 1.0 and rec["woodland"]["n"] == 3
    assert rec["grassland"]["estimate"] == 0.0 and rec["cropland"]["estimate"] == 1.0
    assert prec["woodland"]["estimate"] == pytest.approx(3 / 4) and "grassland" not in prec
    assert report["confusion"]["grassland"] == {"woodland": 1}
    assert report["macro_f1"] == pytest.approx(np.mean([2 * 0.75 / 1.75, 0.0, 1.0]))
    text = point_check.summary(report)
    assert "6 of 8 points assessed (1 outside the map, 1 on pixels without a class" in text
    assert "grassland: recall 0.000" in text


def test_cluster_intervals_resample_whole_groups(tmp_path: Path) -> None:
    points = point_check.read_points(_points(tmp_path), "cls")
    m = _map(tmp_path)
    one = point_check.assess(m, points.assign(field="all"), "field", n_boot=200)
    assert (
        one["interval"]["n_clusters"] == 1
        and "bootstrap of the field groups" in (one["interval"]["method"])
    )
    # one group resampled whole is always the same points: no spread at all
    assert one["overall_accuracy"]["ci95"] == pytest.approx([5 / 6, 5 / 6])
    halves = points.assign(field=["w", "w", "w", "w", "c", "c", "c", "x"])
    two = point_check.assess(m, halves, "field", n_boot=200)
    wilson = point_check.assess(m, points)
    assert two["interval"]["n_clusters"] == 2 and wilson["interval"]["n_clusters"] is None
    assert two["overall_accuracy"]["estimate"] == wilson["overall_accuracy"]["estimate"]
    assert two["overall_accuracy"]["ci95"] != wilson["overall_accuracy"]["ci95"]
    with pytest.raises(ValueError, match=r"lack the cluster column 'plot'; they have \['cls'"):
        point_check.assess(m, points, "plot")


def test_lucas_codes_from_a_csv(tmp_path: Path) -> None:
    gdf = gpd.GeoSeries([_at(1, 1), _at(2, 8)], crs="EPSG:32633").to_crs("EPSG:4326")
    csv = tmp_path / "p.csv"
    rows = zip(gdf, ["C10", "B11"], strict=True)
    csv.write_text("x,y,LC1\n" + "".join(f"{g.x},{g.y},{c}\n" for g, c in rows))
    points = point_check.read_points(csv, "LC1", "lucas", lon_column="x", lat_column="y")
    assert points["label_index"].tolist() == [WOOD, CROP]
    assert point_check.assess(_map(tmp_path), points)["overall_accuracy"]["estimate"] == 1.0


def test_bad_points_are_named(tmp_path: Path) -> None:
    path = _points(tmp_path)
    with pytest.raises(ValueError, match=r"lacks column 'label'; it has \['cls', 'geometry'\]"):
        point_check.read_points(path, "label")
    with pytest.raises(ValueError, match=r"9 label\(s\) in column 'cls' .* are not lucas labels"):
        point_check.read_points(path, "cls", "lucas")
    with pytest.raises(ValueError, match="Unknown label scheme 'clc'"):
        point_check.read_points(path, "cls", "clc")
    poly = tmp_path / "poly.gpkg"
    gpd.GeoDataFrame({"cls": ["woodland"]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(poly)
    with pytest.raises(ValueError, match=r"holds \['Polygon'\] geometries; expected points"):
        point_check.read_points(poly, "cls")
    far = gpd.GeoDataFrame({"cls": ["woodland"]}, geometry=[Point(0, 0)], crs=4326)
    far.attrs["n_duplicates"] = 0
    far["label_index"] = [WOOD]
    with pytest.raises(ValueError, match="1 of 1 outside the map"):
        point_check.assess(_map(tmp_path), far)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m, p, out = _map(tmp_path), _points(tmp_path), tmp_path / "report.json"
    assert cli.main(["assess", str(m), str(p), "--label-column", "cls", "--out", str(out)]) == 0
    assert "overall accuracy 0.833" in capsys.readouterr().out
    assert json.loads(out.read_text())["n_assessed"] == 6
    by = ["assess", str(m), str(p), "--label-column", "cls", "--cluster-column", "cls"]
    assert cli.main(by) == 0
    assert "95 % intervals: bootstrap of the cls groups" in capsys.readouterr().out
    assert cli.main(["assess", str(tmp_path / "no.tif"), str(p), "--label-column", "cls"]) == 2
    assert "MAP " in capsys.readouterr().err
    assert cli.main(["assess", str(m), str(p), "--label-column", "cls", "--out", str(p)]) == 2
    assert "is an input" in capsys.readouterr().err
    before = out.read_bytes()
    bad = ["assess", str(m), str(p), "--label-column", "cls", "--scheme", "corine"]
    assert cli.main([*bad, "--out", str(out)]) == 1
    assert "are not corine labels" in capsys.readouterr().err
    assert out.read_bytes() == before  # a failed run leaves the old report as it was
