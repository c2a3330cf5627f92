"""Checks of land-cover maps against independent references.

* :func:`polygon_recall`: per reference class, the share of reference-polygon pixels mapped
  as that class, with a 95 % interval from a bootstrap over *polygons* (pixels of one
  polygon are not independent), and the pixels masked (cloud, shadow, no data) counted;
* :func:`patch_agreement`: patch-level agreement with multi-label references (BigEarthNet's
  CORINE labels mapped into the legend by :func:`lulcbook.legend.corine_name_to_key`): a
  patch agrees when its majority mapped class is among its reference classes; Wilson 95 %
  interval over patches; also the mean share of a patch's pixels mapped into its classes;
* :func:`change_share`: the share of pixels valid on two dates whose class differs;
* :func:`classes_from_proba` and :func:`class_shares`: probability stacks → class maps →
  class shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lulcbook import legend
from lulcbook.temporal import changed_pixels

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr


def classes_from_proba(proba: np.ndarray) -> np.ndarray:
    """Class map ``(y, x)`` uint8 from ``(n_classes, y, x)`` probabilities (NaN → NODATA)."""
    proba = np.asarray(proba)
    valid = np.isfinite(proba).all(axis=0)
    cls = np.nan_to_num(proba, nan=-1.0).argmax(axis=0).astype(np.uint8)
    cls[~valid] = legend.NODATA
    result: np.ndarray = cls
    return result


def class_shares(cls: np.ndarray) -> dict[str, float]:
    """Share of each legend class among the valid pixels of a class map (and ``nodata``)."""
    cls = np.asarray(cls)
    valid = cls != legend.NODATA
    n = max(int(valid.sum()), 1)
    counts = legend.class_counts(cls)
    out = {k: float(counts[i] / n) for i, k in enumerate(legend.KEYS)}
    out["nodata"] = float((~valid).sum() / max(cls.size, 1))
    return out


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (NaN for ``n = 0``)."""
    if n <= 0:
        return (float("nan"), float("nan"))
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def rasterize_polygons(
    polygons: gpd.GeoDataFrame, like: xr.DataArray, label_column: str = "label_index"
) -> tuple[np.ndarray, np.ndarray]:
    """Burn reference polygons onto the grid of ``like`` (a DataArray with a CRS).

    Returns:
        ``(polygon number (y, x), 1-based, 0 outside; legend index of each polygon)``.

    Raises:
        ValueError: polygons or grid without a CRS, or a missing label column.
    """
    from rasterio.features import rasterize

    if polygons.crs is None or like.rio.crs is None:
        raise ValueError("reference polygons and the grid both need a CRS")
    if label_column not in polygons.columns:
        raise ValueError(f"reference polygons lack column {label_column!r}")
    shapes = polygons.to_crs(like.rio.crs)
    ids = rasterize(
        ((g, i + 1) for i, g in enumerate(shapes.geometry)),
        out_shape=like.shape[-2:],
        transform=like.rio.transform(),
        fill=0,
        dtype="int32",
    )
    return ids, shapes[label_column].to_numpy(np.int64)


