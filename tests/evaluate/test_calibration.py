"""Tests for lulcbook.evaluate.calibration (hand-computed cases)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lulcbook import evaluate as ev

# four samples, each alone in one of the 15 confidence bins
PROBS = np.array([[0.9, 0.1], [0.62, 0.38], [0.29, 0.71], [0.83, 0.17]])
Y = np.array([0, 1, 1, 0])  # correct, wrong, correct, correct


def test_ece_one_sample_per_bin() -> None:
    expected = (abs(1 - 0.9) + abs(0 - 0.62) + abs(1 - 0.71) + abs(1 - 0.83)) / 4
    assert ev.expected_calibration_error(PROBS, Y) == pytest.approx(expected)


def test_ece_shared_bin_and_perfect() -> None:
    # 0.91 and 0.92 share bin (0.867, 0.933]: accuracy 1/2, confidence 0.915
    probs = np.array([[0.91, 0.09], [0.92, 0.08], [0.3, 0.7]])
    y = np.array([0, 1, 0])
    expected = 2 / 3 * abs(0.5 - 0.915) + 1 / 3 * abs(0 - 0.7)
    assert ev.expected_calibration_error(probs, y) == pytest.approx(expected)
    # one-hot correct predictions are perfectly calibrated
    assert ev.expected_calibration_error(np.eye(3), np.arange(3)) == pytest.approx(0.0)


def test_reliability_diagram_bins() -> None:
    rd = ev.reliability_diagram(PROBS, Y, n_bins=15)
    assert rd["count"].sum() == 4 and len(rd["count"]) == 15
    assert rd["bin_lower"][0] == 0.0 and rd["bin_upper"][-1] == pytest.approx(1.0)
    b = int(np.flatnonzero(rd["count"])[rd["confidence"][rd["count"] > 0] == 0.62][0])
    assert rd["bin_lower"][b] < 0.62 <= rd["bin_upper"][b]
    assert rd["accuracy"][b] == 0.0
    assert np.isnan(rd["accuracy"][0])  # empty bin


def test_nll_and_brier_by_hand() -> None:
    nll = -(math.log(0.9) + math.log(0.38) + math.log(0.71) + math.log(0.83)) / 4
    assert ev.negative_log_likelihood(PROBS, Y) == pytest.approx(nll)
    # (p - onehot)^2 summed over the two classes
    brier = (
        (0.1**2 + 0.1**2) + (0.62**2 + 0.62**2) + (0.29**2 + 0.29**2) + (0.17**2 + 0.17**2)
    ) / 4
    assert ev.brier_score(PROBS, Y) == pytest.approx(brier)
    assert ev.brier_score(np.eye(3), np.arange(3)) == 0.0
    assert ev.brier_score(np.eye(3), [1, 2, 0]) == pytest.approx(2.0)


def test_misclassification_auroc() -> None:
    # wrong samples (1, 3) are the most uncertain: perfect separation
    assert ev.misclassification_auroc([0.1, 0.5, 0.3, 0.9], [0, 1, 1, 0], [0, 0, 1, 1]) == 1.0
    # reversed: 0
    assert ev.misclassification_auroc([0.9, 0.1, 0.8, 0.2], [0, 1, 1, 0], [0, 0, 1, 1]) == 0.0
    # one wrong at 0.5 vs correct at 0.5 (tie: 1/2) and 0.2 (win: 1) -> 0.75
    assert ev.misclassification_auroc([0.5, 0.5, 0.2], [1, 0, 0], [0, 0, 0]) == 0.75
    assert math.isnan(ev.misclassification_auroc([0.1, 0.2], [0, 1], [0, 1]))
