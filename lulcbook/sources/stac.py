"""STAC APIs → reflectance cubes ``(time, band, y, x)`` for Sentinel-2 L2A/L1C and Landsat C2 L2.

Search a STAC API with pystac-client (default: Element 84 Earth Search v1, also
Microsoft Planetary Computer) by area, dates and cloud cover, then load chosen
bands with odc-stac and scale digital numbers to reflectance from each item's own
metadata (:func:`reflectance_scaling`).

Band names: the caller asks for Sentinel-2 names (``B02`` … ``B12``, ``B8A``), STAC
common names (``blue``, ``green``, ``red``, ``nir``, ``nir08``, ``swir16`` …) or asset
keys; :func:`resolve_asset_key` finds the matching asset in every item, whatever
the catalogue calls it (Earth Search v1 ``blue``, Earth Search v0 / Planetary
Computer ``B02``, Landsat ``blue``/``SR_B2``). The ``band`` coordinate of the result
carries the names as asked (S2 names normalised, ``b2`` → ``B02``).

Offline use and tests: ``href_map`` redirects asset hrefs (e.g. cloud URLs → local
GeoTIFFs) before any pixel is read.

References:
    Earth Search: https://earth-search.aws.element84.com/v1 (Element 84).
    Planetary Computer: https://planetarycomputer.microsoft.com/api/stac/v1 (Microsoft).
    ESA (2021), Sentinel-2 products upgrade, processing baseline 04.00 (BOA_ADD_OFFSET).
    USGS, Landsat Collection 2 Level-2 Science Product Guide (SR scale/offset).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pystac
import xarray as xr

from lulcbook.bands import S2_BANDS

EARTH_SEARCH: str = "https://earth-search.aws.element84.com/v1"
PLANETARY_COMPUTER: str = "https://planetarycomputer.microsoft.com/api/stac/v1"
S2_L2A: str = "sentinel-2-l2a"
LANDSAT_C2_L2: str = "landsat-c2-l2"

S2_COMMON_NAMES: dict[str, str] = {
    "B01": "coastal",
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B09": "nir09",
    "B10": "cirrus",
    "B11": "swir16",
    "B12": "swir22",
}
"""Sentinel-2 band → Earth Search v1 asset key (the STAC common name where one exists)."""

S2_TO_LANDSAT: dict[str, str] = {
    "B01": "coastal",
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B8A": "nir08",
    "B11": "swir16",
    "B12": "swir22",
    "nir": "nir08",
}
"""Sentinel-2 band (or ``nir``) → Landsat OLI/ETM+ common name. OLI band 5 (865 nm)
matches S2 B8A (as in HLS), so ``B08`` has no Landsat equivalent; ``nir`` → ``nir08``."""

S2_BOA_OFFSET_BASELINE: float = 4.0
"""From processing baseline 04.00 (25 Jan 2022) S2 L1C/L2A DNs carry a +1000 offset."""
S2_SCALE: float = 1e-4
S2_OFFSET_PB04: float = -0.1
LANDSAT_SR_SCALE: float = 2.75e-5
LANDSAT_SR_OFFSET: float = -0.2
LANDSAT_ST_SCALE: float = 0.00341802
LANDSAT_ST_OFFSET: float = 149.0

_S2_REFLECTANCE = set(S2_BANDS) | set(S2_COMMON_NAMES.values()) | {"rededge"}
_LANDSAT_SR = {"coastal", "blue", "green", "red", "nir08", "swir16", "swir22"}
_LANDSAT_ST = {"lwir11", "lwir", "st_b10", "st_b6"}
_LANDSAT_ID = re.compile(r"^L[CTOEM]0\d_L2S[PR]_")
_BASELINE_IN_NAME = re.compile(r"_N(\d{2})(\d{2})_")


# --------------------------------------------------------------------------- search


def search(
    *,
    bbox: Sequence[float] | None = None,
    intersects: Mapping[str, Any] | None = None,
    datetime: str | None = None,
    collections: Sequence[str] | str | None = (S2_L2A,),
    max_cloud: float | None = None,
    cloud_filter: Literal["cql2", "query"] = "cql2",
    max_items: int | None = 500,
    url: str = EARTH_SEARCH,
    modifier: Callable[[Any], Any] | None = None,
) -> list[pystac.Item]:
    """Search a STAC API for items (POST ``<url>/search``, paging through results).

    Args:
        bbox: ``[west, south, east, north]`` in degrees.
        intersects: a GeoJSON geometry (dict) in EPSG:4326.
        datetime: a date, an interval ``"2023-06-01/2023-08-31"`` or RFC 3339 times.
        collections: collection ids, e.g. ``"sentinel-2-l2a"``, ``"landsat-c2-l2"``;
            ``None`` searches every collection.
        max_cloud: keep items with ``eo:cloud_cover <= max_cloud`` (percent).
        cloud_filter: express ``max_cloud`` as a CQL2-JSON ``filter`` (``"cql2"``) or
            as the older STAC API ``query`` extension (``"query"``).
        max_items: stop after this many items (``None``: all pages).
        url: the API root, e.g. :data:`EARTH_SEARCH` or :data:`PLANETARY_COMPUTER`.
        modifier: pystac-client modifier applied to results (e.g.
            ``planetary_computer.sign_inplace`` to sign Planetary Computer hrefs).

    Returns:
        The items in the API's order. With ``max_cloud`` the limit is checked again
        on the returned items: servers do not always honour it (the recorded Earth
        Search responses include items at 41–57 % for a 40 % filter), so items above
        it are dropped with a warning that names them. Items without
        ``eo:cloud_cover`` (e.g. radar) are kept.

    Raises:
        ValueError: for a bad cloud limit or filter type, or both ``bbox`` and
            ``intersects``.
    """
    from pystac_client import ItemSearch

    if bbox is not None and intersects is not None:
        raise ValueError("Give either bbox or intersects, not both")
    if bbox is not None and len(bbox) != 4:
        raise ValueError(f"bbox must be [west, south, east, north]; got {list(bbox)}")
    kwargs: dict[str, Any] = {}
    if max_cloud is not None:
        if not 0 <= max_cloud <= 100:
            raise ValueError(f"max_cloud {max_cloud!r} must be a percentage in [0, 100]")
        if cloud_filter == "cql2":
            kwargs["filter"] = {"op": "lte", "args": [{"property": "eo:cloud_cover"}, max_cloud]}
            kwargs["filter_lang"] = "cql2-json"
        elif cloud_filter == "query":
            kwargs["query"] = {"eo:cloud_cover": {"lte": max_cloud}}
        else:
            raise ValueError(f"Unknown cloud_filter {cloud_filter!r}; expected 'cql2' or 'query'")
    if isinstance(collections, str):
        collections = [collections]
    s = ItemSearch(
        f"{url.rstrip('/')}/search",
        method="POST",
        bbox=list(bbox) if bbox is not None else None,
        intersects=dict(intersects) if intersects is not None else None,
        datetime=datetime,
        collections=list(collections) if collections else None,
        max_items=max_items,
        modifier=modifier,
        **kwargs,
    )
    items = list(s.items())
    if max_cloud is not None:
        cloudy = [
            it
            for it in items
            if it.properties.get("eo:cloud_cover") is not None
            and float(it.properties["eo:cloud_cover"]) > max_cloud
        ]
        if cloudy:
            warnings.warn(
                f"{len(cloudy)} items above the cloud limit of {max_cloud} % returned by {url} "
                f"and dropped: {[it.id for it in cloudy]}",
                stacklevel=2,
            )
            items = [it for it in items if it not in cloudy]
    return items


# --------------------------------------------------------------------------- band names


def _mission_text(item: pystac.Item, *keys: str) -> str:
    """The item's collection id and the properties ``keys`` as one lower-case text."""
    return " ".join(str(v) for v in (item.collection_id, *map(item.properties.get, keys))).lower()


