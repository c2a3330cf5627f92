"""Tests for lulcbook.evaluate.classification: confusion and error matrices, OA, F1."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from lulcbook import evaluate
from lulcbook.bootstrap import macro_f1_present


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


def test_macro_f1_counts_predictions_outside_labels_as_misses() -> None:
    t, p = [0, 0, 1, 1], [0, 7, 1, 1]
    expected = f1_score(t, p, labels=[0, 1], average="macro")
    assert evaluate.macro_f1(t, p, labels=[0, 1]) == pytest.approx(expected)
    assert evaluate.classification_metrics(t, p, labels=[0, 1])["macro_f1"] == pytest.approx(
        expected
    )


def test_macro_f1_conventions_differ_only_for_absent_classes() -> None:
    t, p = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    labels = np.array([0, 1, 2])  # class 2: neither reference nor prediction
    assert evaluate.macro_f1(t, p, labels) == pytest.approx((2 / 3 + 0.8 + 0.0) / 3)
    assert macro_f1_present(t, p, labels) == pytest.approx((2 / 3 + 0.8) / 2)
    present = np.array([0, 1])
    assert evaluate.macro_f1(t, p, present) == pytest.approx(macro_f1_present(t, p, present))
    assert evaluate.macro_f1(t, p) == pytest.approx(macro_f1_present(t, p, present))


def test_error_matrix_orientation() -> None:
    m = evaluate.error_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3)
    np.testing.assert_array_equal(m, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])
    with pytest.raises(ValueError, match="reference labels must lie"):
        evaluate.error_matrix([0], [3], 3)
