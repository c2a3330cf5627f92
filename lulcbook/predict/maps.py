"""Reading written maps back and comparing them: with reference polygons, between dates."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import rasterio

from lulcbook import legend
from lulcbook.cog import confidence_path, uncertainty_path
from lulcbook.predict.encoding import decode

PathLike = str | os.PathLike[str]


def read_map(path: PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a map back as ``(class uint8, confidence float32, uncertainty float32)``.

    ``path`` is the class COG; confidence and uncertainty come from its ``_confidence`` and
    ``_uncertainty`` companions. Class nodata stays 255; confidence and uncertainty are NaN
    where they have no data. A map written with a minimum confidence
    (:func:`~lulcbook.predict.encoding.blank_unconfident`) has no class but a confidence and
    an uncertainty at the pixels below it.
    """
    with rasterio.open(path) as src:
        cls = src.read(1)
    with rasterio.open(confidence_path(path)) as src:
        conf_dn = src.read(1)
    with rasterio.open(uncertainty_path(path)) as src:
        unc = src.read(1)
    cls, conf = decode(np.stack([cls, conf_dn]))
    return cls, conf, np.where(np.isnan(conf), np.nan, unc).astype(np.float32)


def open_map(path: PathLike) -> Any:
    """Open a map as an ``xarray.Dataset`` of ``class``, ``confidence`` and ``uncertainty``.

    ``class`` is uint8 (255 = nodata), ``confidence`` and ``uncertainty`` float32 (NaN = nodata),
    on the map's ``y``/``x`` coordinates with its CRS.

    Args:
        path: the class COG (its companions are read too).

    Returns:
        The dataset.
    """
    import xarray as xr

    cls, conf, unc = read_map(path)
    with rasterio.open(path) as src:
        t, crs = src.transform, src.crs
    xs = t.c + t.a * (np.arange(cls.shape[1]) + 0.5)
    ys = t.f + t.e * (np.arange(cls.shape[0]) + 0.5)
    ds = xr.Dataset(
        {"class": (("y", "x"), cls), "confidence": (("y", "x"), conf),
         "uncertainty": (("y", "x"), unc)},
        coords={"y": ys, "x": xs},
        attrs={"source": str(path)},
    )  # fmt: skip
    return ds.rio.write_crs(crs).rio.write_transform(t)


def agreement_with_polygons(
    map_path: PathLike, polygons: Any, label_column: str = "label_index"
) -> dict[str, Any]:
    """Compare a map with reference polygons (pixels inside them, on the map's grid).

    Args:
        map_path: a map COG written by :func:`~lulcbook.predict.predict_scene`.
        polygons: a GeoDataFrame with a CRS and a legend index per polygon in ``label_column``.
        label_column: the column holding the reference legend index.

    Returns:
        ``n_pixels`` (reference pixels with a mapped class), ``nodata_pixels``, ``oa`` (share of
        reference pixels mapped as their class), ``per_class`` (per reference class: pixels,
        ``recall`` and the share mapped as each legend class), ``polygon_oa`` (share of polygons
        whose majority mapped class is their class), and the mean ``uncertainty`` of correctly and
        wrongly mapped reference pixels.

    Raises:
        ValueError: if the polygons have no CRS or lack ``label_column``.
    """
    from rasterio.features import rasterize

    if polygons.crs is None:
        raise ValueError("The reference polygons have no CRS")
    if label_column not in polygons.columns:
        raise ValueError(
            f"Reference polygons lack column {label_column!r}: {list(polygons.columns)}"
        )
    cls, _, unc = read_map(map_path)
    with rasterio.open(map_path) as src:
        shapes = polygons.to_crs(src.crs)
        transform, shape = src.transform, (src.height, src.width)
    ids = rasterize(
        ((g, i + 1) for i, g in enumerate(shapes.geometry)),
        out_shape=shape,
        transform=transform,
        fill=0,
        dtype="int32",
    )
    inside = ids > 0
    ref = np.full(shape, -1, dtype=np.int64)
    ref[inside] = shapes[label_column].to_numpy()[ids[inside] - 1]
    mapped = inside & (cls != legend.NODATA)
    correct = mapped & (cls == ref)
    per_class = {}
    for k in np.unique(ref[mapped]):
        sel = mapped & (ref == k)
        shares = np.bincount(cls[sel], minlength=legend.N_CLASSES)[: legend.N_CLASSES] / sel.sum()
        per_class[legend.KEYS[k]] = {
            "n_pixels": int(sel.sum()),
            "recall": float(shares[k]),
            "mapped_as": {legend.KEYS[j]: float(v) for j, v in enumerate(shares) if v > 0},
        }
    majority = []
    for i in range(len(shapes)):
        sel = mapped & (ids == i + 1)
        if sel.any():
            majority.append(np.bincount(cls[sel]).argmax() == ref[sel][0])
    return {
        "n_pixels": int(mapped.sum()),
        "nodata_pixels": int((inside & ~mapped).sum()),
        "oa": float(correct.sum() / max(mapped.sum(), 1)),
        "per_class": per_class,
        "n_polygons": len(majority),
        "polygon_oa": float(np.mean(majority)) if majority else float("nan"),
        "uncertainty_correct": float(np.nanmean(unc[correct])) if correct.any() else float("nan"),
        "uncertainty_wrong": float(np.nanmean(unc[mapped & ~correct]))
        if (mapped & ~correct).any()
        else float("nan"),
    }


def transition_matrix(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Pixel counts ``(N_CLASSES, N_CLASSES)`` of class ``before`` → ``after`` (both maps valid).

    Raises:
        ValueError: if the maps are not on the same grid (different shapes).
    """
    if before.shape != after.shape:
        raise ValueError(f"Maps differ in shape {before.shape} vs {after.shape}; align them first")
    ok = (before != legend.NODATA) & (after != legend.NODATA)
    n = legend.N_CLASSES
    flat = before[ok].astype(np.int64) * n + after[ok].astype(np.int64)
    return np.bincount(flat, minlength=n * n).reshape(n, n)


__all__ = ["agreement_with_polygons", "open_map", "read_map", "transition_matrix"]