def _is_landsat(item: pystac.Item) -> bool:
    text = _mission_text(item, "platform", "eo:platform", "constellation")
    return "landsat" in text or bool(_LANDSAT_ID.match(item.id))


def _is_landsat_c2l2(item: pystac.Item) -> bool:
    """Landsat Collection 2 Level-2 (USGS, Earth Search, Planetary Computer)."""
    if _LANDSAT_ID.match(item.id):
        return True
    coll = str(item.collection_id or "").lower().replace("-", "")
    if "landsat" in coll and "c2" in coll and "l2" in coll:
        return True
    p = item.properties
    return str(p.get("landsat:collection_number")) == "02" and str(
        p.get("landsat:correction", "")
    ).upper().startswith("L2")


def _is_sentinel2(item: pystac.Item) -> bool:
    text = _mission_text(item, "platform", "constellation")
    return bool(re.search(r"sentinel[-_ ]?s?2", text)) or bool(re.match(r"^S2[ABCD]_", item.id))


def _band_candidates(item: pystac.Item, band: str) -> list[str]:
    """Asset keys / band names that may carry ``band`` in ``item``, best first."""
    name = str(band).strip()
    cands = [name]
    s2 = _s2_name(name)
    if s2 is not None:
        cands += [s2, S2_COMMON_NAMES[s2]]
    else:
        for b, common in S2_COMMON_NAMES.items():
            if name.lower() == common:
                cands.append(b)
    if _is_landsat(item):
        alias = S2_TO_LANDSAT.get(s2 or name.lower())
        cands = [c for c in cands if c not in ("nir", "B08")]
        if alias:
            cands.append(alias)
        if s2 == "B08":
            cands = []  # no broad-band NIR on Landsat: say so instead of guessing
    seen: list[str] = []
    for c in cands:
        if c not in seen:
            seen.append(c)
    return seen


