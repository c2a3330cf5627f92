"""Tests for lulcbook.predict.cluster: existing and unreachable schedulers, local workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from predict_helpers import SpectralCentroid

from lulcbook import predict


def test_existing_dask_scheduler(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    src, _ = scene
    local = predict.predict_scene(src, model, tmp_path / "a.tif", tile_size=96, progress=False)
    with LocalCluster(
        n_workers=1, processes=False, dashboard_address=":0", scheduler_kwargs={"dashboard": False}
    ) as cluster:
        remote = predict.predict_scene(
            src, model, tmp_path / "b.tif", tile_size=96, scheduler=cluster.scheduler_address,
            progress=False,
        )  # fmt: skip
    np.testing.assert_array_equal(predict.read_map(local.path)[0], predict.read_map(remote.path)[0])
    assert remote.class_pixels == local.class_pixels


def test_unreachable_scheduler_fails_fast(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    import socket
    import time

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(ConnectionError, match=rf"--scheduler tcp://127\.0\.0\.1:{port}"):
        predict.predict_scene(
            scene[0], model, tmp_path / "m.tif", scheduler=f"tcp://127.0.0.1:{port}"
        )
    assert time.perf_counter() - t0 < 10
    assert list(tmp_path.iterdir()) == []


def test_local_workers_start_without_eager_malloc_trim_and_profiler() -> None:
    import dask

    from lulcbook.predict import WORKER_MALLOC_ENV, local_worker_environ

    with local_worker_environ():
        env = dask.config.get("distributed.nanny.pre-spawn-environ")
        assert env["MALLOC_TRIM_THRESHOLD_"] == WORKER_MALLOC_ENV["MALLOC_TRIM_THRESHOLD_"]
        assert env.get("OMP_NUM_THREADS") in (1, "1")
        assert dask.config.get("distributed.worker.profile.enabled") is False
        assert dask.config.get("distributed.admin.tick.interval") == "1s"
    assert dask.config.get("distributed.worker.profile.enabled") is True  # restored
    assert dask.config.get("distributed.admin.tick.interval") == "20ms"


def test_local_workers_check_themselves_at_the_set_intervals() -> None:
    from lulcbook.predict.cluster import MONITOR_INTERVALS, local_client

    def settings(dask_worker) -> dict:  # type: ignore[no-untyped-def]
        import dask

        return {
            "config": {k: dask.config.get(k) for k in MONITOR_INTERVALS},
            "memory_monitor_s": dask_worker.memory_manager.memory_monitor_interval,
        }

    with local_client(1) as client:
        (got,) = client.run(settings).values()
    assert got["config"] == MONITOR_INTERVALS
    assert got["memory_monitor_s"] == 1.0


def test_local_workers_reuse_their_heap() -> None:
    from lulcbook.predict.cluster import WORKER_MALLOC_ENV, local_client

    def environ() -> dict[str, str | None]:
        import os

        return {k: os.environ.get(k) for k in WORKER_MALLOC_ENV}

    with local_client(1) as client:
        (got,) = client.run(environ).values()
    assert got == WORKER_MALLOC_ENV
    assert int(WORKER_MALLOC_ENV["MALLOC_TRIM_THRESHOLD_"]) > 65536  # not dask's eager trimming


def test_local_cluster_leaves_dask_port_8787_alone() -> None:
    """With 8787 taken (here or by another program) the cluster starts without a port warning."""
    import socket
    import warnings

    from lulcbook.predict.cluster import local_client

    holder = socket.socket()
    try:
        holder.bind(("", 8787))
        holder.listen()
    except OSError:
        pass  # already held elsewhere: the same situation
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with local_client(1, processes=False) as client:
                assert client.submit(sum, [1, 2]).result() == 3
                port = client.cluster.scheduler.http_server.port
    finally:
        holder.close()
    assert port != 8787
    assert not [w for w in caught if "8787" in str(w.message)]
