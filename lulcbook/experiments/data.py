"""The dataset of notebook 01-data: climate per patch, tables and figures of the sample.

:func:`attach_climate` adds the WorldClim vector at each patch centre to the patch dataset;
the other functions build the notebook's tables (:func:`centre_spectra`,
:func:`region_class_counts`, :func:`lucas_label_counts`), figures (:func:`patch_map_figure`,
:func:`examples_figure`, :func:`spectra_figure`, :func:`climate_space_figure`,
:func:`class_counts_figure`) and metrics (:func:`data_metrics`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import xarray as xr
from hvplot.plotting import hvPlot, hvPlotTabular

from lulcbook import legend, viz
from lulcbook.sources import worldclim

COLOUR: dict[str, str] = dict(zip(legend.KEYS, legend.COLOURS, strict=True))
"""Legend colour of every class key."""


def attach_climate(
    ds: xr.Dataset, bio: xr.DataArray, fill_km: float
) -> tuple[xr.Dataset, dict[str, Any]]:
    """Add the climate vector at each patch centre (``climate``, ``climate_valid``, ``bio``).

    Args:
        ds: the patch dataset with ``lon``/``lat`` of each patch centre.
        bio: a WorldClim BIO1–19 raster (:func:`lulcbook.sources.worldclim.read_climate_source`).
        fill_km: search radius for the nearest valid cell of a centre on no-data.

    Returns:
        The dataset with the climate (float32, NaN where missing), the validity flag and the
        raster's temperature scale in ``attrs["climate_temperature_scale"]``, and the sampling
        report of :func:`lulcbook.sources.worldclim.sample_climate`.
    """
    clim, info = worldclim.sample_climate(bio, ds["lon"].values, ds["lat"].values, fill_km=fill_km)
    ds["climate"] = (("sample", "bio"), clim.values.astype("float32"))
    ds = ds.assign_coords(bio=[str(b) for b in clim["bio"].values])
    ds["climate_valid"] = ("sample", np.isfinite(ds["climate"].values).all(axis=1))
    ds.attrs["climate_temperature_scale"] = bio.attrs["temperature_scale"]
    return ds, info


def count_values(values: np.ndarray) -> dict[str, int]:
    """``{value: count}`` of an array, values as strings in sorted order."""
    return {str(k): int(v) for k, v in zip(*np.unique(values, return_counts=True), strict=True)}


def integer_items(info: Mapping[str, Any]) -> dict[str, int]:
    """The integer entries of a report (counts), as plain ints."""
    return {k: int(v) for k, v in info.items() if isinstance(v, (int, np.integer))}


def patch_map_figure(ds: xr.Dataset, bio: xr.DataArray) -> Any:
    """Patch centres coloured by class over BIO1 (annual mean temperature, °C).

    Args:
        ds: the patch dataset (``lon``, ``lat``, ``label_name``).
        bio: the WorldClim raster in use (``temperature_scale`` in its attributes).

    Returns:
        A holoviews overlay.
    """
    points = pd.DataFrame(
        {"lon": ds["lon"].values, "lat": ds["lat"].values, "class": ds["label_name"].values}
    )
    pts = [
        hvPlotTabular(points[points["class"] == k])
        .points("lon", "lat", label=k, color=COLOUR[k])
        .opts(s=40, edgecolors="k")
        for k in legend.KEYS
        if (points["class"] == k).any()
    ]
    bio1 = (bio.sel(bio="bio1") / bio.attrs["temperature_scale"]).rename("BIO1 (°C)")
    image = hvPlot(bio1).image(
        "x", "y", cmap="coolwarm", alpha=0.6, colorbar=True, xlabel="longitude (°E)",
        ylabel="latitude (°N)", clabel="BIO1 (°C)",
    )  # fmt: skip
    return (image * hv.Overlay(pts)).opts(
        title="EuroSAT-MS patch centres by class over WorldClim BIO1",
        legend_position="right",
        fig_size=180,
        aspect=1.1,
    )


def examples_figure(ds: xr.Dataset) -> Any:
    """One patch per class in true colour and, with B08, false colour (NIR, red, green).

    Args:
        ds: the patch dataset (``reflectance``, ``band``, ``label_name``).

    Returns:
        A holoviews layout, four panels a row.
    """
    bands = [str(b) for b in ds["band"].values]
    tiles = []
    for k in legend.KEYS:
        idx = np.flatnonzero(ds["label_name"].values == k)
        if len(idx) == 0:
            continue
        img = ds["reflectance"].values[idx[0]]
        combos = [("RGB", ("B04", "B03", "B02"))]
        if "B08" in bands:
            combos.append(("NIR-R-G", ("B08", "B04", "B03")))
        for name, combo in combos:
            rgb = hv.RGB(viz.rgb(img, bands, combo))
            tiles.append(rgb.opts(title=f"{k} · {name}", xaxis=None, yaxis=None))
    return hv.Layout(tiles).cols(4).opts(sublabel_format="", fig_size=80)


def centre_spectra(ds: xr.Dataset) -> pd.DataFrame:
    """Mean and standard deviation of the centre-pixel reflectance per class and band."""
    pix = ds["reflectance"].isel(y=ds.sizes["y"] // 2, x=ds.sizes["x"] // 2)
    frame = pix.to_dataframe().reset_index()
    frame["class"] = ds["label_name"].values[frame["sample"]]
    stats = frame.groupby(["class", "band"])["reflectance"].agg(["mean", "std"])
    return stats.reset_index()


def spectra_figure(spectra: pd.DataFrame) -> Any:
    """Mean centre-pixel spectrum per class (:func:`centre_spectra`), in legend colours."""
    return hvPlotTabular(spectra).line(
        "band",
        "mean",
        by="class",
        color=[COLOUR[k] for k in sorted(spectra["class"].unique())],
        ylabel="TOA reflectance",
        title="Centre-pixel spectra per class (mean)",
    )


def climate_frame(clim: xr.DataArray, temperature_scale: float) -> pd.DataFrame:
    """BIO1 (°C) and BIO12 (mm) of every point with a complete pair.

    Args:
        clim: ``(point, bio)`` climate with ``bio`` names ``bio1`` … ``bio19``.
        temperature_scale: divisor that turns stored temperatures into °C.

    Returns:
        Columns ``"BIO1 (°C)"`` and ``"BIO12 (mm)"``.
    """
    return pd.DataFrame(
        {
            "BIO1 (°C)": clim.sel(bio="bio1").values / temperature_scale,
            "BIO12 (mm)": clim.sel(bio="bio12").values,
        }
    ).dropna()


def climate_space_figure(
    lucas_clim: xr.DataArray, patch_clim: xr.DataArray, temperature_scale: float
) -> Any:
    """The labelled patches in the BIO1–BIO12 climate space of the EU-wide LUCAS points.

    Args:
        lucas_clim: climate of the LUCAS 2018 points.
        patch_clim: climate of the patches.
        temperature_scale: divisor that turns stored temperatures into °C.

    Returns:
        A holoviews overlay.
    """
    axes = ("BIO1 (°C)", "BIO12 (mm)")
    lucas = hvPlotTabular(climate_frame(lucas_clim, temperature_scale)).scatter(
        *axes, label="LUCAS 2018 points", color="#9e9e9e", alpha=0.3
    )
    patches = hvPlotTabular(climate_frame(patch_clim, temperature_scale)).scatter(
        *axes, label="EuroSAT patches", color="#d7191c"
    )
    return (lucas.opts(s=4) * patches.opts(s=30, edgecolors="k")).opts(
        title="Climate space: labelled patches vs EU-wide LUCAS 2018 points",
        legend_position="right",
    )


def lucas_label_counts(surveys: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Points per LUCAS level-1 label (rows) and survey (columns), 0 where absent."""
    counts = pd.DataFrame({name: t["label"].value_counts() for name, t in surveys.items()})
    return counts.fillna(0).astype(int)


