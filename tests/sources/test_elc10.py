"""ELC10 LUCAS table reader, on excerpts of the real tables of the offline sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lulcbook import legend
from lulcbook.sources import elc10

N_ROWS = 400


@pytest.fixture(scope="module")
def elc10_dir(sample_dir: Path) -> Path:
    path = sample_dir / elc10.SAMPLE_SUBDIR
    if not (path / elc10.S2_FILE).exists():
        pytest.fail(f"ELC10 table missing from the sample: {path}")
    return path


@pytest.fixture(scope="module")
def s2_excerpt(elc10_dir: Path) -> pd.DataFrame:
    """Rows spread over the real S2 table (every 150th row: all source files and classes)."""
    df = pd.read_csv(elc10_dir / elc10.S2_FILE, skiprows=lambda i: i > 0 and i % 150 != 0)
    return df.head(N_ROWS)


@pytest.fixture(scope="module")
def s1_table(elc10_dir: Path) -> pd.DataFrame:
    return pd.read_csv(elc10_dir / elc10.S1_FILE)


def write(tmp_path: Path, df: pd.DataFrame, name: str = "s2.csv") -> Path:
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def test_reads_real_rows_with_legend_and_units(elc10_dir: Path) -> None:
    df = elc10.read_elc10(elc10_dir, s1=True, nrows=N_ROWS)
    assert len(df) == N_ROWS
    assert set(df["label"]) <= set(legend.KEYS)
    raw = pd.read_csv(elc10_dir / elc10.S2_FILE, nrows=N_ROWS)
    # the label follows the ELC10 name, index and key agree with the legend
    for name, key in elc10.LC_TO_KEY.items():
        rows = raw["LC"] == name
        assert (df.loc[rows.to_numpy(), "label"] == key).all()
    assert (np.asarray(legend.KEYS)[df["label_index"]] == df["label"]).all()
    # band medians stored as reflectance x 1e7: medians of L1C TOA reflectance lie in 0.02-0.5
    refl = elc10.s2_reflectance(df)
    assert 0.02 < float(refl["B02"].median()) < 0.5
    assert 0.02 < float(refl["B08"].median()) < 0.6
    assert df.attrs["report"]["s2_rows"] == N_ROWS


def test_coordinates_decoded_from_point_id(elc10_dir: Path) -> None:
    df = elc10.read_elc10(elc10_dir, s1=False, nrows=50)
    pid = df["point_id"].to_numpy()
    np.testing.assert_allclose(df["x_laea"], (pid // 10000) * 1000.0)
    np.testing.assert_allclose(df["y_laea"], (pid % 10000) * 1000.0)
    assert elc10.plausible_lonlat(df["lon"], df["lat"]).all()
    # round trip through EPSG:4326
    x, y = elc10.lonlat_to_laea(df["lon"].to_numpy(), df["lat"].to_numpy())
    np.testing.assert_allclose(x, df["x_laea"], atol=0.01)
    np.testing.assert_allclose(y, df["y_laea"], atol=0.01)


def test_known_point_location() -> None:
    # LAEA origin of the grid: 4321 km E, 3210 km N is lon 10 E, lat 52 N
    lon, lat = elc10.laea_to_lonlat(*elc10.point_id_to_laea(np.array([43213210])))
    assert lon[0] == pytest.approx(10.0, abs=1e-6)
    assert lat[0] == pytest.approx(52.0, abs=1e-6)


def test_s1_join_left_and_counted(
    tmp_path: Path, s2_excerpt: pd.DataFrame, s1_table: pd.DataFrame
) -> None:
    s2 = write(tmp_path, s2_excerpt)
    s1_sub = s1_table[s1_table["POINT_ID"].isin(s2_excerpt["POINT_ID"])]
    dropped = s1_sub["POINT_ID"].iloc[:7]
    s1_path = write(tmp_path, s1_sub[~s1_sub["POINT_ID"].isin(dropped)], "s1.csv")
    df = elc10.read_elc10(s2, s1=s1_path)
    miss = df[elc10.S1_FEATURES[0]].isna()
    assert set(df.loc[miss, "point_id"]) >= set(dropped)
    assert df.attrs["report"]["s1"]["points_without_s1"] == int(miss.sum())
    one = s1_sub.iloc[20]
    row = df[df["point_id"] == one["POINT_ID"]].iloc[0]
    assert row["asc_vv_median"] == pytest.approx(one["asc_vv_median"])


def test_missing_column_named(tmp_path: Path, s2_excerpt: pd.DataFrame) -> None:
    path = write(tmp_path, s2_excerpt.drop(columns=["swir1_median"]))
    with pytest.raises(elc10.MissingColumnsError, match="swir1_median") as err:
        elc10.read_elc10(path, s1=False)
    assert str(path) in str(err.value)


def test_unknown_class_not_guessed(tmp_path: Path, s2_excerpt: pd.DataFrame) -> None:
    bad = s2_excerpt.copy()
    bad.loc[bad.index[3], "LC"] = "Woodland and shrubs"  # would match "Woodland" by prefix
    with pytest.raises(elc10.UnknownClassError, match="Woodland and shrubs"):
        elc10.read_elc10(write(tmp_path, bad), s1=False)


def test_inconsistent_lc_num(tmp_path: Path, s2_excerpt: pd.DataFrame) -> None:
    bad = s2_excerpt.copy()
    bad.loc[bad.index[0], "LC_num"] = 9
    with pytest.raises(elc10.UnknownClassError, match="LC_num"):
        elc10.read_elc10(write(tmp_path, bad), s1=False)


def test_duplicate_ids(tmp_path: Path, s2_excerpt: pd.DataFrame) -> None:
    dup = s2_excerpt.iloc[[5]].copy()
    dup["source"] = "LUCAS_point"
    first = s2_excerpt.iloc[:10].assign(source="LUCAS_polygon")
    table = write(tmp_path, pd.concat([first, dup]))
    pid = int(dup["POINT_ID"].iloc[0])
    with pytest.raises(elc10.DuplicatePointError, match=str(pid)):
        elc10.read_elc10(table, s1=False, duplicates="error")
    df = elc10.read_elc10(table, s1=False, duplicates="prefer_point")
    assert len(df) == 10
    assert df.loc[df["point_id"] == pid, "source"].item() == "LUCAS_point"
    assert df.attrs["report"]["duplicates"]["rows_removed"] == 1
    # conflicting labels: the point is dropped, not decided
    conflict = dup.assign(LC="Water", LC_num=7)
    conflict["LC"] = "Water" if first.iloc[5]["LC"] != "Water" else "Cropland"
    conflict["LC_num"] = elc10.LC_NUM[conflict["LC"].iloc[0]]
    df2 = elc10.read_elc10(write(tmp_path, pd.concat([first, conflict]), "c.csv"), s1=False)
    assert pid not in set(df2["point_id"])
    assert df2.attrs["report"]["duplicates"]["conflicting_label_ids"] == 1


def test_implausible_coordinates_counted(tmp_path: Path, s2_excerpt: pd.DataFrame) -> None:
    bad = s2_excerpt.copy()
    bad.loc[bad.index[:3], "POINT_ID"] = [99999999, 1, 99990001]
    path = write(tmp_path, bad)
    with pytest.raises(elc10.CoordinateError, match="outside Europe"):
        elc10.read_elc10(path, s1=False)
    df = elc10.read_elc10(path, s1=False, bad_coords="drop")
    assert df.attrs["report"]["implausible_coordinates_dropped"] == 3
    assert len(df) == len(bad) - 3


def test_unparseable_point_id(tmp_path: Path, s2_excerpt: pd.DataFrame) -> None:
    bad = s2_excerpt.astype({"POINT_ID": object})
    bad.loc[bad.index[2], "POINT_ID"] = "A12"
    with pytest.raises(elc10.CoordinateError, match="POINT_ID"):
        elc10.read_elc10(write(tmp_path, bad), s1=False)


def test_non_numeric_feature(tmp_path: Path, s2_excerpt: pd.DataFrame) -> None:
    bad = s2_excerpt.astype({"red_median": object})
    bad.loc[bad.index[1], "red_median"] = "12o5"
    with pytest.raises(elc10.ELC10Error, match="red_median"):
        elc10.read_elc10(write(tmp_path, bad), s1=False)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="elc10"):
        elc10.read_elc10(tmp_path)
