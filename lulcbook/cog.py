"""Map products as files: single-band Cloud-Optimized GeoTIFFs and their companion files.

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
* ``OUT.json``: the STAC item (:mod:`lulcbook.product_stac`).

All COGs have internal tiling and DEFLATE compression; the legend also travels in the metadata
(``LEGEND`` tag, JSON). This module names the files, writes the COGs (:func:`copy_to_cog` is the
one COG writer of the package) and moves a product's files into place together; the class
styling (colour table, attribute table, QGIS style) is :mod:`lulcbook.class_style`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rasterio
from rasterio import shutil as rio_shutil
from rasterio.io import DatasetWriter

from lulcbook import legend
from lulcbook.class_style import colour_table, legend_entries
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
    (majority class), average for confidence and uncertainty. No predictor: the map bands are
    constant over each superpixel, and the floating-point predictor made the uncertainty COG
    both larger and twice as slow to write.

    Args:
        scratch: the uncompressed GeoTIFF.
        dst: the COG to write.
        blocksize: internal tile size of the COG.

    Returns:
        ``dst``.
    """
    with rasterio.open(scratch) as src:
        categorical = src.colorinterp[0] == rasterio.enums.ColorInterp.palette
    return copy_to_cog(
        scratch,
        dst,
        resampling="MODE" if categorical else "AVERAGE",
        predictor=False,
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
