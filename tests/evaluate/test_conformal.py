"""Tests for lulcbook.evaluate.conformal: split-conformal sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lulcbook import evaluate as ev


def test_conformal_lac_quantile_and_sets() -> None:
    cal = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.4, 0.4, 0.2], [0.1, 0.3, 0.6]])
    cal_y = np.array([0, 1, 0, 1])  # LAC scores 1 - p_y: 0.1, 0.3, 0.6, 0.7
    # n = 4, level 0.6: ceil(5 * 0.6) = 3rd smallest score
    assert ev.conformal_quantile(cal, cal_y, 0.6, "lac") == pytest.approx(0.6)
    # level 0.9: ceil(4.5) = 5 > n -> infinite threshold, every class kept
    assert ev.conformal_quantile(cal, cal_y, 0.9, "lac") == math.inf
    test = np.array([[0.5, 0.35, 0.15], [0.2, 0.2, 0.6]])
    sets = ev.conformal_sets(test, 0.6, "lac")  # keep classes with p >= 0.4
    np.testing.assert_array_equal(sets, [[True, False, False], [False, False, True]])
    res = ev.split_conformal(cal, cal_y, test, np.array([1, 2]), level=0.6, method="lac")
    assert res["coverage"] == 0.5 and res["set_size"] == 1.0 and res["qhat"] == pytest.approx(0.6)


def test_conformal_aps_scores() -> None:
    probs = np.array([[0.5, 0.3, 0.2]])
    # APS score = mass of the classes ranked at or above k
    cal_y_scores = [ev.conformal_quantile(probs, [k], 0.5, "aps") for k in range(3)]
    assert cal_y_scores == pytest.approx([0.5, 0.8, 1.0])
    sets = ev.conformal_sets(np.array([[0.1, 0.6, 0.3]]), 0.9, "aps")
    np.testing.assert_array_equal(sets, [[False, True, True]])
    with pytest.raises(ValueError, match="Unknown conformal method"):
        ev.conformal_sets(probs, 0.5, "raps")


@pytest.mark.parametrize("method", ["lac", "aps"])
def test_conformal_coverage_on_exchangeable_data(method: str) -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5) * 0.7, size=4000)
    y = np.array([rng.choice(5, p=p) for p in probs])  # labels drawn from the probabilities
    res = ev.split_conformal(probs[:2000], y[:2000], probs[2000:], y[2000:], 0.9, method)
    assert 0.88 <= res["coverage"] <= 0.93
    assert 1.0 <= res["set_size"] < 5.0
