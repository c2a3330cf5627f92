"""Tests for lulcbook.bioclim (leave-region-out climate experiments)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from lulcbook import bioclim, viz
from lulcbook import graphs as G
from lulcbook.models.condnorm import N_BIO, ClimateScaler, ConditionalNorm

REGIONS = ["utm29-30", "utm31", "utm32", "utm33-36"]


def _dataset(per_region: int = 8, size: int = 16, seed: int = 0) -> xr.Dataset:
    """Tiny patch dataset: class-dependent reflectance, region-dependent climate, some NaN."""
    rng = np.random.default_rng(seed)
    n = per_region * len(REGIONS)
    labels = np.tile([1, 2, 6, 0], n // 4)  # cropland, woodland, water, artificial
    refl = rng.uniform(0.02, 0.1, size=(n, 4, size, size)).astype("float32")
    refl[:, 3] += 0.1 * (labels == 2)[:, None, None]  # NIR-bright woodland
    region = np.repeat(REGIONS, per_region)
    climate = rng.normal(0, 1, size=(n, N_BIO)) + np.repeat(np.arange(4), per_region)[:, None]
    climate[::5] = np.nan  # missing climate vectors
    split = np.where((np.arange(n) // 4) % 2 == 1, "val", "train")  # every class in val
    return xr.Dataset(
        {
            "reflectance": (("sample", "band", "y", "x"), refl),
            "label": ("sample", labels.astype("int64")),
            "point_y": ("sample", np.full(n, size // 2)),
            "point_x": ("sample", np.full(n, size // 2)),
            "region": ("sample", region),
            "split": ("sample", split),
            "climate": (("sample", "bio"), climate.astype("float32")),
        },
        coords={"band": ["B02", "B03", "B04", "B08"], "bio": [f"bio{i}" for i in range(1, 20)]},
    )


PARAMS = {
    "families": ["gnn", "cnn"],
    "variants": list(bioclim.VARIANTS),
    "seeds": [0],
    "missing_indicator": True,
    "shuffle_seed": 3,
    "n_jobs": 1,
    "gnn": {"model": "GNN", "hidden": 8, "depth": 1, "dropout": 0.0, "epochs": 2, "batch_size": 8},
    "cnn": {"crop": 8, "hidden": 4, "depth": 1, "dropout": 0.0, "epochs": 2, "batch_size": 8},
}


@pytest.fixture(scope="module")
def results() -> tuple[xr.Dataset, bioclim.BioclimResults]:
    torch.set_num_threads(1)
    ds = _dataset()
    graphs = G.build_graphs(ds, progress=False, segment_size=16)
    return ds, bioclim.run_leave_region_out(ds, graphs, PARAMS, progress=False)


def test_crop_around_points_keeps_the_labelled_pixel() -> None:
    refl = np.arange(2 * 1 * 10 * 10, dtype="float32").reshape(2, 1, 10, 10)
    win, pts = bioclim.crop_around_points(refl, np.array([5, 0]), np.array([5, 9]), 4)
    assert win.shape == (2, 1, 4, 4)
    for i, (py, px) in enumerate([(5, 5), (0, 9)]):
        assert win[i, 0, pts[i, 0], pts[i, 1]] == refl[i, 0, py, px]
    np.testing.assert_array_equal(pts[1], [0, 3])  # window clipped at the corner
    with pytest.raises(ValueError, match="crop size 12"):
        bioclim.crop_around_points(refl, np.array([5, 5]), np.array([5, 5]), 12)


def test_variant_inputs() -> None:
    ds = _dataset(per_region=2)
    graphs = G.build_graphs(ds, progress=False, segment_size=16)[:3]
    cond = torch.randn(3, N_BIO + 1)
    plain = bioclim.gnn_inputs(graphs, cond, "no_climate")
    extra = bioclim.gnn_inputs(graphs, cond, "climate_input")
    assert torch.equal(plain[0].x, graphs[0].x)
    assert extra[1].x.shape == (graphs[1].num_nodes, graphs[1].x.shape[1] + N_BIO + 1)
    torch.testing.assert_close(extra[1].x[:, -1], cond[1, -1].expand(graphs[1].num_nodes))
    assert torch.equal(plain[2].cond, cond[2:3])
    x = torch.randn(3, 4, 8, 8)
    xi, ci = bioclim.cnn_inputs(x, cond, "climate_input")
    assert xi.shape == (3, 4 + N_BIO + 1, 8, 8) and ci is None
    torch.testing.assert_close(xi[0, 4 + 5], torch.full((8, 8), float(cond[0, 5])))
    xn, cn = bioclim.cnn_inputs(x, cond, "climate_norm")
    assert xn is x and torch.equal(cn, cond)
    with pytest.raises(ValueError, match="Unknown climate variant 'both'"):
        bioclim.cnn_inputs(x, cond, "both")
    with pytest.raises(ValueError, match="2 rows for 3 graphs"):
        bioclim.gnn_inputs(graphs, cond[:2], "no_climate")


def test_build_model_uses_conditional_norm_only_for_climate_norm() -> None:
    for family, in_dim in (("gnn", 20), ("cnn", 4)):
        cfg = PARAMS[family]
        n_cond = {
            v: len(bioclim.conditional_layers(bioclim.build_model(family, v, in_dim, 20, cfg)))
            for v in bioclim.VARIANTS
        }
        assert n_cond["climate_norm"] > 0
        assert n_cond["no_climate"] == n_cond["climate_input"] == 0
    with pytest.raises(ValueError, match="Unknown model family 'rf'"):
        bioclim.build_model("rf", "no_climate", 4, 20, {})


def test_leave_region_out_predictions(results) -> None:
    ds, res = results
    pred = res.predictions
    n = ds.sizes["sample"]
    n_val = int((ds["split"].values == "val").sum())
    assert set(pred["model"]) == {
        bioclim.model_name(f, v) for f in bioclim.FAMILIES for v in bioclim.VARIANTS
    }
    for _, g in pred.groupby("model"):
        counts = g["eval"].value_counts()
        assert counts["out"] == counts["out_shuffled"] == n  # each sample held out once
        assert counts["in"] == 3 * n_val  # a val sample is in-region for the 3 other folds
        assert set(g.loc[g["eval"] == "out", "sample"]) == set(range(n))
        out = g[g["eval"] == "out"]
        assert (out["region"].to_numpy() == ds["region"].values[out["sample"]]).all()
        inr = g[g["eval"] == "in"]
        assert (inr["region"].to_numpy() != ds["region"].values[inr["sample"]]).all()
    base = pred[pred["model"] == "gnn_no_climate"]
    np.testing.assert_array_equal(
        base.loc[base["eval"] == "out", "y_pred"],
        base.loc[base["eval"] == "out_shuffled", "y_pred"],
    )
    assert len(res.runs) == 4 * 2 * 3
    assert set(res.film_models) == {(f, r) for f in bioclim.FAMILIES for r in REGIONS}
    assert res.cond_dim == N_BIO + 1


def test_summary_and_tables(results) -> None:
    _, res = results
    summary = bioclim.summarise(res.predictions, n_boot=10, seed=0)
    for name, m in summary.items():
        for key in (
            "oa",
            "macro_f1",
            "macro_f1_ci95",
            "macro_f1_in_region",
            "macro_f1_shuffled_climate",
            "gap_macro_f1",
        ):
            assert key in m, (name, key)
        lo, hi = m["macro_f1_ci95"]
        assert 0 <= lo <= hi <= 1
        assert m["gap_macro_f1"] == pytest.approx(m["macro_f1_in_region"] - m["macro_f1"])
        assert set(m["per_region"]) == set(REGIONS)
        if m["variant"] == "no_climate":
            assert m["shuffle_drop_macro_f1"] == 0.0
            assert "delta_macro_f1_vs_no_climate" not in m
        else:
            assert "delta_macro_f1_vs_no_climate" in m
    assert len(bioclim.region_table(summary)) == 6 * 5
    assert len(bioclim.gap_table(summary)) == 12
    assert len(bioclim.verdict(summary)) == 4
    assert list(bioclim.shuffle_table(summary)["model"]) == list(summary)
    fig = viz.interval_plot(bioclim.gap_table(summary), "model", "macro_f1", by="eval")
    assert len(fig) == 4  # error bars + points per group
    with pytest.raises(ValueError, match="'f1'"):
        viz.interval_plot(bioclim.gap_table(summary), "model", "f1")


def test_seed_bootstrap() -> None:
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    est, boots = bioclim.seed_bootstrap(y, np.stack([y, y]), "macro_f1", n_boot=20)
    assert est == 1.0 and (boots == 1.0).all()
    wrong = np.stack([y, (y + 1) % 3])  # seed 2 is always wrong
    est, _ = bioclim.seed_bootstrap(y, wrong, "oa", n_boot=5)
    assert est == pytest.approx(0.5)
    d, boots = bioclim.seed_bootstrap(y, wrong, "oa", n_boot=20, baseline=wrong)
    assert d == 0.0 and (boots == 0.0).all()
    with pytest.raises(ValueError, match="Unknown metric 'auc'"):
        bioclim.seed_bootstrap(y, wrong, "auc", n_boot=2)


def test_film_table(results) -> None:
    ds, res = results
    climate = ds["climate"].values
    model, scaler = res.film_models[("gnn", "utm31")]
    table = bioclim.film_table(model, scaler, climate, [str(b) for b in ds["bio"].values])
    n, c = climate.shape[0], bioclim.conditional_layers(model)[0].num_features
    assert len(table) == n * c
    assert table["missing"].sum() == c * int((~np.isfinite(climate).all(axis=1)).sum())
    stats = bioclim.film_summary(table)
    assert stats["gamma_sd"] >= 0 and "max_abs_spearman_beta_bio12" in stats
    # a freshly initialised conditional layer is the identity: gamma = 1, beta = 0
    fresh = torch.nn.Sequential(ConditionalNorm(3, N_BIO + 1, spatial=False))
    t0 = bioclim.film_table(fresh, ClimateScaler().fit(climate), climate, list(ds["bio"].values))
    assert np.allclose(t0["gamma"], 1) and np.allclose(t0["beta"], 0)
    assert bioclim.film_summary(t0)["gamma_sd"] == 0
    assert len(bioclim.film_plot_frame(table, 2)["channel"].unique()) == 2
    with pytest.raises(ValueError, match="0 ConditionalNorm layers"):
        bioclim.film_table(torch.nn.Linear(2, 2), scaler, climate, list(ds["bio"].values))


def test_missing_val_split_raises() -> None:
    ds = _dataset(per_region=4)
    ds["split"] = ("sample", np.full(ds.sizes["sample"], "train"))
    with pytest.raises(ValueError, match="no 'val' samples"):
        bioclim.run_leave_region_out(ds, None, {**PARAMS, "families": ["cnn"]}, progress=False)


def test_macro_f1_counts_predictions_of_other_classes() -> None:
    from sklearn.metrics import f1_score

    y, p = np.array([0, 0, 1, 1, 2]), np.array([0, 7, 1, 1, 0])
    labels = np.unique(y)
    want = f1_score(y, p, labels=labels, average="macro")
    assert bioclim._macro_f1_present(y, p, labels) == pytest.approx(want)
    # a class without reference points or predictions in a resample is skipped
    assert bioclim._macro_f1_present(y[:4], p[:4], labels) == pytest.approx(
        f1_score(y[:4], p[:4], labels=[0, 1], average="macro")
    )
