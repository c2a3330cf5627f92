"""Tests for lulcbook.experiments.exeter_confidence: confidence against the change between dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lulcbook import legend
from lulcbook.experiments import exeter_confidence as EC
from lulcbook.experiments import maps as X
from lulcbook.experiments import temporal as TE

GRASS, CROP = legend.KEYS.index("grassland"), legend.KEYS.index("cropland")


def _pair(n: int = 40) -> EC.PairMaps:
    """Left half confident and stable grassland; right half unsure and flipping to cropland.

    The last column is not mapped on the second date.
    """
    before = np.full((n, n), GRASS, np.uint8)
    after = before.copy()
    after[:, n // 2 :] = CROP
    after[:, -1] = legend.NODATA
    conf = np.full((n, n), 0.9, np.float32)
    conf[:, n // 2 :] = 0.452  # a confidence the products can store (113/250)
    conf_after = np.where(after == legend.NODATA, np.nan, conf).astype(np.float32)
    return before, after, conf, conf_after


def test_kept_change_drops_the_unsure_half() -> None:
    """Below 0.452 every pixel is kept and half change; above it only the stable half is left."""
    f = EC.kept_change(_pair(), thresholds=(0.3, 0.5), block=10, n_boot=50)
    low, high = f.iloc[0], f.iloc[1]
    valid = 40 * 39
    assert low["kept_share"] == 1.0 and low["n_kept"] == valid
    assert low["changed_share"] == pytest.approx(19 * 40 / valid)
    assert low["ci_low"] <= low["changed_share"] <= low["ci_high"]
    assert low["changes_dropped"] == 0.0 and low["main_class"] == "grassland"
    assert high["kept_share"] == pytest.approx(20 * 40 / valid)
    assert high["changed_share"] == 0.0 and high["changes_dropped"] == 1.0
    assert high["main_class_share"] == 1.0


def test_kept_change_refuses_bad_pairs() -> None:
    """Maps on different grids and pairs without a common pixel are refused."""
    before, after, cb, ca = _pair()
    with pytest.raises(ValueError, match="must share one grid"):
        EC.kept_change((before, after[:-1], cb, ca))
    empty = np.full_like(before, legend.NODATA)
    with pytest.raises(ValueError, match="no pixel is mapped on both dates"):
        EC.kept_change((empty, after, cb, ca))


def test_stability_auc() -> None:
    """Confidence separating kept from changed classes scores 1; no change at all gives NaN."""
    before, after, cb, ca = _pair()
    assert EC.stability_auc((before, after, cb, ca)) == pytest.approx(1.0)
    assert EC.stability_auc((before, after, ca, cb)) == pytest.approx(1.0)
    assert np.isnan(EC.stability_auc((before, before, cb, cb)))
    # confidence that says the opposite scores 0
    assert EC.stability_auc((before, after, 1.3 - cb, 1.3 - cb)) == pytest.approx(0.0)


def _frame(changes: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"threshold": [0.4, 0.5, 0.6], "changed_share": changes})


def test_choose_threshold_takes_the_lowest_for_every_pair() -> None:
    """The lowest threshold at which the worst pair reaches the target."""
    frames = {"a": _frame([0.2, 0.09, 0.05]), "b": _frame([0.08, 0.11, 0.04])}
    assert EC.choose_threshold(frames, 0.10) == 0.6
    assert EC.choose_threshold({"a": frames["a"]}, 0.10) == 0.5
    assert EC.choose_threshold(frames, 0.01) is None
    with pytest.raises(ValueError, match="at least one pair"):
        EC.choose_threshold({})
    other = pd.DataFrame({"threshold": [0.4, 0.5], "changed_share": [0.1, 0.1]})
    with pytest.raises(ValueError, match="different thresholds"):
        EC.choose_threshold({"a": frames["a"], "c": other})


def test_study_sentence_verdict_and_figure(tmp_path) -> None:
    """The threshold comes from the selection series; the verdict never claims the target."""
    from lulcbook import viz

    pair = _pair()
    st = EC.confidence_study({"j": pair}, {"s": pair}, n_boot=50)
    assert st.threshold == 0.5  # the lowest threshold above the unsure half's 0.452
    row = st.at_threshold()["j"]
    assert row["changed_share"] == 0.0 and row["threshold"] == 0.5
    text, met = EC.confidence_verdict(st)
    assert met is None and "meets" in text and "0.50" in text and "grassland" in text
    assert "threshold 0.50 chosen on" in EC.confidence_sentence(st)
    m = st.metrics()
    assert m["threshold"] == 0.5 and set(m["series"]) == {EC.SELECT_SERIES, EC.JUDGED_SERIES}
    assert m["auc"][EC.JUDGED_SERIES]["j"] == pytest.approx(1.0)
    strict = EC.confidence_study({"j": pair}, {"s": pair}, target=-1.0, n_boot=20)
    assert strict.threshold is None and strict.at_threshold() == {}
    assert EC.confidence_verdict(strict)[1] is None
    assert "no threshold" in EC.confidence_sentence(strict)
    with pytest.raises(ValueError, match="a clear pair in each series"):
        EC.confidence_study({}, {"s": pair})
    path = viz.save_png(EC.confidence_figure(st), tmp_path / "c.png")
    assert path.stat().st_size > 1000


class _Reversed:
    """A classifier whose classes are the legend's in reverse order (a test double)."""

    classes = tuple(reversed(legend.KEYS))

    def predict_proba(self, tile: np.ndarray, mc_samples: int = 0) -> np.ndarray:
        p = np.zeros((len(self.classes), *tile.shape[1:]), np.float32)
        p[0], p[1] = 0.7123, 0.2877  # model class 0 is the legend's last class
        p[:, ~np.isfinite(tile).all(axis=0)] = np.nan
        return p


