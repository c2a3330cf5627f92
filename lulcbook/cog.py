"""Map products: single-band Cloud-Optimized GeoTIFFs with their legend, and their STAC items.

A land-cover map ``OUT.tif`` is a set of files that third-party clients open as intended:

* ``OUT.tif``: the ``class`` band alone (uint8 legend index, nodata 255) with the legend colour
  table (paletted TIFF), so QGIS, GDAL and web viewers draw the legend colours; overviews with
  mode resampling (an overview pixel is the majority class). Being single-band, no client can
  mistake a second band for alpha, and ``gdalwarp`` carries the nodata value through.
* ``OUT.tif.aux.xml``: the class names as GDAL category names and a thematic raster attribute
  table (value, class, name, colour), read by GDAL (``gdalinfo``) and QGIS.
* ``OUT.qml``: a QGIS paletted style with the class names, which QGIS loads automatically.
* ``OUT_confidence.tif``: uint8 ``confidence`` = maximum class probability stored as
  ``round(p / CONFIDENCE_SCALE)`` (0–250; scale in the metadata), nodata 255; average overviews.
* ``OUT_uncertainty.tif``: float32 ``uncertainty`` (class entropy divided by log(number of
  classes): 0 certain, 1 uniform), nodata NaN; average overviews.

All COGs have internal tiling and DEFLATE compression; the legend also travels in the metadata
(``LEGEND`` tag, JSON). :func:`product_item` is the one STAC item builder of the package (land
cover here, LAI in :mod:`lulcbook.lai_product`): one named band per asset (raster extension),
projection and classification extensions, licence, providers, a self link, ``derived_from``
links to the input items and the model by name and version.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pystac
import rasterio
from pystac.extensions.classification import Classification, ClassificationExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, NoDataStrings, RasterBand, RasterExtension
from rasterio import shutil as rio_shutil
from rasterio.io import DatasetWriter
from rasterio.warp import transform_geom

from lulcbook import legend
from lulcbook.io import output_set

PathLike = str | os.PathLike[str]

CLASS_BAND: str = "class"
CONFIDENCE_BAND: str = "confidence"
UNCERTAINTY_BAND: str = "uncertainty"
MAP_BANDS: tuple[str, str] = (CLASS_BAND, CONFIDENCE_BAND)
"""The two uint8 layers of a map (each in its own COG)."""
PRODUCT_BANDS: tuple[str, str, str] = (CLASS_BAND, CONFIDENCE_BAND, UNCERTAINTY_BAND)
"""The layers of a map product, one COG each."""
CONFIDENCE_SCALE: float = 1 / 250
"""Confidence is stored as uint8 ``round(p / CONFIDENCE_SCALE)`` (0–250; 255 = nodata)."""
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


def companion_path(out: PathLike, band: str) -> Path:
    """The COG of product layer ``band`` that goes with the class COG ``out``.

    Args:
        out: the class COG.
        band: one of :data:`PRODUCT_BANDS`: ``class`` is ``out`` itself, ``confidence`` and
            ``uncertainty`` are ``OUT_confidence.tif`` and ``OUT_uncertainty.tif``.

    Returns:
        The layer's path.

    Raises:
        ValueError: for an unknown band.
    """
    if band not in PRODUCT_BANDS:
        raise ValueError(f"Unknown product band {band!r}; expected one of {PRODUCT_BANDS}")
    out = Path(out)
    return out if band == CLASS_BAND else out.with_name(f"{out.stem}_{band}{out.suffix}")


def uncertainty_path(out: PathLike) -> Path:
    """The uncertainty COG of the class COG ``out`` (see :func:`companion_path`)."""
    return companion_path(out, UNCERTAINTY_BAND)


def confidence_path(out: PathLike) -> Path:
    """The confidence COG of the class COG ``out`` (see :func:`companion_path`)."""
    return companion_path(out, CONFIDENCE_BAND)


@dataclass(frozen=True)
class ProductPaths:
    """The files of one map product (see the module docstring)."""

    classes: Path
    confidence: Path
    uncertainty: Path
    aux: Path
    style: Path
    item: Path

    @property
    def all(self) -> list[Path]:
        """Every file of the product, the STAC item last."""
        return [self.classes, self.confidence, self.uncertainty, self.aux, self.style, self.item]


def product_paths(out: PathLike, item: PathLike | None = None) -> ProductPaths:
    """All files of the map product whose class COG is ``out``.

    Args:
        out: the class COG (``.tif``).
        item: the STAC item (default: ``out`` with suffix ``.json``).

    Returns:
        The paths.
    """
    out = Path(out)
    return ProductPaths(
        classes=out,
        confidence=companion_path(out, CONFIDENCE_BAND),
        uncertainty=companion_path(out, UNCERTAINTY_BAND),
        aux=out.with_name(out.name + ".aux.xml"),
        style=out.with_suffix(".qml"),
        item=Path(item) if item is not None else out.with_suffix(".json"),
    )


def colour_table() -> dict[int, tuple[int, int, int, int]]:
    """The legend colours as a GDAL colour table (index → RGBA); nodata 255 is transparent.

    Returns:
        The colour table.
    """
    table = {}
    for i, hex_ in enumerate(legend.COLOURS):
        table[i] = (*_rgb(hex_), 255)
    table[legend.NODATA] = (0, 0, 0, 0)
    return table


def _rgb(hex_: str) -> tuple[int, int, int]:
    h = hex_.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def legend_entries() -> list[dict[str, Any]]:
    """The legend as a list of ``{"value", "key", "name", "lucas_letter", "colour"}``.

    Returns:
        One entry per legend class.
    """
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
    band: str = CLASS_BAND,
) -> dict[str, Any]:
    """The profile of the uncompressed tiled single-band GeoTIFF that tiles are written into.

    Args:
        crs: the CRS (WKT or EPSG code).
        transform: the affine transform.
        width: grid width in pixels.
        height: grid height in pixels.
        blocksize: internal tile size.
        band: one of :data:`PRODUCT_BANDS`: ``class`` and ``confidence`` are uint8 with nodata
            255, ``uncertainty`` float32 with nodata NaN.

    Returns:
        A rasterio profile.

    Raises:
        ValueError: for an unknown band.
    """
    if band not in PRODUCT_BANDS:
        raise ValueError(f"Unknown product band {band!r}; expected one of {PRODUCT_BANDS}")
    is_float = band == UNCERTAINTY_BAND
    return {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "float32" if is_float else "uint8",
        "crs": crs,
        "transform": transform,
        "nodata": float("nan") if is_float else legend.NODATA,
        "tiled": True,
        "blockxsize": blocksize,
        "blockysize": blocksize,
        "BIGTIFF": "IF_SAFER",
    }


def map_tags(class_values: Sequence[int], **extra: Any) -> dict[str, str]:
    """Dataset metadata of a map: the legend (JSON), the model's classes and run settings.

    Args:
        class_values: the legend index of each model output.
        **extra: further tags (upper-cased keys).

    Returns:
        The tags.
    """
    tags = {
        "LEGEND": json.dumps(legend_entries()),
        "CLASSES": ",".join(legend.KEYS[int(v)] for v in class_values),
        "CONFIDENCE_SCALE": repr(CONFIDENCE_SCALE),
        "SOFTWARE": "lulcbook",
    }
    tags.update({k.upper(): str(v) for k, v in extra.items()})
    return tags


def describe(dst: DatasetWriter, band: str, tags: dict[str, str] | None = None) -> None:
    """Name the band of a product GeoTIFF being written; colour table, scale and tags.

    Args:
        dst: the open single-band dataset.
        band: one of :data:`PRODUCT_BANDS`.
        tags: dataset metadata (:func:`map_tags`).

    Raises:
        ValueError: for an unknown band.
    """
    if band not in PRODUCT_BANDS:
        raise ValueError(f"Unknown product band {band!r}; expected one of {PRODUCT_BANDS}")
    dst.set_band_description(1, band)
    if band == CLASS_BAND:
        dst.write_colormap(1, colour_table())
    elif band == CONFIDENCE_BAND:
        dst.scales = (CONFIDENCE_SCALE,)
        dst.offsets = (0.0,)
    if tags:
        dst.update_tags(**tags)


def write_cog(scratch: PathLike, dst: PathLike, blocksize: int = 512) -> Path:
    """Copy a single-band GeoTIFF written with :func:`scratch_profile` to a COG at ``dst``.

    Overviews are built by the COG driver down to one block: mode resampling for the class band
    (majority class), average for confidence and uncertainty.

    Args:
        scratch: the uncompressed GeoTIFF.
        dst: the COG to write.
        blocksize: internal tile size of the COG.

    Returns:
        ``dst``.
    """
    with rasterio.open(scratch) as src:
        is_float = src.dtypes[0].startswith("float")
        categorical = src.colorinterp[0] == rasterio.enums.ColorInterp.palette
    return copy_to_cog(
        scratch,
        dst,
        resampling="MODE" if categorical else "AVERAGE",
        predictor=is_float,
        blocksize=blocksize,
    )


def copy_to_cog(
    scratch: PathLike,
    dst: PathLike,
    resampling: str,
    predictor: bool,
    blocksize: int = 512,
    overview_count: int | None = None,
) -> Path:
    """Copy a GeoTIFF to a DEFLATE-compressed COG at ``dst``; the one COG writer of the package.

    Args:
        scratch: the GeoTIFF to copy.
        dst: the COG to write.
        resampling: GDAL overview resampling (``MODE`` for classes, ``AVERAGE`` for values).
        predictor: use the DEFLATE predictor (for continuous values).
        blocksize: internal tile size of the COG.
        overview_count: number of overview levels (default: GDAL's, down to one block).

    Returns:
        ``dst``.
    """
    options: dict[str, Any] = {} if overview_count is None else {"OVERVIEW_COUNT": overview_count}
    rio_shutil.copy(
        str(scratch),
        str(dst),
        driver="COG",
        BLOCKSIZE=blocksize,
        COMPRESS="DEFLATE",
        PREDICTOR="YES" if predictor else "NO",
        RESAMPLING=resampling,
        OVERVIEWS="IGNORE_EXISTING",
        **options,
        BIGTIFF="IF_SAFER",
    )
    return Path(dst)


def attribute_table_xml() -> str:
    """GDAL PAM XML with the legend as category names and a thematic raster attribute table.

    Returns:
        The content of ``OUT.tif.aux.xml``.
    """
    fields = [
        ("value", 0, 5),  # GFT_Integer, GFU_MinMax
        ("class", 2, 2),  # GFT_String, GFU_Name
        ("description", 2, 0),  # GFT_String, GFU_Generic
        ("red", 0, 6),
        ("green", 0, 7),
        ("blue", 0, 8),
        ("alpha", 0, 9),
    ]
    lines = ["<PAMDataset>", '  <PAMRasterBand band="1">', "    <CategoryNames>"]
    lines += [f"      <Category>{escape(c.key)}</Category>" for c in legend.CLASSES]
    lines += ["    </CategoryNames>", '    <GDALRasterAttributeTable tableType="thematic">']
    for i, (name, typ, usage) in enumerate(fields):
        lines.append(
            f'      <FieldDefn index="{i}"><Name>{name}</Name><Type>{typ}</Type>'
            f"<Usage>{usage}</Usage></FieldDefn>"
        )
    for c in legend.CLASSES:
        r, g, b = _rgb(c.colour)
        values = [str(c.index), escape(c.key), escape(c.name), str(r), str(g), str(b), "255"]
        cells = "".join(f"<F>{v}</F>" for v in values)
        lines.append(f'      <Row index="{c.index}">{cells}</Row>')
    lines += ["    </GDALRasterAttributeTable>", "  </PAMRasterBand>", "</PAMDataset>", ""]
    return "\n".join(lines)


def qgis_style_qml() -> str:
    """A QGIS style (paletted renderer on band 1) with the legend colours and class names.

    Returns:
        The content of ``OUT.qml``; QGIS applies it when it opens ``OUT.tif``.
    """
    entries = "\n".join(
        f"        <paletteEntry value={quoteattr(str(c.index))} color={quoteattr(c.colour)} "
        f'label={quoteattr(f"{c.key}: {c.name}")} alpha="255"/>'
        for c in legend.CLASSES
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22.0" styleCategories="AllStyleCategories">\n'
        "  <pipe>\n"
        '    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" '
        'nodataColor="">\n'
        "      <rasterTransparency/>\n"
        "      <colorPalette>\n"
        f"{entries}\n"
        "      </colorPalette>\n"
        "    </rasterrenderer>\n"
        "  </pipe>\n"
        "</qgis>\n"
    )


def write_class_sidecars(aux: PathLike, style: PathLike) -> None:
    """Write the raster attribute table (PAM XML) and the QGIS style of a class COG.

    Args:
        aux: where the ``.tif.aux.xml`` content goes (may be a temporary path).
        style: where the ``.qml`` content goes (may be a temporary path).
    """
    Path(aux).write_text(attribute_table_xml(), encoding="utf-8")
    Path(style).write_text(qgis_style_qml(), encoding="utf-8")


@contextlib.contextmanager
def atomic_paths(*paths: PathLike) -> Iterator[list[Path]]:
    """Temporary paths for several outputs, moved into place together only on success.

    A thin wrapper of :func:`lulcbook.io.output_set`: on an exception nothing is moved; if a
    move fails, the outputs already moved are rolled back, so the previous set stays intact.
    The moved files get the usual permissions (``0o666`` minus the umask).

    Args:
        *paths: the final paths.

    Yields:
        One temporary path per final path.

    Raises:
        ValueError: if two paths are the same file.
    """
    with output_set(paths) as outs:
        yield outs.tmp


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
    ring = [[float(x), float(y)] for x, y in zip(xs, ys, strict=True)]
    ring.append(ring[0])
    geom = dict(transform_geom(src.crs, "EPSG:4326", {"type": "Polygon", "coordinates": [ring]}))
    geom["coordinates"] = [[[round(x, 7), round(y, 7)] for x, y in r] for r in geom["coordinates"]]
    return geom


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
