"""Map products: Cloud-Optimized GeoTIFFs with the legend, and the STAC item that describes them.

A map is two COGs (GDAL's GeoTIFF driver drops the colour table of a three-band file, and one
file cannot mix uint8 and float32 bands):

* ``OUT.tif``: two uint8 bands — ``class`` (legend index, with the legend colour table) and
  ``confidence`` (maximum class probability stored as ``round(p / CONFIDENCE_SCALE)``, 0–250)
  — nodata 255; overviews with mode resampling, so an overview pixel is the majority class.
* ``OUT_uncertainty.tif``: one float32 band ``uncertainty`` (class entropy divided by
  log(number of classes): 0 certain, 1 uniform), nodata NaN; average overviews.

Both have internal tiling and DEFLATE compression; the legend travels in the metadata
(``LEGEND`` tag, JSON). The STAC item (projection, raster and classification extensions)
lists both as assets.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
from pystac.extensions.classification import Classification, ClassificationExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension
from rasterio import shutil as rio_shutil
from rasterio.warp import transform_geom

from lulcbook import legend
from lulcbook.io import output_set

PathLike = str | os.PathLike[str]

MAP_BANDS: tuple[str, str] = ("class", "confidence")
"""The bands of the map COG, in order."""
UNCERTAINTY_BAND: str = "uncertainty"
CONFIDENCE_SCALE: float = 1 / 250
"""Confidence is stored as uint8 ``round(p / CONFIDENCE_SCALE)`` (0–250; 255 = nodata)."""


def parse_datetime(text: str) -> datetime:
    """Parse an ISO 8601 time (``2017-02-16``, ``2017-02-16T10:21:01Z``); naive means UTC.

    Raises:
        ValueError: naming the value, for anything else.
    """
    try:
        when = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--datetime {text!r} is not an ISO 8601 date or time (e.g. 2017-02-16 or "
            "2017-02-16T10:21:01Z)"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def uncertainty_path(out: PathLike) -> Path:
    """The uncertainty COG that goes with the map COG ``out`` (``OUT_uncertainty.tif``)."""
    out = Path(out)
    return out.with_name(f"{out.stem}_uncertainty{out.suffix}")


def colour_table() -> dict[int, tuple[int, int, int, int]]:
    """The legend colours as a GDAL colour table (index → RGBA); nodata 255 is transparent."""
    table = {}
    for i, hex_ in enumerate(legend.COLOURS):
        h = hex_.lstrip("#")
        table[i] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
    table[legend.NODATA] = (0, 0, 0, 0)
    return table


def legend_entries() -> list[dict[str, Any]]:
    """The legend as a list of ``{"value", "key", "name", "lucas_letter", "colour"}``."""
    return [
        {
            "value": c.index,
            "key": c.key,
            "name": c.name,
            "lucas_letter": c.lucas_letter,
            "colour": c.colour,
        }
        for c in legend.CLASSES
    ]


def scratch_profile(
    crs: str,
    transform: rasterio.Affine,
    width: int,
    height: int,
    blocksize: int,
    uncertainty: bool = False,
) -> dict[str, Any]:
    """The profile of the uncompressed tiled GeoTIFF that tiles are written into.

    The map (``uncertainty=False``): 2 uint8 bands, nodata 255; the uncertainty: 1 float32
    band, nodata NaN.
    """
    return {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1 if uncertainty else len(MAP_BANDS),
        "dtype": "float32" if uncertainty else "uint8",
        "crs": crs,
        "transform": transform,
        "nodata": float("nan") if uncertainty else legend.NODATA,
        "tiled": True,
        "blockxsize": blocksize,
        "blockysize": blocksize,
        "BIGTIFF": "IF_SAFER",
    }


def map_tags(class_values: Sequence[int], **extra: Any) -> dict[str, str]:
    """Dataset metadata of a map: the legend (JSON), the model's classes and run settings."""
    tags = {
        "LEGEND": json.dumps(legend_entries()),
        "CLASSES": ",".join(legend.KEYS[int(v)] for v in class_values),
        "CONFIDENCE_SCALE": repr(CONFIDENCE_SCALE),
        "SOFTWARE": "lulcbook",
    }
    tags.update({k.upper(): str(v) for k, v in extra.items()})
    return tags


