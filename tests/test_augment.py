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
    climate = rng.normal(size=(80, 2))
    feats = np.concatenate([climate @ rng.normal(size=(2, 4)), rng.normal(0, 0.01, (80, 2))], 1)
    reg, r2 = A.fit_climate_regressor(feats, climate, max_iter=100)
    assert len(r2) == 2 and min(r2) > 0.7
    src, tgt = np.arange(40), np.arange(40, 80)
    full = A.faithfulness(reg, feats[src], feats[tgt], climate[src], climate[tgt])
    none = A.faithfulness(reg, feats[src], feats[src], climate[src], climate[tgt])
    assert full["frac_closer"] > 0.8 and full["shift_gain"] > 0.6
    assert full["dist_edited_to_target"] < 0.5 * full["dist_source_to_target"]
    assert none["frac_closer"] == 0.0 and none["shift_gain"] == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match="NaN"):
        A.fit_climate_regressor(feats, np.where(climate > 2, np.nan, climate))


def test_blocked_cv_r2_is_lower_when_blocks_carry_the_signal() -> None:
    rng = np.random.default_rng(1)
    blocks = np.repeat(np.arange(10), 20)
    offset = rng.normal(size=10)[blocks]  # climate is a per-block constant...
    feats = np.c_[blocks + rng.normal(0, 0.01, 200), rng.normal(size=200)]  # ...the block id leaks
    climate = offset[:, None] + rng.normal(0, 0.1, (200, 1))
    _, r2_random = A.fit_climate_regressor(feats, climate, max_iter=50)
    _, r2_blocked = A.fit_climate_regressor(feats, climate, groups=blocks, max_iter=50)
    assert r2_random[0] > 0.8 and r2_blocked[0] < 0.3


def test_climate_swap_targets_use_other_regions_with_valid_climate() -> None:
    regions = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 4)
    valid = np.array([True] * 4 + [True, False, True, False] + [False] * 4)
    src, tgt = A.climate_swap_targets(regions, valid, np.arange(4), n_per_source=3, seed=0)
    assert len(src) == len(tgt) == 12
    assert np.all(regions[tgt] == "b") and np.all(valid[tgt])
    assert np.array_equal(src, np.repeat(np.arange(4), 3))
    with pytest.raises(ValueError, match="No region other than"):
        A.climate_swap_targets(regions, valid & (regions == "a"), np.arange(4))


def test_kid_subsets_and_realism_keys() -> None:
    real, same, shifted = patches(60, 0), patches(60, 1), patches(60, 2, shift=0.15)
    fr, fs, fsh = (A.patch_features(p, BANDS) for p in (real, same, shifted))
    m_same, s_same = A.kid_subsets(fs, fr, n_subsets=20, subset_size=30)
    m_shift, _ = A.kid_subsets(fsh, fr, n_subsets=20, subset_size=30)
    assert s_same > 0 and m_shift > m_same + 3 * s_same
    r = A.realism(shifted, real, BANDS)
    assert {"wasserstein_mean", "ks_mean", "kid", "kid_std", "per_band"} <= set(r)
    assert r["kid"] > 0


def smooth_patches(n: int, seed: int, size: int = 16) -> np.ndarray:
    """Spatially correlated patches: white noise blurred by a 5x5 box filter."""
    from scipy.ndimage import uniform_filter

    x = np.random.default_rng(seed).uniform(0, 0.3, (n, 4, size, size))
    return uniform_filter(x, size=(1, 1, 5, 5), mode="wrap").astype("float32")


def test_power_spectrum_and_texture_tell_smooth_from_white_noise() -> None:
    white = np.random.default_rng(0).uniform(0, 0.3, (10, 4, 16, 16)).astype("float32")
    smooth = smooth_patches(10, 0)
    sw, ss = A.radial_power_spectrum(white, 4), A.radial_power_spectrum(smooth, 4)
    assert sw.shape == (10, 4, 4)
    assert np.all(np.diff(ss.mean((0, 1))) < 0), "smooth patches lose power at high frequency"
    assert abs(sw.mean((0, 1))[-1] - sw.mean((0, 1))[0]) < 0.5, "white noise is flat"
    tw, ts = A.texture_features(white), A.texture_features(smooth)
    assert tw.shape == (10, 12)
    assert np.all(ts[:, 2::3] > 0.5) and np.all(np.abs(tw[:, 2::3]) < 0.3)  # autocorrelation
    assert A.spectrum_distance(smooth, white, BANDS)["B02"] > 0.3
    assert A.spectrum_distance(smooth, smooth_patches(10, 1), BANDS)["B02"] < 0.2
    with pytest.raises(ValueError, match="too small"):
        A.radial_power_spectrum(white[:, :, :4, :4], 4)


def test_detector_auc_separates_texture_but_not_same_distribution() -> None:
    def feats(a: np.ndarray) -> np.ndarray:
        return A.realism_features(a, BANDS, n_bins=4)

    real, real2 = smooth_patches(40, 0), smooth_patches(40, 1)
    white = np.random.default_rng(2).uniform(0, 0.3, (40, 4, 16, 16)).astype("float32")
    white = white * real.std() / white.std() + real.mean() - white.mean()  # same pixel moments
    fake = A.detector_auc(real, white, feats, n_boot=200)
    same = A.detector_auc(real, real2, feats, n_boot=200)
    assert fake["auc"] > 0.95 and fake["auc_ci95"][0] > 0.9
    assert same["auc_ci95"][0] < 0.5 < same["auc_ci95"][1] or abs(same["auc"] - 0.5) < 0.2
    assert same["n_real"] == 40 and same["n_other"] == 40
    with pytest.raises(ValueError, match="needs >= 5"):
        A.detector_auc(real[:3], white, feats)


def test_band_means_ndvi_and_label_agreement() -> None:
    x = np.full((2, 4, 4, 4), 0.1, dtype="float32")
    x[:, 3] = 0.3
    m = A.band_means(x, BANDS)
    assert m.shape == (2, 5) and m[0, 4] == pytest.approx(0.2 / 0.4)
    assert A.band_means(x[:, :2], BANDS[:2]).shape == (2, 2)
    assert A.label_agreement(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4])) == 0.75
    with pytest.raises(ValueError, match="equal-length"):
        A.label_agreement(np.array([1]), np.array([1, 2]))
