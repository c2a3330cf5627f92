"""Finding the scenes of a cell: a static STAC catalog on disk, or a STAC API.

:func:`open_catalog` takes a static catalog (``catalog.json`` / ``collection.json`` with item
links, walked with pystac), an item collection (a GeoJSON ``FeatureCollection`` of items), or
the URL of a STAC API (searched with :func:`lulcbook.sources.stac.search`). Each returns the
items that intersect a cell and fall in the period, best first (least cloud, then earliest).

:func:`build_static_catalog` writes a static catalog from folders of band files (a Sentinel-2
granule's ``IMG_DATA``), optionally cropped — the offline catalog of the tests and the
benchmark, made from the real sample scenes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pystac
import rasterio
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from lulcbook.product_stac import parse_datetime

PathLike = str | os.PathLike[str]


def parse_period(period: str) -> tuple[datetime, datetime]:
    """Parse ``START/END`` (ISO dates or times; a date alone covers the whole day).

    Args:
        period: e.g. ``2017-02-01/2017-02-28`` or ``2017-02-16``.

    Returns:
        ``(start, end)``, timezone-aware, ``start <= end``.

    Raises:
        ValueError: naming the value, for anything else.
    """
    parts = str(period).split("/")
    if len(parts) == 1:
        parts = [parts[0], parts[0]]
    if len(parts) != 2:
        raise ValueError(f"--datetime {period!r} is not START/END (e.g. 2017-02-01/2017-02-28)")
    start = parse_datetime(parts[0])
    end = parse_datetime(parts[1])
    if len(parts[1].strip()) == 10:  # a date: to the end of that day
        end = end.replace(hour=23, minute=59, second=59)
    if end < start:
        raise ValueError(f"--datetime {period!r} ends before it starts")
    return start, end


def _intersects(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _cloud(item: pystac.Item) -> float:
    v = item.properties.get("eo:cloud_cover")
    return float(v) if v is not None else 0.0


def _when(item: pystac.Item) -> datetime:
    when = item.datetime or item.common_metadata.start_datetime
    if when is None:
        raise ValueError(f"Item {item.id} has neither datetime nor start_datetime")
    return when


class Catalog(Protocol):
    """Something that finds the items of a cell."""

    name: str

    def search(self, bbox: Sequence[float], period: tuple[datetime, datetime]) -> list[pystac.Item]:
        """Items intersecting ``bbox`` (WGS84) within ``period``, best first."""
        ...


@dataclass
class StaticCatalog:
    """Items read from a static catalog, collection or item collection on disk.

    Attributes:
        name: where the items come from.
        items: every item, asset hrefs made absolute.
    """

    name: str
    items: list[pystac.Item]

    def search(self, bbox: Sequence[float], period: tuple[datetime, datetime]) -> list[pystac.Item]:
        """Items whose bbox intersects ``bbox`` and whose time lies in ``period``, best first.

        Args:
            bbox: ``[west, south, east, north]`` in degrees.
            period: ``(start, end)``.

        Returns:
            The items, least cloud first, then earliest, then by id.
        """
        start, end = period
        hits = [
            it
            for it in self.items
            if it.bbox is not None and _intersects(it.bbox, bbox) and start <= _when(it) <= end
        ]
        return sorted(hits, key=lambda it: (_cloud(it), _when(it), it.id))


@dataclass
class ApiCatalog:
    """A STAC API searched per cell (:func:`lulcbook.sources.stac.search`).

    Attributes:
        name: the API root URL.
        collection: the collection searched.
        max_cloud: the largest cloud cover (percent) kept.
    """

    name: str
    collection: str = "sentinel-2-l2a"
    max_cloud: float | None = 50.0

    def search(self, bbox: Sequence[float], period: tuple[datetime, datetime]) -> list[pystac.Item]:
        """Search the API; see :meth:`StaticCatalog.search`.

        Args:
            bbox: ``[west, south, east, north]`` in degrees.
            period: ``(start, end)``.

        Returns:
            The items, least cloud first.
        """
        from lulcbook.sources import stac

        when = f"{period[0].isoformat()}/{period[1].isoformat()}"
        items = stac.search(
            bbox=list(bbox),
            datetime=when,
            collections=[self.collection],
            max_cloud=self.max_cloud,
            url=self.name,
        )
        return sorted(items, key=lambda it: (_cloud(it), _when(it), it.id))


def open_catalog(
    where: str | PathLike, collection: str = "sentinel-2-l2a", max_cloud: float | None = 50.0
) -> StaticCatalog | ApiCatalog:
    """Open a static catalog / collection / item collection file, or a STAC API URL.

    Args:
        where: a ``catalog.json``, ``collection.json``, a FeatureCollection of items, a folder
            holding ``catalog.json`` or ``collection.json``, or an ``http(s)://`` API root.
        collection: the collection searched in an API.
        max_cloud: the largest cloud cover kept from an API.

    Returns:
        The catalog.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it is no STAC catalog, collection or item collection, or holds no item.
    """
    text = str(where)
    if text.startswith(("http://", "https://")):
        return ApiCatalog(text, collection, max_cloud)
    path = Path(where)
    if path.is_dir():
        for name in ("catalog.json", "collection.json"):
            if (path / name).exists():
                path = path / name
                break
        else:
            raise FileNotFoundError(f"{where} holds neither catalog.json nor collection.json")
    if not path.exists():
        raise FileNotFoundError(f"STAC catalog {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"STAC catalog {path} is not readable JSON: {err}") from err
    items: list[pystac.Item]
    if data.get("type") == "FeatureCollection":
        items = [pystac.Item.from_dict(f) for f in data.get("features", [])]
        for it in items:
            _absolute_hrefs(it, path.parent)
    elif data.get("type") in ("Catalog", "Collection"):
        cat = pystac.read_file(str(path))
        assert isinstance(cat, pystac.Catalog)
        items = list(cat.get_items(recursive=True))
        for it in items:
            it.make_asset_hrefs_absolute()
    else:
        raise ValueError(
            f"{path} is not a STAC catalog, collection or item collection (type "
            f"{data.get('type')!r})"
        )
    if not items:
        raise ValueError(f"STAC catalog {path} holds no items")
    return StaticCatalog(str(path), items)


def _absolute_hrefs(item: pystac.Item, folder: Path) -> None:
    for asset in item.assets.values():
        if "://" not in asset.href and not Path(asset.href).is_absolute():
            asset.href = str((folder / asset.href).resolve())


def build_static_catalog(
    scenes: Sequence[PathLike],
    out: PathLike,
    collection: str = "sentinel-2-l1c",
    window: Window | None = None,
    cloud_cover: Sequence[float] | None = None,
) -> Path:
    """Write a static STAC catalog (``collection.json`` + one item per scene) from band files.

    Each scene is a folder of single-band rasters named like ``T33UUU_20170216T102101_B04.jp2``
    (:func:`lulcbook.predict.band_files`). With ``window`` (on the grid of the finest band),
    every band is cropped to it and written as a GeoTIFF into the catalog, so the catalog is
    small and self-contained; without, the items point at the original files. Scaling (DN ×
    1e-4, nodata 0: Sentinel-2 before processing baseline 04.00) is recorded per asset in the
    raster extension.

    Args:
        scenes: folders of band files.
        out: the catalog folder (created).
        collection: the collection id.
        window: optional crop on the finest band's grid.
        cloud_cover: ``eo:cloud_cover`` per scene (percent; default 0).

    Returns:
        The path of ``collection.json``.

    Raises:
        ValueError: for a scene without a date in its file names.
    """
    from lulcbook.predict import band_files, date_from

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    items = []
    for k, scene in enumerate(scenes):
        files = band_files(scene)
        ref = min(files.values(), key=lambda f: abs(rasterio.open(f).transform.a))
        when = date_from(ref.name)
        if when is None:
            raise ValueError(f"No acquisition time in the band file names of {scene}")
        stem = ref.stem.rsplit("_", 1)[0]
        item_dir = out / stem
        item_dir.mkdir(exist_ok=True)
        with rasterio.open(ref) as src:
            crs, fine = src.crs, src.transform
            win = window or Window(0, 0, src.width, src.height)
            bounds = rasterio.windows.bounds(win, fine)
        assets = {}
        for band, f in sorted(files.items()):
            href = str(Path(f).resolve())
            if window is not None:
                href = f"{stem}_{band}.tif"
                _crop(f, bounds, item_dir / href)
            asset = pystac.Asset(href=href, media_type=pystac.MediaType.GEOTIFF, roles=["data"])
            asset.extra_fields["raster:bands"] = [
                {"nodata": 0, "scale": 1e-4, "offset": 0.0, "data_type": "uint16"}
            ]
            asset.extra_fields["eo:bands"] = [{"name": band}]
            assets[band] = asset
        wgs = list(transform_bounds(crs, "EPSG:4326", *bounds, densify_pts=21))
        geom = {
            "type": "Polygon",
            "coordinates": [
                [
                    [wgs[0], wgs[1]],
                    [wgs[2], wgs[1]],
                    [wgs[2], wgs[3]],
                    [wgs[0], wgs[3]],
                    [wgs[0], wgs[1]],
                ]
            ],
        }
        item = pystac.Item(
            id=stem,
            geometry=geom,
            bbox=wgs,
            datetime=parse_datetime(when),
            properties={
                "eo:cloud_cover": float(cloud_cover[k]) if cloud_cover else 0.0,
                "platform": "sentinel-2",
                "proj:code": f"EPSG:{crs.to_epsg()}",
            },
            collection=collection,
        )
        for key, asset in assets.items():
            item.add_asset(key, asset)
        items.append(item)
    coll = pystac.Collection(
        id=collection,
        description=f"Static catalog of {len(items)} scene(s) built by lulcbook",
        extent=pystac.Extent(
            pystac.SpatialExtent([_union([it.bbox for it in items if it.bbox])]),
            pystac.TemporalExtent([[min(_when(i) for i in items), max(_when(i) for i in items)]]),
        ),
        license="other",
    )
    coll.add_items(items)
    coll.normalize_hrefs(str(out))
    for it in items:  # hrefs of cropped assets are relative to the item folder
        for asset in it.assets.values():
            if "://" not in asset.href and not Path(asset.href).is_absolute():
                asset.href = str(Path(asset.href).name)
    coll.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return out / "collection.json"


def _union(boxes: Sequence[Sequence[float]]) -> list[float]:
    return [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]


def _crop(src_path: PathLike, bounds: tuple[float, float, float, float], dst: Path) -> None:
    """Write the part of a band file inside ``bounds`` as a tiled GeoTIFF (its own resolution)."""
    with rasterio.open(src_path) as src:
        win = rasterio.windows.from_bounds(*bounds, transform=src.transform).round_offsets()
        win = win.round_lengths()
        data = src.read(1, window=win)
        profile: dict[str, Any] = {
            "driver": "GTiff",
            "width": data.shape[1],
            "height": data.shape[0],
            "count": 1,
            "dtype": data.dtype.name,
            "crs": src.crs,
            "transform": src.window_transform(win),
            "nodata": 0,
            "compress": "deflate",
        }
    with rasterio.open(dst, "w", **profile) as out:
        out.write(data, 1)
