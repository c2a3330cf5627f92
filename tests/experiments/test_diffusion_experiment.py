"""Tests for the experiment runner of notebook 04 (augmentation summary, folds, maps)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lulcbook.experiments import diffusion as E

torch.set_num_threads(1)


def predictions(variants: dict[str, float], n: int = 30, seeds: int = 3) -> pd.DataFrame:
    """Predictions where each variant is right on the given share of patches (per seed)."""
    rng = np.random.default_rng(0)
    y = np.tile([0, 1, 2], n // 3)
    regions = np.repeat(["a", "b"], n // 2)
    rows = []
    for v, acc in variants.items():
        for s in range(seeds):
            right = rng.random(n) < acc
            pred = np.where(right, y, (y + 1) % 3)
            rows.append(
                pd.DataFrame(
                    {"variant": v, "seed": s, "region": regions, "sample": np.arange(n),
                     "y_true": y, "y_pred": pred}
                )
            )  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def test_summary_pairs_changes_and_reports_every_variant() -> None:
    pred = predictions({"real_only": 0.5, "better": 1.0, "same": 0.5}, n=60)
    res = E.augmentation_summary(pred, "real_only", n_boot=200)
    assert set(res) == {"real_only", "better", "same"}
    assert res["real_only"]["delta_macro_f1"] == 0.0
    assert res["real_only"]["delta_macro_f1_ci95"] == [0.0, 0.0]
    b = res["better"]
    assert b["macro_f1"] == 1.0 and b["oa"] == 1.0 and b["n_seeds"] == 3
    assert 0 < b["delta_macro_f1_ci95"][0] <= b["delta_macro_f1"] <= b["delta_macro_f1_ci95"][1]
    assert set(b["delta_by_region"]) == {"a", "b"}
    lo, hi = res["same"]["delta_macro_f1_ci95"]
    assert lo < 0.1 and hi > -0.1  # same accuracy: the paired interval stays near 0
    assert "improves" in E.verdict("better", b)
    assert "does not change detectably" in E.verdict(
        "same", {**res["same"], "delta_macro_f1_ci95": [-0.1, 0.1]}
    )
    assert "lowers" in E.verdict(
        "x", {**b, "delta_macro_f1": -0.2, "delta_macro_f1_ci95": [-0.3, -0.1]}
    )
    with pytest.raises(KeyError, match="nope"):
        E.augmentation_summary(pred, "nope")


def separable_patches(n: int = 24, size: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.tile([0, 2], n // 2)
    x = rng.uniform(0.02, 0.06, (n, 4, size, size)).astype("float32")
    x[y == 2, 3] += 0.4  # vegetation: bright near-infrared
    regions = np.repeat(["r1", "r2", "r3"], n // 3)
    return x, y, regions


def test_folds_hold_out_each_region_and_add_only_training_extras() -> None:
    x, y, regions = separable_patches()
    pts = np.full((len(x), 2), 8)
    gp = {"method": "slic", "segment_size": 32.0, "compactness": 0.05}
    real = E.patch_graphs(x, pts, y, gp)
    extra = E.patch_graphs(np.clip(x * 1.05, 0, 1), pts, y, gp)
    cfg = {
        "model": {"name": "GNN", "hidden": 8, "depth": 1, "dropout": 0.0, "norm": "batch", "conv": "sage"},
        "fit": {"epochs": 8, "lr": 0.03, "batch_size": 8},
    }  # fmt: skip
    pred, runs = E.augmentation_folds(real, {"real_only": None, "jit": extra}, regions, y, cfg, [0])
    assert len(pred) == 2 * len(x)  # variants x seeds x (every patch held out once)
    for _, sub in pred.groupby(["variant", "seed"]):
        assert sorted(sub["sample"]) == list(range(len(x)))
    n_real = runs.loc[runs["variant"] == "real_only", "n_train"].to_numpy()
    n_jit = runs.loc[runs["variant"] == "jit", "n_train"].to_numpy()
    assert np.all(n_jit == 2 * n_real) and np.all(n_real == 16)
    res = E.augmentation_summary(pred, "real_only", n_boot=50)
    assert res["real_only"]["oa"] > 0.8, "the GNN must learn the bright-NIR rule"


class FakeClassifier:
    """Stands in for the superpixel classifier: class 1 where NIR > 0.2, else 0."""

    n_classes = 3

    def predict_proba(self, patch: np.ndarray) -> np.ndarray:
        veg = (patch[3] > 0.2).astype("float32")
        return np.stack([1 - veg, veg, np.zeros_like(veg)])


def test_land_cover_maps_and_labels() -> None:
    x = np.full((2, 4, 8, 8), 0.05, dtype="float32")
    x[0, 3, :, :4] = 0.5  # left half vegetated in patch 0
    maps = E.land_cover_maps(FakeClassifier(), x, 4)  # type: ignore[arg-type]
    assert maps.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(maps.sum(1), 1.0)
    assert maps[0, 1, :, :2].min() == 1.0 and maps[0, 1, :, 2:].max() == 0.0
    labels = E.land_cover_labels(
        FakeClassifier(),
        E.diffusion.downsample(x, 4),
        np.array([[2, 1], [2, 6]]),
        8,  # type: ignore[arg-type]
    )
    assert labels.tolist() == [1, 0]


# --------------------------------------------------------------------------- notebook steps
def tiny_data(n: int = 6, size: int = 8) -> E.PatchData:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.02, 0.3, (n, 4, size, size)).astype("float32")
    g = torch.Generator().manual_seed(0)
    cls = torch.randint(0, 3, (n, size, size), generator=g)
    lc = torch.nn.functional.one_hot(cls, 3).permute(0, 3, 1, 2).float().numpy()
    valid = np.ones(n, dtype=bool)
    valid[1] = False
    cond = torch.as_tensor(rng.normal(size=(n, 5)), dtype=torch.float32)
    cond[1] = 0.0
    return E.PatchData(
        x=x, bands=["B02", "B03", "B04", "B08"], y=np.tile([0, 2], n // 2),
        regions=np.repeat(["r1", "r2", "r3"], n // 3), valid=valid,
        climate=rng.normal(size=(n, 19)), cond=cond, climate_scaler=E.ClimateScaler(),
        band_scaler=E.diffusion.BandScaler().fit(x), points=np.full((n, 2), size // 2),
        lc_map=lc, lc_label=np.zeros(n, dtype=int), full_size=2 * size,
    )  # fmt: skip


def tiny_autoencoder() -> E.diffusion.ClimateDiffusion:
    return E.diffusion.build_diffusion(
        in_channels=4, base=8, mults=(1, 2), climate_dim=5, time_dim=16, timesteps=50,
        seed=0, semantic_dim=6, encoder_base=8, map_channels=3,
    )  # fmt: skip


def test_roundtrip_generation_and_augmentation_sets() -> None:
    data, model = tiny_data(), tiny_autoencoder()
    rt = E.roundtrip_study(model, data, n=3, steps=[4, 2], strength=0.5)
    assert list(rt.by_steps) == [2, 4] and rt.pure_noise_steps == 4
    assert rt.reflectance_std == pytest.approx(float(data.x[[0, 2, 3]].std()))
    assert all(np.isfinite(v) and v >= 0 for v in [*rt.by_steps.values(), rt.pure_noise])
    gen = E.generate_samples(model, data, steps=2, guidance=1.0, seed=0)
    assert gen.shape == data.x.shape and np.isfinite(gen).all()
    sets, tgt = E.augmentation_sets(model, data, {"gain": 0.1, "offset": 0.01}, 2, 1.0, 0.5, 0)
    assert list(sets) == ["colour_jitter", "same_climate", "climate_swap"]
    assert all(s.shape == data.x.shape for s in sets.values())
    assert (data.regions[tgt] != data.regions).all() and data.valid[tgt].all()
    figs = E.region_edit_figures(model, data, 2, 1.0, 0.5)
    assert set(figs) == {"rgb", "false-colour"}
    # one row per class, the real patch and one edit per region with climate
    assert len(figs["rgb"].axes) == 2 * 4


class MeanRegressor:
    """Predicts the standardised BIO variables from the first band mean (a perfect fit here)."""

    def predict(self, f: np.ndarray) -> np.ndarray:
        return np.repeat(f[:, :1], 2, axis=1)


def test_climate_transfer_and_faithfulness() -> None:
    data = tiny_data()
    means = E.augment.band_means(data.x, data.bands)
    # raw bio1 and bio12 chosen so that their standardised values equal the first band mean
    data.climate[:, 0] = means[:, 0]
    data.climate[:, 11] = means[:, 0]
    reg = E.ClimateRegressor(MeanRegressor(), ["bio1", "bio12"], np.zeros(2), np.ones(2),
                             [0.5, 0.4], 100, 200.0)  # type: ignore[arg-type]  # fmt: skip
    patch_z, f_real, r2 = E.climate_transfer(reg, data)
    assert r2 == pytest.approx([1.0, 1.0])
    tgt = np.array([2, 3, 4, 5, 0, 0])
    faith = E.faithfulness_study(reg, data, {"same": data.x}, tgt, patch_z, f_real)
    assert faith["same"]["shift_gain"] == pytest.approx(0.0, abs=1e-9)
    assert E.regressor_metrics(reg, r2)["patch_r2"] == {"bio1": 1.0, "bio12": 1.0}


def test_verdicts_follow_the_numbers() -> None:
    assert "cannot tell" in E.auc_sentence("a", {"auc": 0.55, "auc_ci95": [0.45, 0.65]})
    assert "tells them" in E.auc_sentence("a", {"auc": 0.9, "auc_ci95": [0.8, 0.95]})
    reg = E.ClimateRegressor(None, ["BIO1"], np.zeros(1), np.ones(1), [0.6], 10, 200.0)  # type: ignore[arg-type]
    faith = {k: {"shift_gain": g, "frac_closer": 0.7} for k, g in
             (("climate_swap", 0.3), ("same_climate", 0.1), ("colour_jitter", -0.2))}  # fmt: skip
    kept = {"climate_swap": 0.9, "same_climate": 0.95, "colour_jitter": 1.0}
    res = {"real_only": {}, "climate_swap": {"delta_macro_f1": 0.05,
           "delta_macro_f1_ci95": [0.01, 0.09], "n_seeds": 3}}  # fmt: skip
    v = E.diffusion_verdicts({"x": {"auc": 0.9, "auc_ci95": [0.8, 0.95]}}, reg, [0.05], faith,
                             kept, res)  # fmt: skip
    assert len(v) == 4
    assert "does not see climate" in v[1] and "+0.300" in v[1] and "at most +0.100" in v[1]
    assert "90% of climate-swap edits" in v[2] and v[3].startswith("climate_swap improves")
    assert "does not see" not in E.diffusion_verdicts({}, reg, [0.5], faith, kept, res)[0]


def test_figures_and_run_metrics() -> None:
    from lulcbook import viz

    viz.setup_plotting()  # as notebook.setup does
    res = {"real_only": {"delta_macro_f1": 0.0, "delta_macro_f1_ci95": [0.0, 0.0]},
           "swap": {"delta_macro_f1": 0.1, "delta_macro_f1_ci95": [0.0, 0.3]}}  # fmt: skip
    fig = E.augmentation_figure(res)
    assert fig.get(0).data.to_dict("list")["delta"] == [0.1]
    assert E.loss_figure([1.0, 0.5, 0.25]) is not None
    x = np.random.default_rng(0).uniform(0, 0.3, (2, 4, 16, 16))
    assert (
        len(E.generated_figure(x, x, x, np.zeros(2, int), ["B02", "B03", "B04", "B08"]).axes) == 6
    )
    assert E.spectra_figure(x, x, x) is not None
    runs = pd.DataFrame({"seconds": [1.0, 2.5]})
    m = E.augmentation_run_metrics({"model": {"name": "GNN"}, "seeds": (0, 1)}, runs)
    assert m == {"setting": "leave-region-out", "model": "GNN", "seeds": [0, 1], "n_runs": 2,
                 "seconds": 3.5}  # fmt: skip
