"""Tests for climate-swap augmentation and the realism/faithfulness measures."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook import augment as A

BANDS = ["B02", "B03", "B04", "B08"]


def patches(n: int = 20, seed: int = 0, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.uniform(0.02, 0.3, (n, 4, 8, 8)) + shift, 0, 1).astype("float32")


def test_patch_features_shape_names_and_values() -> None:
    x = np.full((3, 4, 8, 8), 0.2, dtype="float32")
    x[:, 3] = 0.6
    f = A.patch_features(x, BANDS)
    names = A.feature_names(BANDS)
    assert f.shape == (3, len(names)) and len(names) == 4 * 5 + 2
    assert f[0, names.index("B02_mean")] == pytest.approx(0.2)
    assert f[0, names.index("B02_std")] == pytest.approx(0.0, abs=1e-7)
    assert f[0, names.index("ndvi_mean")] == pytest.approx((0.6 - 0.2) / 0.8)
    with pytest.raises(ValueError, match="B02"):
        A.patch_features(x[:, :3], BANDS)


def test_colour_jitter_bounded_and_seeded() -> None:
    x = patches()
    a, b = A.colour_jitter(x, 0.1, 0.01, seed=1), A.colour_jitter(x, 0.1, 0.01, seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, x)
    assert a.min() >= 0 and a.max() <= 1
    assert np.abs(a - x).max() <= 0.1 * x.max() + 0.01 + 1e-6


def test_band_distances_and_kid_separate_shifted_sets() -> None:
    real, same, shifted = patches(40, 0), patches(40, 1), patches(40, 2, shift=0.15)
    d_same = A.band_distances(same, real, BANDS)
    d_shift = A.band_distances(shifted, real, BANDS)
    assert set(d_same) == set(BANDS)
    assert all(d_shift[b]["wasserstein"] > 5 * d_same[b]["wasserstein"] for b in BANDS)
    assert d_shift["B02"]["ks"] > 0.5
    fr, fs, fsh = (A.patch_features(p, BANDS) for p in (real, same, shifted))
    assert A.kernel_distance(fsh, fr) > 10 * abs(A.kernel_distance(fs, fr))
    assert A.band_distances(real, real, BANDS)["B03"]["wasserstein"] == 0.0
    with pytest.raises(ValueError, match="KID"):
        A.kernel_distance(fr[:1], fr)


def test_faithfulness_detects_moves_toward_target() -> None:
    rng = np.random.default_rng(0)
    climate = rng.normal(size=(60, 3))
    feats = np.concatenate([climate @ rng.normal(size=(3, 6)), rng.normal(0, 0.01, (60, 2))], 1)
    reg, r2 = A.fit_climate_regressor(feats, climate)
    assert r2 > 0.95
    src, tgt = np.arange(30), np.arange(30, 60)
    full = A.faithfulness(reg, feats[src], feats[tgt], climate[src], climate[tgt])
    none = A.faithfulness(reg, feats[src], feats[src], climate[src], climate[tgt])
    assert full["frac_closer"] == 1.0 and full["shift_gain"] == pytest.approx(1, abs=0.1)
    assert full["dist_edited_to_target"] < 0.2 * full["dist_source_to_target"]
    assert none["frac_closer"] == 0.0 and none["shift_gain"] == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match="NaN"):
        A.fit_climate_regressor(feats, np.where(climate > 2, np.nan, climate))


def test_climate_swap_targets_use_other_regions_with_valid_climate() -> None:
    regions = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 4)
    valid = np.array([True] * 4 + [True, False, True, False] + [False] * 4)
    src, tgt = A.climate_swap_targets(regions, valid, np.arange(4), n_per_source=3, seed=0)
    assert len(src) == len(tgt) == 12
    assert np.all(regions[tgt] == "b") and np.all(valid[tgt])
    assert np.array_equal(src, np.repeat(np.arange(4), 3))
    with pytest.raises(ValueError, match="No region other than"):
        A.climate_swap_targets(regions, valid & (regions == "a"), np.arange(4))


def test_paired_bootstrap_perfect_and_baseline() -> None:
    y = np.array([0, 1, 2] * 10)
    wrong = np.roll(y, 1)
    res = A.paired_bootstrap(y, {"base": wrong, "good": y}, "base", [0, 1, 2], n_boot=200)
    assert res["good"]["macro_f1"] == 1.0 and res["good"]["macro_f1_ci95"] == [1.0, 1.0]
    assert res["base"]["delta_macro_f1_ci95"] == [0.0, 0.0]
    lo, hi = res["good"]["delta_macro_f1_ci95"]
    assert 0 < lo <= res["good"]["delta_macro_f1"] <= hi
    with pytest.raises(KeyError, match="nope"):
        A.paired_bootstrap(y, {"base": y}, "nope", [0, 1, 2])


def test_augmentation_experiment_reports_every_variant() -> None:
    x0, x1 = patches(20, 0), patches(20, 1, shift=0.3)
    x = np.concatenate([x0, x1])
    y = np.repeat([0, 1], 20)
    extras = {"real_only": None, "jitter": (A.colour_jitter(x, seed=2), y)}
    res = A.augmentation_experiment(
        (x, y), extras, (x, y), BANDS, [0, 1], baseline="real_only", n_estimators=20, n_boot=50
    )
    assert set(res) == {"real_only", "jitter"}
    assert res["real_only"]["n_train"] == 40 and res["jitter"]["n_train"] == 80
    assert res["real_only"]["macro_f1"] == 1.0 and res["real_only"]["oa"] == 1.0


def test_kid_subsets_and_realism_keys() -> None:
    real, same, shifted = patches(60, 0), patches(60, 1), patches(60, 2, shift=0.15)
    fr, fs, fsh = (A.patch_features(p, BANDS) for p in (real, same, shifted))
    m_same, s_same = A.kid_subsets(fs, fr, n_subsets=20, subset_size=30)
    m_shift, _ = A.kid_subsets(fsh, fr, n_subsets=20, subset_size=30)
    assert s_same > 0 and m_shift > m_same + 3 * s_same
    r = A.realism(shifted, real, BANDS)
    assert {"wasserstein_mean", "ks_mean", "kid", "kid_std", "per_band"} <= set(r)
    assert r["kid"] > 0
