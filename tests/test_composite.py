"""Tests of median composites on tiny rasters made by code."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from lulcbook import composite


def _da(values: np.ndarray, date: str, crs: str = "EPSG:32633") -> xr.DataArray:
    b, h, w = values.shape
    da = xr.DataArray(
        values.astype("float32"),
        dims=("band", "y", "x"),
        coords={"band": ["B02", "B03"][:b], "y": np.arange(h) * -10.0, "x": np.arange(w) * 10.0},
        attrs={"datetime": f"{date}T10:00:00Z", "source": date},
    )
    return da.rio.write_crs(crs)


def test_median_ignores_masked_dates_and_counts_obs() -> None:
    a = np.full((2, 2, 3), 0.1)
    b = np.full((2, 2, 3), 0.3)
    c = np.full((2, 2, 3), 0.2)
    b[:, 0, 0] = np.nan  # cloud on date b
    c[0, 1, 1] = np.nan  # one band missing counts as not clear
    out = composite.median_composite(
        [_da(a, "2024-06-01"), _da(b, "2024-06-10"), _da(c, "2024-06-20")]
    )
    assert (
        out.attrs["n_obs"][0, 0] == 2
        and out.attrs["n_obs"][1, 1] == 2
        and out.attrs["n_obs"][0, 1] == 3
    )
    np.testing.assert_allclose(out.values[:, 0, 1], 0.2)
    np.testing.assert_allclose(out.values[:, 0, 0], 0.15)  # median of 0.1 and 0.2
    np.testing.assert_allclose(out.values[:, 1, 1], 0.2)  # median of 0.1 and 0.3
    assert out.rio.crs.to_epsg() == 32633


def test_min_obs_leaves_nodata() -> None:
    a = np.full((1, 1, 2), 0.1)
    b = np.full((1, 1, 2), 0.2)
    b[0, 0, 0] = np.nan
    out = composite.median_composite([_da(a, "2024-06-01"), _da(b, "2024-06-02")], min_obs=2)
    assert np.isnan(out.values[0, 0, 0]) and np.isfinite(out.values[0, 0, 1])
    with pytest.raises(ValueError, match="min_obs"):
        composite.median_composite([_da(a, "2024-06-01")], min_obs=0)


def test_rejects_other_grids_and_empty() -> None:
    with pytest.raises(ValueError, match="at least one"):
        composite.median_composite([])
    a = _da(np.zeros((1, 2, 2)), "2024-06-01")
    b = _da(np.zeros((1, 3, 2)), "2024-06-02")
    with pytest.raises(ValueError, match="not on the grid"):
        composite.median_composite([a, b])


def test_select_dates_window() -> None:
    arrays = [_da(np.zeros((1, 1, 1)), d) for d in ("2024-06-02", "2024-06-17", "2024-08-01")]
    assert [
        a.attrs["source"] for a in composite.select_dates(arrays, "2024-06-01", "2024-06-30")
    ] == [
        "2024-06-02",
        "2024-06-17",
    ]
    bad = arrays[0].copy()
    bad.attrs = {}
    with pytest.raises(ValueError, match="datetime"):
        composite.select_dates([bad], "2024-01-01", "2024-12-31")


def test_composite_of_real_exeter_dates(sample_dir) -> None:
    from lulcbook.sources import sample

    dates = sample.read_exeter_s2(sample_dir)[:2]
    out = composite.median_composite(dates)
    n_clear_any = (np.isfinite(dates[0].values).all(0) | np.isfinite(dates[1].values).all(0)).sum()
    assert int((out.attrs["n_obs"] > 0).sum()) == int(n_clear_any)
    assert np.isfinite(out.values).all(0).sum() == n_clear_any
