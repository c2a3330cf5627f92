"""Tests for lulcbook.experiments.multitask (the LAI and multi-task study of 09-multitask)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lulcbook.bands import S2_BANDS
from lulcbook.experiments import multitask as M


def test_input_bands_are_the_ten_land_bands_in_product_order() -> None:
    assert M.INPUT_BANDS == ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
    assert list(M.INPUT_BANDS) == [b for b in S2_BANDS if b in M.INPUT_BANDS]


def test_lai_check_reproduces_the_published_cases() -> None:
    check, text = M.lai_check()
    assert check["n_cases"] == 30 and check["max_abs_error"] < 1e-3
    assert check["mean_abs_error"] <= check["max_abs_error"]
    assert text.startswith(f"On {check['n_cases']} published test cases (LAI ")
    assert f"{check['max_abs_error']:.1e} LAI units" in text


def _patch(make_raster, root: Path, name: str, labels: list[str], values: np.ndarray) -> Path:
    folder = root / "patches" / name
    folder.mkdir(parents=True)
    (folder / f"{name}_labels_metadata.json").write_text(json.dumps({"labels": labels}))
    make_raster(f"lai/{name}.tif", data=values[None].astype("float32"))
    return folder


def test_lai_per_label_counts_pixels_under_every_label(make_raster, tmp_path: Path) -> None:
    (tmp_path / "lai").mkdir()
    a = _patch(make_raster, tmp_path, "a", ["Pastures", "Coniferous forest"], np.full((4, 4), 2.0))
    b = _patch(
        make_raster,
        tmp_path,
        "b",
        ["Coniferous forest"],
        np.r_[np.full(8, 6.0), [np.nan] * 8].reshape(4, 4),
    )
    dist = M.lai_per_label([a, b], tmp_path / "lai")
    assert list(dist["label"]) == ["Pastures", "Coniferous forest"]  # sorted by median
    forest = dist.set_index("label").loc["Coniferous forest"]
    assert forest["n_patches"] == 2 and forest["median"] == 2.0  # 16 px of 2, 8 of 6 (NaN left out)
    assert forest["hi"] == pytest.approx(6.0)


def test_lai_distribution_text_counts_against_the_published_values() -> None:
    dist = pd.DataFrame({"label": ["x", "y", "z"], "n_patches": [1, 2, 3],
                         "median": [0.5, 1.5, 9.0]})  # fmt: skip
    text = M.lai_distribution_text(dist)
    assert "ranges from 0.50 (x, 1 patches) to 9.00 (z, 3 patches)" in text
    assert "1 of 3 label medians lie within the span of published biome means (1.3–8.7)" in text
    assert "2 of 3 lie more than one standard deviation below" in text
    assert "(4.5 ± 2.5)" in text


def test_multitask_metrics_design() -> None:
    data = {"names": ["a", "b", "c"], "country": np.array(["Serbia", "Austria", "Serbia"]),
            "classes": ["woodland", "cropland"]}  # fmt: skip
    params = {"seeds": (0, 1), "train": {}, "n_boot": 10}
    m = M.multitask_metrics(data, {"lc": 1}, {"lai": "text"}, params)
    assert list(m) == ["multitask", "verdicts", "design"]
    assert m["design"]["countries"] == ["Austria", "Serbia"] and m["design"]["patches"] == 3
    assert m["design"]["seeds"] == [0, 1] and m["design"]["train"] == M.config_dict({})
