"""Harmonise imagery into datacubes: read, scale, mask, align, composite, cut patches.

Every function works on ``xarray.DataArray`` objects with dims ``(band, y, x)``
(optionally ``time``), a ``band`` coordinate of Sentinel-2 names and a CRS set
through rioxarray. Errors name the file, band or CRS that is wrong.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from rasterio.enums import Resampling

from lulcbook.bands import normalise_band, select_bands
from lulcbook.io import atomic_path

# pyproj warns, for oblique-Mercator CRSs (e.g. the Swiss LV95 of a Landsat chip), that CF
# grid-mapping attributes cannot hold one of its parameters; rioxarray keeps the whole CRS as WKT
# beside them, so nothing is lost. Only this message is filtered.
warnings.filterwarnings(
    "ignore", message="angle from rectified to skew grid parameter lost", category=UserWarning
)

SCL_INVALID: tuple[int, ...] = (0, 1, 3, 8, 9, 10)
"""Sentinel-2 L2A scene classes masked as invalid: no data, saturated, cloud shadow,
cloud medium/high probability, thin cirrus."""


def _check_exists(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    return path


def open_raster(
    path: str | os.PathLike[str],
    band_names: Sequence[str] | None = None,
    bands: Sequence[str] | None = None,
    scale: float = 1.0,
    offset: float = 0.0,
) -> xr.DataArray:
    """Read a multi-band raster as float32 ``(band, y, x)`` with nodata as NaN.

    Band names come from ``band_names`` or else the file's band descriptions.
    Values are ``DN * scale + offset``.

    Args:
        path: the raster file.
        band_names: names of all bands in file order, when the file has no descriptions.
        bands: the bands to keep (matched case-insensitively), in this order.
        scale: multiplier from digital numbers to reflectance.
        offset: added after scaling.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the raster has no CRS, its bands are unnamed, or a band is missing.
    """
    path = _check_exists(path)
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as err:
        raise ValueError(f"{path} is not a readable raster: {err}") from err
    with src:
        if src.crs is None:
            raise ValueError(f"{path} has no CRS; a georeferenced raster is required")
        names = list(band_names) if band_names is not None else list(src.descriptions)
        if len(names) != src.count or any(n is None for n in names):
            raise ValueError(
                f"{path} has {src.count} bands without usable names {names}; pass band_names"
            )
        idx = list(range(src.count)) if bands is None else select_bands(names, bands, str(path))
        data = src.read([i + 1 for i in idx]).astype("float32")
        nodata = src.nodata
        if nodata is not None:
            data[data == np.float32(nodata)] = np.nan
        data = data * np.float32(scale) + np.float32(offset)
        da = xr.DataArray(
            data,
            dims=("band", "y", "x"),
            coords={"band": [_canonical(str(names[i])) for i in idx]},
            name="reflectance",
        )
        da = da.rio.write_transform(src.transform).rio.write_crs(src.crs)
        xs, ys = _coords(src.transform, src.width, src.height)
        da = da.assign_coords(x=xs, y=ys).rio.write_nodata(np.nan, encoded=False)
        da.attrs.update(src.tags())
        da.attrs["source"] = str(path)
    result: xr.DataArray = da
    return result


def _canonical(name: str) -> str:
    """Sentinel-2 band names in canonical form (``b02`` → ``B02``); other names unchanged."""
    try:
        return normalise_band(name)
    except ValueError:
        return name


def _coords(transform: rasterio.Affine, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    xs = transform.c + transform.a * (np.arange(width) + 0.5)
    ys = transform.f + transform.e * (np.arange(height) + 0.5)
    return xs, ys


def read_band_files(
    files: dict[str, Path], resolution: float | None = None, scale: float = 1.0, offset: float = 0.0
) -> xr.DataArray:
    """Stack single-band rasters (e.g. a SAFE granule's JP2s) on the grid of the finest band.

    Coarser bands are resampled bilinearly to that grid. All files must share one CRS.

    Args:
        files: band name → file path.
        resolution: the target pixel size; default the finest among the files.
        scale: DN → reflectance factor (``reflectance = DN * scale + offset``).
        offset: DN → reflectance offset.

    Raises:
        FileNotFoundError: for a missing file.
        ValueError: for a file without CRS, or files in different CRSs.
    """
    if not files:
        raise ValueError("No band files given")
    metas = {}
    for name, f in files.items():
        f = _check_exists(f)
        with rasterio.open(f) as src:
            if src.crs is None:
                raise ValueError(f"{f} (band {name}) has no CRS")
            metas[name] = (f, src.crs, src.transform, src.width, src.height, src.nodata)
    crss = {str(m[1]) for m in metas.values()}
    if len(crss) > 1:
        detail = ", ".join(f"{n}: {m[1].to_string()}" for n, m in metas.items())
        raise ValueError(f"Band files are in different CRSs ({detail}); reproject them first")
    ref_name = min(metas, key=lambda n: abs(metas[n][2].a))
    if resolution is not None:
        ref_name = min(metas, key=lambda n: abs(abs(metas[n][2].a) - resolution))
    _, crs, transform, width, height, _ = metas[ref_name]
    arrays = []
    for f, _, _, w, h, nodata in metas.values():
        with rasterio.open(f) as src:
            resampling = Resampling.nearest if (w, h) == (width, height) else Resampling.bilinear
            arr = src.read(1, out_shape=(height, width), resampling=resampling).astype("float32")
        if nodata is not None:
            arr[arr == np.float32(nodata)] = np.nan
        arrays.append(arr * np.float32(scale) + np.float32(offset))
    xs, ys = _coords(transform, width, height)
    da = xr.DataArray(
        np.stack(arrays),
        dims=("band", "y", "x"),
        coords={"band": [normalise_band(n) for n in metas], "x": xs, "y": ys},
        name="reflectance",
    )
    result: xr.DataArray = (
        da.rio.write_transform(transform).rio.write_crs(crs).rio.write_nodata(np.nan, encoded=False)
    )
    return result


def check_same_crs(arrays: Sequence[xr.DataArray]) -> None:
    """Raise if the arrays are not all in one CRS (names each array's source and CRS)."""
    crss = [a.rio.crs for a in arrays]
    if any(c is None for c in crss):
        bad = [
            a.attrs.get("source", f"array {i}") for i, a in enumerate(arrays) if a.rio.crs is None
        ]
        raise ValueError(f"Arrays without CRS: {bad}")
    if len({c.to_string() for c in crss}) > 1:
        detail = "; ".join(
            f"{a.attrs.get('source', i)}: {c.to_string()}"
            for i, (a, c) in enumerate(zip(arrays, crss, strict=True))
        )
        raise ValueError(f"Mismatched CRSs, align them first with align_to(): {detail}")


def align_to(
    arrays: Sequence[xr.DataArray],
    reference: xr.DataArray,
    resampling: Resampling = Resampling.bilinear,
) -> list[xr.DataArray]:
    """Reproject every array onto the grid (CRS, transform, shape) of ``reference``.

    Bilinear by default; pass ``Resampling.nearest`` for class layers (e.g. SCL), which must be
    float for the NaN fill.
    """
    if reference.rio.crs is None:
        raise ValueError(f"Reference {reference.attrs.get('source', '')} has no CRS")
    out = []
    for a in arrays:
        if a.rio.crs is None:
            raise ValueError(f"{a.attrs.get('source', 'array')} has no CRS; cannot reproject")
        r = a.rio.reproject_match(reference, resampling=resampling, nodata=np.nan)
        r.attrs = dict(a.attrs)
        out.append(r.assign_coords(x=reference.x, y=reference.y))
    return out


def mask_scl(
    da: xr.DataArray, scl: xr.DataArray, invalid: Sequence[int] = SCL_INVALID
) -> xr.DataArray:
    """Set pixels whose Sentinel-2 scene class is in ``invalid`` to NaN."""
    bad = np.isin(scl.values, list(invalid))
    return da.where(~xr.DataArray(bad, dims=("y", "x"), coords={"y": da.y, "x": da.x}))


def composite(arrays: Sequence[xr.DataArray], how: str = "median") -> xr.DataArray:
    """Combine aligned acquisitions into one cloud-free composite, ignoring NaN.

    Raises:
        ValueError: for an unknown method or arrays in different CRSs.
    """
    check_same_crs(arrays)
    stack = xr.concat(arrays, dim="time")
    if how == "median":
        out = stack.median("time", skipna=True)
    elif how == "mean":
        out = stack.mean("time", skipna=True)
    else:
        raise ValueError(f"Unknown composite method {how!r}; expected 'median' or 'mean'")
    result: xr.DataArray = out.astype("float32").rio.write_crs(arrays[0].rio.crs)
    return result


def cut_patch(da: xr.DataArray, x: float, y: float, size: int) -> xr.DataArray:
    """Cut a ``size``×``size`` patch centred on map coordinates ``(x, y)`` (in the array's CRS).

    Raises:
        ValueError: if the patch does not fit inside the array.
    """
    col = int(np.argmin(np.abs(da.x.values - x)))
    row = int(np.argmin(np.abs(da.y.values - y)))
    r0, c0 = row - size // 2, col - size // 2
    if r0 < 0 or c0 < 0 or r0 + size > da.sizes["y"] or c0 + size > da.sizes["x"]:
        raise ValueError(
            f"A {size}px patch around ({x}, {y}) does not fit in {da.attrs.get('source', 'the array')} "
            f"({da.sizes['y']}x{da.sizes['x']} px)"
        )
    return da.isel(y=slice(r0, r0 + size), x=slice(c0, c0 + size))


def write_patches(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write the patch dataset to netCDF (h5netcdf, compressed) atomically."""
    enc = {v: {"zlib": True, "complevel": 4} for v in ds.data_vars if ds[v].dtype.kind in "fiub"}
    with atomic_path(path, suffix=".nc") as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=enc)
    return Path(path)


def open_patches(path: str | os.PathLike[str]) -> xr.Dataset:
    """Open the patch dataset written by notebook 01-data (loaded into memory).

    Raises:
        FileNotFoundError: naming the path and the stage that writes it.
        ValueError: if a required variable is missing.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: run stage 'data' (notebooks/01-data.ipynb) first"
        )
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    required = {
        "reflectance",
        "label",
        "point_y",
        "point_x",
        "region",
        "split",
        "climate",
        "climate_valid",
    }
    missing = sorted(required - set(ds.variables))
    if missing:
        raise ValueError(f"{path} lacks variables {missing}; rebuild it with stage 'data'")
    return ds
