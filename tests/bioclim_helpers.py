"""A tiny synthetic patch dataset and parameters for the bioclim tests (library and experiment)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from lulcbook import bioclim
from lulcbook.models.condnorm import N_BIO

REGIONS = ["utm29-30", "utm31", "utm32", "utm33-36"]


def bioclim_dataset(per_region: int = 8, size: int = 16, seed: int = 0) -> xr.Dataset:
    """Tiny patch dataset: class-dependent reflectance, region-dependent climate, some NaN."""
    rng = np.random.default_rng(seed)
    n = per_region * len(REGIONS)
    labels = np.tile([1, 2, 6, 0], n // 4)  # cropland, woodland, water, artificial
    refl = rng.uniform(0.02, 0.1, size=(n, 4, size, size)).astype("float32")
    refl[:, 3] += 0.1 * (labels == 2)[:, None, None]  # NIR-bright woodland
    region = np.repeat(REGIONS, per_region)
    climate = rng.normal(0, 1, size=(n, N_BIO)) + np.repeat(np.arange(4), per_region)[:, None]
    climate[::5] = np.nan  # missing climate vectors
    split = np.where((np.arange(n) // 4) % 2 == 1, "val", "train")  # every class in val
    return xr.Dataset(
        {
            "reflectance": (("sample", "band", "y", "x"), refl),
            "label": ("sample", labels.astype("int64")),
            "point_y": ("sample", np.full(n, size // 2)),
            "point_x": ("sample", np.full(n, size // 2)),
            "region": ("sample", region),
            "split": ("sample", split),
            "climate": (("sample", "bio"), climate.astype("float32")),
        },
        coords={"band": ["B02", "B03", "B04", "B08"], "bio": [f"bio{i}" for i in range(1, 20)]},
    )


PARAMS = {
    "families": ["gnn", "cnn"],
    "variants": list(bioclim.VARIANTS),
    "seeds": [0],
    "missing_indicator": True,
    "shuffle_seed": 3,
    "n_jobs": 1,
    "gnn": {"model": "GNN", "hidden": 8, "depth": 1, "dropout": 0.0, "epochs": 2, "batch_size": 8},
    "cnn": {"crop": 8, "hidden": 4, "depth": 1, "dropout": 0.0, "epochs": 2, "batch_size": 8},
}