def polygon_recall(
    cls: np.ndarray,
    polygon_ids: np.ndarray,
    polygon_labels: Sequence[int],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Recall per reference class inside reference polygons, bootstrapped over polygons.

    Args:
        cls: ``(y, x)`` class map (legend indices, :data:`lulcbook.legend.NODATA` = masked).
        polygon_ids: ``(y, x)`` 1-based polygon number of each pixel (0 = outside).
        polygon_labels: legend index of polygon ``i + 1`` at position ``i``.
        n_boot: bootstrap resamples of polygons (within each class).
        seed: bootstrap seed.

    Returns:
        Per class key: ``recall`` (pixel share), ``ci95``, ``n_polygons`` (with mapped pixels),
        ``n_pixels`` (mapped), ``masked_pixels``, ``mapped_as`` (share per legend class); and
        ``overall`` (pixel share correct over all classes) with its interval.

    Raises:
        ValueError: mismatched shapes or polygon numbers without a label.
    """
    cls = np.asarray(cls)
    ids = np.asarray(polygon_ids)
    labels = np.asarray(polygon_labels, dtype=np.int64)
    if cls.shape != ids.shape:
        raise ValueError(f"class map {cls.shape} and polygon raster {ids.shape} differ in shape")
    if ids.max(initial=0) > len(labels):
        raise ValueError(f"polygon number {ids.max()} has no label ({len(labels)} labels)")
    n_poly = len(labels)
    inside = ids > 0
    flat_ids = ids[inside] - 1
    flat_cls = cls[inside]
    mapped = flat_cls != legend.NODATA
    n_px = np.bincount(flat_ids[mapped], minlength=n_poly).astype(np.float64)
    n_masked = np.bincount(flat_ids[~mapped], minlength=n_poly)
    hit = np.bincount(
        flat_ids[mapped], weights=(flat_cls[mapped] == labels[flat_ids[mapped]]), minlength=n_poly
    )
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"per_class": {}}
    for k in np.unique(labels):
        members = np.flatnonzero((labels == k) & (n_px > 0))
        key = legend.KEYS[int(k)]
        sel = mapped & (labels[flat_ids] == k)
        shares = np.bincount(flat_cls[sel], minlength=legend.N_CLASSES)[: legend.N_CLASSES]
        if members.size == 0:
            out["per_class"][key] = {
                "recall": float("nan"), "ci95": [float("nan")] * 2, "n_polygons": 0,
                "n_pixels": 0, "masked_pixels": int(n_masked[labels == k].sum()), "mapped_as": {},
            }  # fmt: skip
            continue
        recall = float(hit[members].sum() / n_px[members].sum())
        draws = rng.choice(members, size=(n_boot, members.size), replace=True)
        boot = hit[draws].sum(1) / n_px[draws].sum(1)
        out["per_class"][key] = {
            "recall": recall,
            "ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
            "n_polygons": int(members.size),
            "n_pixels": int(n_px[members].sum()),
            "masked_pixels": int(n_masked[labels == k].sum()),
            "mapped_as": {
                legend.KEYS[j]: float(v / shares.sum()) for j, v in enumerate(shares) if v > 0
            },
        }
    used = np.flatnonzero(n_px > 0)
    if used.size:
        draws = rng.choice(used, size=(n_boot, used.size), replace=True)
        boot = hit[draws].sum(1) / n_px[draws].sum(1)
        out["overall"] = {
            "accuracy": float(hit[used].sum() / n_px[used].sum()),
            "ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
        }
    out["masked_pixels"] = int(n_masked.sum())
    out["reference_pixels"] = int(inside.sum())
    return out


def patch_agreement(
    cls_maps: Sequence[np.ndarray], label_sets: Sequence[Sequence[str]]
) -> dict[str, Any]:
    """Patch-level agreement of class maps with multi-label references.

    Args:
        cls_maps: one class map per patch.
        label_sets: the reference legend keys of each patch.

    Returns:
        ``majority_agreement`` (share of patches whose majority mapped class is a reference
        class) with its Wilson ``ci95``, ``pixel_share`` (mean share of a patch's valid
        pixels mapped into its reference classes) with a bootstrap ``pixel_share_ci95`` over
        patches, ``n_patches`` and per patch the majority class and its reference classes.

    Raises:
        ValueError: different numbers of maps and label sets.
    """
    if len(cls_maps) != len(label_sets):
        raise ValueError(f"{len(cls_maps)} maps but {len(label_sets)} label sets")
    majority_ok: list[bool] = []
    shares: list[float] = []
    patches: list[dict[str, Any]] = []
    for cls, keys in zip(cls_maps, label_sets, strict=True):
        cls = np.asarray(cls)
        valid = cls[cls != legend.NODATA]
        ref = {legend.index_of(k) for k in keys}
        if valid.size == 0:
            patches.append({"majority": None, "reference": sorted(keys)})
            continue
        counts = np.bincount(valid.ravel(), minlength=legend.N_CLASSES)
        maj = int(counts.argmax())
        majority_ok.append(maj in ref)
        shares.append(float(sum(counts[i] for i in ref) / valid.size))
        patches.append({"majority": legend.KEYS[maj], "reference": sorted(keys)})
    k, n = int(np.sum(majority_ok)), len(majority_ok)
    rng = np.random.default_rng(0)
    s = np.asarray(shares)
    boot = s[rng.integers(0, n, size=(1000, n))].mean(1) if n else np.array([np.nan])
    return {
        "majority_agreement": k / n if n else float("nan"),
        "ci95": list(wilson_interval(k, n)),
        "pixel_share": float(s.mean()) if n else float("nan"),
        "pixel_share_ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
        "n_patches": n,
        "patches": patches,
    }


def change_share(before: np.ndarray, after: np.ndarray) -> dict[str, float]:
    """Share of pixels valid on both class maps whose class differs (no interval).

    :func:`lulcbook.temporal.change_share` adds a block-bootstrap interval.

    Raises:
        ValueError: maps of different shapes.
    """
    valid, changed = changed_pixels(before, after)
    n = int(valid.sum())
    return {
        "changed_share": int(changed.sum()) / n if n else float("nan"),
        "n_valid_both": n,
        "valid_share_both": n / max(valid.size, 1),
    }


def bin_extremes(
    bins: Mapping[str, Any] | None,
) -> tuple[str, Mapping[str, Any], Mapping[str, Any]] | None:
    """``(fraction word, lowest bin, highest bin)`` of a result binned by quantile.

    ``bins`` holds ``"q1"``, ``"q2"``, ... in order (e.g. the change per quarter of a covariate);
    other keys are ignored. The word names the share of pixels in a bin (``"quarter"`` for four
    bins). ``None`` when there is no bin.
    """
    keys = [k for k in (bins or {}) if k.startswith("q")]
    if not bins or not keys:
        return None
    part = {2: "half", 3: "third", 4: "quarter", 5: "fifth"}.get(len(keys), f"1/{len(keys)}")
    return part, bins[keys[0]], bins[keys[-1]]


__all__ = [
    "bin_extremes",
    "change_share",
    "class_shares",
    "classes_from_proba",
    "patch_agreement",
    "polygon_recall",
    "rasterize_polygons",
    "wilson_interval",
]
