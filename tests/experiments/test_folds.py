"""Tests for lulcbook.experiments.folds: one model on one fold, every model on every fold."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from train_helpers import toy_graphs, toy_image

from lulcbook import evaluate
from lulcbook.experiments import gnn as exp
from lulcbook.experiments.folds import (
    Fold,
    Patches,
    cnn_experiment,
    gnn_experiment,
    rf_experiment,
    run_folds,
)

torch.set_num_threads(1)  # the test machine's cores are shared


def _patches(n: int = 12) -> Patches:
    refl = np.stack([toy_image(i % 2, i) for i in range(n)])
    labels = np.array([i % 2 for i in range(n)])
    return Patches(toy_graphs(n), refl, labels, np.tile([16, 20], (n, 1)))


def test_fold_experiments_compared_with_the_seed_bootstrap() -> None:
    data = _patches()
    fold = Fold("r", np.arange(6), np.arange(6, 8), np.arange(8, 12))
    fit = {"epochs": 3, "batch_size": 4}
    res = [
        gnn_experiment("g", fold, data.graphs, "GraphUNet",
                       {"hidden": 8, "n_classes": 2, "depth": 1}, fit, progress=False),
        cnn_experiment("c", fold, data, {"n_classes": 2, "hidden": 4, "depth": 1}, fit,
                       progress=False),
        rf_experiment("f", fold, data, {"n_estimators": 10}, n_classes=2),
    ]  # fmt: skip
    for r in res:
        assert r.region == "r" and (r.test_idx == fold.test).all()
        assert r.maps.shape == (4, 32, 32) and r.proba.shape == (4, 2)
        assert (r.y_true == data.labels[fold.test]).all() and (r.y_pred == r.proba.argmax(1)).all()
    g = res[0]
    # the GNN map is constant within each segment and shows the prediction at the point
    seg = data.graphs[8].segments[0].numpy()
    assert all(len(np.unique(g.maps[0][seg == s])) == 1 for s in np.unique(seg))
    assert g.maps[0][16, 20] == g.y_pred[0]
    assert g.fitted["kwargs"]["in_dim"] == data.graphs[0].num_node_features
    assert len(g.history) == 3 and res[2].history == []
    runs = {0: res}  # one seed: the bootstrap estimates are the plain metrics
    summary = exp.compare(runs, [0, 1], n_boot=20)
    assert list(summary) == ["g", "c", "f"]
    assert set(summary["g"]) >= {"oa", "macro_f1", "macro_f1_ci95", "per_class_f1",
                                 "edge_density", "patch_density"}  # fmt: skip
    assert summary["f"]["oa"] == pytest.approx((res[2].y_pred == res[2].y_true).mean())
    diff = exp.paired(runs, {"g - f": ("g", "f")}, [0, 1], n_boot=20)["g - f"]
    f1 = [evaluate.macro_f1(r.y_true, r.y_pred, [0, 1]) for r in (res[0], res[2])]
    assert diff["estimate"] == pytest.approx(f1[0] - f1[1])


def test_rf_trains_on_train_and_val_of_the_fold() -> None:
    data = _patches()
    a = rf_experiment("f", Fold("r", np.arange(6), np.arange(6, 8), np.arange(8, 12)), data,
                      {"n_estimators": 5}, n_classes=2)  # fmt: skip
    b = rf_experiment("f", Fold("r", np.arange(8), np.arange(0), np.arange(8, 12)), data,
                      {"n_estimators": 5}, n_classes=2)  # fmt: skip
    np.testing.assert_array_equal(a.proba, b.proba)


def test_run_folds_trains_every_model_of_the_spec() -> None:
    data = _patches()
    spec = {
        "models": {"g": {"cls": "GNN", "model": {"hidden": 8, "depth": 1}, "semi": True}},
        "fit": {"epochs": 2, "batch_size": 4},
        "semi": {"warmup": 0, "threshold": 0.0},
        "cnn": {"model": {"hidden": 4, "depth": 1}, "fit": {"epochs": 1, "batch_size": 4}},
        "rf": {"n_estimators": 5},
    }
    folds = [("a", np.arange(4), np.arange(4, 6), np.arange(6, 12)),
             ("b", np.arange(6, 10), np.arange(10, 12), np.arange(6))]  # fmt: skip
    res = run_folds(folds, data, spec, n_classes=2, progress=False)
    assert [(r.region, r.model) for r in res] == [
        ("a", "g"), ("a", "cnn"), ("a", "random_forest"),
        ("b", "g"), ("b", "cnn"), ("b", "random_forest"),
    ]  # fmt: skip
    assert res[0].history[-1]["pseudo_frac"] > 0  # the semi-supervised term was used
    assert (res[3].test_idx == np.arange(6)).all() and res[5].maps.shape == (6, 32, 32)
    again = run_folds(folds[:1], data, spec, n_classes=2, progress=False)
    np.testing.assert_array_equal(again[0].proba, res[0].proba)  # every fold is seeded alone


def test_run_seeds_in_one_pool_equals_the_sequential_run() -> None:
    data = _patches(8)
    spec = {
        "models": {"g": {"cls": "GNN", "model": {"hidden": 8, "depth": 1}}},
        "fit": {"epochs": 2, "batch_size": 4},
        "semi": {},
        "cnn": {"model": {"hidden": 4, "depth": 1}, "fit": {"epochs": 1, "batch_size": 4}},
        "rf": {"n_estimators": 5},
    }
    folds = [("a", np.arange(3), np.arange(3, 4), np.arange(4, 8)),
             ("b", np.arange(4, 7), np.arange(7, 8), np.arange(4))]  # fmt: skip
    seq = exp.run_seeds(folds, data, spec, 2, seeds=[3, 1], n_jobs=1)
    par = exp.run_seeds(folds, data, spec, 2, seeds=[3, 1], n_jobs=2)
    assert list(par) == [3, 1]
    for s in (3, 1):
        assert [(r.region, r.model) for r in par[s]] == [(r.region, r.model) for r in seq[s]]
        for a, b in zip(par[s], seq[s], strict=True):
            np.testing.assert_allclose(a.proba, b.proba, rtol=1e-5, atol=1e-6)
    assert not np.allclose(par[3][0].proba, par[1][0].proba)  # the seeds differ
