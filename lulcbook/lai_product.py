"""LAI map products: a scene's surface reflectance to LAI COGs with a STAC item.

:func:`write_lai_product` reads the bands :data:`lulcbook.lai.BANDS` of any input that
:func:`lulcbook.predict.open_source` accepts (multi-band raster, folder of band files, STAC item),
on the grid of the finest band (20 m bands resampled bilinearly onto the 10 m grid when B03/B04
are 10 m), runs :func:`lulcbook.lai.compute_lai` and writes, only once complete
(:func:`lulcbook.io.output_set`):

* ``OUT.tif``: float32 COG, band 1 ``lai`` (m² m⁻²), band 2 ``lai_sigma`` (1-sigma LAI
  uncertainty propagated from the assumed reflectance noise
  :func:`lulcbook.lai.reflectance_noise`; it does not include the network's own model error),
  nodata NaN, average overviews;
* ``OUT_flags.tif``: uint8 COG of the per-pixel bit flags (:data:`lulcbook.lai.FLAG_NAMES`,
  in the metadata), mode overviews;
* ``OUT.json``: a STAC item (projection and raster extensions) listing both.

The whole scene is read into memory at once (fine for patches and small scenes; a full
100 km granule at 10 m needs about 10 GB): tiling as in :mod:`lulcbook.predict` is not done here.

Angles: the sample scenes carry no per-pixel geometry, so :func:`lulcbook.lai.default_angles`
is used (near-nadir view, noon sun for the scene's date and centre latitude), and flagged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
from pystac.extensions.raster import NoDataStrings
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from lulcbook import cog, lai
from lulcbook.io import output_set
from lulcbook.product_stac import AssetSpec, BandSpec, parse_datetime, product_item

PathLike = str | os.PathLike[str]
LAI_BANDS: tuple[str, str] = ("lai", "lai_sigma")


def flags_path(out: PathLike) -> Path:
    """``OUT_flags.tif`` beside ``OUT.tif``."""
    out = Path(out)
    return out.with_name(f"{out.stem}_flags{out.suffix}")


def infer_level(name: str, preset: str | None = None) -> str | None:
    """The processing level from a scaling preset or a product name (MSIL1C / MSIL2A), if any."""
    text = f"{preset or ''} {Path(name).name} {Path(name).parent.name}".upper()
    if "L1C" in text:
        return "L1C"
    if "L2A" in text:
        return "L2A"
    if "HLS" in text:
        return "L2A"
    return None


def _centre_latitude(crs: Any, transform: rasterio.Affine, width: int, height: int) -> float:
    left, top = transform * (0, 0)
    right, bottom = transform * (width, height)
    b = transform_bounds(
        crs, "EPSG:4326", min(left, right), min(top, bottom), max(left, right), max(top, bottom)
    )
    return float((b[1] + b[3]) / 2)


def lai_for_source(
    source: Any,
    level: str,
    allow_toa: bool = False,
) -> tuple[lai.LaiResult, dict[str, Any]]:
    """LAI of a :class:`lulcbook.predict.RasterSource` (whole grid), with default angles.

    Returns:
        The result and the grid (``crs``, ``transform``, ``width``, ``height``, ``datetime``,
        ``latitude``).
    """
    rho = source.read(Window(0, 0, source.width, source.height)).astype(np.float64)
    nodata = np.all(np.isnan(rho), axis=0)
    when = parse_datetime(source.datetime) if source.datetime else None
    lat = _centre_latitude(source.crs, source.affine, source.width, source.height)
    res = lai.compute_lai(rho, None, level=level, allow_toa=allow_toa, day=when, latitude=lat)
    res.flags[nodata] = 0  # no data is not an invalid measurement: NaN LAI, no flag
    grid = {
        "crs": source.crs,
        "transform": source.affine,
        "width": source.width,
        "height": source.height,
        "datetime": source.datetime,
        "latitude": lat,
    }
    return res, grid


def _write_scratch(
    path: Path, data: np.ndarray, grid: dict[str, Any], names: tuple[str, ...], tags: dict[str, str]
) -> None:
    is_float = data.dtype.kind == "f"
    profile = {
        "driver": "GTiff",
        "width": grid["width"],
        "height": grid["height"],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": grid["crs"],
        "transform": grid["transform"],
        "nodata": float("nan") if is_float else None,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    if not is_float:
        profile.pop("nodata")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, n in enumerate(names, start=1):
            dst.set_band_description(i, n)
        dst.update_tags(**tags)


def _cog(
    scratch: Path, dst: Path, resampling: str, grid: dict[str, Any], blocksize: int = 256
) -> None:
    """COG copy with at least one overview level, also for scenes smaller than a block."""
    n = 1
    while max(grid["width"], grid["height"]) >> (n + 1) >= blocksize:
        n += 1
    cog.copy_to_cog(
        scratch, dst, resampling, predictor=resampling == "AVERAGE", blocksize=blocksize,
        overview_count=n,
    )  # fmt: skip


def lai_stac_item(
    lai_tif: Path,
    lai_href: str,
    flags_tif: Path,
    flags_href: str,
    item_id: str,
    grid: dict[str, Any],
    properties: dict[str, Any],
) -> pystac.Item:
    """The STAC item of an LAI product, built by :func:`lulcbook.product_stac.product_item`.

    Args:
        lai_tif: the LAI COG (may still be temporary).
        lai_href: its href relative to the item.
        flags_tif: the flags COG (may still be temporary).
        flags_href: its href relative to the item.
        item_id: the item id.
        grid: the grid of :func:`lai_for_source` (its ``datetime`` is used).
        properties: extra item properties.

    Returns:
        The item (projection and raster extensions, licence and providers).
    """
    return product_item(
        item_id,
        [
            AssetSpec(
                key="lai",
                href=lai_href,
                title="Leaf area index and its uncertainty",
                description="Band 1: LAI (m2/m2) from the Sentinel-2 Toolbox network; band 2: "
                "1-sigma uncertainty propagated from assumed reflectance noise. Nodata NaN.",
                bands=tuple(
                    BandSpec(n, "float32", nodata=NoDataStrings.NAN, unit="m2/m2")
                    for n in LAI_BANDS
                ),
                path=Path(lai_tif),
            ),
            AssetSpec(
                key="flags",
                href=flags_href,
                title="LAI quality flags",
                description="Bit flags: "
                + ", ".join(f"{b}={n}" for b, n in lai.FLAG_NAMES.items()),
                bands=(BandSpec("flags", "uint8"),),
                path=Path(flags_tif),
                roles=("data", "quality"),
            ),
        ],
        datetime_=grid.get("datetime"),
        properties=properties,
    )


def write_lai_product(
    input: Any,
    out: PathLike,
    level: str | None = None,
    allow_toa: bool = False,
    **source_options: Any,
) -> dict[str, Any]:
    """Write ``OUT.tif`` (LAI, sigma), ``OUT_flags.tif`` and ``OUT.json`` for a scene.

    Args:
        input: anything :func:`lulcbook.predict.open_source` accepts.
        out: the LAI COG path (``.tif``).
        level: "L2A" (default when the name or preset says so), "L1C"/"TOA" (needs ``allow_toa``).
        allow_toa: accept top-of-atmosphere reflectance (outside the method's domain; flagged).
        **source_options: ``preset``, ``scale``, ``offset``, ``band_names``, ``nodata`` …

    Returns:
        A summary: paths, LAI mean / quantiles, flag counts.

    Raises:
        lulcbook.lai.LaiInputError: if the level is unknown (naming the input), or TOA input
            without ``allow_toa``.
    """
    from lulcbook.predict import open_source

    out = Path(out)
    if out.suffix.lower() not in (".tif", ".tiff"):
        raise ValueError(f"--out {out} must end in .tif")
    lvl = level or infer_level(str(input), source_options.get("preset"))
    if lvl is None:
        raise lai.LaiInputError(
            f"cannot tell the processing level of {input}; pass level='L2A' (surface reflectance) "
            "or 'L1C' with allow_toa=True"
        )
    if lvl.upper() in lai.TOA_LEVELS and not allow_toa:
        raise lai.ToaInputError(
            f"{input} is {lvl} (top of atmosphere); the LAI network expects surface reflectance "
            "(L2A); pass allow_toa=True (--allow-toa) to run it anyway"
        )
    source = open_source(input, list(lai.BANDS), **source_options)
    res, grid = lai_for_source(source, lvl, allow_toa)
    names = {b: n for b, n in lai.FLAG_NAMES.items()}
    tags = {
        "SOFTWARE": "lulcbook",
        "METHOD": "Sentinel-2 Toolbox LAI network (S2A, auxdata 3_0)",
        "INPUT": str(input),
        "LEVEL": lvl,
        "FLAGS": json.dumps(names),
        "UNCERTAINTY": "lai_sigma: LAI response to assumed reflectance noise max(0.005, 0.05*rho)",
    }
    json_path = out.with_suffix(".json")
    fpath = flags_path(out)
    with output_set([out, fpath, json_path]) as outs:
        s1, s2 = outs.scratch / "lai.tif", outs.scratch / "flags.tif"
        _write_scratch(s1, np.stack([res.lai, res.sigma]).astype(np.float32), grid, LAI_BANDS, tags)
        _write_scratch(s2, res.flags[None].astype(np.uint8), grid, ("flags",), tags)
        _cog(s1, outs.tmp[0], "AVERAGE", grid)
        _cog(s2, outs.tmp[1], "MODE", grid)
        valid = np.isfinite(res.lai)
        summary: dict[str, Any] = {
            "lai": str(out),
            "flags": str(fpath),
            "stac": str(json_path),
            "level": lvl,
            "n_pixels": int(res.lai.size),
            "n_valid": int(valid.sum()),
            "lai_mean": float(np.nanmean(res.lai)) if valid.any() else None,
            "lai_p10_p50_p90": [float(v) for v in np.nanpercentile(res.lai, [10, 50, 90])]
            if valid.any()
            else None,
            "sigma_mean": float(np.nanmean(res.sigma)) if valid.any() else None,
            "flag_counts": res.flag_counts(),
        }
        item = lai_stac_item(
            outs.tmp[0],
            out.name,
            outs.tmp[1],
            fpath.name,
            out.stem,
            grid,
            {
                "lulcbook:lai_method": tags["METHOD"],
                "lulcbook:level": lvl,
                "lulcbook:angles": "default (5 degree view zenith, noon sun at scene centre latitude, 90 degree relative azimuth)",
            },
        )
        outs.tmp[2].write_text(
            json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False), indent=2)
            + "\n"
        )
    return summary
