"""STAC inputs: an item JSON file or an API search, loaded lazily (:mod:`lulcbook.sources.stac`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lulcbook.predict.bands import canonical_band
from lulcbook.predict.readers import source_from_array
from lulcbook.predict.sources import ArraySource

if TYPE_CHECKING:
    import pystac

PathLike = str | os.PathLike[str]


def search_items(
    bbox: Sequence[float],
    datetime: str,
    collection: str = "sentinel-2-l2a",
    url: str | None = None,
    max_cloud: float | None = 20.0,
) -> list[pystac.Item]:
    """Search a STAC API (:func:`lulcbook.sources.stac.search`); an empty result is an error.

    Args:
        bbox: ``[west, south, east, north]`` in degrees.
        datetime: a date or range (``2017-02-01/2017-02-28``).
        collection: the collection id.
        url: the API (default: that of :mod:`lulcbook.sources.stac`).
        max_cloud: the highest ``eo:cloud_cover`` in percent (``None``: any).

    Returns:
        The ``pystac.Item`` objects found.

    Raises:
        ValueError: if the search finds nothing.
    """
    from lulcbook.sources import stac

    kw: dict[str, Any] = {"url": url} if url else {}
    items = stac.search(
        bbox=list(bbox), datetime=datetime, collections=[collection], max_cloud=max_cloud, **kw
    )
    if not items:
        raise ValueError(f"No {collection} items for bbox {list(bbox)} and datetime {datetime!r}")
    return items


def source_from_stac_item(path: PathLike, bands: Sequence[str], chunk: int = 1024) -> ArraySource:
    """Describe the ``bands`` of a STAC item (JSON file) loaded lazily by :mod:`lulcbook.sources.stac`.

    Reflectance scaling comes from the item's own metadata (processing baseline, raster
    extension); only the chunks each tile needs are read.

    Raises:
        FileNotFoundError: if the item file does not exist.
        ValueError: if it is not a STAC item or lacks a band.
    """
    import pystac

    from lulcbook.sources import stac

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Input {path} does not exist")
    try:
        item = pystac.Item.from_file(str(path))
    except Exception as err:  # pystac raises several types for non-item JSON
        raise ValueError(f"{path} is not a readable STAC item: {err}") from err
    item.make_asset_hrefs_absolute()  # relative hrefs resolve against the item file
    wanted = {canonical_band(b) for b in bands}
    for key, asset in item.assets.items():
        href = asset.href.removeprefix("file://")
        if canonical_band(key) in wanted and "://" not in href and not Path(href).exists():
            raise FileNotFoundError(f"Asset {key} of STAC item {path} does not exist: {href}")
    da = stac.load([item], list(bands), chunks={"x": chunk, "y": chunk}, resampling="bilinear")
    out = source_from_array(da.isel(time=0, drop=True), bands, name=str(path))
    hrefs = tuple(f"{k}={a.href}" for k, a in item.assets.items() if canonical_band(k) in wanted)
    return ArraySource(
        out.data,
        out.name,
        item.datetime.isoformat() if item.datetime else None,
        out.bands_,
        hrefs=hrefs,
    )


def source_from_stac_search(
    bands: Sequence[str],
    bbox: Sequence[float],
    datetime: str,
    collection: str = "sentinel-2-l2a",
    url: str | None = None,
    max_cloud: float | None = 20.0,
    chunk: int = 1024,
) -> ArraySource:
    """Search a STAC API (:func:`lulcbook.sources.stac.search`) and describe the result lazily.

    Items of one solar day are mosaicked; several days become their per-pixel median
    (computed tile by tile, NaN ignored).

    Raises:
        ValueError: if the search finds nothing.
    """
    from lulcbook.sources import stac

    items = search_items(bbox, datetime, collection, url, max_cloud)
    da = stac.load(
        items,
        list(bands),
        bbox=list(bbox),
        groupby="solar_day",
        chunks={"x": chunk, "y": chunk},
        resampling="bilinear",
    )
    if da.sizes["time"] > 1:
        da = da.chunk({"time": -1}).median("time", skipna=True).astype("float32")
        da = da.rio.write_crs(da.rio.crs)
    else:
        da = da.isel(time=0, drop=True)
    name = f"STAC {collection} {datetime} {list(bbox)}"
    return source_from_array(da.transpose("band", "y", "x"), bands, name=name)


__all__ = ["search_items", "source_from_stac_item", "source_from_stac_search"]
