"""Tiny scenes for the tests of the map study (07-maps)."""

from __future__ import annotations

import numpy as np
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr

from lulcbook.models import spectral


def scene(rng: np.random.Generator, date: str, nan_rows: int = 0) -> xr.DataArray:
    """A 12 x 16 four-band reflectance scene of ``date`` in UTM 30N; its first rows NaN."""
    values = rng.uniform(0.02, 0.3, size=(4, 12, 16)).astype("float32")
    values[:, :nan_rows] = np.nan
    return xr.DataArray(
        values,
        dims=("band", "y", "x"),
        coords={"band": list(spectral.BANDS_10M), "y": np.arange(12.0)[::-1], "x": np.arange(16.0)},
        attrs={"datetime": f"{date}T11:00:00Z"},
    ).rio.write_crs("EPSG:32630")


def veiled(rng: np.random.Generator) -> list[xr.DataArray]:
    """Three dates; on the third, a veil raises blue by 0.08 and red by 0.05 in the left half."""
    first = scene(rng, "2024-06-02")
    cloudy = first.copy().assign_attrs(datetime="2024-06-17T11:00:00Z")
    cloudy[:, :10] = np.nan  # the same surface where it is not cloud
    later = first.copy().assign_attrs(datetime="2024-08-01T11:00:00Z")
    later[0, :, :8] += 0.08
    later[2, :, :8] += 0.05
    return [first, cloudy, later]
