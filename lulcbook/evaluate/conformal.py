"""Split-conformal prediction sets (Angelopoulos & Bates 2023, LAC and APS scores).

Angelopoulos & Bates (2023) "Conformal prediction: a gentle introduction": sets built from a
calibration set contain the true class with at least the target probability for exchangeable
data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lulcbook.evaluate.probabilities import check_probs

CONFORMAL_METHODS: tuple[str, ...] = ("lac", "aps")
"""Split-conformal non-conformity scores: least ambiguous set-valued classifier
(LAC, ``1 - p_y``) and adaptive prediction sets (APS, cumulative sorted mass)."""


def _conformal_scores_all(probs: np.ndarray, method: str) -> np.ndarray:
    """Non-conformity score of every (sample, class) pair: (n, C)."""
    if method == "lac":
        return 1.0 - probs
    if method == "aps":
        # cumulative mass of the classes ranked at or above class k (non-randomised APS;
        # ties are broken by class order, the same way for calibration and test)
        order = np.argsort(-probs, axis=1, kind="stable")
        cum = np.cumsum(np.take_along_axis(probs, order, axis=1), axis=1)
        scores = np.empty_like(probs)
        np.put_along_axis(scores, order, cum, axis=1)
        return scores
    raise ValueError(f"Unknown conformal method {method!r}; expected one of {CONFORMAL_METHODS}")


def conformal_quantile(
    cal_probs: ArrayLike, cal_y: ArrayLike, level: float = 0.9, method: str = "lac"
) -> float:
    """Split-conformal threshold from a calibration set.

    The threshold is the ``ceil((n + 1) * level)``-th smallest calibration score
    (the finite-sample corrected quantile), so that sets built with it contain the
    true class with probability at least ``level`` for exchangeable data. When
    ``ceil((n + 1) * level) > n`` the threshold is infinite (every class is kept).

    Args:
        cal_probs: (n, C) calibration probabilities.
        cal_y: (n,) calibration labels.
        level: target coverage ``1 - alpha`` in (0, 1).
        method: ``"lac"`` or ``"aps"``.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    p, y = check_probs(cal_probs, cal_y)
    scores = np.sort(_conformal_scores_all(p, method)[np.arange(len(y)), y])
    n = len(scores)
    k = int(np.ceil((n + 1) * level - 1e-9))
    if n == 0 or k > n:
        return float("inf")
    return float(scores[k - 1])


def conformal_sets(probs: ArrayLike, qhat: float, method: str = "lac") -> np.ndarray:
    """Boolean (n, C) prediction sets: class k is in the set if its score is <= ``qhat``."""
    p, _ = check_probs(probs)
    return _conformal_scores_all(p, method) <= qhat + 1e-12


def split_conformal(
    cal_probs: ArrayLike,
    cal_y: ArrayLike,
    test_probs: ArrayLike,
    test_y: ArrayLike,
    level: float = 0.9,
    method: str = "lac",
) -> dict[str, Any]:
    """Calibrate split-conformal sets and evaluate them on a test set.

    Returns:
        ``level``, ``method``, ``qhat``, ``coverage`` (fraction of test samples
        whose true class is in the set), ``set_size`` (mean set size),
        ``empty_fraction`` and the boolean ``sets`` (n_test, C).
    """
    qhat = conformal_quantile(cal_probs, cal_y, level, method)
    _, y = check_probs(test_probs, test_y)
    sets = conformal_sets(test_probs, qhat, method)
    covered = sets[np.arange(len(y)), y] if len(y) else np.zeros(0, bool)
    size = sets.sum(axis=1)
    return {
        "level": level,
        "method": method,
        "qhat": qhat,
        "coverage": float(covered.mean()) if len(y) else float("nan"),
        "set_size": float(size.mean()) if len(y) else float("nan"),
        "empty_fraction": float((size == 0).mean()) if len(y) else float("nan"),
        "sets": sets,
    }
