"""Open band files once per thread, so GDAL's block cache serves the next read of the same blocks.

A production run reads the same band files for many tiles and grid cells; opening a file for
every read (about 2 ms each for a COG) and losing the decoded blocks with it (a 1024² DEFLATE
block is several milliseconds to decode, and neighbouring cells share blocks) made reading the
largest cost of small cells. :func:`open_dataset` keeps up to :data:`MAX_OPEN` datasets open per
thread (rasterio datasets must not be shared between threads), least recently used first out.
A local file is reopened when its size or modification time changes, so a file rewritten in
place is never read from a stale handle.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence

import rasterio

MAX_OPEN: int = 64
"""Open datasets kept per thread."""

_LOCAL = threading.local()


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


__all__ = ["MAX_OPEN", "close_all", "open_dataset", "open_stack"]
