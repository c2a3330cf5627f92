"""STAC items of the raster products (land-cover maps, LAI).

:func:`product_item` is the one STAC item builder of the package (land cover here, LAI in
:mod:`lulcbook.lai_product`): one named band per asset (raster extension), projection and
classification extensions, licence, providers, a self link, ``derived_from`` links to the input
items and the model by name and version (:class:`ModelRef`). :func:`map_assets` describes the
files of a land-cover map product (:mod:`lulcbook.cog`) as assets.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
from pyproj import Transformer
from pystac.extensions.classification import Classification, ClassificationExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, NoDataStrings, RasterBand, RasterExtension

from lulcbook import legend
from lulcbook.cog import (
    CLASS_BAND,
    CONFIDENCE_BAND,
    CONFIDENCE_SCALE,
    UNCERTAINTY_BAND,
    ProductPaths,
)

PRODUCT_LICENSE: str = "MIT"
"""SPDX id of the licence of the map products (the project's licence)."""
PROVIDERS: tuple[dict[str, Any], ...] = (
    {
        "name": "lulcbook",
        "roles": ["processor", "producer"],
        "description": "Land-cover maps predicted by lulcbook",
    },
    {
        "name": "European Space Agency / Copernicus",
        "roles": ["licensor"],
        "url": "https://sentinels.copernicus.eu",
        "description": "Contains modified Copernicus Sentinel data",
    },
)
"""Default STAC providers of a map product."""


def parse_datetime(text: str) -> datetime:
    """Parse an ISO 8601 time (``2017-02-16``, ``2017-02-16T10:21:01Z``); naive means UTC.

    Args:
        text: the time as text.

    Returns:
        A timezone-aware datetime.

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


@functools.lru_cache(maxsize=16)
def _to_wgs84(crs_wkt: str) -> Transformer:
    """A transformer from ``crs_wkt`` to WGS84 longitude/latitude, made once per CRS.

    GDAL builds a new coordinate transformation for every ``rasterio.warp.transform_geom``
    call; in a dask worker process that took about 60 ms per call (0.5 ms in the main process),
    a third of the fixed cost of a small grid cell (``benchmarks/bench_produce.py``).
    """
    return Transformer.from_crs(crs_wkt, "EPSG:4326", always_xy=True)


def footprint(src: rasterio.DatasetReader) -> dict[str, Any]:
    """The raster's outline (densified) in WGS84 as a GeoJSON polygon.

    Args:
        src: an open georeferenced raster.

    Returns:
        A GeoJSON polygon, coordinates rounded to 7 decimals.
    """
    left, bottom, right, top = src.bounds
    t = np.linspace(0.0, 1.0, 8, endpoint=False)
    xs = np.concatenate(
        [left + t * (right - left), np.full(8, right), right - t * (right - left), np.full(8, left)]
    )
    ys = np.concatenate(
        [np.full(8, top), top - t * (top - bottom), np.full(8, bottom), bottom + t * (top - bottom)]
    )
    lon, lat = _to_wgs84(src.crs.to_wkt()).transform(xs, ys)
    ring = [[round(float(x), 7), round(float(y), 7)] for x, y in zip(lon, lat, strict=True)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@dataclass(frozen=True)
class BandSpec:
    """One band of an asset, for the raster extension.

    Attributes:
        name: the band name (also the band description in the file).
        data_type: ``uint8``, ``float32``, …
        nodata: the nodata value (``"nan"`` for float NaN) or ``None``.
        scale: multiply the stored value by this (``None``: 1).
        offset: then add this (``None``: 0).
        unit: the unit of the scaled value.
        classification: add the legend's ``classification:classes`` to this band.
    """

    name: str
    data_type: str
    nodata: float | NoDataStrings | None = None
    scale: float | None = None
    offset: float | None = None
    unit: str | None = None
    classification: bool = False


@dataclass(frozen=True)
class AssetSpec:
    """One asset of a product item.

    Attributes:
        key: the asset key.
        href: the asset href (relative to the item file, or absolute).
        title: short title.
        description: what the values mean.
        bands: the raster bands of the file (one per asset for the map products).
        path: the file to read the grid from (may still be temporary); ``None`` for
            non-raster assets such as a style file.
        roles: STAC asset roles.
        media_type: the media type (default: COG).
    """

    key: str
    href: str
    title: str
    description: str
    bands: tuple[BandSpec, ...] = ()
    path: Path | None = None
    roles: tuple[str, ...] = ("data",)
    media_type: str = str(pystac.MediaType.COG)


def legend_classes() -> list[Classification]:
    """The legend (and nodata 255) as STAC classification classes.

    Returns:
        One :class:`Classification` per legend class, then nodata.
    """
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
    return classes


def product_item(
    item_id: str,
    assets: Sequence[AssetSpec],
    datetime_: str | None = None,
    properties: dict[str, Any] | None = None,
    derived_from: Sequence[str] = (),
    self_href: str | None = None,
    license_: str = PRODUCT_LICENSE,
    providers: Sequence[dict[str, Any]] = PROVIDERS,
    created: str | None = None,
) -> pystac.Item:
    """Build the STAC item of a raster product (land-cover map, LAI) from its files.

    The grid (projection extension), footprint and bbox come from the first raster asset; every
    other raster asset must be on the same grid.

    Args:
        item_id: the item id.
        assets: the assets, the first one a raster on the product grid.
        datetime_: ISO acquisition time; ``None`` uses the time of processing and says so in
            ``lulcbook:datetime_is_processing_time``.
        properties: extra item properties (e.g. ``lulcbook:model``).
        derived_from: hrefs of the STAC items the product was made from (``derived_from``
            links).
        self_href: the item's own absolute location (the ``self`` link).
        license_: SPDX licence id of the product.
        providers: STAC providers.
        created: the ``created`` time (default: now).

    Returns:
        The item.

    Raises:
        ValueError: if no asset is a raster, or a raster asset is not on the grid of the first
            (naming both files).
    """
    rasters = [a for a in assets if a.path is not None]
    if not rasters:
        raise ValueError(f"Item {item_id}: no raster asset to take the grid from")
    first = rasters[0].path
    assert first is not None
    with rasterio.open(first) as src:
        crs, transform, bounds = src.crs, src.transform, src.bounds
        height, width = src.height, src.width
        geom = footprint(src)
    for a in rasters[1:]:
        with rasterio.open(a.path) as src:
            if src.crs != crs or src.transform != transform or src.shape != (height, width):
                raise ValueError(f"{a.path} is not on the grid of {first}")
    coords = np.asarray(geom["coordinates"][0])
    bbox = [
        float(coords[:, 0].min()),
        float(coords[:, 1].min()),
        float(coords[:, 0].max()),
        float(coords[:, 1].max()),
    ]
    now = created or datetime.now(UTC).isoformat()
    when = parse_datetime(datetime_) if datetime_ else parse_datetime(now)
    props: dict[str, Any] = {
        "created": now,
        "lulcbook:datetime_is_processing_time": datetime_ is None,
        "license": license_,
        "providers": [dict(p) for p in providers],
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
    if epsg is not None:  # projection v1 field, still the only one stackstac <= 0.5 reads
        item.properties["proj:epsg"] = int(epsg)
    res = float(abs(transform.a))

    for spec in assets:
        asset = pystac.Asset(
            href=spec.href,
            media_type=spec.media_type,
            roles=list(spec.roles),
            title=spec.title,
            description=spec.description,
        )
        item.add_asset(spec.key, asset)
        if not spec.bands:
            continue
        RasterExtension.ext(asset, add_if_missing=True).bands = [
            RasterBand.create(
                nodata=b.nodata,
                data_type=DataType(b.data_type),
                spatial_resolution=res,
                scale=b.scale,
                offset=b.offset,
                unit=b.unit,
            )
            for b in spec.bands
        ]
        for d, b in zip(asset.extra_fields["raster:bands"], spec.bands, strict=True):
            d["name"] = b.name
            if b.classification:
                ClassificationExtension.add_to(item)
                d["classification:classes"] = [c.to_dict() for c in legend_classes()]
    for href in derived_from:
        item.add_link(pystac.Link("derived_from", href, media_type=pystac.MediaType.JSON))
    if self_href is not None:
        item.set_self_href(self_href)
    return item


def map_assets(paths: ProductPaths, tmp: ProductPaths | None = None) -> list[AssetSpec]:
    """The assets of a land-cover map product, one band each.

    Args:
        paths: the final product files (hrefs are made relative to the item's folder).
        tmp: the files as written so far (grids are read from these; default ``paths``).

    Returns:
        ``class``, ``confidence``, ``uncertainty`` and the QGIS ``style`` asset.
    """
    tmp = tmp or paths
    folder = paths.item.absolute().parent

    def rel(p: Path) -> str:
        return Path(os.path.relpath(p.absolute(), folder)).as_posix()

    return [
        AssetSpec(
            key=CLASS_BAND,
            href=rel(paths.classes),
            title="Land-cover class",
            description="Legend class index (colour table; class names in the raster attribute "
            "table OUT.tif.aux.xml and the QGIS style OUT.qml). Nodata 255.",
            bands=(BandSpec(CLASS_BAND, "uint8", nodata=legend.NODATA, classification=True),),
            path=tmp.classes,
            roles=("data", "classification"),
        ),
        AssetSpec(
            key=CONFIDENCE_BAND,
            href=rel(paths.confidence),
            title="Confidence (maximum class probability)",
            description=f"uint8 with scale {CONFIDENCE_SCALE}: value × scale = maximum class "
            "probability. Nodata 255.",
            bands=(
                BandSpec(
                    CONFIDENCE_BAND,
                    "uint8",
                    nodata=legend.NODATA,
                    scale=CONFIDENCE_SCALE,
                    offset=0.0,
                    unit="1",
                ),
            ),
            path=tmp.confidence,
            roles=("data", "quality"),
        ),
        AssetSpec(
            key=UNCERTAINTY_BAND,
            href=rel(paths.uncertainty),
            title="Uncertainty (normalised entropy)",
            description="Entropy of the class probabilities divided by log(number of classes): "
            "0 = certain, 1 = uniform. Nodata NaN.",
            bands=(BandSpec(UNCERTAINTY_BAND, "float32", nodata=NoDataStrings.NAN, unit="1"),),
            path=tmp.uncertainty,
            roles=("data", "quality"),
        ),
        AssetSpec(
            key="style",
            href=rel(paths.style),
            title="QGIS style of the class COG",
            description="Paletted renderer with the legend colours and class names.",
            roles=("metadata", "style"),
            media_type="application/xml",
        ),
    ]


def item_json(item: pystac.Item) -> str:
    """The item as indented JSON text (hrefs as given, the self link kept if set).

    Args:
        item: the item.

    Returns:
        JSON text ending in a newline.
    """
    has_self = item.get_self_href() is not None
    d = item.to_dict(include_self_link=has_self, transform_hrefs=False)
    return json.dumps(d, indent=2) + "\n"


def public_name(name: str) -> str:
    """A name for the metadata: a file path is reduced to its file name (never a local path)."""
    text = str(name)
    if "/" in text or os.sep in text:
        return Path(text).name
    return text


@dataclass
class ModelRef:
    """The model a map was made with, as recorded in the STAC item (``lulcbook:model``).

    Attributes:
        name: the shipped model's name, or the model file's name (never a local path).
        version: the model's version, if known.
        extra: further fields (e.g. ``kind``).
    """

    name: str
    version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The model as a JSON object.

        Returns:
            ``{"name", "version", ...}``.
        """
        return {"name": self.name, "version": self.version, **self.extra}
