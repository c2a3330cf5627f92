"""Tests for lulcbook.predict.outputs: outputs are never an input, nor each other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from predict_helpers import BANDS, SpectralCentroid, scene_dn, write_scene

from lulcbook import predict


def test_missing_output_folder(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError, match="Output folder .*nowhere does not exist"):
        predict.predict_scene(scene[0], model, tmp_path / "nowhere" / "m.tif", progress=False)
    assert not (tmp_path / "nowhere").exists()


def test_outputs_that_are_inputs_or_each_other_are_refused(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    src = tmp_path / "scene.tif"
    src.write_bytes(scene[0].read_bytes())
    before = src.read_bytes()
    with pytest.raises(ValueError, match=r"--out .*scene\.tif is an input"):
        predict.predict_scene(src, model, src, progress=False)
    with pytest.raises(ValueError, match=r"--stac-out .*scene\.tif is an input"):
        predict.predict_scene(src, model, tmp_path / "m.tif", stac_path=src, progress=False)
    with pytest.raises(ValueError, match=r"--stac-out .* same file as uncertainty output"):
        predict.predict_scene(
            src, model, tmp_path / "m.tif", stac_path=tmp_path / "m_uncertainty.tif"
        )
    with pytest.raises(ValueError, match=r"--out .*m\.json must end with \.tif"):
        predict.predict_scene(src, model, tmp_path / "m.json", progress=False)
    (tmp_path / "folder.tif").mkdir()
    with pytest.raises(IsADirectoryError, match=r"folder\.tif is a folder"):
        predict.predict_scene(src, model, tmp_path / "folder.tif", progress=False)
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.tif", "scene.tif"]
    assert list((tmp_path / "folder.tif").iterdir()) == []


def test_outputs_may_not_replace_an_input_by_any_name(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    """Band files of a folder, the uncertainty companion, symbolic and hard links."""
    import os

    _, dn = scene_dn(64, 64)
    folder = tmp_path / "IMG_DATA"
    folder.mkdir()
    for i, b in enumerate(BANDS):
        write_scene(folder / f"T33UUU_20170216T102101_{b}.tif", dn[i : i + 1], None)
    band = folder / "T33UUU_20170216T102101_B04.tif"
    with pytest.raises(ValueError, match=r"--out .*_B04\.tif is an input"):
        predict.predict_scene(folder, model, band, progress=False)
    src = write_scene(tmp_path / "x_uncertainty.tif", dn)
    with pytest.raises(ValueError, match=r"uncertainty output .*x_uncertainty\.tif is an input"):
        predict.predict_scene(src, model, tmp_path / "x.tif", progress=False)
    (tmp_path / "link.tif").symlink_to(src)
    os.link(src, tmp_path / "hard.tif")
    for name in ("link.tif", "hard.tif"):
        with pytest.raises(ValueError, match=rf"--out .*{name} is an input"):
            predict.predict_scene(src, model, tmp_path / name, progress=False)
    assert src.read_bytes() == (tmp_path / "hard.tif").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "IMG_DATA", "hard.tif", "link.tif", "x_uncertainty.tif",
    ]  # fmt: skip
