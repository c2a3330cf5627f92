"""Tests for the experiment runner of notebook 04 (augmentation summary, folds, maps)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lulcbook.experiments import diffusion as E

torch.set_num_threads(1)


def predictions(variants: dict[str, float], n: int = 30, seeds: int = 3) -> pd.DataFrame:
    """Predictions where each variant is right on the given share of patches (per seed)."""
    rng = np.random.default_rng(0)
    y = np.tile([0, 1, 2], n // 3)
    regions = np.repeat(["a", "b"], n // 2)
    rows = []
    for v, acc in variants.items():
        for s in range(seeds):
            right = rng.random(n) < acc
            pred = np.where(right, y, (y + 1) % 3)
            rows.append(
                pd.DataFrame(
                    {"variant": v, "seed": s, "region": regions, "sample": np.arange(n),
                     "y_true": y, "y_pred": pred}
                )
            )  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def test_summary_pairs_changes_and_reports_every_variant() -> None:
    pred = predictions({"real_only": 0.5, "better": 1.0, "same": 0.5}, n=60)
    res = E.augmentation_summary(pred, "real_only", n_boot=200)
    assert set(res) == {"real_only", "better", "same"}
    assert res["real_only"]["delta_macro_f1"] == 0.0
    assert res["real_only"]["delta_macro_f1_ci95"] == [0.0, 0.0]
    b = res["better"]
    assert b["macro_f1"] == 1.0 and b["oa"] == 1.0 and b["n_seeds"] == 3
    assert 0 < b["delta_macro_f1_ci95"][0] <= b["delta_macro_f1"] <= b["delta_macro_f1_ci95"][1]
    assert set(b["delta_by_region"]) == {"a", "b"}
    lo, hi = res["same"]["delta_macro_f1_ci95"]
    assert lo < 0.1 and hi > -0.1  # same accuracy: the paired interval stays near 0
    assert "improves" in E.verdict("better", b)
    assert "does not change detectably" in E.verdict(
        "same", {**res["same"], "delta_macro_f1_ci95": [-0.1, 0.1]}
    )
    assert "lowers" in E.verdict(
        "x", {**b, "delta_macro_f1": -0.2, "delta_macro_f1_ci95": [-0.3, -0.1]}
    )
    with pytest.raises(KeyError, match="nope"):
        E.augmentation_summary(pred, "nope")


def separable_patches(n: int = 24, size: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.tile([0, 2], n // 2)
    x = rng.uniform(0.02, 0.06, (n, 4, size, size)).astype("float32")
    x[y == 2, 3] += 0.4  # vegetation: bright near-infrared
    regions = np.repeat(["r1", "r2", "r3"], n // 3)
    return x, y, regions


def test_folds_hold_out_each_region_and_add_only_training_extras() -> None:
    x, y, regions = separable_patches()
    pts = np.full((len(x), 2), 8)
    gp = {"method": "slic", "segment_size": 32.0, "compactness": 0.05}
    real = E.patch_graphs(x, pts, y, gp)
    extra = E.patch_graphs(np.clip(x * 1.05, 0, 1), pts, y, gp)
    cfg = {
        "model": {"name": "GNN", "hidden": 8, "depth": 1, "dropout": 0.0, "norm": "batch", "conv": "sage"},
        "fit": {"epochs": 8, "lr": 0.03, "batch_size": 8},
    }  # fmt: skip
    pred, runs = E.augmentation_folds(real, {"real_only": None, "jit": extra}, regions, y, cfg, [0])
    assert len(pred) == 2 * len(x)  # variants x seeds x (every patch held out once)
    for _, sub in pred.groupby(["variant", "seed"]):
        assert sorted(sub["sample"]) == list(range(len(x)))
    n_real = runs.loc[runs["variant"] == "real_only", "n_train"].to_numpy()
    n_jit = runs.loc[runs["variant"] == "jit", "n_train"].to_numpy()
    assert np.all(n_jit == 2 * n_real) and np.all(n_real == 16)
    res = E.augmentation_summary(pred, "real_only", n_boot=50)
    assert res["real_only"]["oa"] > 0.8, "the GNN must learn the bright-NIR rule"


class FakeClassifier:
    """Stands in for the superpixel classifier: class 1 where NIR > 0.2, else 0."""

    n_classes = 3

    def predict_proba(self, patch: np.ndarray) -> np.ndarray:
        veg = (patch[3] > 0.2).astype("float32")
        return np.stack([1 - veg, veg, np.zeros_like(veg)])


def test_land_cover_maps_and_labels() -> None:
    x = np.full((2, 4, 8, 8), 0.05, dtype="float32")
    x[0, 3, :, :4] = 0.5  # left half vegetated in patch 0
    maps = E.land_cover_maps(FakeClassifier(), x, 4)  # type: ignore[arg-type]
    assert maps.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(maps.sum(1), 1.0)
    assert maps[0, 1, :, :2].min() == 1.0 and maps[0, 1, :, 2:].max() == 0.0
    labels = E.land_cover_labels(
        FakeClassifier(),
        E.diffusion.downsample(x, 4),
        np.array([[2, 1], [2, 6]]),
        8,  # type: ignore[arg-type]
    )
    assert labels.tolist() == [1, 0]