def describe(dst: rasterio.io.DatasetWriter, tags: dict[str, str] | None = None) -> None:
    """Name the bands of a map or uncertainty GeoTIFF being written; colour table and tags."""
    if dst.count == len(MAP_BANDS):
        dst.write_colormap(1, colour_table())
        for i, name in enumerate(MAP_BANDS, start=1):
            dst.set_band_description(i, name)
        dst.scales = (1.0, CONFIDENCE_SCALE)
        dst.offsets = (0.0, 0.0)
    else:
        dst.set_band_description(1, UNCERTAINTY_BAND)
    if tags:
        dst.update_tags(**tags)


def write_cog(scratch: PathLike, dst: PathLike, blocksize: int = 512) -> Path:
    """Copy a GeoTIFF written with :func:`scratch_profile` to a COG at ``dst``.

    Overviews are built by the COG driver down to one block: mode resampling for the map
    (majority class), average for the float uncertainty.
    """
    with rasterio.open(scratch) as src:
        is_float = src.dtypes[0].startswith("float")
    rio_shutil.copy(
        str(scratch),
        str(dst),
        driver="COG",
        BLOCKSIZE=blocksize,
        COMPRESS="DEFLATE",
        PREDICTOR="YES" if is_float else "NO",
        RESAMPLING="AVERAGE" if is_float else "MODE",
        OVERVIEWS="IGNORE_EXISTING",
        BIGTIFF="IF_SAFER",
    )
    return Path(dst)


@contextlib.contextmanager
def atomic_paths(*paths: PathLike) -> Iterator[list[Path]]:
    """Temporary paths for several outputs, moved into place together only on success.

    A thin wrapper of :func:`lulcbook.io.output_set`: on an exception nothing is moved; if a
    move fails, the outputs already moved are rolled back, so the previous set stays intact.
    The moved files get the usual permissions (``0o666`` minus the umask).

    Raises:
        ValueError: if two paths are the same file.
    """
    with output_set(paths) as outs:
        yield outs.tmp


def _footprint(src: rasterio.DatasetReader) -> dict[str, Any]:
    """The raster's outline (densified) in WGS84 as a GeoJSON polygon."""
    left, bottom, right, top = src.bounds
    t = np.linspace(0.0, 1.0, 8, endpoint=False)
    xs = np.concatenate(
        [left + t * (right - left), np.full(8, right), right - t * (right - left), np.full(8, left)]
    )
    ys = np.concatenate(
        [np.full(8, top), top - t * (top - bottom), np.full(8, bottom), bottom + t * (top - bottom)]
    )
    ring = [[float(x), float(y)] for x, y in zip(xs, ys, strict=True)]
    ring.append(ring[0])
    geom = transform_geom(src.crs, "EPSG:4326", {"type": "Polygon", "coordinates": [ring]})
    geom["coordinates"] = [[[round(x, 7), round(y, 7)] for x, y in r] for r in geom["coordinates"]]
    return geom


