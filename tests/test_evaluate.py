"""Tests for the classification and fragmentation metrics of lulcbook.evaluate."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from lulcbook import evaluate


def test_classification_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    t = rng.choice([0, 1, 2, 4, 6], 200)
    p = np.where(rng.random(200) < 0.7, t, rng.choice([0, 1, 2, 4, 6], 200))
    m = evaluate.classification_metrics(t, p, labels=[0, 1, 2, 4, 6])
    assert m["oa"] == pytest.approx((t == p).mean())
    assert m["macro_f1"] == pytest.approx(f1_score(t, p, labels=[0, 1, 2, 4, 6], average="macro"))
    assert list(m["per_class_f1"]) == ["artificial", "cropland", "woodland", "grassland", "water"]
    cm = np.array(m["confusion"])
    assert cm.sum() == 200 and np.trace(cm) == (t == p).sum()
    assert cm[1].sum() == (t == 1).sum()  # rows are the reference


def test_never_predicted_class_counts_as_zero() -> None:
    m = evaluate.classification_metrics([0, 0, 1, 1], [0, 0, 0, 0], labels=[0, 1], names=["a", "b"])
    assert m["per_class_f1"] == {"a": pytest.approx(2 / 3), "b": 0.0}
    assert m["macro_f1"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="differ in shape"):
        evaluate.classification_metrics([0, 1], [0])


def test_bootstrap_ci_brackets_the_estimate_and_is_seeded() -> None:
    rng = np.random.default_rng(1)
    t = rng.integers(0, 3, 100)
    p = np.where(rng.random(100) < 0.8, t, (t + 1) % 3)
    lo, hi = evaluate.bootstrap_ci(t, p, "macro_f1", n_boot=300, seed=0)
    est = evaluate.macro_f1(t, p)
    assert lo < est < hi and hi - lo < 0.3
    assert (lo, hi) == evaluate.bootstrap_ci(t, p, "macro_f1", n_boot=300, seed=0)
    lo2, hi2 = evaluate.bootstrap_ci(t, p, "oa", n_boot=300, seed=0)
    assert lo2 < (t == p).mean() < hi2
    assert evaluate.bootstrap_ci(t, t, lambda a, b: float((a == b).mean()), n_boot=50) == (1.0, 1.0)
    with pytest.raises(ValueError, match="Unknown metric 'kappa'"):
        evaluate.bootstrap_ci(t, p, "kappa")


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


def test_paired_bootstrap_diff_detects_a_better_model() -> None:
    rng = np.random.default_rng(2)
    t = rng.integers(0, 3, 150)
    good = np.where(rng.random(150) < 0.9, t, (t + 1) % 3)
    bad = np.where(rng.random(150) < 0.5, t, (t + 1) % 3)
    d = evaluate.paired_bootstrap_diff(t, good, bad, "oa", n_boot=300)
    assert d["diff"] == pytest.approx((good == t).mean() - (bad == t).mean())
    assert 0 < d["ci95_lo"] < d["diff"] < d["ci95_hi"] and d["p_better"] > 0.99
    same = evaluate.paired_bootstrap_diff(t, good, good, "macro_f1", n_boot=50)
    assert same == {"diff": 0.0, "ci95_lo": 0.0, "ci95_hi": 0.0, "p_better": 0.0}
    with pytest.raises(ValueError, match="differ in shape"):
        evaluate.paired_bootstrap_diff(t, good[:-1], bad)


def test_macro_f1_counts_predictions_outside_labels_as_misses() -> None:
    t, p = [0, 0, 1, 1], [0, 7, 1, 1]
    expected = f1_score(t, p, labels=[0, 1], average="macro")
    assert evaluate.macro_f1(t, p, labels=[0, 1]) == pytest.approx(expected)
    assert evaluate.classification_metrics(t, p, labels=[0, 1])["macro_f1"] == pytest.approx(
        expected
    )
