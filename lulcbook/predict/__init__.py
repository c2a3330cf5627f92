"""Scene → land-cover map: tiled, parallel prediction written as a Cloud-Optimized GeoTIFF.

``predict_scene`` reads a scene tile by tile (each tile a rasterio window read inside its
own task, so memory is bounded by the tile size, not the scene size), runs a
:class:`TileClassifier` on every tile with a margin of context (``overlap``) around it, keeps
only the tile's centre, and writes the class, the confidence (maximum probability) and the
uncertainty (normalised entropy) into scratch files as tiles complete. The finished map is
converted to two COGs (``OUT.tif`` with class + confidence, ``OUT_uncertainty.tif``: GDAL's
GeoTIFF driver drops the colour table of a three-band file, and one file cannot mix uint8 and
float32)
and described by a STAC item (:mod:`lulcbook.product_stac`); all appear only when complete.

Inputs (:func:`open_source`):

* a multi-band raster (GeoTIFF, …) whose band descriptions name the bands (or pass
  ``band_names``);
* a folder of single-band rasters, e.g. a Sentinel-2 granule's ``IMG_DATA`` with
  ``T33UUU_20170216T102101_B04.jp2`` — the band name is parsed from each file name and
  20/60 m bands are resampled (bilinear) to the grid of the finest band;
* a STAC item JSON file, or a STAC API search (:func:`source_from_stac_search`), both
  loaded lazily through :mod:`lulcbook.sources.stac`;
* an ``xarray.DataArray`` ``(band, y, x)`` of reflectance with a CRS.

Digital numbers become reflectance as ``DN * scale + offset`` (:data:`SCALING`).

Parallelism uses dask.distributed: a local cluster of ``workers`` processes (or threads) by
default, or an existing cluster given by its scheduler address. With one worker and no
scheduler the tiles run in this process, one after another.

Safety checks, all before the first tile is predicted:

* output paths (:func:`output_paths`): the map, uncertainty and STAC item are distinct files,
  none is an input (scene, band file, STAC item or asset, model) or a folder, and their
  folders are writable; the three appear together or not at all (:func:`lulcbook.io.output_set`);
* options that do not apply to the kind of input are errors naming the option
  (:func:`open_source`), as are duplicate band names;
* a geographic CRS (degrees) is refused: the models work on metric pixels and areas are
  reported in km²; reproject first (e.g. ``gdalwarp -t_srs EPSG:32633``);
* reflectance plausibility (:func:`check_reflectance`) on a sample of pixels after scaling,
  which catches digital numbers read as reflectance and reflectance scaled twice.

MC dropout is reproducible: each tile draws from generators seeded by the run's ``seed`` and
the tile's position (:func:`tile_seed`), so maps do not depend on the number of workers, the
scheduling order or the process a tile runs in.

Modules: :mod:`~lulcbook.predict.sources` (the source types), :mod:`~lulcbook.predict.readers`
and :mod:`~lulcbook.predict.stac` (inputs described as sources), :mod:`~lulcbook.predict.inputs`
(input kinds and options), :mod:`~lulcbook.predict.bands`, :mod:`~lulcbook.predict.scaling`,
:mod:`~lulcbook.predict.crs`, :mod:`~lulcbook.predict.reflectance` (checks),
:mod:`~lulcbook.predict.classifier`, :mod:`~lulcbook.predict.tile` (one tile task),
:mod:`~lulcbook.predict.encoding`, :mod:`~lulcbook.predict.seeding`,
:mod:`~lulcbook.predict.cluster` (where tiles run), :mod:`~lulcbook.predict.outputs`,
:mod:`~lulcbook.predict.scene` (the whole run) and :mod:`~lulcbook.predict.maps` (reading maps
back, comparing them). Tiles are cut by :mod:`lulcbook.tiling`.
"""

from __future__ import annotations

from lulcbook.cog import CONFIDENCE_SCALE, MAP_BANDS, UNCERTAINTY_BAND
from lulcbook.predict.bands import canonical_band, check_unique_bands, match_bands
from lulcbook.predict.classifier import TileClassifier, load_classifier
from lulcbook.predict.cluster import (
    MONITOR_INTERVALS,
    WORKER_MALLOC_ENV,
    check_scheduler,
    dask_client,
    local_worker_environ,
)
from lulcbook.predict.crs import check_projected
from lulcbook.predict.encoding import (
    blank_unconfident,
    check_min_confidence,
    class_values,
    decode,
    encode,
    encode_segments,
    no_data,
    reaches,
)
from lulcbook.predict.inputs import (
    APPLICABLE_OPTIONS,
    OPTION_NAMES,
    check_options,
    input_files,
    input_kind,
    open_source,
)
from lulcbook.predict.maps import agreement_with_polygons, open_map, read_map, transition_matrix
from lulcbook.predict.outputs import output_paths
from lulcbook.predict.readers import (
    band_files,
    date_from,
    source_from_array,
    source_from_file,
    source_from_folder,
)
from lulcbook.predict.reflectance import ImplausibleReflectanceError, check_reflectance
from lulcbook.predict.scaling import SCALING, resolve_scaling
from lulcbook.predict.scene import MapResult, check_climate, predict_scene
from lulcbook.predict.seeding import seeded, tile_seed
from lulcbook.predict.sources import ArraySource, BandRef, MemorySource, RasterSource, Source
from lulcbook.predict.stac import search_items, source_from_stac_item, source_from_stac_search
from lulcbook.predict.tile import TileResult, context_overlap, map_origin, predict_tile
from lulcbook.tiling import Tile, tile_border_mask, tile_windows

__all__: list[str] = [
    "APPLICABLE_OPTIONS",
    "CONFIDENCE_SCALE",
    "MAP_BANDS",
    "MONITOR_INTERVALS",
    "OPTION_NAMES",
    "SCALING",
    "UNCERTAINTY_BAND",
    "WORKER_MALLOC_ENV",
    "ArraySource",
    "BandRef",
    "ImplausibleReflectanceError",
    "MapResult",
    "MemorySource",
    "RasterSource",
    "Source",
    "Tile",
    "TileClassifier",
    "TileResult",
    "agreement_with_polygons",
    "band_files",
    "blank_unconfident",
    "canonical_band",
    "check_min_confidence",
    "check_options",
    "check_projected",
    "check_reflectance",
    "check_scheduler",
    "check_unique_bands",
    "class_values",
    "context_overlap",
    "dask_client",
    "date_from",
    "decode",
    "encode",
    "encode_segments",
    "input_files",
    "input_kind",
    "load_classifier",
    "local_worker_environ",
    "map_origin",
    "match_bands",
    "no_data",
    "open_map",
    "open_source",
    "output_paths",
    "check_climate",
    "predict_scene",
    "predict_tile",
    "reaches",
    "read_map",
    "resolve_scaling",
    "search_items",
    "seeded",
    "source_from_array",
    "source_from_file",
    "source_from_folder",
    "source_from_stac_item",
    "source_from_stac_search",
    "tile_border_mask",
    "tile_seed",
    "tile_windows",
    "transition_matrix",
]
