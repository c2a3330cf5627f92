"""Median composites of several cloud-masked acquisitions on one grid.

The LUCAS training features are *annual medians*; a single date carries its season, its
atmosphere and its clouds. :func:`median_composite` combines aligned acquisitions
(``(band, y, x)`` DataArrays with NaN where masked, e.g. from
:func:`lulcbook.sources.sample.read_exeter_s2`) into their per-pixel median over the dates
where the pixel is clear, and keeps the number of clear observations; pixels with fewer than
``min_obs`` stay NaN (no data in the map). :func:`select_dates` picks the acquisitions of a
season (inclusive date window).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from lulcbook.cube import check_same_crs


def _date(da: xr.DataArray) -> str:
    return str(da.attrs.get("datetime", ""))[:10]


def select_dates(arrays: Sequence[xr.DataArray], start: str, end: str) -> list[xr.DataArray]:
    """Acquisitions whose ``attrs["datetime"]`` (ISO) lies within ``[start, end]`` (dates).

    Raises:
        ValueError: an acquisition without a date.
    """
    out = []
    for da in arrays:
        d = _date(da)
        if not d:
            raise ValueError(f"{da.attrs.get('source', 'array')} has no attrs['datetime']")
        if start <= d <= end:
            out.append(da)
    return out


def median_composite(arrays: Sequence[xr.DataArray], min_obs: int = 1) -> xr.DataArray:
    """Per-pixel median over the clear acquisitions of aligned ``(band, y, x)`` arrays.

    Args:
        arrays: acquisitions on one grid (same CRS, shape and bands), NaN where masked.
        min_obs: clear observations a pixel needs; pixels with fewer become NaN.

    Returns:
        float32 ``(band, y, x)`` with ``attrs["n_obs"]`` (``(y, x)`` int counts),
        ``attrs["dates"]`` and ``attrs["datetime"]`` (the first date).

    Raises:
        ValueError: no arrays, different grids or bands, or ``min_obs < 1``.
    """
    if not arrays:
        raise ValueError("median_composite needs at least one acquisition")
    if min_obs < 1:
        raise ValueError(f"min_obs must be >= 1, got {min_obs}")
    check_same_crs(arrays)
    first = arrays[0]
    for da in arrays[1:]:
        if da.shape != first.shape or list(da.band.values) != list(first.band.values):
            raise ValueError(
                f"{da.attrs.get('source', 'array')} ({da.shape}, bands {list(da.band.values)}) is "
                f"not on the grid of {first.attrs.get('source', 'the first array')} ({first.shape})"
            )
    stack = np.stack([np.asarray(da.values, dtype=np.float32) for da in arrays])
    clear = np.asarray(np.isfinite(stack).all(axis=1), dtype=bool)  # (time, y, x)
    stack[~np.broadcast_to(clear[:, None], stack.shape)] = np.nan
    n_obs = clear.sum(axis=0)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
            med = np.nanmedian(stack, axis=0)
    med[:, n_obs < min_obs] = np.nan
    out = first.copy(data=med.astype(np.float32))
    dates = [_date(da) for da in arrays]
    out.attrs = {
        "n_obs": n_obs.astype(np.int16),
        "dates": dates,
        "datetime": str(arrays[0].attrs.get("datetime", "")),
        "source": "median composite of " + ", ".join(dates),
    }
    if first.rio.crs is not None:
        out = out.rio.write_crs(first.rio.crs)
    return out


__all__ = ["median_composite", "select_dates"]