def stac_item(
    map_tif: PathLike,
    map_href: str,
    uncertainty_tif: PathLike,
    uncertainty_href: str,
    item_id: str,
    datetime_: str | None = None,
    properties: dict[str, Any] | None = None,
) -> pystac.Item:
    """Build the STAC item of a map (read from the COGs; the assets point to the hrefs).

    Args:
        map_tif, uncertainty_tif: the COGs to describe (may still be temporary files).
        map_href, uncertainty_href: asset hrefs (relative to the item file).
        item_id: the item id.
        datetime_: ISO acquisition time; ``None`` uses the time of processing and says so in
            ``lulcbook:datetime_is_processing_time``.
        properties: extra item properties.
    """
    with rasterio.open(map_tif) as src:
        crs, transform, bounds = src.crs, src.transform, src.bounds
        height, width = src.height, src.width
        geom = _footprint(src)
    coords = np.asarray(geom["coordinates"][0])
    bbox = [
        float(coords[:, 0].min()),
        float(coords[:, 1].min()),
        float(coords[:, 0].max()),
        float(coords[:, 1].max()),
    ]
    now = datetime.now(UTC)
    when = parse_datetime(datetime_) if datetime_ else now
    props: dict[str, Any] = {
        "created": now.isoformat(),
        "lulcbook:datetime_is_processing_time": datetime_ is None,
    }
    props.update(properties or {})
    item = pystac.Item(id=item_id, geometry=geom, bbox=bbox, datetime=when, properties=props)

    proj = ProjectionExtension.ext(item, add_if_missing=True)
    epsg = crs.to_epsg()
    if epsg is not None:
        proj.epsg = epsg
    else:
        proj.epsg = None
        proj.wkt2 = crs.to_wkt()
    proj.shape = [height, width]
    proj.transform = list(transform)[:6]
    proj.bbox = list(bounds)
    res = float(abs(transform.a))

    data = pystac.Asset(
        href=map_href,
        media_type=pystac.MediaType.COG,
        roles=["data"],
        title="Land-cover class and confidence",
        description="Band 1: legend class (colour table); band 2: confidence = maximum class "
        f"probability, uint8 with scale {CONFIDENCE_SCALE}. Nodata 255.",
    )
    item.add_asset("data", data)
    RasterExtension.ext(data, add_if_missing=True).bands = [
        RasterBand.create(nodata=legend.NODATA, data_type=DataType.UINT8, spatial_resolution=res),
        RasterBand.create(
            nodata=legend.NODATA,
            data_type=DataType.UINT8,
            spatial_resolution=res,
            scale=CONFIDENCE_SCALE,
            offset=0.0,
            unit="1",
        ),
    ]
    classes = [
        Classification.create(
            value=c.index, name=c.key, description=c.name, color_hint=c.colour.lstrip("#").upper()
        )
        for c in legend.CLASSES
    ]
    classes.append(
        Classification.create(
            value=legend.NODATA, name="nodata", description="No data", nodata=True
        )
    )
    ClassificationExtension.add_to(item)
    for d, name in zip(data.extra_fields["raster:bands"], MAP_BANDS, strict=True):
        d["name"] = name
    data.extra_fields["raster:bands"][0]["classification:classes"] = [c.to_dict() for c in classes]

    unc = pystac.Asset(
        href=uncertainty_href,
        media_type=pystac.MediaType.COG,
        roles=["data"],
        title="Uncertainty (normalised entropy)",
        description="Entropy of the class probabilities divided by log(number of classes): "
        "0 = certain, 1 = uniform. Nodata NaN.",
    )
    item.add_asset(UNCERTAINTY_BAND, unc)
    with rasterio.open(uncertainty_tif) as src:
        if src.crs != crs or src.transform != transform or src.shape != (height, width):
            raise ValueError(f"{uncertainty_tif} is not on the grid of {map_tif}")
    RasterExtension.ext(unc, add_if_missing=True).bands = [
        RasterBand.create(
            nodata="nan", data_type=DataType.FLOAT32, spatial_resolution=res, unit="1"
        )
    ]
    unc.extra_fields["raster:bands"][0]["name"] = UNCERTAINTY_BAND
    return item


def write_stac_item(path: PathLike, *args: Any, **kwargs: Any) -> pystac.Item:
    """Build :func:`stac_item` (same arguments after ``path``) and write it as JSON to ``path``."""
    item = stac_item(*args, **kwargs)
    Path(path).write_text(
        json.dumps(item.to_dict(include_self_link=False, transform_hrefs=False), indent=2) + "\n"
    )
    return item
