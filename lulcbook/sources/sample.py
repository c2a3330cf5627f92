"""The offline sample (``../shared/eo-sample``) read into the project's common types.

Each reader takes the sample folder as a parameter (``config.get_paths().sample``)
and returns the same xarray types as the online sources: float32 reflectance
``(band, y, x)`` with Sentinel-2 band names and a CRS. See the PROVENANCE.md of
each folder for source, licence and citation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from rasterio.enums import Resampling

from lulcbook import legend
from lulcbook.bands import DEFAULT_BANDS, EUROSAT_BAND_ORDER, S2_BANDS, normalise_band
from lulcbook.cube import align_to, mask_scl, open_raster, read_band_files

PathLike = str | os.PathLike[str]

BRANDENBURG_GRANULE = "T33UUU_20170216T102101"
LANDSAT_CHIPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lausanne": (
        "landsat8-chips/lausanne_ch_20200507/LC08_L1TP_195028_20200507_20200509_01_T1_LAUSANNE_CLIPPED.tif",
        ("blue", "green", "red", "nir08", "swir16", "swir22", "mask"),
    ),
    "poppendorf": (
        "landsat8-chips/poppendorf_de/poppendorf_landsat8.tif",
        ("coastal", "blue", "green", "red", "nir08"),
    ),
}
"""Landsat-8 OLI chips: relative path and band names (OLI bands 2–7 + mask, and bands 1–5)."""


def _folder(sample_dir: PathLike, sub: str) -> Path:
    p = Path(sample_dir) / sub
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist; is the sample folder {sample_dir} right?")
    return p


def read_eurosat_index(sample_dir: PathLike) -> pd.DataFrame:
    """Read ``eurosat-ms/eurosat_ms_index.csv``: path, EuroSAT label, CRS, WGS84 centre."""
    path = _folder(sample_dir, "eurosat-ms") / "eurosat_ms_index.csv"
    df = pd.read_csv(path)
    missing = {"path", "label", "crs", "lon_center", "lat_center"} - set(df.columns)
    if missing:
        raise ValueError(f"{path} lacks columns {sorted(missing)}")
    return df


def read_eurosat_patch(path: PathLike, bands: Sequence[str] = DEFAULT_BANDS) -> xr.DataArray:
    """Read one EuroSAT-MS GeoTIFF (13 bands, L1C TOA ×10000) as reflectance ``(band, y, x)``."""
    return open_raster(path, band_names=EUROSAT_BAND_ORDER, bands=bands, scale=1e-4)


def read_eurosat(
    sample_dir: PathLike,
    bands: Sequence[str] = DEFAULT_BANDS,
    max_per_class: int | None = None,
    seed: int = 0,
) -> xr.Dataset:
    """Read the EuroSAT-MS patches with labels mapped to the project legend.

    Args:
        sample_dir: the offline sample folder.
        bands: Sentinel-2 bands to keep.
        max_per_class: keep at most this many patches per EuroSAT class (seeded choice).
        seed: seed of that choice.

    Returns:
        Dataset with ``reflectance (sample, band, y, x)`` float32 in [0, 1] (clipped),
        ``label`` (legend index), ``source_class``, ``lon``, ``lat``, ``crs``, ``path``.
    """
    root = _folder(sample_dir, "eurosat-ms")
    index = read_eurosat_index(sample_dir)
    if max_per_class is not None:
        rng = np.random.default_rng(seed)
        keep = []
        for _, grp in index.groupby("label", sort=True):
            n = min(max_per_class, len(grp))
            keep.extend(sorted(rng.choice(grp.index.to_numpy(), n, replace=False)))
        index = index.loc[sorted(keep)].reset_index(drop=True)
    labels, unknown = legend.map_labels(index["label"], legend.EUROSAT_TO_KEY)
    if unknown:
        raise ValueError(f"EuroSAT classes {unknown} in {root} have no legend mapping")
    bands = [normalise_band(b) for b in bands]
    arrays = [read_eurosat_patch(root / p, bands).values for p in index["path"]]
    refl = np.clip(np.stack(arrays), 0.0, 1.0).astype("float32")
    n, _, h, w = refl.shape
    return xr.Dataset(
        {
            "reflectance": (("sample", "band", "y", "x"), refl),
            "label": ("sample", labels),
            "source_class": ("sample", index["label"].astype(str).to_numpy()),
            "lon": ("sample", index["lon_center"].to_numpy("float64")),
            "lat": ("sample", index["lat_center"].to_numpy("float64")),
            "crs": ("sample", index["crs"].astype(str).to_numpy()),
            "path": ("sample", index["path"].astype(str).to_numpy()),
        },
        coords={"sample": np.arange(n), "band": bands, "y": np.arange(h), "x": np.arange(w)},
        attrs={"source": "EuroSAT-MS (Helber et al. 2019), Sentinel-2 L1C TOA reflectance"},
    )


def read_brandenburg(sample_dir: PathLike, bands: Sequence[str] = DEFAULT_BANDS) -> xr.DataArray:
    """Read the Brandenburg Sentinel-2 L1C crop (T33UUU, 2017-02-16) on its 10 m grid.

    The 2017 L1C product predates processing baseline 04.00, so reflectance is DN/10000.
    20 m and 60 m bands are resampled bilinearly to 10 m.
    """
    folder = _folder(sample_dir, "s2-l1c-brandenburg") / "IMG_DATA"
    files = {
        normalise_band(b): folder / f"{BRANDENBURG_GRANULE}_{normalise_band(b)}.jp2" for b in bands
    }
    da = read_band_files(files, resolution=10, scale=1e-4)
    da.attrs.update(datetime="2017-02-16T10:21:01Z", source=str(folder), product="S2 L1C")
    return da


def read_brandenburg_reference(sample_dir: PathLike) -> gpd.GeoDataFrame:
    """Read the 30 Brandenburg reference polygons with their legend class (cid 1 water, 2 forest)."""
    path = _folder(sample_dir, "s2-l1c-brandenburg") / "s2l1c_ref.gpkg"
    gdf = gpd.read_file(path)
    if "cid" not in gdf.columns:
        raise ValueError(f"{path} lacks column 'cid'")
    keys = {1: "water", 2: "woodland"}
    gdf["label"] = gdf["cid"].map(keys)
    gdf["label_index"] = gdf["label"].map(legend.index_of)
    return gdf


def _exeter_files(
    sample_dir: PathLike, sub: str, pattern: str, offset: float, mask_band: str
) -> list[tuple[xr.DataArray, xr.DataArray]]:
    """The files of one Exeter series as ``(reflectance, mask band)``, on their own grids, by date.

    The reflectance holds B02, B03, B04 and B08 as DN × 1e-4 + ``offset``, float32, with the
    file's ``datetime`` and ``source`` in its attributes.

    Raises:
        FileNotFoundError: no file matches ``pattern`` in ``s2-hls-exeter/sub``.
    """
    folder = _folder(sample_dir, "s2-hls-exeter") / sub
    out = []
    for f in sorted(folder.glob(pattern)):
        raw = open_raster(f)
        da = (raw.sel(band=["B02", "B03", "B04", "B08"]) * 1e-4 + offset).astype("float32")
        da = da.rio.write_crs(raw.rio.crs)
        da.attrs = {"datetime": raw.attrs.get("datetime", ""), "source": str(f)}
        out.append((da, raw.sel(band=mask_band)))
    if not out:
        raise FileNotFoundError(f"No {pattern} files in {folder}")
    out.sort(key=lambda pair: str(pair[0].attrs["datetime"]))
    return out


def _exeter_dates(sample_dir: PathLike) -> list[tuple[xr.DataArray, xr.DataArray]]:
    """The five Exeter dates as ``(reflectance, SCL)``: unmasked, on their own grids, by date.

    The reflectance holds B02, B03, B04 and B08 as (DN − 1000)/10000 (processing baseline
    ≥ 04.00), float32.
    """
    return _exeter_files(sample_dir, "s2-data", "exe_*.tif", -0.1, "SCL")


def read_exeter_s2(sample_dir: PathLike, align: bool = True) -> list[xr.DataArray]:
    """Read the five Exeter Sentinel-2 L2A dates (2024) as reflectance with clouds masked.

    Reflectance is (DN − 1000)/10000 (processing baseline ≥ 04.00); pixels whose SCL is
    no-data, saturated, cloud shadow, cloud or cirrus become NaN. The dates come in three
    CRSs; with ``align=True`` all are reprojected onto the grid of the first date.
    """
    out = []
    for refl, scl in _exeter_dates(sample_dir):
        da = mask_scl(refl, scl).rio.write_crs(refl.rio.crs)
        da.attrs = dict(refl.attrs)
        out.append(da)
    if align:
        out = [out[0], *align_to(out[1:], out[0])]
    return out


def read_exeter_scl(sample_dir: PathLike) -> tuple[list[xr.DataArray], np.ndarray]:
    """The five Exeter dates *unmasked*, with their scene classes, on the grid of the first.

    For checks of the cloud mask itself (:func:`lulcbook.haze.cloud_ratios`); maps use
    :func:`read_exeter_s2`.

    Returns:
        ``(reflectance per date (B02, B03, B04, B08; bilinear), SCL (time, y, x) float, nearest
        neighbour, NaN off the date's footprint)``, sorted by date.
    """
    dates = _exeter_dates(sample_dir)
    refl = [r for r, _ in dates]
    scl = []
    for r, s in dates:
        cls = s.astype("float32").rio.write_crs(r.rio.crs)
        cls.attrs = dict(r.attrs)
        scl.append(cls)
    refl = [refl[0], *align_to(refl[1:], refl[0])]
    scl = [scl[0], *align_to(scl[1:], scl[0], Resampling.nearest)]
    return refl, np.stack([np.asarray(s.values, dtype=np.float32) for s in scl])


def read_exeter_hls(sample_dir: PathLike) -> tuple[list[xr.DataArray], np.ndarray]:
    """The four HLS S30 v2.0 Exeter dates (2021) *unmasked*, with their Fmask, by date.

    For checks of cloud tests against the Fmask of another processing chain (the maps use
    :func:`lulcbook.series_predict.read_series`). The files share one 30 m grid.

    Returns:
        ``(reflectance per date (B02, B03, B04, B08; DN × 1e-4, NaN at nodata), Fmask (time, y,
        x) int16, -1 at nodata)``, sorted by date.

    Raises:
        FileNotFoundError: no ``hls_exe_*.tif`` in the sample.
        ValueError: files on different grids (named).
    """
    dates = _exeter_files(sample_dir, "hls-data", "hls_exe_*.tif", 0.0, "Fmask")
    first = dates[0][0]
    for da, _ in dates[1:]:
        if da.shape[1:] != first.shape[1:] or da.rio.transform() != first.rio.transform():
            raise ValueError(f"{da.attrs['source']} is not on the grid of {first.attrs['source']}")
    fmask = [np.nan_to_num(m.values, nan=-1.0).astype(np.int16) for _, m in dates]
    return [da for da, _ in dates], np.stack(fmask)


def read_landsat_chip(sample_dir: PathLike, name: str) -> xr.DataArray:
    """Read a real Landsat-8 OLI chip: ``"lausanne"`` (reflectance) or ``"poppendorf"`` (DN).

    Bands carry Landsat common names (``blue``, ``green``, ``red``, ``nir08``, …). For
    Lausanne the mask band is applied (outside the city boundary → NaN) and dropped;
    Poppendorf holds level-1 digital numbers (``attrs["units"] == "DN"``).

    Raises:
        ValueError: for an unknown chip name.
    """
    if name not in LANDSAT_CHIPS:
        raise ValueError(f"Unknown Landsat chip {name!r}; expected one of {sorted(LANDSAT_CHIPS)}")
    rel, names = LANDSAT_CHIPS[name]
    da = open_raster(_folder(sample_dir, "landsat8-chips").parent / rel, band_names=names)
    if name == "lausanne":
        inside = da.sel(band="mask") > 0
        da = da.drop_sel(band="mask").where(inside)
        da.attrs.update(units="reflectance", datetime="2020-05-07T10:16:00Z")
    else:
        da.attrs.update(units="DN")
    result: xr.DataArray = da.astype("float32").rio.write_crs(da.rio.crs)
    return result


def read_bigearthnet(
    sample_dir: PathLike, bands: Sequence[str] = DEFAULT_BANDS
) -> list[xr.DataArray]:
    """Read the 14 BigEarthNet-S2 L2A patches (120×120 px at 10 m) as reflectance.

    Each array carries ``attrs["labels"]`` (CORINE 2018 multi-labels), ``attrs["legend_keys"]``
    (their legend classes) and the acquisition date.
    """
    root = _folder(sample_dir, "bigearthnet-s2") / "patches"
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = {
            normalise_band(b): folder / f"{folder.name}_{normalise_band(b)}.tif" for b in bands
        }
        da = read_band_files(files, resolution=10, scale=1e-4)
        meta = json.loads((folder / f"{folder.name}_labels_metadata.json").read_text())
        da.attrs.update(
            name=folder.name,
            labels=meta["labels"],
            legend_keys=sorted({legend.corine_name_to_key(lbl) for lbl in meta["labels"]}),
            datetime=meta.get("acquisition_date", ""),
            source=str(folder),
        )
        out.append(da)
    return out


__all__ = [
    "S2_BANDS",
    "read_bigearthnet",
    "read_brandenburg",
    "read_brandenburg_reference",
    "read_eurosat",
    "read_eurosat_index",
    "read_eurosat_patch",
    "read_exeter_s2",
    "read_landsat_chip",
]
