"""WorldClim bioclimatic variables: read BIO1–19, sample them at points, compute them from monthly data.

* :func:`read_worldclim21` — the project's default climate source: the full WorldClim 2.1
  BIO1–19 at 10′ for Europe (``worldclim/wc21_10m_bio_europe/`` of the offline sample,
  19 single-band files, no masked land), units in :data:`BIO_UNITS_WC21`.
* :func:`read_bioclim` — a multi-band BIO raster (e.g. the sample's WorldClim 1.4
  union mosaic) or a folder/list of single-variable files (``wc2.1_10m_bio_1.tif``,
  ``msk_bio01.tif`` …) → ``DataArray (bio, y, x)`` float32, NaN on nodata.
* :func:`sample_climate` — the climate vector at lon/lat points. A point on a
  nodata cell (sea, masked area) takes the nearest valid cell centre within
  ``fill_km`` and is counted as filled; beyond that it stays NaN and is counted
  as missing. Nothing is filled silently.
* :func:`bioclim_from_monthly` — BIO1–19 from monthly tmin/tmax/prec, following
  ``dismo::biovars`` (Hijmans et al.), the reference implementation of the
  WorldClim/ANUCLIM definitions.
* :func:`download_worldclim` — fetch and unpack a WorldClim 2.1 zip.

WorldClim 1.4 units: temperatures °C×10 (BIO1, 2, 5–11), BIO3 %, BIO4 SD×100,
precipitation mm. WorldClim 2.1: temperatures °C, BIO3 %, BIO4 SD×100, precipitation mm.
The old WorldClim 1.4 union mosaic of the sample (``WC14_UNION_MOSAIC``, masked outside two
published extracts) remains readable with :func:`read_bioclim` as an alternative; models
standardise climate with training statistics, so the unit change does not matter to them.

References:
    Hijmans, R.J., Cameron, S.E., Parra, J.L., Jones, P.G., Jarvis, A. (2005). Very high
    resolution interpolated climate surfaces for global land areas. Int. J. Climatol. 25,
    1965–1978 (WorldClim 1.4).
    Fick, S.E., Hijmans, R.J. (2017). WorldClim 2: new 1-km spatial resolution climate
    surfaces for global land areas. Int. J. Climatol. 37, 4302–4315.
    Xu, T., Hutchinson, M.F. (2011). ANUCLIM version 6.1 user guide (bioclimatic
    parameters). Hijmans et al., R package dismo, ``biovars()``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import xarray as xr

from lulcbook import cells
from lulcbook.io import atomic_path

PathLike = str | os.PathLike[str]

BIO_NAMES: tuple[str, ...] = tuple(f"bio{i}" for i in range(1, 20))
WORLDCLIM_BASE_URL: str = "https://geodata.ucdavis.edu/climate/worldclim/2_1/base"
WORLDCLIM_VARS: tuple[str, ...] = (
    "tmin", "tmax", "tavg", "prec", "srad", "wind", "vapr", "bio", "elev",
)  # fmt: skip
WORLDCLIM_RES: tuple[str, ...] = ("10m", "5m", "2.5m", "30s")
WC21_EUROPE_SUBDIR: str = "worldclim/wc21_10m_bio_europe"
"""Folder of the sample with the 19 WorldClim 2.1 10′ BIO files cropped to Europe."""
WC14_UNION_MOSAIC: str = "worldclim/worldclim14_10m_bio1-19_europe_union_wallace+enmtools.tif"
"""The older WorldClim 1.4 union mosaic (partly masked); a documented alternative only."""

_TEMP = "°C"
BIO_UNITS_WC21: dict[str, str] = {
    "bio1": _TEMP, "bio2": _TEMP, "bio3": "%", "bio4": "°C SD × 100", "bio5": _TEMP,
    "bio6": _TEMP, "bio7": _TEMP, "bio8": _TEMP, "bio9": _TEMP, "bio10": _TEMP,
    "bio11": _TEMP, "bio12": "mm", "bio13": "mm", "bio14": "mm", "bio15": "%",
    "bio16": "mm", "bio17": "mm", "bio18": "mm", "bio19": "mm",
}  # fmt: skip
"""Units of WorldClim 2.1 BIO variables (WorldClim 1.4: temperatures in °C × 10)."""

_BIO_FILE = re.compile(r"bio[_-]?0*(\d{1,2})(?:\D[^/\\]*)?\.tiff?$", re.IGNORECASE)
_EARTH_RADIUS_KM = 6371.0088


# --------------------------------------------------------------------------- reading


def _bio_number(name: str) -> int | None:
    m = _BIO_FILE.search(Path(name).name)
    if m and 1 <= int(m.group(1)) <= 19:
        return int(m.group(1))
    return None


def _read_band(src: rasterio.DatasetReader, index: int) -> np.ndarray:
    a = src.read(index, masked=True).astype("float32")
    data = a.filled(np.nan)
    if src.nodata is not None and src.dtypes[index - 1].startswith("float"):
        data[data <= -3.0e38] = np.nan  # WorldClim float nodata −3.4e38, rounded in places
    result: np.ndarray = data
    return result


def _coords(src: rasterio.DatasetReader) -> dict[str, np.ndarray]:
    t = src.transform
    x = t.c + t.a * (np.arange(src.width) + 0.5)
    y = t.f + t.e * (np.arange(src.height) + 0.5)
    return {"y": y, "x": x}


def read_bioclim(path_or_paths: PathLike | Sequence[PathLike]) -> xr.DataArray:
    """Read WorldClim bioclimatic variables as ``DataArray (bio, y, x)`` float32.

    Args:
        path_or_paths: a multi-band GeoTIFF (bands named ``bio1`` … in their
            descriptions, or exactly 19 bands in order), a folder of single-variable
            files, or a list of such files. File names must carry the variable number:
            ``wc2.1_10m_bio_1.tif``, ``msk_bio01.tif``, ``bio12.tif`` …

    Returns:
        float32 with NaN on nodata, a ``bio`` coordinate (``bio1`` … in numeric
        order, only the variables present), CRS written with rioxarray.

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: a raster without CRS, files on different grids/CRSs, a folder
            without bio files, or a multi-band file whose bands cannot be named.
    """
    import rioxarray  # noqa: F401

    if isinstance(path_or_paths, (str, os.PathLike)):
        p = Path(path_or_paths)
        if not p.exists():
            raise FileNotFoundError(f"WorldClim path {p} does not exist")
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if _bio_number(f.name) is not None)
            if not files:
                raise ValueError(f"No bioclim files (…bio_1.tif, …bio01.tif) in folder {p}")
            return _read_single_files(files)
        return _read_multiband(p)
    files = [Path(f) for f in path_or_paths]
    for f in files:
        if not f.exists():
            raise FileNotFoundError(f"WorldClim file {f} does not exist")
    return _read_single_files(files)


def read_worldclim21(path: PathLike) -> xr.DataArray:
    """Read the WorldClim 2.1 BIO1–19 (10′, Europe) of the offline sample.

    Args:
        path: the sample root (``…/eo-sample``) or the folder
            ``worldclim/wc21_10m_bio_europe`` itself.

    Returns:
        ``DataArray (bio, y, x)`` float32, ``bio1`` … ``bio19``, EPSG:4326, NaN on sea;
        ``attrs["bio_units"]`` maps each variable to its unit (:data:`BIO_UNITS_WC21`).

    Raises:
        FileNotFoundError: the folder does not exist.
        ValueError: a folder without the 19 variables (names the missing ones).
    """
    p = Path(path)
    folder = p / WC21_EUROPE_SUBDIR if (p / WC21_EUROPE_SUBDIR).is_dir() else p
    if not folder.is_dir():
        raise FileNotFoundError(f"WorldClim 2.1 folder {folder} does not exist")
    da = read_bioclim(folder)
    missing = [b for b in BIO_NAMES if b not in set(da["bio"].values)]
    if missing:
        raise ValueError(f"WorldClim 2.1 folder {folder} lacks {missing}")
    da.attrs.update(
        bio_units=dict(BIO_UNITS_WC21),
        long_name="WorldClim 2.1 bioclimatic variables BIO1-19, 10 arc-min (Fick & Hijmans 2017)",
    )
    return da


CLIMATE_SOURCES: dict[str, str] = {
    "wc21_europe": WC21_EUROPE_SUBDIR,
    "wc14_mosaic": WC14_UNION_MOSAIC,
}
"""Named climate rasters of the offline sample (the first is the default)."""


def read_climate_source(sample: PathLike, name: str = "wc21_europe") -> xr.DataArray:
    """Read a named climate raster of the sample (:data:`CLIMATE_SOURCES`).

    ``attrs["temperature_scale"]`` is what BIO1 must be divided by for °C: 1 for
    WorldClim 2.1, 10 for the WorldClim 1.4 mosaic.

    Raises:
        ValueError: an unknown source name. FileNotFoundError: the raster is missing.
    """
    if name not in CLIMATE_SOURCES:
        raise ValueError(
            f"Unknown climate source {name!r}; expected one of {list(CLIMATE_SOURCES)}"
        )
    if name == "wc21_europe":
        da = read_worldclim21(sample)
        da.attrs["temperature_scale"] = 1.0
    else:
        da = read_bioclim(Path(sample) / CLIMATE_SOURCES[name])
        da.attrs.update(
            temperature_scale=10.0,
            long_name="WorldClim 1.4 BIO1-19, 10 arc-min (Hijmans et al. 2005), masked mosaic",
        )
    return da


def _read_multiband(path: Path) -> xr.DataArray:
    with rasterio.open(path) as src:
        if src.crs is None:
            raise ValueError(f"{path} has no CRS; a georeferenced raster is required")
        desc = [(d or "").strip().lower() for d in src.descriptions]
        if all(re.fullmatch(r"bio_?0*\d{1,2}", d) for d in desc):
            names = ["bio" + str(int(re.sub(r"\D", "", d))) for d in desc]
        elif src.count == 19:
            names = list(BIO_NAMES)
        elif src.count == 1 and _bio_number(path.name) is not None:
            names = [f"bio{_bio_number(path.name)}"]
        else:
            raise ValueError(
                f"{path} has {src.count} bands without bio names in their descriptions "
                f"({src.descriptions}); expected 19 bands or descriptions bio1…bio19"
            )
        data = np.stack([_read_band(src, i) for i in range(1, src.count + 1)])
        coords, crs = _coords(src), src.crs
    da = xr.DataArray(data, dims=("bio", "y", "x"), coords={"bio": names, **coords})
    return _finish(da, crs, path)


def _read_single_files(files: Sequence[Path]) -> xr.DataArray:
    """Stack one-variable rasters (``bio_1.tif`` …) that share one grid."""
    layers: list[np.ndarray] = []
    names: list[int] = []
    grid: tuple[Any, Any, tuple[int, int]] | None = None
    for f in files:
        n = _bio_number(f.name)
        if n is None:
            raise ValueError(f"Cannot tell the bio variable of {f}; expected a name like bio_1.tif")
        with rasterio.open(f) as src:
            if src.crs is None:
                raise ValueError(f"{f} has no CRS; a georeferenced raster is required")
            this = (src.crs, src.transform, src.shape)
            if grid is None:
                grid, first, coords = this, f, _coords(src)
            elif this != grid:
                raise ValueError(
                    f"{f} (CRS {src.crs}, {src.shape}) is not on the grid of {first} "
                    f"(CRS {grid[0]}, {grid[2]}); resample the files to one grid first"
                )
            layers.append(_read_band(src, 1))
        names.append(n)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"Variables given twice: {[f'bio{n}' for n in dup]} in {list(files)}")
    if grid is None:
        raise ValueError("No bioclim files given")
    order = np.argsort(names)
    da = xr.DataArray(
        np.stack([layers[i] for i in order]),
        dims=("bio", "y", "x"),
        coords={"bio": [f"bio{names[i]}" for i in order], **coords},
    )
    return _finish(da, grid[0], files[0].parent)


def _finish(da: xr.DataArray, crs: Any, source: Path) -> xr.DataArray:
    da = da.rio.write_crs(crs)
    da.name = "bioclim"
    da.attrs.update(source=str(source), long_name="WorldClim bioclimatic variables")
    return da


# --------------------------------------------------------------------------- sampling


def sample_climate(
    bio_da: xr.DataArray,
    lon: Sequence[float] | np.ndarray | float,
    lat: Sequence[float] | np.ndarray | float,
    fill_km: float = 25.0,
) -> tuple[xr.DataArray, dict[str, Any]]:
    """Sample the climate vector at points given in degrees (EPSG:4326).

    A cell is valid when every variable is finite there. A point on a valid cell
    takes that cell's values; a point on a nodata cell or just outside the raster
    takes the nearest valid cell whose centre lies within ``fill_km`` (great-circle
    distance for geographic rasters, metres/1000 for projected ones); otherwise its
    vector is NaN.

    Args:
        bio_da: ``(bio, y, x)`` from :func:`read_bioclim` (any CRS).
        lon: point longitudes (a scalar or 1-d).
        lat: point latitudes (a scalar or 1-d, the length of ``lon``).
        fill_km: search radius for nodata points; ``0`` disables filling.

    Returns:
        ``(climate, info)``: ``climate`` float32 ``(point, bio)`` with coordinates
        ``lon``, ``lat``, ``source`` (``"cell"``, ``"neighbour"`` or ``"missing"``) and
        ``fill_distance_km`` (0 on valid cells, NaN when missing); ``info`` =
        ``{"n_points", "on_valid_cell", "filled_from_neighbour", "missing", "fill_km"}``.

    Raises:
        ValueError: mismatched lon/lat, lat outside ±90, a negative ``fill_km``, or
            ``bio_da`` without CRS or without dims ``(bio, y, x)``.
    """
    lon_a = np.atleast_1d(np.asarray(lon, dtype="float64"))
    lat_a = np.atleast_1d(np.asarray(lat, dtype="float64"))
    if lon_a.shape != lat_a.shape or lon_a.ndim != 1:
        raise ValueError(f"lon {lon_a.shape} and lat {lat_a.shape} must be 1-d of equal length")
    if np.any(np.abs(lat_a) > 90):
        raise ValueError(f"Latitudes outside ±90°: {lat_a[np.abs(lat_a) > 90][:5].tolist()}")
    if fill_km < 0:
        raise ValueError(f"fill_km must be ≥ 0; got {fill_km}")
    if set(bio_da.dims) != {"bio", "y", "x"}:
        raise ValueError(f"Expected dims (bio, y, x); got {bio_da.dims}")
    crs = bio_da.rio.crs
    if crs is None:
        raise ValueError(f"Climate raster {bio_da.attrs.get('source', '')} has no CRS")
    da = bio_da.transpose("bio", "y", "x")
    values = da.values.astype("float32")
    valid = np.isfinite(values).all(axis=0)
    ys, xs = da["y"].values, da["x"].values

    geographic = bool(crs.is_geographic)
    px, py = cells.lonlat_to_crs(crs, lon_a, lat_a)
    row, col, inside = cells.cells_under(xs, ys, px, py)
    on_cell = np.zeros(lon_a.size, dtype=bool)
    on_cell[inside] = valid[row[inside], col[inside]]

    out = np.full((lon_a.size, values.shape[0]), np.nan, dtype="float32")
    out[on_cell] = values[:, row[on_cell], col[on_cell]].T
    dist = np.where(on_cell, 0.0, np.nan)
    todo = np.flatnonzero(~on_cell)
    if todo.size and fill_km > 0 and valid.any():
        from scipy.spatial import cKDTree

        vr, vc = np.nonzero(valid)
        if geographic:
            tree = cKDTree(_unit_xyz(xs[vc], ys[vr]))
            chord = 2 * np.sin(fill_km / _EARTH_RADIUS_KM / 2)
            d, j = tree.query(_unit_xyz(px[todo], py[todo]), distance_upper_bound=chord)
            km = 2 * np.arcsin(np.minimum(d, 2) / 2) * _EARTH_RADIUS_KM
        else:
            tree = cKDTree(np.column_stack([xs[vc], ys[vr]]))
            d, j = tree.query(
                np.column_stack([px[todo], py[todo]]), distance_upper_bound=fill_km * 1000
            )
            km = d / 1000
        d, j = np.asarray(d), np.asarray(j)
        hit = np.isfinite(d) & (j < vr.size)
        out[todo[hit]] = values[:, vr[j[hit]], vc[j[hit]]].T
        dist[todo[hit]] = km[hit]
    filled = np.isfinite(dist) & ~on_cell
    source = np.where(on_cell, "cell", np.where(filled, "neighbour", "missing"))

    climate = xr.DataArray(
        out,
        dims=("point", "bio"),
        coords={
            "bio": da["bio"].values,
            "lon": ("point", lon_a),
            "lat": ("point", lat_a),
            "source": ("point", source),
            "fill_distance_km": ("point", dist),
        },
        name="climate",
        attrs={"fill_km": fill_km, "source_raster": da.attrs.get("source", "")},
    )
    info = {
        "n_points": int(lon_a.size),
        "on_valid_cell": int(on_cell.sum()),
        "filled_from_neighbour": int(filled.sum()),
        "missing": int((source == "missing").sum()),
        "fill_km": float(fill_km),
    }
    return climate, info


def _unit_xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


# --------------------------------------------------------------------------- download


def worldclim_url(var: str = "bio", res: str = "10m", base_url: str = WORLDCLIM_BASE_URL) -> str:
    """URL of a WorldClim 2.1 historical-climate zip, e.g. ``…/wc2.1_10m_bio.zip``.

    Raises:
        ValueError: an unknown variable or resolution.
    """
    if var not in WORLDCLIM_VARS:
        raise ValueError(f"Unknown WorldClim variable {var!r}; expected one of {WORLDCLIM_VARS}")
    if res not in WORLDCLIM_RES:
        raise ValueError(f"Unknown WorldClim resolution {res!r}; expected one of {WORLDCLIM_RES}")
    return f"{base_url.rstrip('/')}/wc2.1_{res}_{var}.zip"


def extract_worldclim_zip(zip_path: PathLike, dest: PathLike) -> list[Path]:
    """Extract the GeoTIFFs of a WorldClim zip into ``dest`` (flat, each file atomically).

    Returns:
        The extracted ``.tif`` paths, sorted by variable number where they have one.

    Raises:
        FileNotFoundError: ``zip_path`` does not exist.
        ValueError: not a zip, or a zip without GeoTIFFs.
    """
    zip_path, dest = Path(zip_path), Path(dest)
    if not zip_path.exists():
        raise FileNotFoundError(f"WorldClim zip {zip_path} does not exist")
    if not zipfile.is_zipfile(zip_path):
        raise ValueError(f"{zip_path} is not a zip file")
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    with zipfile.ZipFile(zip_path) as zf:
        for member in zf.infolist():
            name = Path(member.filename).name  # flat: never write outside dest
            if member.is_dir() or not name.lower().endswith((".tif", ".tiff")):
                continue
            target = dest / name
            with atomic_path(target) as tmp, zf.open(member) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            out.append(target)
    if not out:
        raise ValueError(f"{zip_path} contains no GeoTIFF files")
    return sorted(out, key=lambda p: (_bio_number(p.name) or 0, p.name))


def download_worldclim(
    var: str = "bio",
    res: str = "10m",
    dest: PathLike = "data/raw/worldclim",
    base_url: str = WORLDCLIM_BASE_URL,
    overwrite: bool = False,
    timeout: float = 600.0,
) -> list[Path]:
    """Download a WorldClim 2.1 zip (e.g. ``wc2.1_10m_bio.zip``, ~50 MB) and extract its GeoTIFFs.

    Needs a network (not run in the tests). An existing complete extraction is
    reused unless ``overwrite``. Licence: WorldClim data are free for research and
    non-commercial use; cite Fick & Hijmans (2017).

    Returns:
        The extracted GeoTIFF paths in ``dest``.

    Raises:
        ValueError: unknown variable/resolution; urllib errors on network failure.
    """
    url = worldclim_url(var, res, base_url)
    dest = Path(dest)
    marker = dest / f".{Path(url).name}.complete"
    if marker.exists() and not overwrite:
        return sorted(
            dest.glob(f"wc2.1_{res}_{var}*.tif"), key=lambda p: (_bio_number(p.name) or 0, p.name)
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        zip_path = Path(tmp) / Path(url).name
        with urllib.request.urlopen(url, timeout=timeout) as r, open(zip_path, "wb") as f:
            shutil.copyfileobj(r, f)
        files = extract_worldclim_zip(zip_path, dest)
    marker.write_text(url + "\n")
    return files


# --------------------------------------------------------------------------- BIO1–19


def _as_monthly(a: xr.DataArray | np.ndarray, name: str) -> xr.DataArray:
    if not isinstance(a, xr.DataArray):
        arr = np.asarray(a, dtype="float64")
        if arr.ndim == 0:
            raise ValueError(f"{name} must have a month axis of length 12; got a scalar")
        a = xr.DataArray(arr, dims=("month", *[f"dim_{i}" for i in range(1, arr.ndim)]))
    if "month" not in a.dims:
        raise ValueError(f"{name} has no 'month' dimension; its dims are {a.dims}")
    if a.sizes["month"] != 12:
        raise ValueError(f"{name} has dimension 'month' of length {a.sizes['month']}; expected 12")
    a = a.astype(np.result_type(a.dtype, np.float32))
    return a.drop_vars("month", errors="ignore")


def bioclim_from_monthly(
    tmin: xr.DataArray | np.ndarray,
    tmax: xr.DataArray | np.ndarray,
    prec: xr.DataArray | np.ndarray,
) -> xr.DataArray:
    """Compute BIO1–19 from monthly minimum/maximum temperature and precipitation.

    Follows ``dismo::biovars`` (R, Hijmans et al.), which implements the
    WorldClim/ANUCLIM definitions on monthly data; results are in the units of the
    inputs (BIO3 in %, BIO4 = 100 × SD).

    * tavg = (tmin + tmax) / 2 per month.
    * BIO1 mean tavg; BIO2 mean (tmax − tmin); BIO5 max tmax; BIO6 min tmin;
      BIO7 = BIO5 − BIO6; BIO3 = 100 · BIO2 / BIO7.
    * BIO4 = 100 · SD(tavg) with the **sample** SD (n − 1), as R's ``sd`` in dismo.
    * BIO12 sum prec; BIO13 / BIO14 max / min monthly prec.
    * BIO15 = 100 · SD(prec) / (1 + mean prec), sample SD: dismo's ``cv(prec + 1)``
      (the +1 avoids huge CVs where mean rain is below 1 mm).
    * Quarters: the 12 windows of 3 consecutive months starting at each month,
      wrapping around the year (Nov–Dec–Jan, Dec–Jan–Feb). Quarter precipitation is
      the sum, quarter temperature the mean of tavg. BIO8/BIO9 mean temperature of
      the wettest/driest quarter; BIO10/BIO11 of the warmest/coldest quarter;
      BIO16/BIO17 precipitation of the wettest/driest quarter; BIO18/BIO19
      precipitation of the warmest/coldest quarter. Ties go to the earliest
      starting month (as R's ``which.max``).
    * A location with any missing month gets NaN for all 19 variables.

    Args:
        tmin: monthly minimum temperature: a DataArray with a ``month`` dimension of
            length 12 (other dims, e.g. ``y, x`` or ``point``, must match those of the
            other inputs and are kept), or a numpy array whose first axis is the month.
        tmax: monthly maximum temperature, as ``tmin``.
        prec: monthly precipitation, as ``tmin``.

    Returns:
        DataArray ``(bio, ...)`` with ``bio`` = ``bio1`` … ``bio19``.

    Raises:
        ValueError: a missing ``month`` dim or one not of length 12 (naming the input
            and the length), inputs whose other dims/coords differ, or tmin > tmax.
    """
    tmin_, tmax_, prec_ = (
        _as_monthly(a, n) for a, n in ((tmin, "tmin"), (tmax, "tmax"), (prec, "prec"))
    )
    try:
        tmin_, tmax_, prec_ = xr.align(tmin_, tmax_, prec_, join="exact")
    except ValueError as err:
        raise ValueError(f"tmin, tmax and prec must share their coordinates: {err}") from err
    tmin_, tmax_, prec_ = xr.broadcast(tmin_, tmax_, prec_)
    bad = int((tmin_ > tmax_).sum())
    if bad:
        raise ValueError(f"tmin > tmax in {bad} month/location value(s); check the inputs")

    anynan = (tmin_.isnull() | tmax_.isnull() | prec_.isnull()).any("month")
    tmin_, tmax_, prec_ = tmin_.fillna(0), tmax_.fillna(0), prec_.fillna(0)
    tavg = (tmin_ + tmax_) / 2

    def quarters(a: xr.DataArray) -> xr.DataArray:
        """Sum over the 3-month window starting at each month (wrapping around the year)."""
        total = a.roll(month=0, roll_coords=False)
        for k in (1, 2):
            total = total + a.roll(month=-k, roll_coords=False)
        return total

    q_prec = quarters(prec_)
    q_temp = quarters(tavg) / 3
    wet, dry = q_prec.argmax("month"), q_prec.argmin("month")
    hot, cold = q_temp.argmax("month"), q_temp.argmin("month")

    bio = {}
    bio[1] = tavg.mean("month")
    bio[2] = (tmax_ - tmin_).mean("month")
    bio[4] = 100 * tavg.std("month", ddof=1)
    bio[5] = tmax_.max("month")
    bio[6] = tmin_.min("month")
    bio[7] = bio[5] - bio[6]
    bio[3] = 100 * bio[2] / bio[7]
    bio[8] = q_temp.isel(month=wet)
    bio[9] = q_temp.isel(month=dry)
    bio[10] = q_temp.max("month")
    bio[11] = q_temp.min("month")
    bio[12] = prec_.sum("month")
    bio[13] = prec_.max("month")
    bio[14] = prec_.min("month")
    bio[15] = 100 * prec_.std("month", ddof=1) / (1 + prec_.mean("month"))
    bio[16] = q_prec.max("month")
    bio[17] = q_prec.min("month")
    bio[18] = q_prec.isel(month=hot)
    bio[19] = q_prec.isel(month=cold)
    out = xr.concat(
        [bio[i].drop_vars("month", errors="ignore") for i in range(1, 20)],
        dim="bio",
        coords="minimal",
        compat="override",
    )
    out = out.assign_coords(bio=list(BIO_NAMES)).where(~anynan)
    out.name = "bioclim"
    out.attrs["long_name"] = "bioclimatic variables BIO1–BIO19 (dismo::biovars definitions)"
    return out
