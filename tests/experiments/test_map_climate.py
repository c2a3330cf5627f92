"""Tests for lulcbook.experiments.map_climate: the climate vector as a map-model input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lulcbook import legend, viz
from lulcbook.experiments import map_climate as MC
from lulcbook.experiments import within_year as WY
from lulcbook.sources import sample


def test_points_climate_reads_worldclim_at_the_points(climate: np.ndarray, lucas) -> None:
    assert climate.shape == (len(lucas), 19)
    assert np.isfinite(climate).all(axis=1).mean() > 0.99
    # BIO5 (warmest month max) is above BIO6 (coldest month min) everywhere
    ok = np.isfinite(climate).all(axis=1)
    assert (climate[ok, 4] > climate[ok, 5]).all()
    assert -5 < np.nanmedian(climate[:, 0]) < 20  # BIO1, mean annual temperature (°C), Europe


def test_out_of_fold_classes_hold_out_each_fold_and_pass_climate_to_one_variant(
    lucas: pd.DataFrame, climate: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int, bool]] = []

    class Memo:
        def __init__(self, n_train: int) -> None:
            self.n_train = n_train

        def predict_vectors(self, refl: np.ndarray, climate: Any = None) -> np.ndarray:
            p = np.zeros((len(refl), legend.N_CLASSES))
            p[:, (self.n_train + (climate is not None)) % legend.N_CLASSES] = 1.0
            return p

    def fake_train(arrays: Any, band_set: str, variant: str, sp: Any, seed: int,
                   climate: Any = None) -> Memo:  # fmt: skip
        assert variant == "augmented"
        calls.append((band_set, len(arrays[1]), climate is not None))
        if climate is not None:
            assert len(climate) == len(arrays[1])
        return Memo(len(arrays[1]))

    monkeypatch.setattr(WY, "train_map_model", fake_train)
    folds = np.arange(len(lucas)) % 3
    out = WY.out_of_fold_classes(lucas, {"seed": 0}, folds, [4, 5], band_sets=MC.BAND_SETS_COMPARED,
                                 states=MC.STATES, variants=MC._variants(climate))  # fmt: skip
    assert set(out) == {(b, v) for b in MC.BAND_SETS_COMPARED for v in MC.VARIANTS}
    assert len(calls) == len(MC.BAND_SETS_COMPARED) * len(MC.VARIANTS) * 2 * 3
    assert sum(c for *_, c in calls) == len(calls) // 2
    sizes = {f: int((folds != f).sum()) for f in range(3)}
    for (_, v), by_state in out.items():
        assert set(by_state) == set(MC.STATES)
        for f in range(3):
            want = (sizes[f] + (v == MC.VARIANTS[1])) % legend.N_CLASSES
            assert (by_state["p75"][:, folds == f] == want).all()


def test_accuracy_comparison_pairs_the_replicates() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, legend.N_CLASSES, 600)
    blocks = np.repeat(np.arange(30), 20)
    good = np.where(rng.random((2, 600)) < 0.8, y, (y + 1) % legend.N_CLASSES)
    poor = np.where(rng.random((2, 600)) < 0.6, y, (y + 1) % legend.N_CLASSES)
    r = MC.accuracy_comparison(y, {MC.VARIANTS[0]: poor, MC.VARIANTS[1]: good}, blocks, 300)
    oa = r["oa"]
    assert oa[MC.VARIANTS[0]]["estimate"] == pytest.approx((poor == y).mean())
    assert oa[MC.VARIANTS[1]]["estimate"] == pytest.approx((good == y).mean())
    d = oa["difference"]
    assert d["estimate"] == pytest.approx((good == y).mean() - (poor == y).mean())
    assert 0 < d["ci95"][0] <= d["estimate"] <= d["ci95"][1]
    same = MC.accuracy_comparison(y, {MC.VARIANTS[0]: good, MC.VARIANTS[1]: good}, blocks, 50)
    assert same["macro_f1"]["difference"]["ci95"] == [0.0, 0.0]


def test_climate_comparison_on_real_points(
    lucas: pd.DataFrame, climate: np.ndarray, spectral_params: dict, tmp_path: Path
) -> None:
    r = MC.climate_comparison(
        lucas, climate, spectral_params, (-3.5, 50.7), n_boot=50, seeds=2, n_folds=3
    )
    assert r["seeds"] == [0, 1] and r["n_folds"] == 3 and r["n_points"] <= len(lucas)
    assert list(r["band_sets"]) == list(MC.BAND_SETS_COMPARED)
    for res in r["band_sets"].values():
        for metric in ("oa", "macro_f1"):
            for v in MC.VARIANTS:
                e = res[metric][v]
                assert 0.0 <= e["ci95"][0] <= e["estimate"] <= e["ci95"][1] <= 1.0
            d = res[metric]["difference"]
            diff = res[metric][MC.VARIANTS[1]]["estimate"] - res[metric][MC.VARIANTS[0]]["estimate"]
            assert d["estimate"] == pytest.approx(diff)
        assert set(res["within_year"]) == set(MC.VARIANTS)
    table = MC.comparison_table(r)
    assert len(table) == 3 * len(MC.BAND_SETS_COMPARED)
    assert "climate − spectra" in set(table["model"])
    text = MC.comparison_sentence(r)
    assert text.startswith("Map model with the WorldClim BIO1-19 input: s2-4: climate input")
    oa4 = r["band_sets"]["s2-4"]["oa"]["difference"]["estimate"]
    assert f"difference {oa4:.3f}" in text
    viz.save_png(MC.comparison_figure(r), tmp_path / "climate.png")
    assert (tmp_path / "climate.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="climate rows"):
        MC.climate_comparison(lucas, climate[:10], spectral_params, (0, 50), n_boot=10)
    one_block = lucas.assign(x_laea=4_000_000.0, y_laea=3_000_000.0)
    with pytest.raises(ValueError, match="one 200 km block"):
        MC.climate_comparison(one_block, climate, spectral_params, (0, 50), n_boot=10)


def test_scene_change_maps_both_dates_with_and_without_climate(
    lucas: pd.DataFrame, climate: np.ndarray, spectral_params: dict, sample_dir: Path
) -> None:
    scenes = [d.isel(x=slice(0, 48), y=slice(0, 48)) for d in sample.read_exeter_s2(sample_dir)]
    vec = np.nanmean(climate, axis=0)
    r = MC.scene_change(lucas, climate, scenes, (0, 2), vec, spectral_params, seeds=2)
    assert r["seeds"] == [0, 1] and r["pair"] == "2024-06-02→2024-08-01"
    for v in MC.VARIANTS:
        assert len(r["changed_share"][v]) == 2
        assert 0.0 <= r["mean"][v] <= 1.0
        assert r["mean"][v] == pytest.approx(np.mean(r["changed_share"][v]))
    res = {"band_sets": {}}
    assert "Exeter 2024-06-02→2024-08-01 change" in MC.comparison_sentence(res, r)


def test_band_set_sentence_adds_the_scene_to_the_four_band_line() -> None:
    est = {"estimate": 0.5, "ci95": [0.4, 0.6]}
    by = {"oa": {"spectra": est, "spectra + climate": est, "difference": est},
          "macro_f1": {"difference": est},
          "within_year": {v: {"all": est} for v in MC.VARIANTS}}  # fmt: skip
    result = {"band_sets": {"s2-4": by, "s2-9": by}, "block_km": 200.0, "seeds": [0, 1]}
    scene = {"pair": "a→b", "seeds": [0, 1], "mean": {"spectra": 0.187, "spectra + climate": 0.222}}
    four = MC.band_set_sentence(result, "s2-4", scene)
    assert four.startswith("s2-4: climate input raises held-out overall accuracy (0.500")
    assert four.endswith("Exeter a→b change (four bands, mean of 2 seeds) 18.7% → 22.2%")
    assert "Exeter" not in MC.band_set_sentence(result, "s2-9", scene)
    assert MC.comparison_sentence(result, scene).count("Exeter") == 1


def test_training_points_leave_the_fold_out_and_subsample_with_a_seed() -> None:
    held_out = np.arange(100) % 4 == 0
    every = WY.training_points(held_out, None, 0)
    assert every.tolist() == np.flatnonzero(~held_out).tolist()
    assert WY.training_points(held_out, 500, 0).tolist() == every.tolist()
    sub = WY.training_points(held_out, 30, 3)
    assert len(sub) == 30 and len(set(sub.tolist())) == 30
    assert not held_out[sub].any()
    assert sub.tolist() == WY.training_points(held_out, 30, 3).tolist()
    assert sub.tolist() != WY.training_points(held_out, 30, 4).tolist()


def test_out_of_fold_classes_subsample_and_never_train_on_the_held_out_fold(
    lucas: pd.DataFrame, climate: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []

    class Memo:
        def __init__(self, refl: np.ndarray) -> None:
            self.rows = {r.tobytes() for r in refl}

        def predict_vectors(self, refl: np.ndarray, climate: Any = None) -> np.ndarray:
            p = np.zeros((len(refl), legend.N_CLASSES))
            p[np.arange(len(refl)), [int(r.tobytes() in self.rows) for r in refl]] = 1.0
            return p

    def fake_train(arrays: Any, band_set: str, variant: str, sp: Any, seed: int,
                   climate: Any = None) -> Memo:  # fmt: skip
        sizes.append(len(arrays[1]))
        return Memo(arrays[0])

    monkeypatch.setattr(WY, "train_map_model", fake_train)
    folds = np.asarray(lucas["x_laea"] > lucas["x_laea"].median(), np.int64)
    out = WY.out_of_fold_classes(lucas, {"seed": 0}, folds, [0, 1], band_sets=("s2-9",),
                                 states=("annual",), variants=MC._variants(climate),
                                 n_train=200)  # fmt: skip
    assert set(out) == {("s2-9", v) for v in MC.VARIANTS}
    assert sizes == [200] * (len(MC.VARIANTS) * 2 * 2)
    for by_state in out.values():
        assert set(by_state) == {"annual"}
        assert (by_state["annual"] == 0).all()  # no held-out row was among the training rows


def test_climate_transfer_on_real_points(
    lucas: pd.DataFrame, climate: np.ndarray, spectral_params: dict, tmp_path: Path
) -> None:
    r = MC.climate_transfer(lucas, climate, spectral_params, n_boot=50, n_groups=3, seeds=2,
                            n_train=400, n_folds=3)  # fmt: skip
    assert r["band_set"] == "s2-9" and r["seeds"] == [0, 1] and r["n_train"] == 400
    assert r["n_points"] == int(np.isfinite(climate).all(axis=1).sum())
    assert list(r["kinds"]) == list(MC.TRANSFER_KINDS)
    for res in r["kinds"].values():
        for metric in ("oa", "macro_f1"):
            for v in MC.VARIANTS:
                for part in ("in", "out"):
                    e = res[metric][v][part]
                    assert 0.0 <= e["ci95"][0] <= e["estimate"] <= e["ci95"][1] <= 1.0
                gap = res[metric][v]["in"]["estimate"] - res[metric][v]["out"]["estimate"]
                assert res[metric][v]["gap"]["estimate"] == pytest.approx(gap)
            d = res[metric]["difference"]["out"]
            want = res[metric][MC.VARIANTS[1]]["out"]["estimate"] - res[metric][MC.VARIANTS[0]]["out"]["estimate"]  # fmt: skip
            assert d["estimate"] == pytest.approx(want)
            assert d["ci95"][0] <= d["estimate"] <= d["ci95"][1]
        groups = res["groups"]
        assert [g["group"] for g in groups] == [0, 1, 2]
        assert sum(g["n_points"] for g in groups) == r["n_points"]
    zones = r["kinds"]["zone"]["groups"]
    assert zones[0]["bio1_mean"] < zones[1]["bio1_mean"] < zones[2]["bio1_mean"]  # cold → warm
    table = MC.transfer_table(r)
    assert len(table) == 3 * len(MC.TRANSFER_KINDS)
    assert "climate − spectra" in set(table["model"])
    text = MC.transfer_sentence(r)
    assert text.startswith(
        "Nine-band map model, 400 training points per fit, 2 seeds: zones left out"
    )
    oa = r["kinds"]["region"]["oa"]["difference"]["out"]["estimate"]
    assert f"difference {oa:.3f}" in text
    frame = MC.transfer_group_frame(r)
    assert len(frame) == 2 * 3 * len(MC.VARIANTS)
    viz.save_png(MC.transfer_figure(r), tmp_path / "transfer.png")
    assert (tmp_path / "transfer.png").stat().st_size > 1000


def test_climate_transfer_refuses_what_it_cannot_split(
    lucas: pd.DataFrame, climate: np.ndarray, spectral_params: dict
) -> None:
    with pytest.raises(ValueError, match="climate rows"):
        MC.climate_transfer(lucas, climate[:10], spectral_params, n_boot=10)
    with pytest.raises(ValueError, match="n_groups must be at least 2"):
        MC.climate_transfer(lucas, climate, spectral_params, n_boot=10, n_groups=1)
    empty = np.full_like(climate, np.nan)
    empty[:2] = climate[:2]
    with pytest.raises(ValueError, match="2 of 1200 points have all of BIO1-19"):
        MC.climate_transfer(lucas, empty, spectral_params, n_boot=10, n_groups=3)
