"""Classify a table of points with a shipped (or saved) continental point model.

Input: a CSV (optionally gzip) with the columns of the ELC10 Sentinel-2 table
(:data:`lulcbook.sources.elc10.S2_FEATURES`, ``POINT_ID``), optionally a Sentinel-1 table
joined on ``POINT_ID``. Coordinates (for the WorldClim climate lookup) come from ``lon`` /
``lat`` columns when present, else from ``POINT_ID`` read as a LUCAS grid code
(ETRS89-LAEA km). No class column is needed.

Output: one row per point, ``POINT_ID``, ``class`` (legend key), ``p_<key>`` for each of
the eight classes, and ``uncertainty`` = normalised predictive entropy in [0, 1]
(0: all probability on one class, 1: uniform).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lulcbook import features, legend
from lulcbook.io import atomic_path
from lulcbook.models.points import PointClassifier, PointEnsemble, load_point_model
from lulcbook.sources import elc10, worldclim

PathLike = str | os.PathLike[str]
DEFAULT_MODEL: str = "lucas-points"
WORLDCLIM_SUBDIR: str = "worldclim/wc21_10m_bio_europe"


class PointTableError(ValueError):
    """A point table that cannot be classified (named file and column in the message)."""


def read_point_table(path: PathLike, s1: PathLike | None = None) -> pd.DataFrame:
    """Read a point table (and join an S1 table) with coordinates in ``lon``/``lat``.

    Raises:
        FileNotFoundError: a missing file.
        PointTableError: no ``POINT_ID``, unparseable or duplicated IDs, non-numeric
            features, coordinates outside Europe.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"point table {p} does not exist")
    try:
        df = pd.read_csv(p, low_memory=False)
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as err:
        raise PointTableError(f"{p}: not a readable CSV table ({err})") from None
    if "POINT_ID" not in df.columns:
        raise PointTableError(f"{p}: no column 'POINT_ID'; columns are {list(df.columns)[:20]}")
    ids = pd.to_numeric(df["POINT_ID"], errors="coerce")
    bad = ids.isna() | (ids != np.round(ids)) | (ids < 0)
    if bad.any():
        raise PointTableError(
            f"{p}: column 'POINT_ID' has {int(bad.sum())} value(s) that are not non-negative "
            f"integers, e.g. {df['POINT_ID'][bad].head(3).tolist()}"
        )
    df["point_id"] = ids.astype(np.int64)
    dup = df["point_id"].duplicated()
    if dup.any():
        raise PointTableError(
            f"{p}: column 'POINT_ID' repeats {int(dup.sum())} value(s), e.g. "
            f"{df['point_id'][dup].head(3).tolist()}"
        )
    df.attrs["path"] = str(p)
    if s1 is not None:
        try:
            df, _ = elc10.join_s1(df, s1)
        except elc10.ELC10Error as err:
            raise PointTableError(str(err)) from None
        df.attrs["path"] = str(p)
    _coordinates(df, p)
    return df


