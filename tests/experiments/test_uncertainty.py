"""Tests for lulcbook.experiments.uncertainty (the calibration study of 06-uncertainty)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lulcbook import uncertainty as U
from lulcbook.experiments import uncertainty as X


def _overconfident_fold(rng: np.random.Generator, n: int, region: str) -> dict:
    z = rng.normal(0, 1.5, size=(n, 3))
    y = np.array([rng.choice(3, p=p) for p in F.softmax(torch.tensor(z), 1).numpy()])
    zz = torch.tensor(z * 3.0)  # logits three times too sharp
    members = torch.stack([zz, zz + torch.tensor(rng.normal(0, 0.5, size=(n, 3)))])
    half = n // 2
    return {
        "region": region,
        "val_y": y[:half],
        "test_y": y[half:],
        "logits": {
            "single": {"val": zz[None, :half], "test": zz[None, half:]},
            "ensemble": {"val": members[:, :half], "test": members[:, half:]},
        },
    }


def test_calibration_study_fixes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    folds = [_overconfident_fold(rng, 800, "a"), _overconfident_fold(rng, 600, "b")]
    res = X.calibration_study(folds, level=0.9, conformal_method="lac", n_bins=15, n_boot=100)
    single = res["metrics"]["single"]
    assert single["temperature"]["a"] == pytest.approx(3.0, rel=0.2)
    assert single["after_calibration"]["nll"] < single["before_calibration"]["nll"]
    assert single["after_calibration"]["ece"] < single["before_calibration"]["ece"]
    # one temperature does not change the predicted class
    assert single["after_calibration"]["accuracy"] == single["before_calibration"]["accuracy"]
    assert 0.85 <= single["conformal_coverage"] <= 0.95 and single["conformal_level"] == 0.9
    assert res["y"].shape == (700,) and res["probs"]["ensemble"]["after"].shape == (700, 3)
    assert list(res["region"][:2]) == ["a", "a"] and res["region"][-1] == "b"
    lo, hi = single["ece_change_ci95"]
    assert lo <= hi < 0  # the ECE drop exceeds its bootstrap noise
    ens = res["metrics"]["ensemble"]
    assert "auroc_misclassification_mutual_information" in ens
    assert np.all(res["mutual_information"]["ensemble"] >= 0)


def test_paired_change() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    good = np.where(y[:, None] == np.arange(2), 0.8, 0.2)
    bad = np.full((300, 2), 0.5)
    lo, hi = X.paired_change(
        lambda p, t: float(np.mean(p[np.arange(len(t)), t])), bad, good, y, n_boot=200
    ).ci95
    assert lo == pytest.approx(0.3) and hi == pytest.approx(0.3)  # a constant change of +0.3
    noisy = rng.dirichlet([1, 1], size=300)
    lo, hi = X.paired_change(
        lambda p, t: float(np.mean(p.argmax(1) == t)), noisy, good, y, n_boot=200
    ).ci95
    assert 0.3 < lo < hi < 0.7  # accuracy 0.5 -> 1.0, with sampling noise
    same = X.paired_change(lambda p, t: float(U.entropy(p).mean()), noisy, noisy, y, n_boot=50)
    assert same.ci95 == (0.0, 0.0) and same.estimate == 0.0