def _s2_name(name: str) -> str | None:
    n = name.strip().upper()
    if n.startswith("B") and n[1:].isdigit() and len(n) == 2:
        n = f"B0{n[1]}"
    return n if n in S2_BANDS else None


def _single_band_names(asset: pystac.Asset, item: pystac.Item | None = None) -> set[str]:
    bands = asset.extra_fields.get("eo:bands") or asset.extra_fields.get("bands") or []
    if len(bands) != 1:
        return set()
    b = bands[0]
    if isinstance(b, int) and item is not None:  # STAC 0.9: an index into the item's eo:bands
        item_bands = item.properties.get("eo:bands") or []
        b = item_bands[b] if 0 <= b < len(item_bands) else None
    if not isinstance(b, Mapping):
        return set()
    out = {b.get("name"), b.get("common_name"), b.get("eo:common_name")}
    return {str(v).lower() for v in out if v}


def resolve_asset_key(item: pystac.Item, band: str) -> str:
    """Return the asset key of ``item`` that holds ``band``.

    Tries exact asset keys (Sentinel-2 name, STAC common name, Landsat alias), then
    the single-band ``eo:bands`` name/common name of each asset (GeoTIFF assets
    before their ``-jp2`` twins).

    Raises:
        ValueError: naming the band, the item id and the assets it does have.
    """
    cands = _band_candidates(item, band)
    keys = list(item.assets)
    for c in cands:
        if c in item.assets:
            return c
    lower = {k.lower(): k for k in keys}
    for c in cands:
        if c.lower() in lower:
            return lower[c.lower()]
    ordered = sorted(keys, key=lambda k: ("jp2" in k.lower(), keys.index(k)))
    for c in cands:
        hits = [k for k in ordered if c.lower() in _single_band_names(item.assets[k], item)]
        if hits:
            return hits[0]
    data_keys = [k for k in keys if "data" in (item.assets[k].roles or ["data"])]
    hint = (
        " (Landsat has no broad NIR band B08; use 'nir08'/'B8A')"
        if (_is_landsat(item) and _s2_name(str(band)) == "B08")
        else ""
    )
    raise ValueError(
        f"Band {band!r} not found in item {item.id!r} (collection {item.collection_id!r}); "
        f"tried {cands}{hint}; the item has assets {data_keys}"
    )


# --------------------------------------------------------------------------- scaling


def _raster_scale_offset(asset: pystac.Asset) -> tuple[float | None, float | None]:
    ef = asset.extra_fields
    rb = ef.get("raster:bands")
    if rb and isinstance(rb[0], Mapping) and ("scale" in rb[0] or "offset" in rb[0]):
        return rb[0].get("scale"), rb[0].get("offset")
    bands = ef.get("bands")
    if (
        bands
        and isinstance(bands[0], Mapping)
        and ("raster:scale" in bands[0] or "raster:offset" in bands[0])
    ):
        return bands[0].get("raster:scale"), bands[0].get("raster:offset")
    if "raster:scale" in ef or "raster:offset" in ef:
        return ef.get("raster:scale"), ef.get("raster:offset")
    return None, None


