"""Shared fixtures: the offline sample folder, tiny georeferenced rasters made by code, one torch thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.transform import from_origin

from lulcbook import config


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run a test on one torch thread: tiny models and bicubic upsampling only spin-wait on more."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The offline sample (../shared/eo-sample or LULCBOOK_SAMPLE)."""
    path = config.sample_dir()
    if not path.exists():
        pytest.fail(f"Offline sample {path} not found; set LULCBOOK_SAMPLE")
    return path


def write_raster(
    path: Path,
    data: np.ndarray,
    crs: str | None = "EPSG:32633",
    descriptions: list[str] | None = None,
    nodata: float | None = None,
    origin: tuple[float, float] = (330000.0, 5822040.0),
    res: float = 10.0,
) -> Path:
    """Write a small GeoTIFF (band, y, x) with a real CRS and transform."""
    count, h, w = data.shape
    profile = {
        "driver": "GTiff",
        "height": h,
        "width": w,
        "count": count,
        "dtype": data.dtype.name,
        "transform": from_origin(*origin, res, res),
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if descriptions:
            for i, d in enumerate(descriptions, start=1):
                dst.set_band_description(i, d)
    return path


@pytest.fixture
def make_raster(tmp_path: Path):
    """Factory writing tiny rasters into the test's temporary folder."""

    def _make(name: str = "r.tif", **kw) -> Path:
        data = kw.pop("data", None)
        if data is None:
            data = np.random.default_rng(0).integers(0, 10000, (4, 8, 8)).astype("uint16")
        return write_raster(tmp_path / name, data, **kw)

    return _make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the notebooks together, in order, when tests run in parallel (``pytest -n``).

    Each notebook reads what the previous one wrote to the smoke folder, so with
    pytest-xdist's ``--dist loadgroup`` they all go to one worker, in collection order, while
    the unit tests share the other workers.
    """
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.xdist_group("notebooks"))