def test_date_map_gives_legend_classes_and_the_products_confidence() -> None:
    """A date is encoded as ``lulcbook predict`` encodes it, whatever the model's class order."""
    tile = np.ones((4, 3, 3), np.float32)
    tile[:, 0, 0] = np.nan
    cls, conf = EC._date_map(_Reversed(), tile, mc_samples=0)
    last = legend.N_CLASSES - 1
    assert cls[0, 0] == legend.NODATA and np.isnan(conf[0, 0])
    assert (cls.ravel()[1:] == last).all()  # the legend index, not the model's index 0
    assert conf.ravel()[1:] == pytest.approx(178 / 250)  # the product's 1/250 steps, not 0.7123


def test_series_pairs_on_the_real_hls_series(trained, sample_dir, tmp_path) -> None:
    """The HLS dates mapped one by one: class and confidence of each clear pair, on one grid."""
    files, kw = TE.exeter_series(sample_dir / "s2-hls-exeter")[TE.SELECT_SERIES]
    model = trained[0]["s2-4", X.SHIPPED_VARIANT]
    pairs = EC.series_pairs(files, kw, model, 10.0, 2, 0.5)
    assert list(pairs) == ["2021-06-13→2021-07-18"]  # the two dates Fmask leaves mostly clear
    before, after, cb, ca = pairs["2021-06-13→2021-07-18"]
    assert before.shape == after.shape == cb.shape == ca.shape
    mapped = before != legend.NODATA
    assert 0.5 < mapped.mean() < 1.0  # Fmask masks part of the date
    assert np.isnan(cb[~mapped]).all()
    n = len(model.classes)
    assert (cb[mapped] >= 1.0 / n - 1e-6).all() and (cb[mapped] <= 1.0).all()
    both = before != legend.NODATA
    both &= after != legend.NODATA
    median = float(np.median(np.fmin(cb, ca)[both]))  # the tiny model is never very sure
    f = EC.kept_change(pairs["2021-06-13→2021-07-18"], thresholds=(0.0, median), n_boot=20)
    assert f["kept_share"].iloc[0] == 1.0 and 0.4 < f["kept_share"].iloc[1] < 1.0
