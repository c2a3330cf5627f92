"""Fixtures of the prediction tests: a fitted pixel-wise model and a simulated scene file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from predict_helpers import SpectralCentroid, fitted_centroid, scene_dn, write_scene


@pytest.fixture(scope="module")
def model() -> SpectralCentroid:
    """The nearest-centroid classifier fitted on simulated spectra."""
    return fitted_centroid()


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A simulated 200×260 scene GeoTIFF (digital numbers) and its true class per pixel."""
    truth, dn = scene_dn()
    path = tmp_path_factory.mktemp("scene") / "scene.tif"
    write_scene(path, dn, tags={"datetime": "2017-02-16T10:21:01Z"})
    return path, truth
