"""Where tiles run: in this process, or on a dask.distributed cluster (local or remote).

A local cluster of ``workers`` processes (or threads) is started by default, or an existing
cluster is used by its scheduler address. With one worker and no scheduler the tiles run in
this process, one after another.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
from collections.abc import Iterator, Sequence
from typing import Any

from lulcbook.predict.classifier import TileClassifier
from lulcbook.predict.sources import Source
from lulcbook.predict.tile import TileResult, predict_tile
from lulcbook.tiling import Tile


def iter_local(
    tiles: Sequence[Tile], source: Source, model: TileClassifier, mc_samples: int, seed: int = 0
) -> Iterator[TileResult]:
    """Predict the tiles in this process, one after another."""
    for t in tiles:
        yield predict_tile(source, model, t, mc_samples, seed=seed)


def iter_dask(
    client: Any,
    tiles: Sequence[Tile],
    source: Source,
    model: TileClassifier,
    mc_samples: int,
    in_flight: int,
    seed: int = 0,
) -> Iterator[TileResult]:
    """Submit tiles to a dask.distributed client, at most ``in_flight`` at once, yield as done."""
    from distributed import as_completed

    src_f = client.scatter(source, broadcast=True, hash=False)
    model_f = client.scatter(model, broadcast=True, hash=False)
    todo = iter(tiles)
    ac = as_completed()  # type: ignore[no-untyped-call]
    for t in _take(todo, in_flight):
        ac.add(client.submit(predict_tile, src_f, model_f, t, mc_samples, seed=seed, pure=False))  # type: ignore[no-untyped-call]
    for fut in ac:
        res = fut.result()
        fut.release()
        for t in _take(todo, 1):
            ac.add(  # type: ignore[no-untyped-call]
                client.submit(predict_tile, src_f, model_f, t, mc_samples, seed=seed, pure=False)
            )
        yield res


def _take(it: Iterator[Tile], n: int) -> list[Tile]:
    out = []
    for _ in range(n):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out


def check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Check that a dask scheduler address is reachable (a TCP connection within ``timeout``).

    Addresses of other protocols (e.g. ``inproc://``, ``ucx://``) are not checked.

    Raises:
        ValueError: for an address without a port.
        ConnectionError: naming the address when nothing answers in time.
    """
    text = address.strip()
    if "://" in text and not text.startswith(("tcp://", "tls://")):
        return
    m = re.match(r"^(?:(?:tcp|tls)://)?\[?([^\[\]/]+?)\]?:(\d+)/?$", text)
    if m is None:
        raise ValueError(f"--scheduler {address!r} is not an address like tcp://host:8786")
    host, port = m.group(1), int(m.group(2))
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        raise ConnectionError(
            f"--scheduler {address}: no dask scheduler reachable within {timeout:g} s ({err})"
        ) from err


@contextlib.contextmanager
def dask_client(
    workers: int = 1,
    scheduler: str | None = None,
    processes: bool = True,
    connect_timeout: float = 10.0,
) -> Iterator[Any]:
    """Yield a dask.distributed client: the cluster at ``scheduler``, else a local one.

    Yields ``None`` when ``workers == 1`` and no scheduler is given (tiles then run in this
    process, one after another).

    Raises:
        ConnectionError: if the scheduler does not answer within ``connect_timeout`` seconds.
    """
    if scheduler is None and workers <= 1:
        yield None
        return
    if scheduler is None:
        with local_client(workers, processes) as client:
            yield client
        return
    from distributed import Client

    check_scheduler(scheduler, timeout=connect_timeout)
    try:
        client = Client(scheduler, timeout=connect_timeout)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as err:
        raise ConnectionError(
            f"--scheduler {scheduler}: cannot connect within {connect_timeout:g} s ({err})"
        ) from err
    with client:
        yield client


@contextlib.contextmanager
def local_client(workers: int, processes: bool = True) -> Iterator[Any]:
    """Yield the client of a local cluster of ``workers`` one-thread workers, even of one.

    The workers start without dask's memory trimming and profiler (:func:`local_worker_environ`)
    and without a dashboard. The scheduler's HTTP server (dask's health checks) listens on a
    free port, not on dask's default 8787, so a second cluster, or anything else holding 8787,
    neither disturbs it nor draws a warning.
    """
    from distributed import Client, LocalCluster

    with (
        local_worker_environ(),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


MONITOR_INTERVALS: dict[str, Any] = {
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.system-monitor.disk": False,
}
"""How often a local cluster's servers check themselves (dask's defaults: 20 ms, 100 ms, 500 ms;
disk counters read).

Every scheduler, nanny and worker wakes up on each of these; with a scheduler, two nannies and two
workers on two cores, the defaults preempted each worker's task about 160 times a second and
cost the scheduler's process about a sixth of a core; at these intervals the workers are
preempted about 60 times a second and the scheduler's process uses half as much CPU (measured on
the production benchmark's 10 km cells). A worker over its memory limit is caught within a
second instead of a tenth."""


WORKER_MALLOC_ENV: dict[str, str] = {
    "MALLOC_ARENA_MAX": "1",
    "MALLOC_MMAP_THRESHOLD_": str(256 * 2**20),
    "MALLOC_TRIM_THRESHOLD_": str(256 * 2**20),
    "MALLOC_TOP_PAD_": str(64 * 2**20),
}
"""glibc malloc settings of local workers: arrays under 256 MiB reuse the heap.

By default glibc gives each large array (above a threshold that grows to at most 32 MiB) fresh
pages from the kernel, and a worker's task thread gets its own arena, whose heaps are at most
64 MiB: a 10 km cell's band arrays (tens of megabytes each) were page-faulted in anew for
every cell, 5,000 page faults per cell. With one arena and the thresholds at 256 MiB (64 MiB
of headroom at the top of the heap), freed arrays are reused: 500 faults per cell, a third less
system time and 3–4 % less wall time per cell (production benchmark, 1 and 2 workers), with the
same peak memory. Free memory beyond 256 MiB at the top of the heap still goes back to the OS.
Other allocators ignore these variables."""


@contextlib.contextmanager
def local_worker_environ() -> Iterator[None]:
    """Start a local dask cluster for compute-bound tasks: heap reuse, no profiler.

    dask.distributed sets ``MALLOC_TRIM_THRESHOLD_=65536`` in new workers so they return memory
    to the OS early; with the many short-lived tile-sized arrays of GDAL reads, segmentation and
    the GNN this made each task about four times slower (measured on the Brandenburg scene).
    Instead the workers start with :data:`WORKER_MALLOC_ENV`. dask's statistical profiler
    samples every worker's stack every 10 ms; on the production benchmark
    (``benchmarks/bench_produce.py``) it took about a fifth of the workers' CPU time. The
    servers' self-checks run at :data:`MONITOR_INTERVALS`. One BLAS thread per worker is kept.
    Use this context manager around your own ``LocalCluster`` as well; for a cluster started
    otherwise, the same settings go in its dask configuration and the workers' environment.
    """
    import dask
    import distributed  # noqa: F401  (its configuration defaults exist once it is imported)

    key = "distributed.nanny.pre-spawn-environ"
    env = {**dask.config.get(key, {}), **WORKER_MALLOC_ENV}  # in place of dask's trim threshold
    settings = {key: env, "distributed.worker.profile.enabled": False, **MONITOR_INTERVALS}
    with dask.config.set(settings):
        yield


__all__ = [
    "MONITOR_INTERVALS",
    "WORKER_MALLOC_ENV",
    "check_scheduler",
    "dask_client",
    "iter_dask",
    "iter_local",
    "local_client",
    "local_worker_environ",
]
