"""Tests of the per-thread cache of open band files."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from predict_helpers import write_scene

from lulcbook.predict import datasets


@pytest.fixture(autouse=True)
def _empty_cache():
    datasets.close_all()
    yield
    datasets.close_all()


def _band(path: Path, value: int) -> str:
    return str(write_scene(path, np.full((1, 8, 8), value, dtype="uint16"), descriptions=["b02"]))


def test_the_same_file_is_opened_once_per_thread(tmp_path: Path) -> None:
    path = _band(tmp_path / "a.tif", 100)
    first = datasets.open_dataset(path)
    assert datasets.open_dataset(path) is first
    other: list = []
    t = threading.Thread(target=lambda: other.append(datasets.open_dataset(path)))
    t.start()
    t.join()
    assert other[0] is not first  # datasets are never shared between threads


def test_a_file_rewritten_in_place_is_reopened(tmp_path: Path) -> None:
    path = _band(tmp_path / "a.tif", 100)
    assert datasets.open_dataset(path).read(1)[0, 0] == 100
    _band(tmp_path / "a.tif", 200)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a new modification time
    assert datasets.open_dataset(path).read(1)[0, 0] == 200


def test_the_least_recently_used_dataset_is_closed_beyond_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datasets, "MAX_OPEN", 2)
    a, b, c = (_band(tmp_path / f"{n}.tif", 1) for n in "abc")
    da = datasets.open_dataset(a)
    db = datasets.open_dataset(b)
    datasets.open_dataset(a)  # a is now the most recently used
    datasets.open_dataset(c)
    assert db.closed and not da.closed
    datasets.close_all()
    assert da.closed


_CACHE_PROBE = """
import sys
import numpy as np, rasterio
from rasterio.env import get_gdal_config
from lulcbook.predict import datasets
before = get_gdal_config("GDAL_CACHEMAX")
datasets.open_dataset(sys.argv[1])
print(before, get_gdal_config("GDAL_CACHEMAX"))
"""


@pytest.mark.parametrize("env_value", [None, "100"])
def test_the_block_cache_is_bounded_unless_the_user_sets_it(
    tmp_path: Path, env_value: str | None
) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "GDAL_CACHEMAX"}
    if env_value is not None:
        env["GDAL_CACHEMAX"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", _CACHE_PROBE, _band(tmp_path / "a.tif", 1)],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    before, after = int(out[0]), int(out[1])
    if env_value is None:  # GDAL's default (5 % of memory) becomes the bound
        assert before != datasets.BLOCK_CACHE_MB * 2**20
        assert after == datasets.BLOCK_CACHE_MB * 2**20
    else:  # the user's value (MB) stays
        assert before == after == 100 * 2**20
