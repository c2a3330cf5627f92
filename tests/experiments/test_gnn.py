"""Tests for lulcbook.experiments.gnn (the seed comparison, tables and figures of 02-gnn)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lulcbook import legend
from lulcbook.experiments import gnn as exp
from lulcbook.experiments.folds import FoldResult, Patches


def _result(
    model: str, region: str, idx: np.ndarray, y: np.ndarray, pred: np.ndarray
) -> FoldResult:
    maps = np.repeat(pred[:, None, None], 8, axis=1).repeat(8, axis=2).astype(np.uint8)
    return FoldResult(model, region, idx, y, pred, np.zeros((len(y), 3)), maps)


def _runs(n_seeds: int = 3, good: float = 0.9, bad: float = 0.5) -> dict[int, list[FoldResult]]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    runs = {}
    for s in range(n_seeds):
        r = np.random.default_rng(100 + s)
        out = []
        for k, region in enumerate(["east", "west"]):
            idx = np.arange(30 * k, 30 * (k + 1))
            for name, acc in (("strong", good), ("weak", bad)):
                pred = np.where(r.random(30) < acc, y[idx], (y[idx] + 1) % 3)
                out.append(_result(name, region, idx, y[idx], pred))
        runs[s] = out
    return runs


def test_seed_matrix_stacks_seeds_without_repeating_points() -> None:
    sm = exp.seed_matrix(_runs(), "strong")
    assert sm.y_pred.shape == (3, 60)
    assert np.unique(sm.sample).size == 60
    assert list(np.unique(sm.region)) == ["east", "west"]


def test_seed_matrix_rejects_disagreeing_seeds() -> None:
    runs = _runs()
    runs[1][0] = _result("strong", "east", np.arange(1, 31), runs[1][0].y_true, runs[1][0].y_pred)
    with pytest.raises(ValueError, match="seed 1 of 'strong' predicts other points"):
        exp.seed_matrix(runs, "strong")
    with pytest.raises(KeyError, match="nope"):
        exp.seed_matrix(runs, "nope")


def test_compare_and_paired() -> None:
    runs = _runs()
    table = exp.compare(runs, [0, 1, 2], n_boot=100)
    assert table["strong"]["oa"] > table["weak"]["oa"]
    assert table["strong"]["n"] == 60 and table["strong"]["n_seeds"] == 3
    assert np.sum(table["strong"]["confusion"]) == 3 * 60  # every seed, every point once
    lo, hi = table["strong"]["macro_f1_ci95"]
    assert lo < table["strong"]["macro_f1"] < hi
    d = exp.paired(runs, {"strong - weak": ("strong", "weak")}, [0, 1, 2], n_boot=200)
    assert d["strong - weak"]["ci95"][0] > 0
    sentence = exp.verdict("strong - weak", d["strong - weak"])
    assert sentence.endswith("strong is better than weak.")


def test_verdict_wording_follows_the_interval() -> None:
    assert "no detectable difference" in exp.verdict(
        "a - b", {"estimate": 0.01, "ci95": [-0.02, 0.04]}
    )
    assert "b is better than a" in exp.verdict("a - b", {"estimate": -0.1, "ci95": [-0.2, -0.01]})


def test_run_seeds_rejects_repeated_seeds() -> None:
    with pytest.raises(ValueError, match="distinct"):
        exp.run_seeds([], Patches([], np.zeros(1), np.zeros(1), np.zeros(1)), {}, 3, seeds=[0, 0])


def test_comparison_metrics_tables_and_region_scores() -> None:
    runs = _runs()
    summary = exp.compare(runs, [0, 1, 2], n_boot=50)
    diffs = exp.paired(runs, {"strong - weak": ("strong", "weak")}, [0, 1, 2], n_boot=50)
    m = exp.comparison_metrics(runs, summary, diffs, [0, 1, 2])
    assert set(m["models"]["strong"]) == set(exp.METRIC_KEYS)
    assert list(m["paired_macro_f1_diff"]) == ["strong_minus_weak"]
    assert m["verdicts"] == [exp.verdict("strong - weak", diffs["strong - weak"])]
    per_region = m["macro_f1_per_region"]
    assert set(per_region) == {"east", "west"}
    assert all(per_region[r]["strong"] > per_region[r]["weak"] for r in per_region)
    # the mean over equally sized regions of per-region F1 is close to, not equal to, pooled F1
    assert np.mean([per_region[r]["strong"] for r in per_region]) == pytest.approx(
        summary["strong"]["macro_f1"], abs=0.05
    )
    table = exp.comparison_table(summary)
    assert list(table.index) == ["strong", "weak"] and table.loc["strong", "OA"] > 0.8
    ci = exp.interval_frame(summary)
    assert (ci["lo"] <= ci["macro_f1"]).all() and (ci["macro_f1"] <= ci["hi"]).all()


def test_curves_and_maps_by_model() -> None:
    results = _runs(n_seeds=1)[0]
    results[0].history = [{"epoch": 0, "val_loss": 1.0}, {"epoch": 1, "val_loss": 0.5}]
    curves = exp.curves_frame(results)
    assert curves.shape[0] == 2 and set(curves["model"]) == {"strong"}
    maps = exp.maps_by_model(results)
    assert list(maps) == ["strong", "weak"] and sorted(maps["weak"]) == list(range(60))
    assert (maps["strong"][31] == results[2].maps[1]).all()  # west fold, second patch


def test_scene_summary() -> None:
    scene = np.full((100, 100), legend.NODATA, np.uint8)
    scene[:50, :] = 0
    scene[50:80, :] = 1
    s = exp.scene_summary(scene)
    assert s["area_km2"] == pytest.approx(8000 * 1e-4)
    assert s["class_fraction"][legend.KEYS[0]] == pytest.approx(5 / 8)
    assert sum(s["class_fraction"].values()) == pytest.approx(1.0)
    assert {"edge_density", "patch_density"} <= set(s)


def test_figures_render(tmp_path) -> None:
    from train_helpers import toy_graphs, toy_image

    from lulcbook import viz

    viz.setup_plotting()
    gs = toy_graphs(2)
    refl = np.stack([toy_image(i % 2, i) for i in range(2)])
    patches = Patches(gs, refl, np.array([0, 1]), np.tile([16, 20], (2, 1)))
    bands = ["B02", "B03", "B04", "B08"]
    sp = exp.superpixel_figure(patches, bands, [0, 1])
    assert len(sp) == 2
    graph = exp.graph_figure(gs[0], refl[0], bands)
    assert f"{gs[0].num_nodes} nodes" in graph.opts.get().kwargs["title"]
    history = pd.DataFrame({"epoch": [0, 1, 2], "train_loss": [1.0, 0.8, 0.7],
                            "val_loss": [1.1, 0.9, 1.0]})  # fmt: skip
    loop = exp.loop_figure(history, 1, "one fold")
    for name, fig in {"sp": sp, "graph": graph, "loop": loop}.items():
        assert viz.save_png(fig, tmp_path / f"{name}.png").stat().st_size > 1000
