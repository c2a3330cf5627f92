"""Open band files once per thread, so GDAL's block cache serves the next read of the same blocks.

A production run reads the same band files for many tiles and grid cells; opening a file for
every read (about 2 ms each for a COG) and losing the decoded blocks with it (a 1024² DEFLATE
block is several milliseconds to decode, and neighbouring cells share blocks) made reading the
largest cost of small cells. :func:`open_dataset` keeps up to :data:`MAX_OPEN` datasets open per
thread (rasterio datasets must not be shared between threads), least recently used first out.
A local file is reopened when its size or modification time changes, so a file rewritten in
place is never read from a stale handle.

GDAL's block cache is bounded at :data:`BLOCK_CACHE_MB` per process when the first dataset is
opened (:func:`bound_block_cache`), unless ``GDAL_CACHEMAX`` is set in the environment or in the
active ``rasterio.Env``. GDAL's own default is 5 % of the machine's memory *per process*: each
worker of a grid run grew to it (1.4 GB after 55 cells of 10 km on a 24 GB machine), so on a
node with many cores and much memory the workers' caches alone could exceed it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence

import rasterio
import rasterio.env

MAX_OPEN: int = 64
"""Open datasets kept per thread."""

BLOCK_CACHE_MB: int = 256
"""GDAL's block cache per process (MiB) unless ``GDAL_CACHEMAX`` is set. A grid cell of 10 km
reads about a hundred megabytes of decoded blocks, and neighbouring cells share blocks: on the
production benchmark's mosaic, 256 MiB was as fast as GDAL's default (1.2 GB there) and kept a
worker at 0.9 GB after 55 cells; 64 MiB was about 7 % slower."""

_LOCAL = threading.local()
_BOUNDED = threading.Event()


def bound_block_cache() -> None:
    """Set GDAL's block cache of this process to :data:`BLOCK_CACHE_MB`, once.

    Nothing changes when ``GDAL_CACHEMAX`` is set in the environment or in the active
    ``rasterio.Env``: a value chosen by the user wins.
    """
    if _BOUNDED.is_set():
        return
    _BOUNDED.set()
    if "GDAL_CACHEMAX" in os.environ:
        return
    if rasterio.env.hasenv() and "GDAL_CACHEMAX" in rasterio.env.getenv():
        return
    rasterio.env.set_gdal_config("GDAL_CACHEMAX", BLOCK_CACHE_MB * 2**20)


def _key(path: str) -> tuple[str, int, int]:
    """The cache key: the path, and for a local file its size and modification time."""
    try:
        st = os.stat(path)
    except OSError:  # a URL or /vsi path: GDAL handles it, the path is the key
        return path, -1, -1
    return path, st.st_size, st.st_mtime_ns


def open_dataset(path: str) -> rasterio.io.DatasetReader:
    """An open dataset of ``path``, shared by the reads of this thread; do not close it.

    Raises:
        rasterio.errors.RasterioIOError: if the file cannot be opened.
    """
    return _cached(path, _key(path))


def open_stack(xml: str, members: Sequence[str]) -> rasterio.io.DatasetReader:
    """An open VRT given as XML text (:func:`lulcbook.predict.stack.stack_xml`), shared like files.

    Args:
        xml: the VRT.
        members: the files it reads; the VRT is reopened when one of them changes.

    Raises:
        rasterio.errors.RasterioIOError: if the VRT or a member cannot be opened.
    """
    return _cached(xml, tuple(_key(m) for m in members))


def _cached(name: str, key: Hashable) -> rasterio.io.DatasetReader:
    """The thread's open dataset of ``name`` if it was opened with ``key``, else a new one."""
    cache: OrderedDict[str, tuple[Hashable, rasterio.io.DatasetReader]] | None
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = OrderedDict()
    hit = cache.get(name)
    if hit is not None and hit[0] == key and not hit[1].closed:
        cache.move_to_end(name)
        return hit[1]
    if hit is not None:
        hit[1].close()
    bound_block_cache()
    ds = rasterio.open(name)
    cache[name] = (key, ds)
    while len(cache) > MAX_OPEN:
        cache.popitem(last=False)[1][1].close()
    return ds


def close_all() -> None:
    """Close the datasets this thread keeps open."""
    cache = getattr(_LOCAL, "cache", None)
    while cache:
        cache.popitem()[1][1].close()


__all__ = [
    "BLOCK_CACHE_MB",
    "MAX_OPEN",
    "bound_block_cache",
    "close_all",
    "open_dataset",
    "open_stack",
]
