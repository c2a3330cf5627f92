"""LUCAS readers on the real tables of the offline sample, plus bad tables written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lulcbook import legend
from lulcbook.sources import lucas


@pytest.fixture(scope="module")
def lucas_dir(sample_dir: Path) -> Path:
    return sample_dir / "lucas"


def _check_common(gdf, n: int) -> None:
    assert list(gdf.columns) == list(lucas.COLUMNS)
    assert len(gdf) == n and gdf.crs.to_epsg() == 4326
    assert gdf["point_id"].is_unique
    # every code of the real tables is a valid LC1 code: nothing unknown, nothing dropped
    assert gdf.attrs["unknown_lc1"] == {} and (gdf["label_index"] >= 0).all()
    letters = gdf["lc1"].str[0]
    for key in ("cropland", "woodland", "grassland"):
        letter = legend.CLASSES[legend.index_of(key)].lucas_letter
        assert (gdf.loc[letters == letter, "label"] == key).all()
    assert (gdf["label_index"] == [legend.index_of(k) for k in gdf["label"]]).all()


def test_read_st_lucas_shapefile(lucas_dir: Path) -> None:
    gdf = lucas.read_lucas(lucas_dir / "cz-2018" / "cz_lucas_points_l1_2018.shp")
    _check_common(gdf, 5037)
    assert (gdf["year"] == 2018).all() and gdf["survey_date"].dt.month.between(5, 10).all()
    first = gdf.iloc[0]  # 48262936, C33, GPS 49.3218 N 16.95688 E
    assert first["point_id"] == 48262936 and first["lc1"] == "C33" and first["label"] == "woodland"
    assert first.geometry.x == pytest.approx(16.95688) and first.geometry.y == pytest.approx(
        49.3218
    )
    # Czechia: 48.5–51.1 N, 12–19 E
    assert gdf.geometry.y.between(48.5, 51.1).all() and gdf.geometry.x.between(12, 19).all()
    assert gdf["label"].value_counts()["cropland"] == 2096


def test_st_lucas_csv_matches_shapefile(lucas_dir: Path) -> None:
    shp = lucas.read_st_lucas(lucas_dir / "cz-2018" / "cz_lucas_points_l1_2018.shp")
    csv = lucas.read_lucas(lucas_dir / "cz-2018" / "cz_lucas_points_l1_2018.csv")
    assert (shp["point_id"].values == csv["point_id"].values).all()
    assert (shp["label"].values == csv["label"].values).all()
    # the same coordinates (degrees) in both files
    np.testing.assert_allclose(shp.geometry.x.values, csv.geometry.x.values, atol=1e-6)
    np.testing.assert_allclose(shp.geometry.y.values, csv.geometry.y.values, atol=1e-6)


def test_read_topsoil_2018_and_2015(lucas_dir: Path) -> None:
    folder = lucas_dir / "eu-topsoil-2015-2018"
    g18 = lucas.read_lucas(folder / "lucas2018_topsoil_points_lc_lu.csv")
    _check_common(g18, 18984)
    # SURVEY_DATE is dd/mm/yy: 06/07/18 is 6 July 2018
    assert g18["survey_date"].iloc[0] == pd.Timestamp("2018-07-06") and (g18["year"] == 2018).all()
    counts = g18["label"].value_counts()
    assert counts["cropland"] == 7430 and counts["water"] == 5  # the documented label bias
    g15 = lucas.read_topsoil(folder / "lucas2015_topsoil_points_lc_lu.csv")
    _check_common(g15, 21859)
    assert (g15["year"] == 2015).all() and g15["survey_date"].isna().all()  # year from the name
    both = lucas.read_lucas(
        [
            folder / "lucas2015_topsoil_points_lc_lu.csv",
            folder / "lucas2018_topsoil_points_lc_lu.csv",
        ]
    )
    assert len(both) == 21859 + 18984 and set(both["year"]) == {2015, 2018}
    assert both.geometry.x.between(-32, 35).all()  # EU + UK incl. the Azores


def test_unknown_codes_are_reported_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "survey_2018.csv"
    pd.DataFrame(
        {
            "POINT_ID": [1, 2, 3, 4, 5],
            "TH_LAT": [50.0, 50.1, 50.2, 50.3, 50.4],
            "TH_LONG": [10.0, 10.1, 10.2, 10.3, 10.4],
            "SURVEY_DATE": ["01/06/18"] * 5,
            "LC": ["B11", "Z99", None, "C21", "Z99"],
        }
    ).to_csv(path, index=False)
    with pytest.warns(UserWarning, match=r"3 LUCAS points.*survey_2018.csv.*'Z99': 2"):
        gdf = lucas.read_lucas(path)
    assert len(gdf) == 5
    assert gdf.attrs["unknown_lc1"] == {"": 1, "Z99": 2}
    assert list(gdf["label_index"]) == [1, -1, -1, 2, -1]
    assert gdf["label"].isna().sum() == 3


def test_gps_missing_falls_back_to_grid_point(tmp_path: Path) -> None:
    path = tmp_path / "micro.csv"
    pd.DataFrame(
        {
            "POINT_ID": [1, 2],
            "GPS_LAT": [50.5, 88.888888],
            "GPS_LONG": [10.5, 88.888888],
            "TH_LAT": [50.0, 51.0],
            "TH_LONG": [10.0, 11.0],
            "LC1": ["E20", "G11"],
            "SURVEY_DATE": ["2018-06-01", "2018-07-01"],
        }
    ).to_csv(path, index=False)
    gdf = lucas.read_lucas(path)
    assert list(gdf.geometry.y) == [50.5, 51.0] and list(gdf["label"]) == ["grassland", "water"]


def test_table_missing_columns_names_file_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "bad_lucas.csv"
    pd.DataFrame({"POINT_ID": [1], "LAT": [50.0], "NUTS_0": ["DE"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"bad_lucas\.csv.*lc1/LC1/LC.*coordinates"):
        lucas.read_lucas(path)


def test_no_year_anywhere(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    pd.DataFrame({"POINT_ID": [1], "LAT": [50.0], "LON": [9.0], "LC": ["A11"]}).to_csv(path)
    with pytest.raises(ValueError, match=r"points\.csv has no survey date"):
        lucas.read_lucas(path)
    assert int(lucas.read_lucas(path, year=2022)["year"].iloc[0]) == 2022


def test_missing_path_and_format(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        lucas.read_lucas(tmp_path / "nowhere.csv")
    odd = tmp_path / "points.xlsx"
    odd.write_bytes(b"")
    with pytest.raises(ValueError, match=r"Unsupported LUCAS file .*points\.xlsx"):
        lucas.read_lucas(odd)


def test_free_text_codes_are_unknown_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "survey_2018.csv"
    pd.DataFrame(
        {
            "POINT_ID": [1, 2, 3, 4],
            "LAT": [50.0, 50.1, 50.2, 50.3],
            "LON": [10.0, 10.1, 10.2, 10.3],
            "LC1": ["Forest", "Grassland", "C21", "Water"],
        }
    ).to_csv(path, index=False)
    with pytest.warns(UserWarning, match=r"3 LUCAS points .*'Forest': 1"):
        gdf = lucas.read_lucas(path)
    assert list(gdf["label_index"]) == [-1, -1, legend.index_of("woodland"), -1]
    assert gdf.attrs["unknown_lc1"] == {"Forest": 1, "Grassland": 1, "Water": 1}


def test_bad_coordinates_are_counted_named_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "survey_2018.csv"
    pd.DataFrame(
        {
            "POINT_ID": [1, 2, 3, 4, 5, 6, 7],
            "GPS_LAT": ["50.5", "50,1", "95.0", "88.888888", "10.0", "", "51.0"],
            "GPS_LONG": ["10.5", "10.1", "10.2", "88.888888", "50.0", "", "abc"],
            "LC1": ["E20"] * 7,
        }
    ).to_csv(path, index=False)
    with pytest.warns(UserWarning, match=r"6 LUCAS points .* no usable coordinates .*unparseable"):
        gdf = lucas.read_lucas(path)
    assert len(gdf) == 7  # kept, not dropped
    assert gdf.attrs["missing_coordinates"] == 6
    assert gdf.geometry.isna().sum() == 6 and gdf.geometry.iloc[0].y == pytest.approx(50.5)
    problems = gdf.attrs["coordinate_problems"]
    assert {r: p["count"] for r, p in problems.items()} == {
        "unparseable": 2,
        "out_of_range": 1,
        "outside_lucas_extent": 1,  # lat/lon swapped: 10 N, 50 E
        "no_gps_fix": 1,
        "missing": 1,
    }
    assert problems["unparseable"]["point_ids"] == ["2", "7"]
    assert problems["out_of_range"]["values"] == ["lon 10.2, lat 95.0"]
    with pytest.warns(UserWarning, match="no usable coordinates"):
        both = lucas.read_lucas([path, path])
    assert both.attrs["missing_coordinates"] == 12


def test_grid_point_fallback_is_not_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "micro_2018.csv"
    pd.DataFrame(
        {
            "POINT_ID": [1, 2],
            "GPS_LAT": ["bad", 50.5],
            "GPS_LONG": [10.0, 10.5],
            "TH_LAT": [51.0, 50.0],
            "TH_LONG": [11.0, 10.0],
            "LC1": ["E20", "G11"],
        }
    ).to_csv(path, index=False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gdf = lucas.read_lucas(path)
    assert gdf.attrs["missing_coordinates"] == 0 and gdf.attrs["coordinate_problems"] == {}
    assert list(gdf.geometry.y) == [51.0, 50.5]
