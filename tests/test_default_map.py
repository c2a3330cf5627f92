"""The README's map command on a real scene, with the model that ships by default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from lulcbook import zoo


@pytest.mark.slow
def test_predict_without_model_maps_the_brandenburg_scene(tmp_path: Path, sample_dir: Path) -> None:
    scene = sample_dir / "s2-l1c-brandenburg" / "IMG_DATA"
    out = tmp_path / "map.tif"
    run = subprocess.run(
        [sys.executable, "-m", "lulcbook.cli", "predict", str(scene), "--out", str(out)]
        + ["--workers", "1", "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    info = zoo.get(zoo.DEFAULT_LULC)
    with rasterio.open(out) as src:
        classes = src.read(1)
        assert src.crs.to_epsg() == 32633
    valid = classes[classes != 255]
    assert valid.size > 0.5 * classes.size
    present = np.unique(valid)
    assert len(present) >= 3, f"a real scene has several classes; got {present}"
    assert present.max() < len(info.metadata["classes"])
    item = json.loads(out.with_suffix(".json").read_text())
    assert info.name in json.dumps(item["properties"]) or str(info.weights) in json.dumps(item)
