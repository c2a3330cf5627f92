"""The leave-region-out comparison of notebook 02-gnn, over several training seeds.

Every model of the ``gnn`` parameters is trained on every leave-region-out fold once per
seed (:func:`run_seeds`). Each labelled point of the held-out regions is then predicted once
per seed, so a model's predictions form a ``(n_seeds, n_points)`` matrix
(:func:`seed_matrix`); accuracies are seed means and their 95 % intervals come from
:func:`lulcbook.bootstrap.seeded_bootstrap`, which resamples seeds and points (points within
their held-out region). No point is counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch_geometric.data import Data

from lulcbook import evaluate, train
from lulcbook.bootstrap import seeded_bootstrap

Fold = tuple[str, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class SeedMatrix:
    """One model's predictions at the held-out points, one row per seed.

    Attributes:
        y_true: ``(n,)`` reference classes.
        y_pred: ``(n_seeds, n)`` predicted classes.
        region: ``(n,)`` held-out region of each point.
        sample: ``(n,)`` patch index of each point.
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    region: np.ndarray
    sample: np.ndarray


def run_seeds(
    folds: Sequence[Fold],
    graph_list: Sequence[Data],
    reflectance: np.ndarray,
    labels: np.ndarray,
    points: np.ndarray,
    params: Mapping[str, Any],
    n_classes: int,
    seeds: Sequence[int],
    n_jobs: int = 1,
) -> dict[int, list[train.FoldResult]]:
    """Train every model on every fold once per seed.

    Args:
        folds: ``(region, train, val, test)`` index tuples.
        graph_list: one graph per patch.
        reflectance: ``(sample, band, y, x)`` reflectance.
        labels: ``(sample,)`` class of each patch's labelled pixel.
        points: ``(sample, 2)`` row/column of the labelled pixel.
        params: the ``gnn`` section of ``params.yaml``.
        n_classes: number of legend classes.
        seeds: training seeds.
        n_jobs: folds trained in parallel worker processes.

    Returns:
        ``{seed: fold results}``, in the order of ``seeds``.

    Raises:
        ValueError: if ``seeds`` is empty or repeats a seed.
    """
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and non-empty, got {list(seeds)}")
    return {
        int(s): train.run_folds(
            folds,
            graph_list,
            reflectance,
            labels,
            points,
            dict(params),
            n_classes,
            seed=int(s),
            n_jobs=n_jobs,
        )
        for s in seeds
    }


def models(runs: Mapping[int, Sequence[train.FoldResult]]) -> list[str]:
    """Return the model names of a run, in first-seen order."""
    first = next(iter(runs.values()))
    return list(dict.fromkeys(r.model for r in first))


def seed_matrix(runs: Mapping[int, Sequence[train.FoldResult]], model: str) -> SeedMatrix:
    """Stack one model's held-out predictions of every seed.

    Raises:
        KeyError: if no fold result is called ``model``.
        ValueError: if seeds disagree on the points or their reference (they must not).
    """
    rows, ref = [], None
    for seed, results in runs.items():
        rs = [r for r in results if r.model == model]
        if not rs:
            raise KeyError(f"no results for model {model!r} (seed {seed})")
        key = (
            np.concatenate([r.y_true for r in rs]),
            np.concatenate([np.full(len(r.test_idx), r.region) for r in rs]),
            np.concatenate([r.test_idx for r in rs]),
        )
        if ref is None:
            ref = key
        elif not all(np.array_equal(a, b) for a, b in zip(ref, key, strict=True)):
            raise ValueError(f"seed {seed} of {model!r} predicts other points than the first seed")
        rows.append(np.concatenate([r.y_pred for r in rs]))
    assert ref is not None
    if np.unique(ref[2]).size != ref[2].size:
        raise ValueError(f"{model!r}: a held-out patch occurs in two folds")
    return SeedMatrix(ref[0], np.stack(rows), ref[1], ref[2])


