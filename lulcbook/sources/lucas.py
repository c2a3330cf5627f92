"""LUCAS survey points → GeoDataFrame ``point_id, year, survey_date, lc1, label, label_index, geometry``.

Reads the Eurostat/JRC LUCAS tables (the survey micro-data and the LUCAS topsoil
point tables: ``POINT_ID``, ``TH_LAT``/``TH_LONG`` or ``LAT``/``LON``, ``LC``/``LC1``,
``SURVEY_DATE``) and ST_LUCAS extracts (shapefile/GeoPackage/CSV with ``point_id``,
``survey_dat``, ``gps_lat``, ``gps_long``, ``lc1``). LC1 codes are mapped to the
level-1 legend with :func:`lulcbook.legend.lc1_to_key`.

Unknown or empty LC1 codes are never dropped: those rows keep ``label=None`` and
``label_index=-1``, and the codes with their counts are reported in
``gdf.attrs["unknown_lc1"]`` and by a warning. Free-text codes ("Forest") are unknown, never
guessed from their first letter.

Points without a usable position are never dropped either: their geometry is missing (None),
and ``gdf.attrs["missing_coordinates"]`` (their number) and ``gdf.attrs["coordinate_problems"]``
(per reason — ``missing``, ``unparseable``, ``out_of_range``, ``no_gps_fix``,
``outside_lucas_extent`` — the count, example point ids and values) report them, with a
warning. A row falls back to the next coordinate pair (GPS → theoretical point → lon/lat) when
its preferred pair is unusable.

References:
    Eurostat, LUCAS — Land Use and Coverage Area frame Survey (micro-data), © EU.
    d'Andrimont et al. (2020), Harmonised LUCAS in-situ land cover and use database
    for field surveys from 2006 to 2018 in the European Union, Sci. Data 7, 352.
    Orgiazzi et al. (2018), LUCAS Soil, Eur. J. Soil Sci. 69, 140–153.
    Landa et al. (2022), ST_LUCAS, Earth Syst. Sci. Data (harmonised LUCAS, CC-BY-4.0).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Container, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from lulcbook import legend

if TYPE_CHECKING:
    from pyproj import CRS

PathLike = str | os.PathLike[str]

COLUMNS: tuple[str, ...] = (
    "point_id",
    "year",
    "survey_date",
    "lc1",
    "label",
    "label_index",
    "geometry",
)
"""Columns of every GeoDataFrame returned here."""

_ID = ("point_id",)
_LC = ("lc1", "lc")
_DATE = ("survey_date", "survey_dat")
_COORDS = (("gps_long", "gps_lat"), ("th_long", "th_lat"), ("lon", "lat"))
"""Coordinate pairs in order of preference: surveyor GPS, theoretical grid point, lon/lat."""
_GPS_MISSING = 88.888888  # LUCAS micro-data code for "no GPS fix"
LUCAS_EXTENT: tuple[float, float, float, float] = (-32.0, 27.0, 45.0, 72.0)
"""lon/lat bounds of every LUCAS point (EU and UK incl. the Azores and Canary Islands)."""
_REASONS = ("unparseable", "out_of_range", "outside_lucas_extent", "no_gps_fix", "missing")


def _check_path(path: PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"LUCAS table {p} does not exist")
    return p


def _first(columns: Container[str], names: Sequence[str]) -> str | None:
    return next((n for n in names if n in columns), None)


def _parse_dates(values: pd.Series) -> pd.Series:
    """Survey dates: datetimes, ISO ``2018-05-10`` or the tables' ``dd/mm/yy``."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values)
    s = values.astype("string").str.strip()
    out = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
    for fmt in ("%d/%m/%y", "%d/%m/%Y"):
        todo = out.isna() & s.notna()
        if todo.any():
            out[todo] = pd.to_datetime(s[todo], format=fmt, errors="coerce")
    return out


def _year_from_name(path: Path) -> int | None:
    m = re.search(r"(?<!\d)(20\d\d|19\d\d)(?!\d)", path.stem)
    return int(m.group(1)) if m else None


def lc1_labels(codes: Sequence[object]) -> tuple[list[str | None], np.ndarray, dict[str, int]]:
    """Map LC1 codes to legend keys and indices.

    Returns:
        ``(keys, indices, unknown)`` — ``None`` / ``-1`` for unknown or empty codes,
        and ``unknown`` = ``{code: count}`` (empty code reported as ``""``).
    """
    keys: list[str | None] = []
    unknown: dict[str, int] = {}
    for c in codes:
        text = "" if c is None or (isinstance(c, float) and np.isnan(c)) else str(c).strip()
        try:
            key: str | None = legend.lc1_to_key(text) if text else None
        except ValueError:
            key = None
        if key is None:
            unknown[text] = unknown.get(text, 0) + 1
        keys.append(key)
    idx = np.array([legend.index_of(k) if k else -1 for k in keys], dtype=np.int64)
    return keys, idx, dict(sorted(unknown.items()))


