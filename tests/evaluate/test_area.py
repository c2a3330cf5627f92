"""Tests for lulcbook.evaluate.area: stratified area estimates (Olofsson et al. 2014)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from lulcbook import evaluate as ev

# Olofsson et al. (2014), section 5 / Table 8: rows = map, columns = reference
# (deforestation, forest gain, stable forest, stable non-forest); Landsat pixels of 0.09 ha
COUNTS = np.array([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]])
PIXELS = np.array([200_000, 150_000, 3_200_000, 6_450_000])


def test_stratified_area_olofsson_2014_example() -> None:
    est = ev.stratified_area_estimate(COUNTS, PIXELS * 0.09)
    total = 10_000_000 * 0.09  # ha
    w = [0.02, 0.015, 0.32, 0.645]
    n = [75, 75, 165, 325]
    # deforestation, by hand: p_.1 = sum_i W_i n_i1 / n_i.
    p1 = 0.02 * 66 / 75 + 0.015 * 0 / 75 + 0.32 * 1 / 165 + 0.645 * 2 / 325
    assert est.area[0] == pytest.approx(total * p1)
    assert est.area[0] == pytest.approx(21_158, abs=1)  # paper: 21,158 ha
    var1 = (
        0.02**2 * (66 / 75) * (9 / 75) / 74
        + 0
        + 0.32**2 * (1 / 165) * (164 / 165) / 164
        + 0.645**2 * (2 / 325) * (323 / 325) / 324
    )
    assert est["area_se"][0] == pytest.approx(total * math.sqrt(var1))
    assert 1.96 * est.area_se[0] == pytest.approx(6_158, abs=1)  # paper: ± 6,158 ha
    lo, hi = est.ci95("area")
    assert hi[0] - est.area[0] == pytest.approx(1.96 * est.area_se[0])
    # user's accuracy and its SE
    assert est.users_accuracy[0] == pytest.approx(66 / 75)
    assert est.users_accuracy_se[0] == pytest.approx(math.sqrt(0.88 * 0.12 / 74))
    # producer's accuracy = p_11 / p_.1
    assert est.producers_accuracy[0] == pytest.approx(0.02 * 66 / 75 / p1)
    # overall accuracy = sum_i W_i n_ii / n_i., V(O) = sum_i W_i^2 U_i (1 - U_i) / (n_i. - 1)
    oa = sum(w[i] * COUNTS[i, i] / n[i] for i in range(4))
    assert est.overall_accuracy == pytest.approx(oa)
    ua = [COUNTS[i, i] / n[i] for i in range(4)]
    var_oa = sum(w[i] ** 2 * ua[i] * (1 - ua[i]) / (n[i] - 1) for i in range(4))
    assert est["overall_accuracy_se"] == pytest.approx(math.sqrt(var_oa))
    # producer's accuracy SE of deforestation (Olofsson et al. 2014), with areas N_i in pixels
    n_hat = sum(PIXELS[i] * COUNTS[i, 0] / n[i] for i in range(4))
    pa = est.producers_accuracy[0]
    first = PIXELS[0] ** 2 * (1 - pa) ** 2 * ua[0] * (1 - ua[0]) / 74
    second = pa**2 * sum(
        PIXELS[i] ** 2 * (COUNTS[i, 0] / n[i]) * (1 - COUNTS[i, 0] / n[i]) / (n[i] - 1)
        for i in (1, 2, 3)
    )
    assert est.producers_accuracy_se[0] == pytest.approx(math.sqrt((first + second) / n_hat**2))
    # the rounded values published in the paper (95% CI half-widths)
    np.testing.assert_allclose(est.users_accuracy, [0.88, 0.73, 0.93, 0.96], atol=0.005)
    np.testing.assert_allclose(1.96 * est.users_accuracy_se, [0.07, 0.10, 0.04, 0.02], atol=0.005)
    np.testing.assert_allclose(est.producers_accuracy, [0.75, 0.85, 0.93, 0.96], atol=0.005)
    np.testing.assert_allclose(
        1.96 * est.producers_accuracy_se, [0.21, 0.25, 0.03, 0.02], atol=0.005
    )
    assert est.overall_accuracy == pytest.approx(0.95, abs=0.005)
    assert 1.96 * est.overall_accuracy_se == pytest.approx(0.02, abs=0.005)
    np.testing.assert_allclose(est.area, [21_158, 11_686, 285_770, 581_386], atol=1)
    # area proportions sum to one and areas to the total mapped area
    assert est.area.sum() == pytest.approx(total)


def test_stratified_area_perfect_map_equals_mapped_area() -> None:
    counts = np.diag([10, 20, 5])
    est = ev.stratified_area_estimate(counts, [100.0, 50.0, 25.0])
    np.testing.assert_allclose(est.area, [100, 50, 25])
    np.testing.assert_allclose(est.area_se, 0)
    assert est.overall_accuracy == 1.0 and est.overall_accuracy_se == 0.0
    d = est.to_dict(["a", "b", "c"])
    assert d["classes"]["b"]["area_ci95"] == [50.0, 50.0]


def test_stratified_area_degenerate_classes() -> None:
    # class 2 never mapped (area 0, no samples) and never observed
    counts = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for unmapped, unsampled classes
        est = ev.stratified_area_estimate(counts, [60.0, 40.0, 0.0])
    assert est.area[2] == 0.0 and est.area_se[2] == 0.0
    assert math.isnan(est.users_accuracy[2]) and math.isnan(est.producers_accuracy[2])
    assert est.area[0] == pytest.approx(100 * (0.6 * 0.8 + 0.4 * 0.1))
    assert np.isfinite(est.overall_accuracy_se)
    # class 1 mapped but never sampled: its composition is unknown -> NaN areas, warning
    counts2 = np.array([[8, 2], [0, 0]])
    with pytest.warns(RuntimeWarning, match=r"strata \[1\]"):
        est2 = ev.stratified_area_estimate(counts2, [60.0, 40.0])
    assert np.all(np.isnan(est2.area)) and math.isnan(est2.overall_accuracy)
    assert est2.users_accuracy[0] == pytest.approx(0.8) and math.isnan(est2.users_accuracy[1])
    # a single sample in a stratum: estimates exist, its variance does not
    est3 = ev.stratified_area_estimate(np.array([[5, 1], [0, 1]]), [50.0, 50.0])
    assert est3.area[1] == pytest.approx(100 * (0.5 * 1 / 6 + 0.5))
    assert math.isnan(est3.area_se[1]) and math.isnan(est3.users_accuracy_se[1])


def test_stratified_area_validation() -> None:
    with pytest.raises(ValueError, match="square"):
        ev.stratified_area_estimate(np.ones((2, 3)), [1, 1])
    with pytest.raises(ValueError, match="mapped_area has 3 values"):
        ev.stratified_area_estimate(np.ones((2, 2)), [1, 1, 1])
    with pytest.raises(ValueError, match="total mapped area is 0"):
        ev.stratified_area_estimate(np.ones((2, 2)), [0, 0])
    with pytest.raises(KeyError):
        ev.stratified_area_estimate(np.eye(2), [1, 1])["kappa"]


def test_stratified_random_sample_sizes() -> None:
    strata = np.array([0] * 50 + [1] * 3 + [4] * 20)
    idx = ev.stratified_random_sample(strata, 10, seed=1)
    counts = np.bincount(strata[idx], minlength=5)
    np.testing.assert_array_equal(counts, [10, 3, 0, 0, 10])  # small stratum taken whole
    assert len(np.unique(idx)) == len(idx)
    np.testing.assert_array_equal(idx, ev.stratified_random_sample(strata, 10, seed=1))


def test_sample_area_estimate_matches_census_on_average() -> None:
    rng = np.random.default_rng(0)
    ref = rng.choice(3, size=5000, p=[0.5, 0.3, 0.2])
    noisy = rng.random(5000) < 0.2  # a map that is wrong 20% of the time
    mapped = np.where(noisy, rng.choice(3, size=5000), ref)
    truth = np.bincount(ref, minlength=3) * 0.01
    covered = np.zeros(3)
    for seed in range(40):
        est, counts = ev.sample_area_estimate(mapped, ref, 3, 60, unit_area=0.01, seed=seed)
        assert counts.sum() == 180 and np.all(counts.sum(axis=1) == 60)
        lo, hi = est.ci95("area")
        covered += (lo <= truth) & (truth <= hi)
        np.testing.assert_allclose(est.mapped_area, np.bincount(mapped, minlength=3) * 0.01)
    assert np.all(covered / 40 >= 0.8)  # nominal 95%
