"""The shared-encoder land-cover + LAI CNN and the leave-country-out experiment helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lulcbook.experiments import multitask as M
from lulcbook.models.multitask import MultiTaskCNN, TrainConfig, predict, train_multitask


def _toy(n: int = 6, size: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class 0 present ⇔ band 0 bright; LAI = 2 × band 1 (NaN in one corner)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3, size, size)).astype(np.float32)
    present = np.arange(n) % 2 == 0
    x[present, 0] += 2.0
    lc = np.stack([present, ~present], axis=1).astype(np.float32)
    lai = 2.0 * x[:, 1] + 3.0
    lai[:, :3, :3] = np.nan
    return x, lc, lai


def test_shapes() -> None:
    m = MultiTaskCNN(5, 4, width=8, depth=2)
    logits, lai = m(torch.zeros(2, 5, 16, 20))
    assert logits.shape == (2, 4) and lai.shape == (2, 16, 20)


def test_learns_both_tasks_and_ignores_nan_targets() -> None:
    x, lc, lai = _toy()
    cfg = TrainConfig(steps=150, batch=6, crop=16, width=8, depth=2, lr=0.01)
    model = train_multitask(x, lc, lai, cfg, seed=0)
    p, lai_hat = predict(model, x, cfg.lai_scale)
    assert np.isfinite(lai_hat).all()
    assert ((p[:, 0] > 0.5) == (lc[:, 0] > 0)).all()
    ok = np.isfinite(lai)
    rmse = np.sqrt(np.mean((lai_hat[ok] - lai[ok]) ** 2))
    assert rmse < 0.5 * np.nanstd(lai)


def test_single_task_weights_leave_other_head_untrained() -> None:
    x, lc, lai = _toy()
    cfg = TrainConfig(lc_weight=1.0, lai_weight=0.0, steps=5, batch=2, crop=8, width=8, depth=2)
    torch.manual_seed(0)
    fresh = MultiTaskCNN(3, 2, 8, 2)
    model = train_multitask(x, lc, lai, cfg, seed=0)
    assert torch.equal(model.lai_head.weight, fresh.lai_head.weight)  # same init, no gradient
    with pytest.raises(ValueError, match="both 0"):
        train_multitask(x, lc, lai, TrainConfig(lc_weight=0, lai_weight=0), seed=0)
    with pytest.raises(ValueError, match="crop"):
        train_multitask(x, lc, lai, TrainConfig(crop=64), seed=0)


def test_seeded_training_is_reproducible() -> None:
    x, lc, lai = _toy()
    cfg = TrainConfig(steps=10, batch=2, crop=8, width=8, depth=2)
    a = predict(train_multitask(x, lc, lai, cfg, seed=3), x, 3.0)
    b = predict(train_multitask(x, lc, lai, cfg, seed=3), x, 3.0)
    np.testing.assert_array_equal(a[1], b[1])


def test_country_of_tile() -> None:
    assert (
        M.country_of("S2A_MSIL1C_20170613T101031_N0205_R022_T33UUP_20170613T101608.SAFE")
        == "Austria"
    )
    with pytest.raises(ValueError, match="T99XXX"):
        M.country_of("S2A_MSIL1C_x_T99XXX_y")


def test_micro_f1() -> None:
    y = np.array([[1, 0], [0, 1]])
    assert M.micro_f1(y, np.array([[0.9, 0.1], [0.2, 0.8]])) == 1.0
    assert M.micro_f1(y, np.array([[0.9, 0.9], [0.2, 0.1]])) == pytest.approx(2 / 4)


def test_loco_and_summary_on_toy_data() -> None:
    x, lc, lai = _toy(n=6)
    data = {"x": x, "lc": lc, "lai": lai, "country": np.array(["a", "a", "b", "b", "c", "c"])}
    cfg = {"steps": 5, "batch": 2, "crop": 8, "width": 8, "depth": 2}
    res = M.run_loco(data, cfg, [0, 1])
    for c in M.CONFIGS:
        assert all(np.isfinite(res["probs"][c][s]).all() for s in (0, 1))
    s = M.summarise(data, res, [0, 1], n_boot=50, boot_seed=0)
    for k in (
        "lc_only_f1",
        "multitask_f1",
        "lai_only_rmse",
        "multitask_rmse",
        "diff_f1",
        "diff_rmse",
    ):
        assert s[k]["lo"] <= s[k]["estimate"] + 1e-12 or np.isnan(s[k]["estimate"])
        assert len(s[k]["per_seed"]) == 2
    assert s["diff_f1"]["estimate"] == pytest.approx(
        s["multitask_f1"]["estimate"] - s["lc_only_f1"]["estimate"]
    )
    assert set(s["per_country"]) == {"a", "b", "c"}
    v = M.verdict(s)
    assert set(v) == {"land_cover", "lai"} and "interval" in v["lai"]