def processing_baseline(item: pystac.Item) -> float | None:
    """Return the Sentinel-2 processing baseline of ``item`` (e.g. ``5.09``) or ``None``.

    Read from ``s2:processing_baseline``, ``processing:version``,
    ``sentinel:processing_baseline``, else the ``_Nxxyy_`` part of the product id.
    """
    p = item.properties
    for key in ("s2:processing_baseline", "processing:version", "sentinel:processing_baseline"):
        v = p.get(key)
        if v not in (None, ""):
            try:
                return float(str(v).lstrip("Nn"))
            except ValueError:
                m = re.match(r"^N?(\d{2})\.?(\d{2})$", str(v))
                if m:
                    return float(f"{m.group(1)}.{m.group(2)}")
    for key in ("s2:product_uri", "sentinel:product_id", "s2:granule_id"):
        m = _BASELINE_IN_NAME.search(str(p.get(key, "")))
        if m:
            return float(f"{m.group(1)}.{m.group(2)}")
    m = _BASELINE_IN_NAME.search(item.id)
    return float(f"{m.group(1)}.{m.group(2)}") if m else None


def reflectance_scaling(item: pystac.Item, asset_key: str) -> tuple[float, float]:
    """Return ``(scale, offset)`` so that ``reflectance = DN * scale + offset``.

    Rules, in order:

    1. Earth Search ``earthsearch:boa_offset_applied: true``: the −1000 offset is
       already in the COG pixels, so the offset is 0 and the scale comes from the
       metadata (default 1e-4). The items still list ``offset: -0.1``, which would
       subtract it twice (Element84/earth-search#9, microsoft/PlanetaryComputer#349).
    2. The raster extension's ``scale``/``offset`` of the asset, when present.
    3. Sentinel-2 reflectance bands: processing baseline ≥ 04.00 ⇒ ``DN/10000 − 0.1``
       (the BOA/RADIO_ADD_OFFSET of −1000); earlier ⇒ ``DN/10000``.
    4. Landsat Collection 2 Level-2: surface reflectance ``DN·2.75e-5 − 0.2``;
       surface temperature (``lwir11``) ``DN·0.00341802 + 149`` (kelvin).
    5. Other assets of S2/Landsat items (SCL, QA bits): ``(1.0, 0.0)``.

    Raises:
        KeyError: if the item has no asset ``asset_key``.
        ValueError: for a Sentinel-2 item without any processing baseline, or an item
            of an unknown mission without raster scale metadata.
    """
    if asset_key not in item.assets:
        raise KeyError(f"Item {item.id!r} has no asset {asset_key!r}; assets: {list(item.assets)}")
    asset = item.assets[asset_key]
    scale, offset = _raster_scale_offset(asset)
    if item.properties.get("earthsearch:boa_offset_applied") is True:
        return float(scale if scale is not None else S2_SCALE), 0.0
    if scale is not None or offset is not None:
        return float(scale if scale is not None else 1.0), float(offset or 0.0)
    names = {asset_key.lower(), *_single_band_names(asset, item)}
    if _is_sentinel2(item):
        if not names & {n.lower() for n in _S2_REFLECTANCE}:
            return 1.0, 0.0
        pb = processing_baseline(item)
        if pb is None:
            raise ValueError(
                f"Sentinel-2 item {item.id!r} has no processing baseline "
                "(s2:processing_baseline / processing:version / product id), so the "
                "reflectance offset (−0.1 from baseline 04.00) cannot be decided"
            )
        return S2_SCALE, (S2_OFFSET_PB04 if pb >= S2_BOA_OFFSET_BASELINE else 0.0)
    if _is_landsat_c2l2(item):
        key = asset_key.lower().removesuffix(".tif")
        if names & _LANDSAT_ST or key.startswith("st_b"):
            return LANDSAT_ST_SCALE, LANDSAT_ST_OFFSET
        if names & _LANDSAT_SR or re.match(r"^sr_b\d$", key):
            return LANDSAT_SR_SCALE, LANDSAT_SR_OFFSET
        return 1.0, 0.0
    raise ValueError(
        f"No reflectance scaling known for asset {asset_key!r} of item {item.id!r} "
        f"(collection {item.collection_id!r}): it is neither Sentinel-2 nor Landsat C2 L2 "
        "and has no raster:bands scale/offset"
    )


def _nodata(item: pystac.Item, asset_key: str) -> float | None:
    ef = item.assets[asset_key].extra_fields
    rb = ef.get("raster:bands") or ef.get("bands")
    if rb and isinstance(rb[0], Mapping):
        v = rb[0].get("nodata", rb[0].get("raster:nodata"))
        if v is not None:
            return float(v)
    if "nodata" in ef:
        return float(ef["nodata"])
    if _is_sentinel2(item) or _is_landsat(item):
        return 0.0  # both missions' L1/L2 products use 0 as fill
    return None


