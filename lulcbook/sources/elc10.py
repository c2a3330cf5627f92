"""ELC10 LUCAS 2018 training table: per-point Sentinel-2 (and Sentinel-1) features → one DataFrame.

The ELC10 land-cover map of Europe (Venter & Sydenham 2021) was trained on LUCAS 2018
points with Sentinel-2 L1C and Sentinel-1 annual spectral-temporal features computed in
Google Earth Engine. The offline sample holds that table as two gzip CSVs
(``elc10_lucas2018_s2_features.csv.gz`` and ``elc10_lucas2018_s1_features.csv.gz``).

:func:`read_elc10` returns one row per point with

* ``point_id`` (int64), ``label`` (legend key), ``label_index`` (legend index),
  ``source`` (``LUCAS_point`` / ``LUCAS_polygon``), ``votes`` (ELC10 label agreement),
* ``x_laea``, ``y_laea`` (metres, EPSG:3035) and ``lon``, ``lat`` (degrees, EPSG:4326),
  decoded from ``POINT_ID``: x = (POINT_ID // 10000) km, y = (POINT_ID % 10000) km,
* the Sentinel-2 feature columns :data:`S2_FEATURES` and, when joined, :data:`S1_FEATURES`.

Units (as stored, never rescaled here):

* ``blue/green/red/R1/R2/R3/nir/swir1/swir2_median``: annual 2018 median of the L1C
  top-of-atmosphere bands B2, B3, B4, B5, B6, B7, B8, B11, B12 in reflectance × 1e7
  (= Sentinel-2 DN × 1000; a reflectance of 0.15 is stored as 1 500 000). Divide by
  :data:`S2_REFLECTANCE_SCALE` for reflectance.
* ``ndvi_*``, ``ndsi_*`` (percentiles and seasonal medians), ``nbr_stdDev`` and
  ``ndvi_texture_sd``: index × 1000. In the ELC10 extraction ``ndvi_spring`` and
  ``ndvi_fall`` appear to be swapped (months 9–11 vs 3–5); the names are kept as published.
* Sentinel-1 ``asc/desc_{vv,vh}_{median,stDev}`` and ``*_dpol_median``: dB × 1000.

Bad input is never guessed around: a missing column, a class name outside the eight
ELC10 level-1 names (no prefix matching), a duplicated ``POINT_ID`` (unless a duplicate
policy is chosen) and ``POINT_ID`` values that do not decode to a point in Europe each
raise a named :class:`ELC10Error` subclass whose message names the file, the column and
the values. Points whose coordinates are implausible can instead be dropped with
``bad_coords="drop"``; the count is reported in ``frame.attrs["report"]``.

References:
    Venter, Z.S., Sydenham, M.A.K. (2021). Continental-scale land cover mapping at 10 m
    resolution over Europe (ELC10). Remote Sensing 13(12), 2301.
    d'Andrimont, R. et al. (2020). Harmonised LUCAS in-situ land cover and use database
    for field surveys from 2006 to 2018 in the European Union. Sci. Data 7, 352.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from lulcbook import legend

PathLike = str | os.PathLike[str]

S2_FILE: str = "elc10_lucas2018_s2_features.csv.gz"
S1_FILE: str = "elc10_lucas2018_s1_features.csv.gz"
SAMPLE_SUBDIR: str = "lucas/elc10-s2-s1-2018"

S2_BANDS: tuple[str, ...] = tuple(
    f"{band}_median" for band in ("blue", "green", "red", "R1", "R2", "R3", "nir", "swir1", "swir2")
)
"""Annual L1C band medians (B2, B3, B4, B5, B6, B7, B8, B11, B12), reflectance × 1e7."""

S2_BAND_IDS: dict[str, str] = dict(
    zip(S2_BANDS, ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B11", "B12"), strict=True)
)
"""ELC10 column → Sentinel-2 band name."""

S2_INDICES: tuple[str, ...] = (
    "ndvi_p5",
    "ndvi_p25",
    "ndvi_p50",
    "ndvi_p75",
    "ndvi_p95",
    "ndvi_winter",
    "ndvi_spring",
    "ndvi_summer",
    "ndvi_fall",
    "ndvi_texture_sd",
    "ndsi_p5",
    "ndsi_p25",
    "ndsi_p50",
    "ndsi_p75",
    "ndsi_p95",
    "nbr_stdDev",
)
"""Spectral-index statistics (index × 1000)."""

S2_FEATURES: tuple[str, ...] = S2_BANDS + S2_INDICES
S1_FEATURES: tuple[str, ...] = (
    "asc_vv_median",
    "asc_vh_median",
    "asc_dpol_median",
    "asc_vv_stDev",
    "asc_vh_stDev",
    "desc_vv_median",
    "desc_vh_median",
    "desc_dpol_median",
    "desc_vv_stDev",
    "desc_vh_stDev",
)
"""Sentinel-1 backscatter statistics (dB × 1000)."""

S2_REFLECTANCE_SCALE: float = 1e7
"""Stored band value / this = top-of-atmosphere reflectance."""

ID_COLUMNS: tuple[str, ...] = ("POINT_ID", "LC", "LC_num")

LC_TO_KEY: dict[str, str] = {
    "Artificial land": "artificial",
    "Cropland": "cropland",
    "Woodland": "woodland",
    "Shrubland": "shrubland",
    "Grassland": "grassland",
    "Bare land": "bare",
    "Water": "water",
    "Wetland": "wetland",
}
"""ELC10 level-1 class names → legend keys (exact names only)."""

LC_NUM: dict[str, int] = {name: i + 1 for i, name in enumerate(LC_TO_KEY)}
"""ELC10 ``LC_num`` of each class name (1 = Artificial land … 8 = Wetland)."""

EUROPE_LON: tuple[float, float] = (-32.0, 45.0)
EUROPE_LAT: tuple[float, float] = (27.0, 72.0)
"""Plausible extent of LUCAS points (incl. Macaronesia and the Arctic of the EU/EFTA)."""


class ELC10Error(ValueError):
    """Base class of the errors this reader raises about its input."""


class MissingColumnsError(ELC10Error):
    """A required column is not in the table."""


class UnknownClassError(ELC10Error):
    """A class name outside the eight ELC10 level-1 names, or an inconsistent ``LC_num``."""


class DuplicatePointError(ELC10Error):
    """A ``POINT_ID`` occurs more than once."""


class CoordinateError(ELC10Error):
    """``POINT_ID`` values that do not decode to a plausible point in Europe."""


# --------------------------------------------------------------------------- coordinates


def point_id_to_laea(point_id: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decode LUCAS ``POINT_ID`` grid codes into ETRS89-LAEA (EPSG:3035) metres.

    ``POINT_ID = XXXXYYYY`` with x = XXXX km and y = YYYY km (the LUCAS 2 km grid).

    Raises:
        CoordinateError: non-integer or negative IDs.
    """
    ids = np.asarray(point_id)
    if ids.dtype.kind not in "iu":
        as_float = pd.to_numeric(pd.Series(ids.ravel()), errors="coerce").to_numpy()
        bad = ~np.isfinite(as_float) | (as_float != np.round(as_float))
        if bad.any():
            raise CoordinateError(
                f"POINT_ID values that are not integers: {ids.ravel()[bad][:5].tolist()}"
            )
        ids = as_float.astype(np.int64).reshape(ids.shape)
    if (ids < 0).any():
        raise CoordinateError(f"Negative POINT_ID values: {ids[ids < 0][:5].tolist()}")
    ids = ids.astype(np.int64)
    return (ids // 10000).astype(np.float64) * 1000.0, (ids % 10000).astype(np.float64) * 1000.0


def laea_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transform EPSG:3035 metres to lon/lat degrees (EPSG:4326)."""
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
    lon, lat = t.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def lonlat_to_laea(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transform lon/lat degrees (EPSG:4326) to EPSG:3035 metres."""
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)
    x, y = t.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def plausible_lonlat(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Return a mask of finite coordinates inside :data:`EUROPE_LON` × :data:`EUROPE_LAT`."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    ok &= (lon >= EUROPE_LON[0]) & (lon <= EUROPE_LON[1])
    ok &= (lat >= EUROPE_LAT[0]) & (lat <= EUROPE_LAT[1])
    return np.asarray(ok)


# --------------------------------------------------------------------------- reading


def _read_csv(path: PathLike, nrows: int | None) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"ELC10 table {p} does not exist")
    df = pd.read_csv(p, nrows=nrows, low_memory=False)
    df.attrs["path"] = str(p)
    return df


