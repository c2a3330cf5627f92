import numpy as np
import pytest

from lulcbook import legend, temporal

K = legend.N_CLASSES


def _proba(cls: np.ndarray, conf: float) -> np.ndarray:
    """(time, K, y, x) probabilities: ``conf`` on the class, the rest spread evenly."""
    t, h, w = cls.shape
    out = np.full((t, K, h, w), (1 - conf) / (K - 1), dtype=np.float32)
    for i in range(K):
        out[:, i][cls == i] = conf
    return out


def test_periods() -> None:
    assert temporal.period_of("2024-06-02T11:21:19Z", "month") == "2024-06"
    assert temporal.period_of("2023-12-20", "season") == "2024-DJF"
    assert temporal.period_of("2024-07-01", "season") == "2024-JJA"
    assert temporal.period_of("2024-07-01", "year") == "2024"
    assert temporal.group_periods(["2024-06-02", "2024-06-17", "2024-08-01"], "month") == {
        "2024-06": [0, 1],
        "2024-08": [2],
    }
    assert list(temporal.day_of_year(["2024-01-01", "2024-12-31"])) == [1, 366]
    with pytest.raises(ValueError, match="Unknown period 'week'"):
        temporal.period_of("2024-01-01", "week")
    with pytest.raises(ValueError, match="not in time order"):
        temporal.group_periods(["2024-06-02", "2024-01-01"], "month")
    with pytest.raises(ValueError, match="not an ISO date"):
        temporal.parse_date("June 2024")


def test_period_probabilities_skip_masked_dates() -> None:
    cls = np.array([[[1]], [[2]], [[2]]])
    p = _proba(cls, 0.9)
    p[1] = np.nan  # cloudy
    labels, pp, n = temporal.period_probabilities(
        p, ["2024-06-01", "2024-06-15", "2024-08-01"], "month"
    )
    assert labels == ["2024-06", "2024-08"]
    assert n[:, 0, 0].tolist() == [1, 1]
    assert pp[0, 1, 0, 0] == pytest.approx(0.9)  # only the clear June date
    assert temporal.raw_classes(pp)[:, 0, 0].tolist() == [1, 2]


def test_rule_removes_flicker_but_keeps_confident_change() -> None:
    dates = ["2020-06-01", "2021-06-01", "2022-06-01", "2023-06-01"]
    # pixel 0: one weak date of another class (noise); pixel 1: a lasting confident change
    cls = np.array([[[1, 1]], [[4, 1]], [[1, 2]], [[1, 2]]])
    p = _proba(cls, 0.6)
    p[:, :, 0, 1] = _proba(cls[:, :, 1:], 0.99)[:, :, 0, 0]
    labels, log_e, n = temporal.period_log_evidence(p, dates, "year")
    raw = temporal.raw_classes(temporal.period_probabilities(p, dates, "year")[1])
    smooth = temporal.viterbi_smooth(log_e, n, change_prior=0.01)
    assert raw[:, 0, 0].tolist() == [1, 4, 1, 1]  # the raw maps flicker
    assert smooth[:, 0, 0].tolist() == [1, 1, 1, 1]  # the rule keeps the class
    assert smooth[:, 0, 1].tolist() == [1, 1, 2, 2]  # ...and the confident change
    change = temporal.change_layer(smooth)
    assert change.tolist() == [[0, 2]]
    # a larger prior of change lets the weak date through
    assert temporal.viterbi_smooth(log_e, n, change_prior=0.9)[:, 0, 0].tolist() == [1, 4, 1, 1]


def test_viterbi_without_observations_and_bad_prior() -> None:
    p = _proba(np.array([[[3, 3]], [[3, 3]]]), 0.8)
    p[:, :, 0, 1] = np.nan
    p[1, :, 0, 0] = np.nan
    _, log_e, n = temporal.period_log_evidence(p, ["2020-01-01", "2021-01-01"], "year")
    sm = temporal.viterbi_smooth(log_e, n)
    assert sm[:, 0, 0].tolist() == [3, 3]  # the unobserved period is inferred
    assert sm[:, 0, 1].tolist() == [legend.NODATA] * 2
    assert temporal.change_layer(sm).tolist() == [[0, legend.NODATA]]
    with pytest.raises(ValueError, match="change_prior must lie in"):
        temporal.viterbi_smooth(log_e, n, change_prior=1.0)


