"""Tests for lulcbook.experiments.bioclim (the leave-region-out climate experiment)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from bioclim_helpers import PARAMS, REGIONS
from bioclim_helpers import bioclim_dataset as _dataset

from lulcbook import bioclim, legend, viz
from lulcbook import graphs as G
from lulcbook.experiments import bioclim as exp
from lulcbook.models.condnorm import N_BIO, ClimateScaler, ConditionalNorm


@pytest.fixture(scope="module")
def results() -> tuple[xr.Dataset, exp.BioclimResults]:
    torch.set_num_threads(1)
    ds = _dataset()
    graphs = G.build_graphs(ds, progress=False, segment_size=16)
    return ds, exp.run_leave_region_out(ds, graphs, PARAMS, progress=False)


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
    summary = exp.summarise(res.predictions, n_boot=10, seed=0)
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
    assert len(exp.region_table(summary)) == 6 * 5
    assert len(exp.gap_table(summary)) == 12
    assert len(exp.verdict(summary)) == 4
    assert list(exp.shuffle_table(summary)["model"]) == list(summary)
    fig = viz.interval_plot(exp.gap_table(summary), "model", "macro_f1", by="eval")
    assert len(fig) == 4  # error bars + points per group
    with pytest.raises(ValueError, match="'f1'"):
        viz.interval_plot(exp.gap_table(summary), "model", "f1")


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
        exp.run_leave_region_out(ds, None, {**PARAMS, "families": ["cnn"]}, progress=False)


def test_in_region_patches_are_clusters(results) -> None:
    """A validation patch scored by several folds is one cluster, never several points."""
    _, res = results
    summary = exp.summarise(res.predictions, n_boot=10, seed=0)
    for m in summary.values():
        assert m["n_in_scores"] == 3 * m["n_in_patches"]  # 3 training regions per patch
    mi = exp.seed_matrix(res.predictions, "gnn_no_climate", "in")
    est = exp.evaluate_set(mi, "in", "oa", 20, 0)
    assert est.n_clusters == np.unique(mi.sample).size < est.n_points


def test_notebook_tables_and_figures(results, tmp_path) -> None:
    ds, res = results
    viz.setup_plotting()
    ds = ds.assign(label_name=("sample", np.asarray(legend.KEYS)[ds["label"].values]))
    frame = exp.climate_frame(ds)
    n_valid = int(np.isfinite(ds["climate"].values).all(axis=1).sum())
    assert len(frame) == n_valid and list(frame.columns)[-2:] == ["region", "class"]
    scale = ds.attrs.get("climate_temperature_scale", 1.0)
    bio1 = ds["climate"].sel(bio="bio1").values
    np.testing.assert_allclose(frame["BIO1 (°C)"], bio1[np.isfinite(bio1)] / scale, rtol=1e-6)
    sizes = exp.model_sizes(PARAMS, {"gnn": 20, "cnn": 4}, 20)
    assert len(sizes) == len(PARAMS["families"]) * len(PARAMS["variants"])
    assert (sizes["parameters"] > 0).all()
    film = exp.film_tables(res, ds["climate"].values, [str(b) for b in ds["bio"].values])
    assert set(film) == set(res.film_models)
    fig = exp.film_figure(film, PARAMS["families"], scale)
    assert len(fig) == 2 * len(PARAMS["families"])  # γ vs BIO1 and β vs BIO12 per family
    for name, f in {"film": fig, "climate": exp.climate_figure(frame)}.items():
        assert viz.save_png(f, tmp_path / f"{name}.png").stat().st_size > 1000
