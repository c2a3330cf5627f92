"""Tests for lulcbook.experiments.baseline: the plain baseline against the shipped map model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lulcbook import legend, viz
from lulcbook.experiments import baseline as B


def test_gradient_boosting_classes_are_held_out_and_follow_the_inputs() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 2, 4], 40)
    x = rng.normal(size=(120, 3)) * 0.05 + y[:, None]  # separable by any column
    folds = np.tile([0, 1, 2], 40)
    far = x.copy()
    far[:, :] = 4.0  # every point looks like class 4
    out = B.gradient_boosting_classes({"annual": x, "far": far}, y, folds, [0, 1])
    assert out["annual"].shape == (2, 120)
    assert (out["annual"] == y).mean() > 0.95  # learnt from the other folds
    assert (out["far"] == 4).all()
    # a fold whose every class is missing from training cannot be predicted from it
    one = np.where(y == 0, 0, 1)
    held = B.gradient_boosting_classes({"annual": x}, y, one, [0])["annual"][0]
    assert not (held[y == 0] == 0).any()
    clim = np.where(rng.random((120, 2)) < 0.3, np.nan, rng.normal(size=(120, 2)))
    with_climate = B.gradient_boosting_classes({"annual": x}, y, folds, [0], climate=clim)
    assert (with_climate["annual"] == y).mean() > 0.95  # missing climate values are allowed
    seasons = np.full((120, 4), 500.0)
    bands = ("B02", "B04", "B08")
    aug = B.gradient_boosting_classes({"annual": x}, y, folds, [0, 1], clim, (bands, seasons, 2))
    again = B.gradient_boosting_classes({"annual": x}, y, folds, [0, 1], clim, (bands, seasons, 2))
    assert np.array_equal(aug["annual"], again["annual"])  # the copies are drawn from the seed
    assert aug["annual"].shape == (2, 120)


def test_baseline_comparison_on_real_points(
    lucas: pd.DataFrame, climate: np.ndarray, spectral_params: dict, tmp_path: Path
) -> None:
    r = B.baseline_comparison(lucas, climate, spectral_params, n_boot=40, seeds=2, n_folds=3)
    assert r["simulated"] is True and r["seeds"] == [0, 1] and r["n_folds"] == 3
    assert r["band_set"] == "s2-9" and 0 < r["n_points"] <= len(lucas)
    assert list(r["oa"]) == list(B.STATES) and set(r["flips"]) == set(B.MODELS)
    for s in B.STATES:
        for m in B.MODELS:
            e = r["oa"][s][m]
            assert 1 / legend.N_CLASSES * 0.5 < e["estimate"] <= 1
            assert e["ci95"][0] <= e["estimate"] <= e["ci95"][1]
        assert list(r["difference"][s]) == list(B.BASELINES)
        for m, d in r["difference"][s].items():
            # the difference is of the same resamples: its estimate is the difference of OAs
            want = r["oa"][s][B.SHIPPED]["estimate"] - r["oa"][s][m]["estimate"]
            assert d["estimate"] == pytest.approx(want)
            assert d["ci95"][0] <= d["estimate"] <= d["ci95"][1]
    table = B.baseline_table(r)
    assert list(table.columns) == list(B.MODELS) and list(table.index) == list(B.STATES)
    text = B.baseline_sentence(r)
    assert text.startswith("On held-out LUCAS points (200 km blocks, 2 seeds, s2-9)")
    assert "SIMULATED" in text and f"{r['flips'][B.GB]['estimate']:.1%}" in text
    assert viz.save_png(B.baseline_figure(r), tmp_path / "b.png").stat().st_size > 0


def test_baseline_comparison_refuses_what_it_cannot_use(
    lucas: pd.DataFrame, climate: np.ndarray, spectral_params: dict
) -> None:
    with pytest.raises(ValueError, match="1200 LUCAS points but 10 climate rows"):
        B.baseline_comparison(lucas, climate[:10], spectral_params, n_boot=5)
    no_ndvi = lucas.assign(ndvi_p5=np.nan)
    with pytest.raises(ValueError, match="no LUCAS point has every NDVI percentile"):
        B.baseline_comparison(no_ndvi, climate, spectral_params, n_boot=5)