def check_columns(df: pd.DataFrame, required: Sequence[str], name: str) -> None:
    """Raise :class:`MissingColumnsError` naming the table and every missing column."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise MissingColumnsError(
            f"{name} lacks column(s) {missing}; it has {list(df.columns)[:40]}"
        )


def check_numeric(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise :class:`ELC10Error` if a feature column holds non-numeric values."""
    for c in columns:
        if not pd.api.types.is_numeric_dtype(df[c]):
            bad = df[c][pd.to_numeric(df[c], errors="coerce").isna() & df[c].notna()]
            raise ELC10Error(f"{name}: column {c!r} is not numeric (e.g. {bad.head(3).tolist()})")


def map_classes(lc: pd.Series, lc_num: pd.Series | None, name: str) -> np.ndarray:
    """Map ELC10 class names to legend indices; exact names only.

    Raises:
        UnknownClassError: a name outside :data:`LC_TO_KEY` (with its count), or an
            ``LC_num`` that disagrees with the name.
    """
    names = lc.astype(str).str.strip()
    unknown = sorted(set(names) - set(LC_TO_KEY))
    if unknown:
        counts = {u: int((names == u).sum()) for u in unknown[:10]}
        raise UnknownClassError(
            f"{name}: column 'LC' has class name(s) outside the ELC10 legend {counts}; "
            f"expected one of {list(LC_TO_KEY)}"
        )
    if lc_num is not None:
        expect = names.map(LC_NUM)
        bad = pd.to_numeric(lc_num, errors="coerce") != expect
        if bad.any():
            ex = pd.DataFrame({"LC": names[bad], "LC_num": lc_num[bad]}).head(3)
            raise UnknownClassError(
                f"{name}: 'LC_num' disagrees with 'LC' in {int(bad.sum())} row(s), "
                f"e.g. {ex.to_dict('records')}"
            )
    key_to_index = {c.key: c.index for c in legend.CLASSES}
    return names.map(lambda n: key_to_index[LC_TO_KEY[n]]).to_numpy(np.int64)


