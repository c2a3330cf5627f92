import numpy as np
import pytest

from lulcbook.experiments import gnn as exp
from lulcbook.train import FoldResult


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
        exp.run_seeds([], [], np.zeros(1), np.zeros(1), np.zeros(1), {}, 3, seeds=[0, 0])
