"""The eo-learn test EOPatch over Slovenia: an NDVI time series with cloud masks and a dense reference.

The folder ``eolearn-slovenia/TestEOPatch`` of the offline sample holds a real 1 km² patch
(101 × 100 px at 10 m, EPSG:32633) with 68 Sentinel-2 dates (2015-07 … 2017-12) of NDVI,
s2cloudless cloud masks and a land-use raster from the Slovenian RABA layer (see its
PROVENANCE.md). :func:`read_slovenia` returns it as one ``xarray.Dataset`` with the reference
classes mapped into the project legend through :data:`lulcbook.legend.EOLEARN_TO_KEY`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import xarray as xr

from lulcbook import legend

PathLike = str | os.PathLike[str]

FOLDER = "eolearn-slovenia/TestEOPatch"
"""The EOPatch folder, relative to the sample folder."""

CRS = "EPSG:32633"
"""CRS of the EOPatch (its ``bbox.geojson``)."""


def _load(root: Path, rel: str) -> np.ndarray:
    path = root / rel
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; is the sample folder right?")
    return np.asarray(np.load(path))


def read_slovenia(sample_dir: PathLike) -> xr.Dataset:
    """Read the Slovenia EOPatch: NDVI series, clear-sky mask and the dense LULC reference.

    Args:
        sample_dir: the offline sample folder.

    Returns:
        Dataset on dims ``(time, y, x)`` with ``ndvi`` (float32, NaN where not clear),
        ``clear`` (bool: data present, valid and no cloud), ``cloud_probability`` (float32),
        and on ``(y, x)`` ``label`` (legend index, :data:`lulcbook.legend.NODATA` where the
        reference has no class) and ``source_class`` (the eo-learn LULC code). ``time`` holds
        the acquisition dates; ``attrs`` carry the CRS and the bounding box.

    Raises:
        FileNotFoundError: a missing EOPatch file (named).
        ValueError: arrays whose shapes disagree, or a reference code without a legend mapping.
    """
    root = Path(sample_dir) / FOLDER
    ndvi = _load(root, "data/NDVI.npy")[..., 0].astype(np.float32)
    clp = _load(root, "data/CLP.npy")[..., 0].astype(np.float32)
    clm = _load(root, "mask/CLM.npy")[..., 0].astype(bool)
    is_data = _load(root, "mask/IS_DATA.npy")[..., 0].astype(bool)
    is_valid = _load(root, "mask/IS_VALID.npy")[..., 0].astype(bool)
    lulc = _load(root, "mask_timeless/LULC.npy")[..., 0].astype(np.int64)
    times_path = root / "timestamps.json"
    if not times_path.exists():
        raise FileNotFoundError(f"{times_path} does not exist")
    times = np.array([np.datetime64(t[:19]) for t in json.loads(times_path.read_text())])
    for name, arr in (("CLP", clp), ("CLM", clm), ("IS_DATA", is_data), ("IS_VALID", is_valid)):
        if arr.shape != ndvi.shape:
            raise ValueError(f"{root}: {name} has shape {arr.shape}, NDVI {ndvi.shape}")
    if len(times) != ndvi.shape[0] or lulc.shape != ndvi.shape[1:]:
        raise ValueError(
            f"{root}: {len(times)} timestamps and LULC {lulc.shape} do not match NDVI {ndvi.shape}"
        )
    unknown = sorted(set(np.unique(lulc).tolist()) - set(legend.EOLEARN_TO_KEY))
    if unknown:
        raise ValueError(
            f"{root}/mask_timeless/LULC.npy has codes {unknown} without legend mapping"
        )
    lut = np.full(max(legend.EOLEARN_TO_KEY) + 1, legend.NODATA, dtype=np.uint8)
    for code, key in legend.EOLEARN_TO_KEY.items():
        if key is not None:
            lut[code] = legend.index_of(key)
    clear = is_data & is_valid & ~clm & np.isfinite(ndvi)
    bbox = (
        json.loads((root / "bbox.geojson").read_text()) if (root / "bbox.geojson").exists() else {}
    )
    _, h, w = ndvi.shape
    return xr.Dataset(
        {
            "ndvi": (("time", "y", "x"), np.where(clear, ndvi, np.nan).astype(np.float32)),
            "clear": (("time", "y", "x"), clear),
            "cloud_probability": (("time", "y", "x"), clp),
            "label": (("y", "x"), lut[lulc]),
            "source_class": (("y", "x"), lulc.astype(np.int16)),
        },
        coords={"time": times, "y": np.arange(h), "x": np.arange(w)},
        attrs={
            "crs": CRS,
            "bbox": json.dumps(bbox),
            "source": "eo-learn TestEOPatch (Sentinel Hub, MIT); LULC: RABA (Slovenia)",
        },
    )


__all__ = ["CRS", "FOLDER", "read_slovenia"]
