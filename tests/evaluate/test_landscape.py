"""Tests for lulcbook.evaluate.landscape: edge and patch density."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook import evaluate


def test_fragmentation_of_simple_maps() -> None:
    half = np.zeros((10, 10), np.uint8)
    half[:, 5:] = 1  # 1 ha at 10 m; one 100 m boundary; two patches
    f = evaluate.fragmentation(half)
    assert f == {"edge_density": pytest.approx(100.0), "patch_density": pytest.approx(200.0)}
    checker = (np.indices((10, 10)).sum(0) % 2).astype(np.uint8)
    g = evaluate.fragmentation(checker)
    assert g["edge_density"] > f["edge_density"]
    # diagonal neighbours join (8-connectivity): a checkerboard has one patch per class
    assert g["patch_density"] == pytest.approx(200.0)
    uniform = np.full((2, 10, 10), 3, np.uint8)
    assert evaluate.fragmentation(uniform) == {
        "edge_density": 0.0,
        "patch_density": pytest.approx(100.0),
    }  # 2 patches in 2 ha
    nod = half.copy()
    nod[:, 4:6] = 255  # nodata between the classes: no edge counted, area shrinks
    assert evaluate.fragmentation(nod)["edge_density"] == 0.0
    with pytest.raises(ValueError, match="label_map"):
        evaluate.fragmentation(np.zeros(5))
