"""Figures: hvplot/holoviews objects rendered with the matplotlib backend to PNG.

Notebooks show interactive hvplot figures; every figure is also saved as a PNG
under ``reports/figures/`` so it can be read without running anything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from lulcbook import legend
from lulcbook.io import atomic_path

os.environ.setdefault("MPLBACKEND", "Agg")


def save_png(obj: Any, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Save a holoviews/hvplot object (or a matplotlib figure) as PNG, atomically.

    Holoviews objects are rendered with the matplotlib backend, which needs no
    browser, so this works headless (CI, DVC).
    """
    import holoviews as hv

    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        if hasattr(obj, "savefig"):
            obj.savefig(tmp, dpi=dpi, bbox_inches="tight")
        else:
            if "matplotlib" not in hv.Store.renderers:
                hv.extension("matplotlib", logo=False)
            renderer = hv.renderer("matplotlib").instance(dpi=dpi, fig="png")
            renderer.save(obj, str(tmp.with_suffix("")), fmt="png")
            written = tmp.with_suffix(".png")
            if written != tmp:
                os.replace(written, tmp)
    return path


def rgb(image: np.ndarray, bands: list[str], combo: tuple[str, str, str] = ("B04", "B03", "B02"),
        percentiles: tuple[float, float] = (2, 98)) -> np.ndarray:
    """Return an (y, x, 3) uint8 composite of ``image`` (band, y, x) with a percentile stretch.

    ``combo=("B08", "B04", "B03")`` gives the false-colour (NIR) composite.

    Raises:
        ValueError: if a band of ``combo`` is not in ``bands``.
    """
    missing = [b for b in combo if b not in bands]
    if missing:
        raise ValueError(f"Bands {missing} needed for the composite are not in {bands}")
    arr = np.stack([image[bands.index(b)] for b in combo], axis=-1).astype("float32")
    valid = np.isfinite(arr)
    if not valid.any():
        return np.zeros(arr.shape, dtype=np.uint8)
    lo, hi = np.nanpercentile(arr[valid], percentiles)
    out = np.clip((np.nan_to_num(arr, nan=lo) - lo) / max(hi - lo, 1e-6), 0, 1)
    return (out * 255).astype(np.uint8)


def class_cmap(n: int = legend.N_CLASSES) -> list[str]:
    """Return the legend colours as a list for categorical colour maps."""
    return list(legend.COLOURS[:n])