def _coordinates(df: pd.DataFrame, p: Path) -> None:
    cols = {c.lower(): c for c in df.columns}
    if "lon" in cols and "lat" in cols:
        lon = pd.to_numeric(df[cols["lon"]], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(df[cols["lat"]], errors="coerce").to_numpy(float)
        where = "columns 'lon'/'lat'"
    else:
        lon, lat = elc10.laea_to_lonlat(*elc10.point_id_to_laea(df["point_id"].to_numpy()))
        where = "column 'POINT_ID' (LUCAS grid code, EPSG:3035 km)"
    ok = elc10.plausible_lonlat(lon, lat)
    if not ok.all():
        raise PointTableError(
            f"{p}: {int((~ok).sum())} point(s) with coordinates from {where} outside Europe "
            f"(lon {elc10.EUROPE_LON}, lat {elc10.EUROPE_LAT}), e.g. POINT_ID "
            f"{df['point_id'][~ok].head(3).tolist()}"
        )
    df["lon"], df["lat"] = lon, lat


def resolve_model(name_or_path: PathLike | None) -> tuple[Path, dict[str, Any]]:
    """A shipped model name or a weights path → ``(weights, metadata)``.

    Raises:
        FileNotFoundError: a path that does not exist. KeyError: an unknown model name.
    """
    from lulcbook import zoo

    target = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
    p = Path(target)
    if p.suffix == ".pt" or p.exists():
        if not p.is_file():
            raise FileNotFoundError(f"--model {p} does not exist")
        meta_file = p.with_suffix(".json")
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        return p, meta
    info = zoo.get(target)
    return info.weights, dict(info.metadata)


def feature_set_of(model: PointClassifier | PointEnsemble, meta: dict[str, Any]) -> str:
    """The feature set a model was trained on (metadata, else matched by feature names).

    Raises:
        ValueError: a model whose features match no known feature set.
    """
    if meta.get("feature_set") in features.FEATURE_SETS:
        return str(meta["feature_set"])
    names = model.feature_names
    for fs in features.FEATURE_SETS:
        if names == features.feature_names(fs):
            return fs
    raise ValueError(f"model features {names} match no feature set of lulcbook.features")


def normalised_entropy(proba: np.ndarray) -> np.ndarray:
    """Predictive entropy divided by log(n_classes), in [0, 1]."""
    p = np.clip(proba.astype(np.float64), 1e-12, 1.0)
    return np.asarray(-(p * np.log(p)).sum(1) / np.log(proba.shape[1]))


def classify_table(
    df: pd.DataFrame,
    model: PointClassifier | PointEnsemble,
    feature_set: str,
    climate_dir: PathLike | None = None,
    fill_km: float = 25.0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Classify the rows of a table read by :func:`read_point_table`.

    Returns:
        ``(predictions, info)``; info counts points and climate lookups.

    Raises:
        PointTableError: missing feature columns (named, with a hint for S1).
    """
    path = df.attrs.get("path", "point table")
    need = [
        c for c in features.feature_names(feature_set) if c in elc10.S2_FEATURES + elc10.S1_FEATURES
    ]
    missing = [c for c in need if c not in df.columns]
    if missing:
        hint = (
            " (Sentinel-1 columns: pass --s1 TABLE, or --model lucas-points-s2 for Sentinel-2 only)"
            if any(c in elc10.S1_FEATURES for c in missing)
            else ""
        )
        raise PointTableError(f"{path}: missing column(s) {missing}{hint}")
    try:
        x = features.point_features(df, feature_set).to_numpy(np.float32)
    except (ValueError, TypeError) as err:
        raise PointTableError(f"{path}: {err}") from None
    info: dict[str, Any] = {"n_points": len(df)}
    climate = None
    if model.uses_climate:
        climate, info["climate"] = lookup_climate(df, climate_dir, fill_km)
    proba = model.predict_proba(x, climate)
    out = pd.DataFrame({"POINT_ID": df["point_id"].to_numpy()})
    out["class"] = np.asarray(legend.KEYS)[proba.argmax(1)]
    for i, k in enumerate(legend.KEYS):
        out[f"p_{k}"] = np.round(proba[:, i], 5)
    out["uncertainty"] = np.round(normalised_entropy(proba), 5)
    return out, info


def lookup_climate(
    df: pd.DataFrame, climate_dir: PathLike | None, fill_km: float = 25.0
) -> tuple[np.ndarray, dict[str, Any]]:
    """WorldClim 2.1 BIO1–19 at the table's lon/lat (default: the offline sample's)."""
    from lulcbook import config

    folder = Path(climate_dir) if climate_dir else config.sample_dir() / WORLDCLIM_SUBDIR
    if not folder.exists():
        raise FileNotFoundError(
            f"WorldClim folder {folder} does not exist; pass --climate DIR "
            "(WorldClim 2.1 wc2.1_*_bio_1..19.tif) or set LULCBOOK_SAMPLE"
        )
    bio = worldclim.read_bioclim(folder)
    clim, info = worldclim.sample_climate(
        bio, df["lon"].to_numpy(float), df["lat"].to_numpy(float), fill_km
    )
    return clim.values.astype(np.float32), info


def classify_points(
    table: PathLike,
    out: PathLike,
    s1: PathLike | None = None,
    model: PathLike | None = None,
    climate_dir: PathLike | None = None,
) -> dict[str, Any]:
    """Read ``table`` (+ ``s1``), classify every point, write ``out`` (CSV) atomically.

    Returns:
        A summary: points, model, class counts, mean uncertainty, climate lookup counts.
    """
    weights, meta = resolve_model(model)
    clf = load_point_model(weights)
    df = read_point_table(table, s1)
    pred, info = classify_table(df, clf, feature_set_of(clf, meta), climate_dir)
    out = Path(out)
    with atomic_path(out, suffix=".csv") as tmp:
        pred.to_csv(tmp, index=False)
    counts = pred["class"].value_counts()
    return {
        **info,
        "model": str(weights),
        "out": str(out),
        "class_counts": {k: int(counts.get(k, 0)) for k in legend.KEYS},
        "mean_uncertainty": float(pred["uncertainty"].mean()) if len(pred) else float("nan"),
    }
