"""Regions and splits for in-region and leave-region-out evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

REGIONS: dict[str, tuple[int, ...]] = {
    "utm29-30": (29, 30),
    "utm31": (31,),
    "utm32": (32,),
    "utm33-36": (33, 34, 35, 36),
}
"""Regions of the EuroSAT sample by UTM zone, west to east (roughly: Iberia/Atlantic,
France/Benelux, Germany/Alps/Italy, central/eastern Europe and the Balkans)."""


def region_of_crs(crs: str) -> str:
    """Return the region of a patch from its UTM CRS (``EPSG:326ZZ`` or ``EPSG:327ZZ``).

    Raises:
        ValueError: for a CRS that is not a northern/southern UTM zone covered by a region.
    """
    code = str(crs).upper().removeprefix("EPSG:")
    if not (code.isdigit() and code[:3] in {"326", "327"}):
        raise ValueError(f"CRS {crs!r} is not a WGS 84 / UTM zone; cannot assign a region")
    zone = int(code[3:])
    for name, zones in REGIONS.items():
        if zone in zones:
            return name
    raise ValueError(f"UTM zone {zone} (CRS {crs!r}) is in no region of {REGIONS}")


def stratified_split(
    labels: Sequence[int] | np.ndarray, val_fraction: float, seed: int
) -> np.ndarray:
    """Return a boolean mask of validation samples, stratified by label (≥1 per class with ≥2).

    Args:
        labels: the class of every sample.
        val_fraction: fraction of each class to put in validation.
        seed: random seed.

    Returns:
        ``(n,)`` boolean mask, True for validation samples.

    Raises:
        ValueError: if ``val_fraction`` is not in (0, 1).
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    val = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            continue
        n = max(1, int(round(val_fraction * len(idx))))
        val[rng.choice(idx, n, replace=False)] = True
    return val


def region_folds(ds: xr.Dataset) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Leave-region-out folds: ``(region, train indices, test indices)`` for each region.

    The training indices hold every sample of the other regions; within them, the
    ``split`` variable tells train from validation (use :func:`train_val_indices`).
    """
    regions = ds["region"].values.astype(str)
    folds = []
    for name in sorted(
        set(regions), key=list(REGIONS).index if set(regions) <= set(REGIONS) else str
    ):
        test = np.flatnonzero(regions == name)
        train = np.flatnonzero(regions != name)
        folds.append((name, train, test))
    return folds


def train_val_indices(
    ds: xr.Dataset,
    idx: Sequence[int] | np.ndarray,
    val_fraction: float | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``idx`` into training and validation indices.

    With ``val_fraction=None`` the stored ``split`` variable decides; otherwise a new
    stratified split of ``idx`` is drawn with ``seed``.
    """
    idx = np.asarray(idx)
    if val_fraction is None:
        val = ds["split"].values[idx].astype(str) == "val"
    else:
        val = stratified_split(ds["label"].values[idx], val_fraction, seed)
    return idx[~val], idx[val]


def selection_calibration(
    ds: xr.Dataset, val_idx: Sequence[int] | np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split validation indices into a model-selection half and a calibration half.

    Early stopping (model selection) and post-hoc calibration (temperature scaling, conformal
    thresholds) must not see the same samples, or the calibration is fitted to a model chosen
    on those very samples. The halves are disjoint and stratified by class; the split depends
    only on ``val_idx`` and ``seed``, so every notebook that needs it gets the same halves.

    Args:
        ds: the patch dataset (its ``label`` variable).
        val_idx: validation sample indices (e.g. from :func:`train_val_indices`).
        seed: random seed.

    Returns:
        ``(selection, calibration)`` sample indices.

    Raises:
        ValueError: if there are fewer than two validation samples.
    """
    idx = np.sort(np.asarray(val_idx))
    if idx.size < 2:
        raise ValueError(f"need at least two validation samples to split, got {idx.size}")
    calib = stratified_split(ds["label"].values[idx], 0.5, seed)
    return idx[~calib], idx[calib]