# --------------------------------------------------------------------------- loading


def redirect_hrefs(
    item: pystac.Item, href_map: Mapping[str, str] | Callable[[str], str]
) -> pystac.Item:
    """Return a copy of ``item`` whose asset hrefs are rewritten by ``href_map``.

    ``href_map`` is a dict (hrefs not in it stay as they are) or a function
    ``href -> href``. Used to read local GeoTIFFs in place of cloud assets.
    """
    out = item.clone()
    out.set_self_href(None)  # else local paths resolve against the API's URL
    for asset in out.assets.values():
        asset.href = _map_href(asset.href, href_map)
    return out


def _map_href(href: str, href_map: Mapping[str, str] | Callable[[str], str] | None) -> str:
    if href_map is None:
        return href
    new = str(href_map(href)) if callable(href_map) else str(href_map.get(href, href))
    if new != href and "://" not in new:
        new = str(Path(new).resolve())  # a local file: absolute, independent of cwd
    return new


def _normalised_bands(bands: Sequence[str] | str) -> list[str]:
    if isinstance(bands, str):
        bands = [bands]
    if not bands:
        raise ValueError("No bands requested")
    out = [_s2_name(b) or str(b) for b in bands]
    dup = sorted({b for b in out if out.count(b) > 1})
    if dup:
        raise ValueError(f"Bands requested twice: {dup}")
    return out


def load(
    items: Sequence[pystac.Item],
    bands: Sequence[str] | str = ("B02", "B03", "B04", "B08"),
    *,
    crs: str | None = None,
    resolution: float | None = None,
    bbox: Sequence[float] | None = None,
    geobox: Any = None,
    groupby: Literal["item", "solar_day"] = "item",
    href_map: Mapping[str, str] | Callable[[str], str] | None = None,
    chunks: dict[str, int | Literal["auto"]] | None = None,
    resampling: str = "nearest",
    **odc_kwargs: Any,
) -> xr.DataArray:
    """Load ``bands`` of ``items`` as float32 reflectance ``(time, band, y, x)`` with a CRS.

    Each item is read as its own time step (sorted by datetime, then id), scaled
    with its own :func:`reflectance_scaling` (so scenes of different processing
    baselines or missions mix correctly) and its nodata set to NaN. With
    ``groupby="solar_day"`` time steps of the same solar day (neighbouring tiles of
    one overpass) are then mosaicked, the first valid pixel winning.

    Args:
        items: STAC items (e.g. from :func:`search`); Sentinel-2 and Landsat may mix.
        bands: band names (see :func:`resolve_asset_key`); they label the ``band`` axis.
        crs: output CRS, e.g. ``"EPSG:32633"`` (default: the CRS most items declare).
        resolution: output pixel size in CRS units (default: the finest band's).
        bbox: ``[west, south, east, north]`` in degrees to cut the output to.
        geobox: an ``odc.geo.GeoBox`` fixing the exact grid (overrides the above).
        groupby: ``"item"`` (one time step per item) or ``"solar_day"``.
        href_map: rewrite asset hrefs before reading (dict or function), e.g. to
            local files; see :func:`redirect_hrefs`.
        chunks: dask chunks, e.g. ``{"x": 2048, "y": 2048}`` for a lazy load.
        resampling: resampling for bands of other resolutions / reprojection.
        **odc_kwargs: passed on to :func:`odc.stac.load` (e.g. ``x=``, ``y=``).

    Returns:
        ``xr.DataArray`` float32 ``(time, band, y, x)``, coordinates ``id`` and
        ``collection`` along ``time``, CRS written with rioxarray, attrs ``scale`` /
        ``offset`` per item and band.

    Raises:
        ValueError: no items, an unknown ``groupby``, or a band that an item lacks
            (naming the band and the item).
    """
    import odc.stac
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    if groupby not in ("item", "solar_day"):
        raise ValueError(f"Unknown groupby {groupby!r}; expected 'item' or 'solar_day'")
    if bbox is not None and len(bbox) != 4:
        raise ValueError(f"bbox must be [west, south, east, north]; got {list(bbox)}")
    items = list(items)
    if not items:
        raise ValueError("No STAC items to load")
    names = _normalised_bands(bands)
    items = sorted(items, key=lambda it: (_item_time(it), it.id))

    prepared: list[pystac.Item] = []
    scales = np.ones((len(items), len(names)), dtype="float64")
    offsets = np.zeros_like(scales)
    nodata = np.full_like(scales, np.nan)
    for i, item in enumerate(items):
        clone = item.clone()
        clone.assets = {}
        clone.set_self_href(None)
        clone.collection_id = "lulcbook-stac-load"
        for j, name in enumerate(names):
            key = resolve_asset_key(item, name)
            scales[i, j], offsets[i, j] = reflectance_scaling(item, key)
            nd = _nodata(item, key)
            nodata[i, j] = np.nan if nd is None else nd
            asset = item.assets[key].clone()
            asset.href = _map_href(asset.href, href_map)
            ef = dict(asset.extra_fields)
            ef.pop("eo:bands", None)
            ef.pop("bands", None)
            asset.extra_fields = ef
            clone.add_asset(name, asset)
        prepared.append(clone)

    if crs is None and geobox is None:
        crs = _common_crs(items)
    ds = odc.stac.load(
        prepared,
        bands=names,
        groupby="id",  # one plane per item, in input order
        crs=crs,
        resolution=resolution,
        bbox=(
            (float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]))
            if bbox is not None
            else None
        ),
        geobox=geobox,
        chunks=chunks,
        resampling=resampling,
        **odc_kwargs,
    )
    raw = ds[names].to_dataarray("band").transpose("time", "band", "y", "x")
    coords = {"band": names}
    sc = xr.DataArray(scales.astype("float32"), dims=("time", "band"), coords=coords)
    of = xr.DataArray(offsets.astype("float32"), dims=("time", "band"), coords=coords)
    nodata_da = xr.DataArray(nodata, dims=("time", "band"), coords=coords)
    valid = raw != nodata_da  # NaN (no nodata known) compares unequal: every pixel valid
    refl = (raw.astype("float32") * sc + of).where(valid).astype("float32")
    refl = refl.assign_coords(
        id=("time", [it.id for it in items]),
        collection=("time", [str(it.collection_id) for it in items]),
    )
    if groupby == "solar_day":
        refl = _mosaic_solar_day(refl, items)
    refl = refl.rio.write_crs(str(ds.odc.crs))
    refl.attrs.update(
        long_name="reflectance",
        units="1",
        scale=scales.tolist(),
        offset=offsets.tolist(),
    )
    refl.name = "reflectance"
    result: xr.DataArray = refl
    return result


