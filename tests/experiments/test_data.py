"""Tests for lulcbook.experiments.data (climate per patch, tables and figures of 01-data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from lulcbook import legend, viz
from lulcbook.experiments import data as exp

BANDS = ["B02", "B03", "B04", "B08"]


def _patches(n: int = 6) -> xr.Dataset:
    rng = np.random.default_rng(0)
    names = np.asarray(legend.KEYS)[[i % 2 for i in range(n)]]
    return xr.Dataset(
        {
            "reflectance": (("sample", "band", "y", "x"), rng.uniform(0, 0.3, (n, 4, 8, 8))),
            "label_name": ("sample", names),
            "region": ("sample", np.array(["west", "east"] * (n // 2))),
            "split": ("sample", np.array(["train", "train", "val"] * (n // 3))),
            "lon": ("sample", np.linspace(1.2, 4.8, n)),
            "lat": ("sample", np.full(n, 50.5)),
        },
        coords={"band": BANDS},
    )


def _bio() -> xr.DataArray:
    """A 1° WorldClim-like raster over 0–6 °E, 50–52 °N; BIO1 in tenths of °C; 5–6 °E no-data."""
    values = np.zeros((19, 2, 6), "float32")
    values[0] = np.arange(6) * 10.0  # bio1 = 10 * column index (°C × 10)
    values[11] = 500.0  # bio12
    values[:, :, 5] = np.nan
    da = xr.DataArray(
        values,
        dims=("bio", "y", "x"),
        coords={"bio": [f"bio{i}" for i in range(1, 20)], "y": [51.5, 50.5],
                "x": np.arange(6) + 0.5},
        attrs={"temperature_scale": 10.0},
    )  # fmt: skip
    return da.rio.write_crs("EPSG:4326")


def test_attach_climate_samples_the_centre_and_flags_missing() -> None:
    ds, info = exp.attach_climate(_patches(), _bio(), fill_km=0.0)
    assert ds["climate"].dims == ("sample", "bio") and ds["climate"].dtype == np.float32
    assert list(ds["bio"].values[:2]) == ["bio1", "bio2"]
    # lon 1.2 … 4.8 lies in columns 1 … 4: bio1 = 10 × column
    cols = np.floor(ds["lon"].values).astype(int)
    np.testing.assert_allclose(ds["climate"].sel(bio="bio1").values, 10.0 * cols)
    assert ds["climate_valid"].all() and ds.attrs["climate_temperature_scale"] == 10.0
    assert info["n_points"] == 6 and info["missing"] == 0
    far = _patches().assign(lon=("sample", np.full(6, 5.5)))
    ds2, info2 = exp.attach_climate(far, _bio(), fill_km=0.0)
    assert not ds2["climate_valid"].any() and info2["missing"] == 6


def test_counts_tables_and_metrics() -> None:
    ds = _patches()
    assert exp.count_values(np.array(["b", "a", "b"])) == {"a": 1, "b": 2}
    assert exp.integer_items({"n": np.int64(3), "fill_km": 25.0, "k": 2}) == {"n": 3, "k": 2}
    per_region = exp.region_class_counts(ds)
    assert list(per_region.columns) == ["region", "class", "patches"]
    assert per_region["patches"].sum() == 6 and list(per_region["region"])[0] == "east"
    m = exp.data_metrics(ds)
    assert m["n_patches"] == 6 and m["bands"] == BANDS and m["patch_size_px"] == 8
    assert m["split_counts"] == {"train": 4, "val": 2}
    surveys = {"a": pd.DataFrame({"label": ["A", "B", "A"]}), "b": pd.DataFrame({"label": ["C"]})}
    counts = exp.lucas_label_counts(surveys)
    assert counts.loc["A", "a"] == 2 and counts.loc["A", "b"] == 0 and counts.dtypes.eq(int).all()


def test_centre_spectra_are_class_means_of_the_centre_pixel() -> None:
    ds = _patches()
    spectra = exp.centre_spectra(ds)
    k = legend.KEYS[0]
    centre = ds["reflectance"].values[ds["label_name"].values == k][:, :, 4, 4]
    row = spectra[(spectra["class"] == k) & (spectra["band"] == "B03")]
    assert float(row["mean"].iloc[0]) == pytest.approx(centre[:, 1].mean())


def test_figures_render(tmp_path) -> None:
    viz.setup_plotting()
    ds, _ = exp.attach_climate(_patches(), _bio(), fill_km=0.0)
    figs = {
        "map": exp.patch_map_figure(ds, _bio()),
        "examples": exp.examples_figure(ds),
        "spectra": exp.spectra_figure(exp.centre_spectra(ds)),
        "space": exp.climate_space_figure(ds["climate"], ds["climate"], 10.0),
        "counts": exp.class_counts_figure(exp.region_class_counts(ds)),
    }
    assert len(figs["examples"]) == 4  # two classes, RGB and NIR each
    for name, fig in figs.items():
        assert viz.save_png(fig, tmp_path / f"{name}.png").stat().st_size > 1000