def region_class_counts(ds: xr.Dataset) -> pd.DataFrame:
    """Patches per region and class, long format (columns ``region, class, patches``)."""
    table = pd.crosstab(ds["region"].values, ds["label_name"].values)
    table = table.rename_axis(index="region", columns="class").reset_index()
    long = table.melt(id_vars="region", var_name="class", value_name="patches")
    return long.sort_values(["region", "class"], kind="stable").reset_index(drop=True)


def class_counts_figure(per_region: pd.DataFrame) -> Any:
    """Stacked bars of :func:`region_class_counts`, in legend colours."""
    return hvPlotTabular(per_region).bar(
        x="region",
        y="patches",
        by="class",
        stacked=True,
        color=[COLOUR[k] for k in sorted(per_region["class"].unique())],
        title="Labelled patches per region and class",
        rot=0,
    )


def data_metrics(ds: xr.Dataset) -> dict[str, Any]:
    """The sample's sizes and counts: patches, bands, patch size, classes, regions, splits.

    Args:
        ds: the finished patch dataset.

    Returns:
        ``n_patches``, ``bands``, ``patch_size_px``, ``class_counts``, ``region_counts`` and
        ``split_counts``.
    """
    return {
        "n_patches": int(ds.sizes["sample"]),
        "bands": [str(b) for b in ds["band"].values],
        "patch_size_px": int(ds.sizes["y"]),
        "class_counts": count_values(ds["label_name"].values),
        "region_counts": count_values(ds["region"].values),
        "split_counts": count_values(ds["split"].values),
    }