class _Problem(TypedDict):
    """Rows of one kind of coordinate problem: count, first point ids and values."""

    count: int
    point_ids: list[str]
    values: list[str]


def from_table(
    df: pd.DataFrame,
    source: PathLike = "table",
    year: int | None = None,
    crs: str | int | CRS | None = None,
) -> gpd.GeoDataFrame:
    """Turn a LUCAS table (any of the supported layouts) into the common GeoDataFrame.

    Args:
        df: the table; column names are matched case-insensitively. A GeoDataFrame's
            point geometry is used (reprojected to EPSG:4326) when it has no
            coordinate columns.
        source: the file it came from (for messages and the year fallback).
        year: survey year for tables without a date column (else taken from the file
            name, e.g. ``lucas2015_…``).
        crs: CRS of a GeoDataFrame's geometry (default: its own).

    Raises:
        ValueError: naming the file and the missing columns, or when no year can be found.
    """
    source = Path(source)
    cols = {c.lower(): c for c in df.columns}
    id_col, lc_col, date_col = _first(cols, _ID), _first(cols, _LC), _first(cols, _DATE)
    pairs = [(cols[x], cols[y]) for x, y in _COORDS if x in cols and y in cols]
    has_geom = isinstance(df, gpd.GeoDataFrame) and df.geometry.notna().any()
    missing = []
    if id_col is None:
        missing.append("point_id/POINT_ID")
    if lc_col is None:
        missing.append("lc1/LC1/LC")
    if not pairs and not has_geom:
        missing.append("coordinates (gps_long+gps_lat, TH_LONG+TH_LAT or LON+LAT)")
    if missing or id_col is None or lc_col is None:
        raise ValueError(
            f"LUCAS table {source} lacks required column(s) {missing}; it has {list(df.columns)}"
        )

    dates = _parse_dates(df[cols[date_col]]) if date_col else pd.Series(pd.NaT, index=df.index)
    if date_col is None or dates.isna().all():
        year = year if year is not None else _year_from_name(source)
        if year is None:
            raise ValueError(
                f"LUCAS table {source} has no survey date column and no year in its name; "
                "pass year="
            )
        years = pd.Series(year, index=df.index, dtype="Int64")
    else:
        years = dates.dt.year.astype("Int64")
        if year is not None:
            years = years.fillna(year)

    problems: dict[str, _Problem] = {}
    if pairs:
        lon = pd.Series(np.nan, index=df.index)
        lat = pd.Series(np.nan, index=df.index)
        reason = pd.Series("missing", index=df.index, dtype=object)
        rank = {r: i for i, r in enumerate(_REASONS)}  # the most telling reason is kept
        for xc, yc in pairs:  # fill rows without a valid position from the next pair
            x = pd.to_numeric(df[xc], errors="coerce")
            y = pd.to_numeric(df[yc], errors="coerce")
            given = df[xc].notna() & df[yc].notna()
            given &= df[xc].astype("string").str.strip().ne("") & df[yc].astype(
                "string"
            ).str.strip().ne("")
            parsed = x.notna() & y.notna()
            in_range = parsed & x.between(-180, 180) & y.between(-90, 90)
            no_fix = parsed & (np.isclose(y, _GPS_MISSING) | np.isclose(x, _GPS_MISSING))
            w, s_, e, n = LUCAS_EXTENT
            inside = in_range & x.between(w, e) & y.between(s_, n)
            ok = inside & ~no_fix
            this = pd.Series("missing", index=df.index, dtype=object)
            this[given & ~parsed] = "unparseable"
            this[parsed & ~in_range] = "out_of_range"
            this[in_range & ~inside] = "outside_lucas_extent"
            this[no_fix] = "no_gps_fix"
            better = this.map(rank) < reason.map(rank)
            reason[better] = this[better]
            todo = lon.isna() & ok
            lon[todo], lat[todo] = x[todo], y[todo]
        bad = lon.isna()
        ids = df[cols[id_col]]
        for r in _REASONS:
            sel = bad & (reason == r)
            if sel.any():
                xc, yc = pairs[0]
                problems[r] = {
                    "count": int(sel.sum()),
                    "point_ids": [str(v) for v in ids[sel].head(5)],
                    "values": [
                        f"lon {df.at[i, xc]!s}, lat {df.at[i, yc]!s}" for i in sel[sel].index[:5]
                    ],
                }
        geometry = gpd.points_from_xy(lon, lat, crs="EPSG:4326")
        # geopandas accepts None (a missing geometry) here; its stubs do not say so
        geometry[bad.to_numpy()] = None  # type: ignore[assignment]
    else:
        gdf = cast(gpd.GeoDataFrame, df)  # has_geom: only a GeoDataFrame gets here
        g = gdf if crs is None else gdf.set_crs(crs, allow_override=True)
        if g.crs is None:
            raise ValueError(f"LUCAS table {source} has geometry but no CRS")
        geometry = g.geometry.to_crs("EPSG:4326").values

    keys, idx, unknown = lc1_labels(df[cols[lc_col]].tolist())
    lc1 = df[cols[lc_col]].astype("string").str.strip()
    out = gpd.GeoDataFrame(
        {
            "point_id": pd.to_numeric(df[cols[id_col]], errors="coerce").astype("Int64").values,
            "year": years.values,
            "survey_date": dates.values,
            "lc1": lc1.values,
            "label": pd.array(keys, dtype="string"),
            "label_index": idx,
        },
        geometry=geometry,
        crs="EPSG:4326",
    )
    no_xy = out.geometry.isna() | out.geometry.is_empty
    if not pairs and no_xy.any():
        problems["missing"] = {
            "count": int(no_xy.sum()),
            "point_ids": [str(v) for v in out.loc[no_xy, "point_id"].head(5)],
            "values": [],
        }
    n_no_xy = int(no_xy.sum())
    out.attrs.update(
        source=str(source),
        unknown_lc1=unknown,
        missing_coordinates=n_no_xy,
        coordinate_problems=problems,
    )
    if n_no_xy:
        detail = "; ".join(
            f"{r}: {p['count']} (e.g. point {', '.join(map(str, p['point_ids'][:3]))}"
            + (f" at {p['values'][0]!r}" if p["values"] else "")
            + ")"
            for r, p in problems.items()
        )
        warnings.warn(
            f"{n_no_xy} LUCAS points in {source} have no usable coordinates ({detail}); kept "
            "with a missing geometry (None)",
            stacklevel=3,
        )
    if unknown:
        warnings.warn(
            f"{sum(unknown.values())} LUCAS points in {source} have unknown/empty LC1 codes "
            f"{unknown}; kept with label=None, label_index=-1",
            stacklevel=3,
        )
    return out


