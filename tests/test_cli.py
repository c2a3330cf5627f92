"""Tests for the ``lulcbook`` command line (``lulcbook predict``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from predict_helpers import fitted_centroid, scene_dn, write_scene

from lulcbook import legend
from lulcbook.cli import main

MODEL_CLASS = "predict_helpers:SpectralCentroid"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A simulated scene (uint16 DN, lower-case band descriptions) and a fitted model file."""
    folder = tmp_path_factory.mktemp("cli")
    _, dn = scene_dn(150, 170)
    return {
        "scene": write_scene(folder / "scene.tif", dn),
        "nodesc": write_scene(folder / "nodesc.tif", dn, descriptions=None),
        "three": write_scene(folder / "three.tif", dn[:3], descriptions=["B02", "B03", "B04"]),
        "model": fitted_centroid().save(folder / "centroid.json"),
    }


def _args(src: Path, model: Path, out: Path, *extra: str) -> list[str]:
    return [
        "predict", str(src), "--model", str(model), "--out", str(out),
        "--model-class", MODEL_CLASS, "--tile-size", "64", "--blocksize", "128", "--no-progress",
        "--workers", "1",
        *extra,
    ]  # fmt: skip


def test_predict_command_writes_the_map(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "map.tif"
    assert main(_args(inputs["scene"], inputs["model"], out, "--datetime", "2017-02-16")) == 0
    assert "wrote" in capsys.readouterr().out
    with rasterio.open(out) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and ds.overviews(1)
        assert ds.colormap(1)[6][:3] == (0x2B, 0x83, 0xBA)
        assert (ds.read(1)[:20, :30] == legend.NODATA).all()
    item = json.loads((tmp_path / "map.json").read_text())
    assert item["properties"]["datetime"].startswith("2017-02-16")
    assert item["properties"]["lulcbook:model"] == str(inputs["model"])


def test_band_names_option_for_files_without_descriptions(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.tif"
    assert main(_args(inputs["nodesc"], inputs["model"], out)) == 1
    assert "--band-names" in capsys.readouterr().err and not out.exists()
    args = _args(inputs["nodesc"], inputs["model"], out, "--band-names", "b02,b03,b04,b08")
    assert main([*args, "--stac-out", str(tmp_path / "item.json")]) == 0
    assert out.exists() and (tmp_path / "item.json").exists()
    with rasterio.open(out) as ds:
        assert (ds.read(1)[30:, 40:] != legend.NODATA).all()


@pytest.mark.parametrize(
    ("key", "out_name", "message"),
    [
        ("three", "m.tif", "['B08'] missing in"),
        ("scene", "nowhere/m.tif", "Output folder"),
    ],
)
def test_errors_exit_1_and_leave_no_file(
    inputs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    out_name: str,
    message: str,
) -> None:
    out = tmp_path / out_name
    assert main(_args(inputs[key], inputs["model"], out)) == 1
    err = capsys.readouterr().err
    assert err.startswith("lulcbook: error:") and message in err
    assert list(tmp_path.iterdir()) == []


def test_unknown_preset_is_a_usage_error(inputs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(_args(inputs["scene"], inputs["model"], tmp_path / "m.tif", "--preset", "nope"))
    assert info.value.code == 2


def test_console_script(inputs: dict[str, Path], tmp_path: Path) -> None:
    """The installed ``lulcbook`` script, as a user would run it."""
    script = Path(sys.executable).parent / "lulcbook"
    if not script.exists():
        pytest.fail(f"console script {script} missing: pip install -e . again")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    out = tmp_path / "map.tif"
    args = [
        *_args(inputs["scene"], inputs["model"], out, "--preset", "s2-l1c"),
        "--workers",
        "2",
        "--threads",
    ]
    done = subprocess.run([str(script), *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    with rasterio.open(out) as ds:
        cls = ds.read(1)
    assert set(np.unique(cls)) <= {0, 1, 2, 6, legend.NODATA}
    assert (cls != legend.NODATA).sum() == 150 * 170 - 20 * 30
    assert "wrote" in done.stdout and (tmp_path / "map.json").exists()
