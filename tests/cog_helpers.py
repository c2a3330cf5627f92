"""Helpers for the map-product tests: a single-band product GeoTIFF written as the pipeline does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from lulcbook import cog


def write_band(path: Path, band: str, data: np.ndarray, origin: float = 330000.0) -> Path:
    """Write ``data`` as product layer ``band`` (scratch profile, band description, map tags)."""
    h, w = data.shape
    profile = cog.scratch_profile(
        "EPSG:32633", from_origin(origin, 5822040, 10, 10), w, h, 128, band=band
    )
    with rasterio.open(path, "w", **profile) as dst:
        cog.describe(dst, band, cog.map_tags([6, 2]))
        dst.write(data, 1)
    return path