def compare(
    runs: Mapping[int, Sequence[train.FoldResult]],
    labels: Sequence[int],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Seed-mean OA and macro-F1 of every model with seed-and-point bootstrap intervals.

    Args:
        runs: output of :func:`run_seeds`.
        labels: classes averaged by macro-F1.
        n_boot: bootstrap replicates.
        seed: bootstrap seed.

    Returns:
        ``{model: {oa, oa_ci95, macro_f1, macro_f1_ci95, macro_f1_seed_sd, per_class_f1,
        confusion, edge_density, patch_density, n, n_seeds}}``; per-class F1 and fragmentation
        are seed means, the confusion matrix sums all seeds.
    """
    out: dict[str, dict[str, Any]] = {}
    lab = np.asarray(labels)
    for name in models(runs):
        sm = seed_matrix(runs, name)
        m: dict[str, Any] = {"n": int(sm.y_true.size), "n_seeds": int(sm.y_pred.shape[0])}
        for metric in ("oa", "macro_f1"):
            est = seeded_bootstrap(
                sm.y_true, sm.y_pred, metric, strata=sm.region, labels=lab, n_boot=n_boot, seed=seed
            )
            m[metric], m[f"{metric}_ci95"] = est.estimate, list(est.ci95)
        per_seed = [evaluate.classification_metrics(sm.y_true, p, lab) for p in sm.y_pred]
        m["macro_f1_seed_sd"] = (
            float(np.std([c["macro_f1"] for c in per_seed], ddof=1)) if len(per_seed) > 1 else 0.0
        )
        m["per_class_f1"] = {
            k: float(np.mean([c["per_class_f1"][k] for c in per_seed]))
            for k in per_seed[0]["per_class_f1"]
        }
        m["confusion"] = np.sum([c["confusion"] for c in per_seed], axis=0).astype(int).tolist()
        frags = [
            evaluate.fragmentation(np.concatenate([r.maps for r in res if r.model == name]))
            for res in runs.values()
        ]
        for k in ("edge_density", "patch_density"):
            m[k] = float(np.mean([f[k] for f in frags]))
        out[name] = m
    return out


def paired(
    runs: Mapping[int, Sequence[train.FoldResult]],
    pairs: Mapping[str, tuple[str, str]],
    labels: Sequence[int],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Macro-F1 differences between models on the same points, seeds and points resampled.

    Args:
        runs: output of :func:`run_seeds`.
        pairs: ``{name: (model a, model b)}``; the difference is ``a - b``.
        labels: classes averaged by macro-F1.
        n_boot: bootstrap replicates.
        seed: bootstrap seed.

    Returns:
        ``{name: Estimate.as_dict()}`` (``p_positive``: share of resamples in which ``a`` wins).
    """
    out = {}
    for name, (a, b) in pairs.items():
        ma, mb = seed_matrix(runs, a), seed_matrix(runs, b)
        est = seeded_bootstrap(
            ma.y_true,
            ma.y_pred,
            "macro_f1",
            baseline=mb.y_pred,
            strata=ma.region,
            labels=np.asarray(labels),
            n_boot=n_boot,
            seed=seed,
        )
        out[name] = est.as_dict()
    return out


def verdict(name: str, diff: Mapping[str, Any], what: str = "macro-F1") -> str:
    """One sentence on a paired difference, generated from its interval.

    Args:
        name: ``"a - b"``.
        diff: an ``Estimate.as_dict()``.
        what: the metric's name in the sentence.

    Returns:
        e.g. ``"gnn - cnn: +0.026 [-0.031, +0.082]: no detectable difference."``.
    """
    lo, hi = diff["ci95"]
    a, b = (s.strip() for s in name.split(" - "))
    if lo > 0:
        tail = f"{a} is better than {b}"
    elif hi < 0:
        tail = f"{b} is better than {a}"
    else:
        tail = "no detectable difference"
    return f"{name}: {what} {diff['estimate']:+.3f} [{lo:+.3f}, {hi:+.3f}]: {tail}."
