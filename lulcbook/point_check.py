"""A written map against labelled reference points: accuracy with intervals, per class.

The check a user runs on their own reference (``lulcbook assess MAP.tif POINTS``): every
point is located in the map's grid, points outside the map or on a pixel without a class
(masked, or below the map's minimum confidence) are counted and left out, and the class
mapped at each remaining point is compared with its label. Overall accuracy and every
per-class recall (producer's accuracy) and precision (user's accuracy) come with 95 %
intervals: Wilson intervals, which treat the points as independent draws, or, given a column
that groups the points (a field, a survey cluster, a tile), a bootstrap that resamples those
groups whole (:func:`lulcbook.bootstrap.resample`), since points of one group share their errors.

Labels are legend keys, names or indices (``legend``), LUCAS LC1 codes (``lucas``, e.g.
``C21``) or CORINE level-3 codes (``corine``, e.g. ``311``), mapped to the legend as
:mod:`lulcbook.legend` maps them everywhere in the project.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio

from lulcbook import evaluate, legend
from lulcbook.bootstrap import resample
from lulcbook.mapcheck import wilson_interval
from lulcbook.predict.encoding import class_values

PathLike = str | os.PathLike[str]


def _legend_key(value: Any) -> str:
    """A legend key from a key, a class name or an index (as a model's classes are read)."""
    text = str(value).strip()
    return legend.KEYS[int(class_values([int(text) if text.isdigit() else text])[0])]


SCHEMES: dict[str, Callable[[Any], str]] = {
    "legend": _legend_key,
    "lucas": legend.lc1_to_key,
    "corine": legend.corine_to_key,
}
"""Label schemes of the reference points and how a label becomes a legend key."""


def read_points(
    path: PathLike,
    label_column: str,
    scheme: str = "legend",
    lon_column: str = "lon",
    lat_column: str = "lat",
) -> Any:
    """Read labelled reference points as a GeoDataFrame with a legend ``label_index``.

    Args:
        path: a vector file with point geometries and a CRS (GeoPackage, GeoJSON,
            shapefile), or a CSV with longitude/latitude columns (WGS84).
        label_column: the column holding each point's label.
        scheme: how labels are written (:data:`SCHEMES`).
        lon_column: the longitude column of a CSV.
        lat_column: the latitude column of a CSV.

    Returns:
        The points (duplicates, same place and label, kept once), with ``label_index``;
        ``attrs["n_duplicates"]`` counts the dropped copies.

    Raises:
        FileNotFoundError: a missing file.
        ValueError: an unknown scheme, a missing column (the columns present are named), no
            CRS, geometries that are not points, labels the scheme does not know (the first
            ones and their number are named), or no points.
    """
    import geopandas as gpd

    path = Path(path)
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown label scheme {scheme!r}; expected one of {sorted(SCHEMES)}")
    if not path.is_file():
        raise FileNotFoundError(f"Reference points {path} do not exist")
    if path.suffix.lower() in (".csv", ".gz"):
        table = pd.read_csv(path)
        missing = [c for c in (lon_column, lat_column, label_column) if c not in table.columns]
        if missing:
            raise ValueError(f"{path} lacks column(s) {missing}; it has {list(table.columns)}")
        geometry = gpd.points_from_xy(table[lon_column], table[lat_column])
        points = gpd.GeoDataFrame(table, geometry=geometry, crs="EPSG:4326")
    else:
        points = gpd.read_file(path)
        if label_column not in points.columns:
            raise ValueError(f"{path} lacks column {label_column!r}; it has {list(points.columns)}")
        if points.crs is None:
            raise ValueError(f"{path} has no CRS; the points cannot be placed on the map")
        kinds = sorted(set(points.geom_type.dropna()) - {"Point"})
        if kinds:
            raise ValueError(f"{path} holds {kinds} geometries; expected points")
    if points.empty:
        raise ValueError(f"{path} holds no points")
    to_key = SCHEMES[scheme]
    keys: list[str] = []
    bad: list[Any] = []
    for value in points[label_column]:
        try:
            keys.append(to_key(value))
        except (ValueError, TypeError):
            bad.append(value)
    if bad:
        shown = ", ".join(repr(v) for v in list(dict.fromkeys(map(str, bad)))[:5])
        raise ValueError(
            f"{len(bad)} label(s) in column {label_column!r} of {path} are not {scheme} "
            f"labels, e.g. {shown}"
        )
    points = points.assign(label_index=[legend.index_of(k) for k in keys])
    place = points.geometry.apply(lambda g: (round(g.x, 9), round(g.y, 9)))
    dup = pd.DataFrame({"p": place, "l": points["label_index"]}).duplicated()
    points = points.loc[~dup.to_numpy()].reset_index(drop=True)
    points.attrs["n_duplicates"] = int(dup.sum())
    return points


def mapped_at(map_path: PathLike, points: Any) -> tuple[np.ndarray, np.ndarray]:
    """The class a map gives each point, and which points lie outside it.

    Args:
        map_path: the class COG of a map (``lulcbook predict`` or ``produce``).
        points: a GeoDataFrame with a CRS.

    Returns:
        ``(classes uint8, outside bool)``; a point outside the map gets
        :data:`lulcbook.legend.NODATA`.
    """
    with rasterio.open(map_path) as src:
        xy = points.to_crs(src.crs).geometry
        rows, cols = rasterio.transform.rowcol(src.transform, xy.x.to_numpy(), xy.y.to_numpy())
        rows, cols = np.asarray(rows), np.asarray(cols)
        outside = (rows < 0) | (cols < 0) | (rows >= src.height) | (cols >= src.width)
        classes = np.full(len(rows), legend.NODATA, dtype=np.uint8)
        inside = np.flatnonzero(~outside)
        if inside.size:  # only the points' pixels are read, not the whole (continental) map
            x, y = xy.x.to_numpy()[inside], xy.y.to_numpy()[inside]
            classes[inside] = [v[0] for v in src.sample(zip(x, y, strict=True), indexes=1)]
    return classes, outside


def _share(
    hit: np.ndarray, among: np.ndarray, groups: np.ndarray | None, n_boot: int, seed: int
) -> dict[str, Any]:
    """The share of ``among`` that ``hit``, with its 95 % interval (Wilson, or by group)."""
    k, n = int((hit & among).sum()), int(among.sum())
    if groups is None:
        lo, hi = wilson_interval(k, n)
    elif n == 0:
        lo, hi = float("nan"), float("nan")
    else:

        def stat(idx: np.ndarray, _rng: np.random.Generator | None) -> float:
            m = int(among[idx].sum())
            return float((hit[idx] & among[idx]).sum() / m) if m else float("nan")

        lo, hi = resample(stat, len(hit), clusters=groups, n_boot=n_boot, seed=seed).ci95
    return {"estimate": k / n if n else float("nan"), "ci95": [lo, hi], "n": n}


def assess(
    map_path: PathLike,
    points: Any,
    cluster_column: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Compare a map with labelled points (:func:`read_points`).

    Args:
        map_path: the map's class COG.
        points: the reference points.
        cluster_column: a column grouping the points (e.g. a field or survey cluster id); the
            intervals then come from a bootstrap that resamples the groups whole. ``None``:
            Wilson intervals (points independent).
        n_boot: bootstrap resamples (with ``cluster_column``).
        seed: seed of the bootstrap.

    Returns:
        JSON-able: ``map``; ``n_points``, ``n_duplicates``, ``n_outside``, ``n_no_class``
        (inside, but the pixel has no class) and ``n_assessed``; ``interval`` (how the
        intervals were made, with ``n_clusters``); ``overall_accuracy`` and, per reference
        class present, ``recall`` and, per mapped class, ``precision`` (each ``estimate``,
        ``ci95`` and ``n``); ``macro_f1`` over the reference classes; ``confusion``
        (reference key → mapped key → points).

    Raises:
        ValueError: no point with a mapped class (the counts are named), or a
            ``cluster_column`` the points lack.
    """
    if cluster_column is not None and cluster_column not in points.columns:
        raise ValueError(
            f"the points lack the cluster column {cluster_column!r}; they have "
            f"{[c for c in points.columns if c != 'geometry']}"
        )
    mapped, outside = mapped_at(map_path, points)
    ref = points["label_index"].to_numpy().astype(int)
    ok = ~outside & (mapped != legend.NODATA)
    n = int(ok.sum())
    if n == 0:
        raise ValueError(
            f"no reference point has a mapped class in {map_path}: {int(outside.sum())} of "
            f"{len(ref)} outside the map, the rest on pixels without a class"
        )
    r, m = ref[ok], mapped[ok].astype(int)
    groups = None
    if cluster_column is not None:
        groups = pd.factorize(points[cluster_column].astype(str).to_numpy()[ok])[0]
    right, every = r == m, np.ones(n, dtype=bool)

    def share(hit: np.ndarray, among: np.ndarray) -> dict[str, Any]:
        return _share(hit, among, groups, n_boot, seed)

    recall = {legend.KEYS[k]: share(right, r == k) for k in np.unique(r)}
    precision = {legend.KEYS[k]: share(right, m == k) for k in np.unique(m)}
    counts = evaluate.confusion(r, m, range(legend.N_CLASSES))
    confusion = {
        legend.KEYS[k]: {legend.KEYS[j]: int(v) for j, v in enumerate(counts[k]) if v}
        for k in np.unique(r)
    }
    return {
        "map": str(map_path),
        "n_points": int(len(ref)),
        "n_duplicates": int(points.attrs.get("n_duplicates", 0)),
        "n_outside": int(outside.sum()),
        "n_no_class": int((~outside & (mapped == legend.NODATA)).sum()),
        "n_assessed": n,
        "interval": {
            "method": "Wilson (points independent)"
            if groups is None
            else f"bootstrap of the {cluster_column} groups ({n_boot} resamples)",
            "n_clusters": None if groups is None else int(groups.max() + 1),
        },
        "overall_accuracy": share(right, every),
        "recall": recall,
        "precision": precision,
        "macro_f1": evaluate.macro_f1(r, m),  # over the reference classes
        "confusion": confusion,
    }


def summary(report: Mapping[str, Any]) -> str:
    """The report in a few lines: counts, overall accuracy and the recall of each class."""
    oa = report["overall_accuracy"]
    lines = [
        f"{report['n_assessed']} of {report['n_points']} points assessed "
        f"({report['n_outside']} outside the map, {report['n_no_class']} on pixels without a "
        f"class, {report['n_duplicates']} duplicates dropped); 95 % intervals: "
        f"{report['interval']['method']}",
        f"overall accuracy {oa['estimate']:.3f} [{oa['ci95'][0]:.3f}, {oa['ci95'][1]:.3f}], "
        f"macro-F1 {report['macro_f1']:.3f}",
    ]
    for key, rec in report["recall"].items():
        lo, hi = rec["ci95"]
        lines.append(f"  {key}: recall {rec['estimate']:.3f} [{lo:.3f}, {hi:.3f}] of {rec['n']}")
    return "\n".join(lines)


__all__ = ["SCHEMES", "assess", "mapped_at", "read_points", "summary"]
