"""The calibration study of notebook 06-uncertainty: temperature scaling and conformal sets.

For every leave-region-out fold, the logits of each uncertainty method
(:data:`lulcbook.uncertainty.METHODS`) on a calibration split fit the temperature and the
conformal threshold; the held-out region's test predictions of all folds are pooled and
scored before and after calibration (ECE, NLL, Brier, accuracy, misclassification AUROC),
with paired bootstrap intervals of the change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lulcbook import evaluate as ev
from lulcbook.bootstrap import Estimate, resample
from lulcbook.uncertainty import (
    calibrated_probs,
    entropy,
    fit_temperature,
    member_probs,
    mutual_information,
)


def probabilistic_metrics(
    probs: np.ndarray, y: np.ndarray, n_bins: int = 15, score: np.ndarray | None = None
) -> dict[str, float]:
    """ECE, NLL, Brier, accuracy and the misclassification AUROC of ``score``.

    ``score`` defaults to the predictive entropy of ``probs``.
    """
    pred = probs.argmax(axis=1)
    score = entropy(probs) if score is None else score
    return {
        "ece": ev.expected_calibration_error(probs, y, n_bins),
        "nll": ev.negative_log_likelihood(probs, y),
        "brier": ev.brier_score(probs, y),
        "auroc_misclassification": ev.misclassification_auroc(score, y, pred),
        "accuracy": float(np.mean(pred == y)) if len(y) else float("nan"),
    }


def paired_change(
    metric: Callable[[np.ndarray, np.ndarray], float],
    probs_before: np.ndarray,
    probs_after: np.ndarray,
    y: np.ndarray,
    strata: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> Estimate:
    """``metric(after) - metric(before)`` on the same points, with a paired bootstrap interval.

    The same resampled points enter both terms, so the interval shows whether a change (e.g.
    of ECE after temperature scaling) exceeds its sampling noise; ``strata`` (e.g. the held-out
    region of each test point) keeps each stratum's size in every resample.
    """
    y = np.asarray(y)

    def stat(idx: np.ndarray, _rng: np.random.Generator | None) -> float:
        return metric(probs_after[idx], y[idx]) - metric(probs_before[idx], y[idx])

    return resample(stat, len(y), strata=strata, n_boot=n_boot, seed=seed)


def calibration_study(
    folds: Sequence[dict[str, Any]],
    level: float = 0.9,
    conformal_method: str = "aps",
    n_bins: int = 15,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Temperature scaling and split-conformal sets per fold, evaluated on the pooled test folds.

    For each fold and method the temperature is fitted on the calibration logits (``val_y``:
    a validation half that early stopping never saw, see
    :func:`lulcbook.splits.selection_calibration`) and the conformal threshold on the
    calibrated probabilities of the same half; test predictions of all
    folds are then pooled (every sample is a test sample exactly once in leave-region-out).

    Args:
        folds: one dict per fold with ``logits`` (from :func:`fold_logits`), ``val_y`` and
            ``test_y`` (label arrays) and optionally ``region``.
        level: conformal coverage level ``1 - alpha``.
        conformal_method: ``"lac"`` or ``"aps"``.
        n_bins: ECE / reliability bins.
        n_boot: paired bootstrap resamples for the 95% intervals of the ECE and NLL change.

    Returns:
        ``metrics`` (JSON-ready, per method: ``before_calibration``/``after_calibration``
        metric dicts, ``temperature`` and ``val_accuracy`` per fold, ``ece_change_ci95`` and
        ``nll_change_ci95`` (after minus before; test points resampled within their held-out
        region), ``conformal_*``), ``probs`` (per method
        ``before``/``after`` pooled test probabilities), ``mutual_information`` (per method,
        pooled, of the raw passes/members), ``y`` (pooled test labels) and ``region`` (pooled).
    """
    if not folds:
        raise ValueError("calibration_study needs at least one fold")
    methods = list(folds[0]["logits"])
    pooled: dict[str, dict[str, list[np.ndarray]]] = {
        m: {"before": [], "after": [], "mi": [], "covered": [], "size": []} for m in methods
    }
    temps: dict[str, dict[str, float]] = {m: {} for m in methods}
    val_acc: dict[str, dict[str, float]] = {m: {} for m in methods}
    ys: list[np.ndarray] = []
    regions: list[np.ndarray] = []
    for k, fold in enumerate(folds):
        val_y, test_y = np.asarray(fold["val_y"]), np.asarray(fold["test_y"])
        name = str(fold.get("region", k))
        ys.append(test_y)
        regions.append(np.full(len(test_y), name, dtype=object))
        for m in methods:
            zv, zt = fold["logits"][m]["val"], fold["logits"][m]["test"]
            t = fit_temperature(zv, val_y)
            temps[m][name] = t
            val_acc[m][name] = float(np.mean(calibrated_probs(zv).argmax(axis=1) == val_y))
            pooled[m]["before"].append(calibrated_probs(zt, 1.0))
            pooled[m]["after"].append(calibrated_probs(zt, t))
            pooled[m]["mi"].append(mutual_information(member_probs(zt)))
            conf = ev.split_conformal(
                calibrated_probs(zv, t),
                val_y,
                calibrated_probs(zt, t),
                test_y,
                level,
                conformal_method,
            )
            pooled[m]["covered"].append(conf["sets"][np.arange(len(test_y)), test_y])
            pooled[m]["size"].append(conf["sets"].sum(axis=1))
    y = np.concatenate(ys)
    region = np.concatenate(regions).astype(str)
    metrics: dict[str, Any] = {}
    probs: dict[str, dict[str, np.ndarray]] = {}
    mi: dict[str, np.ndarray] = {}
    for m in methods:
        before = np.concatenate(pooled[m]["before"])
        after = np.concatenate(pooled[m]["after"])
        mi[m] = np.concatenate(pooled[m]["mi"])
        probs[m] = {"before": before, "after": after}
        entry = {
            "before_calibration": probabilistic_metrics(before, y, n_bins),
            "after_calibration": probabilistic_metrics(after, y, n_bins),
            "temperature": temps[m],
            "val_accuracy": val_acc[m],
            "ece_change_ci95": list(
                paired_change(
                    lambda p, t: ev.expected_calibration_error(p, t, n_bins),
                    before,
                    after,
                    y,
                    region,
                    n_boot,
                ).ci95
            ),
            "nll_change_ci95": list(
                paired_change(ev.negative_log_likelihood, before, after, y, region, n_boot).ci95
            ),
            "conformal_method": conformal_method,
            "conformal_level": level,
            "conformal_coverage": float(np.concatenate(pooled[m]["covered"]).mean()),
            "conformal_set_size": float(np.concatenate(pooled[m]["size"]).mean()),
        }
        if m != "single":
            entry["auroc_misclassification_mutual_information"] = ev.misclassification_auroc(
                mi[m], y, after.argmax(axis=1)
            )
        metrics[m] = entry
    return {
        "metrics": metrics,
        "probs": probs,
        "mutual_information": mi,
        "y": y,
        "region": region,
    }
