"""Landscape metrics of classified maps: FRAGSTATS edge density and patch density.

Fragmentation uses the landscape metrics edge density and patch density of FRAGSTATS
(McGarigal & Marks 1995).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from lulcbook import legend


def fragmentation(
    label_map: np.ndarray, pixel_size: float = 10.0, nodata: int = legend.NODATA
) -> dict[str, float]:
    """FRAGSTATS edge density and patch density of a classified map (or a stack of maps).

    Edges are the 4-neighbour pixel boundaries between different classes inside the map
    (the map border is not counted; boundaries next to ``nodata`` are not counted). Patches are
    8-connected regions of one class. Both are normalised by the valid area.

    Args:
        label_map: ``(y, x)`` or ``(n, y, x)`` class indices; stacks are summed over maps.
        pixel_size: pixel side in metres.
        nodata: value of unclassified pixels.

    Returns:
        ``{"edge_density": metres of edge per hectare, "patch_density": patches per 100 ha}``.

    Raises:
        ValueError: if ``label_map`` is not 2-D or 3-D.
    """
    arr = np.asarray(label_map)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"label_map must be (y, x) or (n, y, x); got shape {arr.shape}")
    valid = arr != nodata
    h_diff = (arr[:, :, 1:] != arr[:, :, :-1]) & valid[:, :, 1:] & valid[:, :, :-1]
    v_diff = (arr[:, 1:, :] != arr[:, :-1, :]) & valid[:, 1:, :] & valid[:, :-1, :]
    edge_m = float(h_diff.sum() + v_diff.sum()) * pixel_size
    area_ha = float(valid.sum()) * pixel_size**2 / 1e4
    n_patches = 0
    structure = np.ones((3, 3), dtype=bool)
    for m, v in zip(arr, valid, strict=True):
        for c in np.unique(m[v]):
            _, n = ndimage.label((m == c) & v, structure=structure)
            n_patches += n
    if area_ha == 0:
        return {"edge_density": float("nan"), "patch_density": float("nan")}
    return {"edge_density": edge_m / area_ha, "patch_density": n_patches / area_ha * 100}