DuplicatePolicy = Literal["error", "first", "prefer_point", "drop"]


def resolve_duplicates(
    df: pd.DataFrame, policy: DuplicatePolicy, name: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Handle repeated ``point_id`` rows.

    Policies:
        ``"error"``: raise :class:`DuplicatePointError` naming the IDs.
        ``"first"``: keep the first row of each ID.
        ``"prefer_point"``: keep the ``LUCAS_point`` row where there is one (the in-situ
            survey point), else the first; IDs whose rows disagree on the label are dropped
            entirely (the label is ambiguous).
        ``"drop"``: drop every row of a repeated ID.

    Returns:
        The deduplicated frame and counts ``{"duplicate_ids", "rows_removed",
        "conflicting_label_ids"}``.
    """
    dup_mask = df["point_id"].duplicated(keep=False)
    ids = df.loc[dup_mask, "point_id"]
    n_ids = int(ids.nunique())
    conflicting = (
        df[dup_mask].groupby("point_id")["label_index"].nunique().pipe(lambda s: s[s > 1]).index
    )
    info = {"duplicate_ids": n_ids, "rows_removed": 0, "conflicting_label_ids": len(conflicting)}
    if n_ids == 0:
        return df, info
    if policy == "error":
        raise DuplicatePointError(
            f"{name}: {n_ids} POINT_ID value(s) occur more than once, e.g. "
            f"{sorted(ids.unique())[:5]}; choose a duplicate policy"
        )
    n0 = len(df)
    if policy == "first":
        out = df[~df["point_id"].duplicated(keep="first")]
    elif policy == "drop":
        out = df[~dup_mask]
    elif policy == "prefer_point":
        rank = (df["source"] != "LUCAS_point").astype(int) if "source" in df else 0
        out = (
            df.assign(_rank=rank, _order=np.arange(len(df)))
            .sort_values(["point_id", "_rank", "_order"])
            .drop_duplicates("point_id", keep="first")
        )
        out = out[~out["point_id"].isin(conflicting)].sort_values("_order")
        out = out.drop(columns=["_rank", "_order"])
    else:
        raise ValueError(f"Unknown duplicate policy {policy!r}")
    info["rows_removed"] = n0 - len(out)
    return out.reset_index(drop=True), info


def read_elc10(
    path: PathLike,
    s1: PathLike | bool | None = True,
    nrows: int | None = None,
    duplicates: DuplicatePolicy = "prefer_point",
    bad_coords: Literal["error", "drop"] = "error",
) -> pd.DataFrame:
    """Read the ELC10 LUCAS 2018 feature table(s) into one frame in the project's legend.

    Args:
        path: the sample folder ``lucas/elc10-s2-s1-2018/`` (or the eo-sample root), or the
            Sentinel-2 CSV itself.
        s1: ``True`` joins the Sentinel-1 CSV beside the S2 file (left join on ``POINT_ID``:
            points without S1 keep NaN features, counted in the report); a path joins that
            file; ``False``/``None`` reads S2 only.
        nrows: read only the first rows of each file (tests, smoke runs).
        duplicates: policy for repeated ``POINT_ID`` (:func:`resolve_duplicates`).
        bad_coords: ``"error"`` raises :class:`CoordinateError` for IDs that do not decode
            into Europe; ``"drop"`` drops and counts them.

    Returns:
        DataFrame (see the module docstring); ``attrs["report"]`` holds the counts:
        rows read, duplicates, coordinates dropped, points without S1, class counts.

    Raises:
        FileNotFoundError: a missing file or folder.
        MissingColumnsError, UnknownClassError, DuplicatePointError, CoordinateError:
            bad input, named in the message.
    """
    s2_path = _resolve_s2(Path(path))
    df = _read_csv(s2_path, nrows)
    name = str(s2_path)
    check_columns(df, (*ID_COLUMNS, *S2_FEATURES), name)
    check_numeric(df, S2_FEATURES, name)
    report: dict[str, Any] = {"s2_file": name, "s2_rows": int(len(df))}

    out = pd.DataFrame(
        {
            "point_id": _as_int_ids(df["POINT_ID"], name),
            "label_index": map_classes(df["LC"], df["LC_num"], name),
        }
    )
    out["label"] = np.asarray(legend.KEYS)[out["label_index"].to_numpy()]
    out["source"] = df["source"].astype(str).to_numpy() if "source" in df else "unknown"
    out["votes"] = pd.to_numeric(df["votes"], errors="coerce") if "votes" in df else np.nan
    for c in S2_FEATURES:
        out[c] = df[c].astype("float32").to_numpy()
    out, dup_info = resolve_duplicates(out, duplicates, name)
    report["duplicates"] = dup_info

    out, n_bad = _add_coordinates(out, bad_coords, name)
    report["implausible_coordinates_dropped"] = n_bad

    if s1 not in (None, False):
        s1_path = s2_path.parent / S1_FILE if s1 is True else Path(s1)  # type: ignore[arg-type]
        out, s1_info = join_s1(out, s1_path, nrows)
        report["s1"] = s1_info
    report["n_points"] = int(len(out))
    report["class_counts"] = {k: int((out["label"] == k).sum()) for k in legend.KEYS}
    out.attrs["report"] = report
    return out


def _resolve_s2(p: Path) -> Path:
    if not p.exists():
        raise FileNotFoundError(f"ELC10 path {p} does not exist")
    if p.is_file():
        return p
    for cand in (p / S2_FILE, p / SAMPLE_SUBDIR / S2_FILE):
        if cand.exists():
            return cand
    raise FileNotFoundError(f"No {S2_FILE} in {p} (nor in {p / SAMPLE_SUBDIR})")


def _as_int_ids(s: pd.Series, name: str) -> np.ndarray:
    v = pd.to_numeric(s, errors="coerce")
    bad = v.isna() | (v != np.round(v)) | (v < 0)
    if bad.any():
        raise CoordinateError(
            f"{name}: column 'POINT_ID' has {int(bad.sum())} value(s) that are not "
            f"non-negative integers, e.g. {s[bad].head(5).tolist()}"
        )
    return v.to_numpy().astype(np.int64)


def _add_coordinates(df: pd.DataFrame, bad_coords: str, name: str) -> tuple[pd.DataFrame, int]:
    x, y = point_id_to_laea(df["point_id"].to_numpy())
    lon, lat = laea_to_lonlat(x, y)
    ok = plausible_lonlat(lon, lat)
    n_bad = int((~ok).sum())
    if n_bad and bad_coords == "error":
        raise CoordinateError(
            f"{name}: {n_bad} POINT_ID value(s) decode outside Europe "
            f"(lon {EUROPE_LON}, lat {EUROPE_LAT}), e.g. {df['point_id'][~ok].head(5).tolist()}"
        )
    df = df.assign(x_laea=x, y_laea=y, lon=lon, lat=lat)
    if n_bad:
        df = df[ok].reset_index(drop=True)
    return df, n_bad


def join_s1(
    df: pd.DataFrame, s1_path: PathLike, nrows: int | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Left-join the Sentinel-1 features on ``point_id``.

    Duplicate ``POINT_ID`` rows in the S1 table keep their first occurrence only when
    their features are identical; differing duplicates raise :class:`DuplicatePointError`.

    Returns:
        The joined frame and ``{"s1_file", "s1_rows", "points_without_s1"}``.
    """
    s1 = _read_csv(s1_path, nrows)
    name = str(s1_path)
    check_columns(s1, ("POINT_ID", *S1_FEATURES), name)
    check_numeric(s1, S1_FEATURES, name)
    s1 = s1[["POINT_ID", *S1_FEATURES]].copy()
    s1["point_id"] = _as_int_ids(s1.pop("POINT_ID"), name)
    dup = s1["point_id"].duplicated(keep=False)
    if dup.any():
        distinct = s1[dup].drop_duplicates()
        if distinct["point_id"].duplicated().any():
            ids = distinct.loc[distinct["point_id"].duplicated(), "point_id"].unique()
            raise DuplicatePointError(
                f"{name}: POINT_ID(s) with differing Sentinel-1 rows, e.g. {ids[:5].tolist()}"
            )
        s1 = s1.drop_duplicates("point_id")
    s1 = s1.astype({c: "float32" for c in S1_FEATURES})
    out = df.merge(s1, on="point_id", how="left", validate="many_to_one")
    out.attrs = dict(df.attrs)
    missing = int(out[S1_FEATURES[0]].isna().sum())
    return out, {"s1_file": name, "s1_rows": int(len(s1)), "points_without_s1": missing}


def s2_reflectance(df: pd.DataFrame) -> pd.DataFrame:
    """Return the nine band medians as TOA reflectance, columns named ``B02`` … ``B12``."""
    check_columns(df, S2_BANDS, "ELC10 table")
    return pd.DataFrame(
        {S2_BAND_IDS[c]: df[c].to_numpy(np.float64) / S2_REFLECTANCE_SCALE for c in S2_BANDS},
        index=df.index,
    )