def _common_crs(items: Sequence[pystac.Item]) -> str | None:
    """The CRS most items declare (``proj:code`` / ``proj:epsg``), or ``None``."""
    codes = []
    for it in items:
        code = it.properties.get("proj:code")
        if code is None and it.properties.get("proj:epsg") is not None:
            code = f"EPSG:{it.properties['proj:epsg']}"
        if code is not None:
            codes.append(str(code))
    return max(set(codes), key=codes.count) if codes else None


def _item_time(item: pystac.Item) -> pd.Timestamp:
    dt = item.datetime or item.common_metadata.start_datetime
    if dt is None:
        raise ValueError(f"Item {item.id!r} has neither datetime nor start_datetime")
    return pd.Timestamp(dt).tz_localize(None) if pd.Timestamp(dt).tzinfo else pd.Timestamp(dt)


def _mosaic_solar_day(refl: xr.DataArray, items: Sequence[pystac.Item]) -> xr.DataArray:
    """Mosaic time steps of the same solar day (UTC time + longitude/15 h)."""
    days = []
    for it in items:
        lon = 0.0
        if it.bbox:
            lon = (it.bbox[0] + it.bbox[2]) / 2
        days.append((_item_time(it) + pd.Timedelta(hours=lon / 15.0)).normalize())
    refl = refl.assign_coords(solar_day=("time", pd.DatetimeIndex(days).values))
    out = refl.drop_vars(["id", "collection"]).groupby("solar_day").first(skipna=True)
    ids = pd.Series([it.id for it in items]).groupby(days).agg(",".join)
    days_out = out["solar_day"].values
    out = (
        out.assign_coords(time=("solar_day", days_out))
        .swap_dims(solar_day="time")
        .drop_vars("solar_day")
        .assign_coords(id=("time", ids.loc[pd.DatetimeIndex(days_out)].values))
    )
    return out.transpose("time", "band", "y", "x")
