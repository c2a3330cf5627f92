"""Feature matrices for point classifiers from per-point spectral-temporal tables.

:func:`point_features` turns a table with the ELC10 columns
(:mod:`lulcbook.sources.elc10`) into a float32 matrix with named columns, for a chosen
feature set:

* ``"s2"``: the 25 Sentinel-2 columns as stored (band medians as log-reflectance, index
  statistics / 1000);
* ``"s2s1"``: plus the 10 Sentinel-1 columns (dB);
* ``"+idx"`` suffix (e.g. ``"s2s1+idx"``): plus normalised differences of the band
  medians that the table does not carry (NDWI, MNDWI, NDBI, NBR, NDRE, SWIR ratio,
  brightness), computed from the annual medians (an index of medians, not a median of
  indices).

Climate (WorldClim BIO1–19) is kept apart: models take it as input or as the
conditioning vector of :class:`lulcbook.models.condnorm.ConditionalNorm`.

Missing values (points without Sentinel-1) stay NaN here; the models' scalers replace
them after standardisation (see :class:`lulcbook.models.points.FeatureScaler`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lulcbook.bands import NORMALISED_DIFFERENCES
from lulcbook.sources import elc10

FEATURE_SETS: tuple[str, ...] = ("s2", "s2s1", "s2+idx", "s2s1+idx")

_INDICES: tuple[str, ...] = (
    "ndwi", "mndwi", "ndbi", "nbr", "ndre", "ndre3", "swir_nd", "ndvi", "blue_red",
)  # fmt: skip
"""The :data:`lulcbook.bands.NORMALISED_DIFFERENCES` of the ``+idx`` sets, in column order."""
_INDEX_COLUMN: dict[str, str] = {"ndvi": "ndvi_median", "blue_red": "blue_red_nd"}
"""Column names of the indices that are not named as the index."""
_ELC10_COLUMN: dict[str, str] = {band: column for column, band in elc10.S2_BAND_IDS.items()}
_ND_PAIRS: dict[str, tuple[str, str]] = {
    _INDEX_COLUMN.get(index, index): (_ELC10_COLUMN[a], _ELC10_COLUMN[b])
    for index, (a, b) in ((i, NORMALISED_DIFFERENCES[i]) for i in _INDICES)
}
"""Index column → the two ELC10 band-median columns of its normalised difference."""


def index_columns() -> list[str]:
    """Names of the engineered index columns (``+idx`` feature sets)."""
    return [*_ND_PAIRS, "brightness", "vis_nir_ratio"]


def feature_names(feature_set: str) -> list[str]:
    """Column names of a feature set.

    Raises:
        ValueError: an unknown feature set.
    """
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"Unknown feature set {feature_set!r}; expected one of {FEATURE_SETS}")
    names = list(elc10.S2_FEATURES)
    if feature_set.startswith("s2s1"):
        names += list(elc10.S1_FEATURES)
    if feature_set.endswith("+idx"):
        names += index_columns()
    return names


def point_features(df: pd.DataFrame, feature_set: str) -> pd.DataFrame:
    """Build the feature matrix of a feature set (float32, one row per point).

    Args:
        df: a table with the ELC10 columns (S1 columns needed for ``s2s1`` sets).
        feature_set: one of :data:`FEATURE_SETS`.

    Returns:
        DataFrame with the columns of :func:`feature_names` in that order.

    Raises:
        ValueError: an unknown feature set.
        lulcbook.sources.elc10.MissingColumnsError: a needed column is missing.
    """
    names = feature_names(feature_set)
    raw = [c for c in names if c in elc10.S2_FEATURES or c in elc10.S1_FEATURES]
    elc10.check_columns(df, raw, df.attrs.get("path", "point table"))
    out = pd.DataFrame(index=df.index)
    for c in elc10.S2_BANDS:
        # reflectance × 1e7 → log10 reflectance: band medians span three decades
        r = df[c].to_numpy(np.float64) / elc10.S2_REFLECTANCE_SCALE
        out[c] = np.log10(np.clip(r, 1e-4, None))
    for c in elc10.S2_INDICES:
        out[c] = df[c].to_numpy(np.float64) / 1000.0
    if feature_set.startswith("s2s1"):
        for c in elc10.S1_FEATURES:
            out[c] = df[c].to_numpy(np.float64) / 1000.0
    if feature_set.endswith("+idx"):
        refl = {c: df[c].to_numpy(np.float64) / elc10.S2_REFLECTANCE_SCALE for c in elc10.S2_BANDS}
        for name, (a, b) in _ND_PAIRS.items():
            den = refl[a] + refl[b]
            out[name] = np.where(den > 0, (refl[a] - refl[b]) / np.where(den > 0, den, 1), 0.0)
        vis = refl["blue_median"] + refl["green_median"] + refl["red_median"]
        out["brightness"] = np.log10(np.clip(sum(refl.values()), 1e-4, None))
        out["vis_nir_ratio"] = np.log10(
            np.clip(vis, 1e-4, None) / np.clip(refl["nir_median"], 1e-4, None)
        )
    return out[names].astype("float32")