def test_check_sticky_bounds_the_prior_by_the_number_of_classes() -> None:
    """Below (K − 1)/K staying is the likeliest transition; the product default is such a prior."""
    temporal.check_sticky(temporal.SERIES_CHANGE_PRIOR, len(legend.KEYS))
    temporal.check_sticky(0.74, 4)
    for prior, k in ((0.75, 4), (0.85, 5), (0.0, 8), (-0.1, 8)):
        with pytest.raises(ValueError, match=f"for a model of {k} classes"):
            temporal.check_sticky(prior, k)
    # at the bound the transitions are uniform: the rule is the per-period argmax
    m = np.exp(temporal.transition_log_matrix(4, 0.75))
    assert np.allclose(m, 0.25)


def test_change_share_with_block_interval() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, (100, 100)).astype(np.uint8)
    b = a.copy()
    b[:50, :20] = (b[:50, :20] + 1) % 3  # 10 % changed, all in a few blocks
    b[99, 99] = legend.NODATA
    r = temporal.change_share(a, b, block=10, n_boot=200)
    assert r["changed_share"] == pytest.approx(1000 / 9999)
    lo, hi = r["ci95"]
    assert lo < r["changed_share"] < hi and hi - lo > 0.02  # clustered: a wide interval
    assert r["n_blocks"] == 100
    with pytest.raises(ValueError, match="differ in shape"):
        temporal.change_share(a, b[:5])


def test_changed_pixels_are_within_the_pixels_valid_on_both() -> None:
    a = np.array([[0, 1], [2, legend.NODATA]], dtype=np.uint8)
    b = np.array([[0, 2], [legend.NODATA, 1]], dtype=np.uint8)
    valid, changed = temporal.changed_pixels(a, b)
    np.testing.assert_array_equal(valid, [[True, True], [False, False]])
    np.testing.assert_array_equal(changed, [[False, True], [False, False]])
    with pytest.raises(ValueError, match="cannot be compared"):
        temporal.changed_pixels(a, b[:1])


def test_block_bootstrap_ci() -> None:
    per = np.array([[10, 1], [10, 1], [10, 1]], dtype=float)
    lo, hi = temporal.block_bootstrap_ci(per, lambda s: s[1] / s[0], n_boot=50)
    assert lo == pytest.approx(0.1) and hi == pytest.approx(0.1)
    assert temporal.block_ids((3, 5), 2).tolist() == [
        [0, 0, 1, 1, 2],
        [0, 0, 1, 1, 2],
        [3, 3, 4, 4, 5],
    ]


def test_change_share_difference_is_paired_over_blocks() -> None:
    rng = np.random.default_rng(3)
    before = rng.integers(0, 8, (50, 50)).astype(np.uint8)
    after_a, after_b = before.copy(), before.copy()
    after_a[:10] = (after_a[:10] + 1) % 8  # 20 % of the pixels change one way
    after_b[:5] = (after_b[:5] + 1) % 8  # 10 % the other
    after_b[-1, -1] = legend.NODATA  # one pixel masked on the second way
    d = temporal.change_share_difference((before, after_a), (before, after_b), 10, 200)
    assert d["difference"] == pytest.approx(0.2 - 250 / 2499, abs=1e-3)
    lo, hi = d["ci95"]
    assert 0 < lo <= d["difference"] <= hi
    same = temporal.change_share_difference((before, after_a), (before, after_a), 10, 50)
    assert same["difference"] == 0.0 and same["ci95"] == [0.0, 0.0]
    with pytest.raises(ValueError, match="different grids"):
        temporal.change_share_difference((before, after_a), (before[:5], after_b[:5]))
