"""Tests for lulcbook.evaluate.probabilities: validation of probability arrays."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook import evaluate as ev
from lulcbook.evaluate.probabilities import check_probs


def test_probability_validation() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        ev.brier_score([[0.5, 0.6]], [0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ev.negative_log_likelihood([[0.5, 0.5]], [2])


def test_check_probs_returns_float_and_int_arrays() -> None:
    p, y = check_probs([[0.25, 0.75]], [1])
    assert p.dtype == np.float64 and y.dtype == np.int64
    assert check_probs([[1.0, 0.0]])[1] is None
    with pytest.raises(ValueError, match="2-D"):
        check_probs([0.5, 0.5])
    with pytest.raises(ValueError, match="NaN"):
        check_probs([[np.nan, 1.0]])
    with pytest.raises(ValueError, match="to match probs"):
        check_probs([[0.5, 0.5]], [0, 1])
