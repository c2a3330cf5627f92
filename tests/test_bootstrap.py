import numpy as np
import pytest

from lulcbook.bootstrap import interval_side, macro_f1_present, seeded_bootstrap


def _data(n: int = 300, seeds: int = 5, acc: float = 0.8, rng_seed: int = 0):
    rng = np.random.default_rng(rng_seed)
    y = rng.integers(0, 4, n)
    preds = np.where(rng.random((seeds, n)) < acc, y, rng.integers(0, 4, (seeds, n)))
    return y, preds


def test_estimate_is_the_seed_mean() -> None:
    y, p = _data()
    est = seeded_bootstrap(y, p, "oa", n_boot=50)
    assert est.estimate == pytest.approx(np.mean([(q == y).mean() for q in p]))
    assert est.ci95[0] < est.estimate < est.ci95[1]
    assert est.n_seeds == 5 and est.n_points == 300 and est.n_clusters is None
    d = est.as_dict()
    assert set(d) == {"estimate", "ci95", "n_points", "n_seeds", "n_clusters", "p_positive"}


def test_seed_spread_widens_the_interval() -> None:
    """Seeds that disagree widen the interval beyond the point-only one."""
    y, _ = _data(seeds=1)
    rng = np.random.default_rng(1)
    good = np.where(rng.random(y.size) < 0.95, y, (y + 1) % 4)
    bad = np.where(rng.random(y.size) < 0.55, y, (y + 1) % 4)
    one = seeded_bootstrap(y, np.stack([good, good, bad, bad])[[0]], "oa", n_boot=400)
    mixed = seeded_bootstrap(y, np.stack([good, good, bad, bad]), "oa", n_boot=400)
    assert (mixed.ci95[1] - mixed.ci95[0]) > 2 * (one.ci95[1] - one.ci95[0])


def test_clusters_resample_whole_groups() -> None:
    """Ten clusters, each all right or all wrong: the cluster interval is far wider."""
    y = np.repeat(np.arange(10) % 2, 30)
    pred = np.where(np.repeat(np.arange(10) < 7, 30), y, 1 - y)
    iid = seeded_bootstrap(y, pred, "oa", n_boot=400)
    clustered = seeded_bootstrap(y, pred, "oa", clusters=np.repeat(np.arange(10), 30), n_boot=400)
    assert clustered.n_clusters == 10
    assert (clustered.ci95[1] - clustered.ci95[0]) > 3 * (iid.ci95[1] - iid.ci95[0])


def test_strata_keep_their_size() -> None:
    y, p = _data(seeds=1)
    strata = np.repeat(["a", "b", "c"], 100)
    est = seeded_bootstrap(y, p, "macro_f1", strata=strata, n_boot=50)
    assert np.isfinite(est.resamples).all()
    with pytest.raises(ValueError, match="spans several strata"):
        seeded_bootstrap(y, p, "oa", clusters=np.arange(300) // 150, strata=strata, n_boot=5)


def test_paired_difference_sign() -> None:
    y, strong = _data(acc=0.9, rng_seed=2)
    _, weak = _data(acc=0.5, rng_seed=3)
    d = seeded_bootstrap(y, strong, "macro_f1", baseline=weak, n_boot=200)
    assert d.estimate > 0.2 and d.ci95[0] > 0 and d.p_positive == 1.0
    same = seeded_bootstrap(y, strong, "oa", baseline=strong, n_boot=50)
    assert same.estimate == 0.0


def test_bad_shapes_are_named() -> None:
    y, p = _data()
    with pytest.raises(ValueError, match=r"preds has shape \(5, 299\)"):
        seeded_bootstrap(y, p[:, :-1])
    with pytest.raises(ValueError, match="clusters has shape"):
        seeded_bootstrap(y, p, clusters=np.zeros(3))
    with pytest.raises(ValueError, match="unknown metric 'f2'"):
        seeded_bootstrap(y, p, "f2")  # type: ignore[arg-type]


def test_macro_f1_skips_absent_classes() -> None:
    y = np.array([0, 0, 1, 1])
    assert macro_f1_present(y, y, np.array([0, 1, 2])) == 1.0
    assert macro_f1_present(y, np.array([0, 0, 1, 2]), np.array([0, 1, 2])) == pytest.approx(
        (1 + 2 / 3 + 0) / 3
    )


def test_macro_f1_counts_predictions_of_other_classes() -> None:
    from sklearn.metrics import f1_score

    y, p = np.array([0, 0, 1, 1, 2]), np.array([0, 7, 1, 1, 0])
    labels = np.unique(y)
    want = f1_score(y, p, labels=labels, average="macro")
    assert macro_f1_present(y, p, labels) == pytest.approx(want)
    # a class without reference points or predictions in a resample is skipped
    assert macro_f1_present(y[:4], p[:4], labels) == pytest.approx(
        f1_score(y[:4], p[:4], labels=[0, 1], average="macro")
    )


def test_interval_side_reads_which_side_of_zero_an_interval_lies() -> None:
    assert interval_side([0.01, 0.2]) == 1
    assert interval_side((-0.3, -0.001)) == -1
    assert interval_side([-0.1, 0.1]) == 0
    assert interval_side([0.0, 0.2]) == 0  # an interval reaching 0 holds it
    assert interval_side([float("nan"), 0.2]) == 0
