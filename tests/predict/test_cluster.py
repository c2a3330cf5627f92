"""Tests for lulcbook.predict.cluster: an existing dask scheduler, an unreachable one."""

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
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
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


def test_local_workers_start_without_malloc_trim_and_profiler() -> None:
    import dask

    from lulcbook.predict import local_worker_environ

    with local_worker_environ():
        env = dask.config.get("distributed.nanny.pre-spawn-environ")
        assert "MALLOC_TRIM_THRESHOLD_" not in env
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
