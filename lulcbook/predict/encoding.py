"""Class probabilities → the map bands: legend class, confidence and normalised entropy."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lulcbook import legend
from lulcbook.cog import CONFIDENCE_SCALE, MAP_BANDS


def encode(
    proba: np.ndarray, invalid: np.ndarray, class_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Turn probabilities ``(C, y, x)`` into the map bands and the uncertainty.

    Returns:
        ``(map, uncertainty)``: ``map`` is uint8 ``(2, y, x)`` — the legend index of the most
        probable class and the confidence (maximum probability) as ``round(p /
        CONFIDENCE_SCALE)`` — with :data:`lulcbook.legend.NODATA` where ``invalid`` or the
        probabilities are not finite; ``uncertainty`` is float32 ``(y, x)``, the entropy
        divided by log C (0 = certain, 1 = uniform), NaN there.
    """
    bad = invalid | ~np.isfinite(proba).all(axis=0)
    p = np.clip(np.nan_to_num(proba.astype(np.float64), nan=0.0), 0.0, None)
    total = p.sum(axis=0, keepdims=True)
    p = np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[0]), where=total > 0)
    cls = class_values[p.argmax(axis=0)].astype(np.uint8)
    conf = np.rint(np.clip(p.max(axis=0), 0, 1) / CONFIDENCE_SCALE).astype(np.uint8)
    ent = -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=0) / math.log(max(p.shape[0], 2))
    out = np.stack([cls, conf])
    out[:, bad] = legend.NODATA
    unc = np.round(np.clip(ent, 0, 1), 4).astype(np.float32)  # 4 decimals compress well
    unc[bad] = np.nan
    return out, unc


MIN_CONFIDENCE_PROPERTY = "lulcbook:min_confidence"
"""STAC item property of a map made with a minimum confidence (:func:`blank_unconfident`)."""

UNCONFIDENT_SHARE_PROPERTY = "lulcbook:unconfident_share"
"""STAC item property: the share of the pixels with a class that the minimum confidence took."""


def decode(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The class and confidence of the map bands :func:`encode` returns (or a product holds).

    Args:
        data: uint8 ``(2, y, x)``: legend index and confidence in steps of ``CONFIDENCE_SCALE``,
            each :data:`lulcbook.legend.NODATA` where it has no value.

    Returns:
        ``(class uint8, confidence float32)``; the class keeps :data:`lulcbook.legend.NODATA`,
        the confidence is NaN where its own band has no value (where :func:`encode` found no
        data; not where :func:`blank_unconfident` took the class away).
    """
    cls = np.asarray(data[0])
    dn = np.asarray(data[1])
    conf = np.where(dn == legend.NODATA, np.nan, dn * CONFIDENCE_SCALE).astype(np.float32)
    return cls, conf


def check_min_confidence(value: float) -> float:
    """``value`` as a confidence threshold of :func:`blank_unconfident`.

    Raises:
        ValueError: a value that is not a number in (0, 1] (no threshold keeps fewer pixels
            than 1 or all of them at 0).
    """
    v = float(value)
    if not (np.isfinite(v) and 0.0 < v <= 1.0):
        raise ValueError(f"a minimum confidence must lie in (0, 1], got {value}")
    return v


def reaches(confidence: np.ndarray, threshold: float) -> np.ndarray:
    """Whether each confidence reaches ``threshold`` at the product's precision.

    Both are compared in the stored steps of ``CONFIDENCE_SCALE`` (1/250): a confidence
    stored as 0.7 reaches 0.7 whatever its float32 rounding, and one of 0.548 does not reach
    0.55. NaN (no data) never reaches a threshold. The one rule of :func:`blank_unconfident`
    and of the studies that choose a threshold.

    Args:
        confidence: confidences in [0, 1] (e.g. from :func:`decode`), any shape.
        threshold: the threshold.

    Returns:
        A boolean array of ``confidence``'s shape.
    """
    steps = np.rint(np.asarray(confidence, dtype=np.float64) / CONFIDENCE_SCALE)
    with np.errstate(invalid="ignore"):
        result: np.ndarray = steps >= math.ceil(float(threshold) / CONFIDENCE_SCALE - 1e-6)
    return result


def blank_unconfident(data: np.ndarray, min_confidence: float) -> int:
    """Take the class off the pixels whose confidence is below ``min_confidence``, in place.

    The class of such a pixel becomes :data:`lulcbook.legend.NODATA`; its confidence is kept,
    so a pixel left without a class for its confidence (confidence present) is told from one
    without data (confidence no data too). A pixel keeps its class when its stored confidence
    :func:`reaches` ``min_confidence``: the threshold a user applies to the product's
    confidence band gives the same pixels.

    Args:
        data: uint8 ``(2, y, x)`` map bands of :func:`encode`, changed in place.
        min_confidence: the threshold (:func:`check_min_confidence`).

    Returns:
        The number of pixels that lost their class.
    """
    _, conf = decode(data)
    low = (data[0] != legend.NODATA) & ~reaches(conf, min_confidence)
    data[0][low] = legend.NODATA
    return int(low.sum())


def no_data(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`encode` returns where every pixel is no data."""
    return (
        np.full((len(MAP_BANDS), height, width), legend.NODATA, dtype=np.uint8),
        np.full((height, width), np.nan, dtype=np.float32),
    )


def encode_segments(
    index: np.ndarray, proba: np.ndarray, class_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`encode` for probabilities given per superpixel: each superpixel is encoded once.

    Args:
        index: ``(y, x)`` row of ``proba`` of each pixel, -1 for no data.
        proba: ``(n, C)`` class probabilities of the superpixels.
        class_values: legend index of each class.

    Returns:
        What :func:`encode` returns for the painted probabilities (the same bytes).
    """
    valid = index >= 0
    if len(proba) == 0 or not valid.any():
        return no_data(*index.shape)
    seg, seg_unc = encode(
        np.asarray(proba).T[:, :, None], np.zeros((len(proba), 1), dtype=bool), class_values
    )
    safe = np.where(valid, index, 0)
    data = seg[:, safe, 0]
    data[:, ~valid] = legend.NODATA
    unc = seg_unc[safe, 0]
    unc[~valid] = np.nan
    return data, unc


def class_values(classes: Sequence[str | int]) -> np.ndarray:
    """Legend indices of a model's classes (legend keys, names or indices).

    Raises:
        ValueError: for a class that is not in :mod:`lulcbook.legend`.
    """
    out = []
    for c in classes:
        if isinstance(c, (int, np.integer)) and 0 <= int(c) < legend.N_CLASSES:
            out.append(int(c))
        elif str(c) in legend.KEYS:
            out.append(legend.index_of(str(c)))
        elif str(c) in legend.NAMES:
            out.append(legend.NAMES.index(str(c)))
        else:
            raise ValueError(
                f"Model class {c!r} is not in the legend; expected one of {legend.KEYS}"
            )
    return np.asarray(out, dtype=np.int64)


__all__ = [
    "MIN_CONFIDENCE_PROPERTY",
    "UNCONFIDENT_SHARE_PROPERTY",
    "blank_unconfident",
    "check_min_confidence",
    "class_values",
    "decode",
    "encode",
    "encode_segments",
    "no_data",
    "reaches",
]