def read_topsoil(path: PathLike, year: int | None = None) -> gpd.GeoDataFrame:
    """Read a LUCAS topsoil/survey CSV (``POINT_ID``, ``TH_LAT``/``TH_LONG`` or ``LAT``/``LON``, ``LC``).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file and the missing columns.
    """
    p = _check_path(path)
    return from_table(pd.read_csv(p, low_memory=False), source=p, year=year)


def read_st_lucas(path: PathLike, year: int | None = None) -> gpd.GeoDataFrame:
    """Read an ST_LUCAS extract: shapefile/GeoPackage or CSV.

    The columns needed are ``point_id``, ``survey_dat``, ``gps_lat``, ``gps_long`` and
    ``lc1``. The surveyor GPS position is the geometry.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file and the missing columns.
    """
    p = _check_path(path)
    if p.suffix.lower() == ".csv":
        df: pd.DataFrame = pd.read_csv(p, low_memory=False)
    else:
        df = gpd.read_file(p)
    return from_table(df, source=p, year=year)


def read_lucas(path: PathLike | Sequence[PathLike], year: int | None = None) -> gpd.GeoDataFrame:
    """Read one or several LUCAS tables, detecting the layout from the file and its columns.

    ``.shp``/``.gpkg``/``.geojson`` are read with geopandas, ``.csv`` with pandas;
    either layout (Eurostat/JRC or ST_LUCAS) is recognised by its columns. Several
    paths are concatenated; ``attrs["unknown_lc1"]`` then sums their unknown codes.

    Raises:
        FileNotFoundError: naming a path that does not exist.
        ValueError: naming the file and its missing columns, or an unsupported format.
    """
    if not isinstance(path, (str, os.PathLike)):
        parts = [read_lucas(p, year=year) for p in path]
        if not parts:
            raise ValueError("No LUCAS tables given")
        out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")
        unknown: dict[str, int] = {}
        for part in parts:
            for k, v in part.attrs["unknown_lc1"].items():
                unknown[k] = unknown.get(k, 0) + v
        out.attrs.update(
            source=[part.attrs["source"] for part in parts],
            unknown_lc1=dict(sorted(unknown.items())),
            missing_coordinates=sum(part.attrs["missing_coordinates"] for part in parts),
            coordinate_problems={
                str(part.attrs["source"]): part.attrs["coordinate_problems"]
                for part in parts
                if part.attrs["coordinate_problems"]
            },
        )
        return out
    p = _check_path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return from_table(pd.read_csv(p, low_memory=False), source=p, year=year)
    if suffix in {".shp", ".gpkg", ".geojson", ".json", ".fgb"}:
        return read_st_lucas(p, year=year)
    raise ValueError(f"Unsupported LUCAS file {p}: expected .csv, .shp, .gpkg or .geojson")
