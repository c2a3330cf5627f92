"""The multi-temporal haze test: synthetic series with a known veil, and the real Exeter dates."""

import numpy as np
import pytest

from lulcbook import haze
from lulcbook.sources import sample

BANDS = ["B02", "B03", "B04", "B08"]


def _series(t: int = 3, size: int = 20) -> np.ndarray:
    """A clear vegetated series: blue 0.03, green 0.06, red 0.03, NIR 0.35 on every date."""
    data = np.empty((t, 4, size, size), dtype=np.float32)
    data[:] = np.array([0.03, 0.06, 0.03, 0.35], dtype=np.float32)[None, :, None, None]
    return data


def test_a_veil_is_flagged_and_a_harvest_is_not() -> None:
    data = _series()
    data[1, 0, 2:6, 2:6] += 0.06  # haze on date 1: blue up 0.06, red up 0.04
    data[1, 2, 2:6, 2:6] += 0.04
    data[2, 0, 10:14, 10:14] += 0.04  # harvest on date 2: blue up 0.04, red up 0.10
    data[2, 2, 10:14, 10:14] += 0.10
    flags = haze.HazeTest(dilation_m=0).flags(data, BANDS, 20.0)
    assert flags[1, 2:6, 2:6].all() and flags[1].sum() == 16
    assert not flags[0].any() and not flags[2].any()  # the clear date and the harvest stay
    # a red ratio that admits the harvest flags it too
    assert haze.HazeTest(red_ratio=3.0, dilation_m=0).flags(data, BANDS, 20.0)[2].sum() == 16
    # below the blue threshold nothing is flagged
    assert not haze.HazeTest(blue_rise=0.07, dilation_m=0).flags(data, BANDS, 20.0).any()


def test_dilation_widens_by_ground_distance_and_keeps_masked_pixels_out() -> None:
    data = _series(size=30)
    data[1, 0, 15, 15] += 0.1
    data[1, 2, 15, 15] += 0.05
    data[1, :, 15, 18] = np.nan  # already masked (e.g. SCL): never flagged
    test = haze.HazeTest(dilation_m=40.0)
    assert test.dilation_px(20.0) == 2 and test.dilation_px(10.0) == 4
    flags = test.flags(data, BANDS, 20.0)
    assert flags[1].sum() == 13  # a disk of radius 2 px
    assert flags[1, 15, 17] and flags[1, 13, 15] and flags[1, 14, 14]
    assert not flags[1, 15, 12] and not flags[1, 13, 13]  # 3 px and 2.8 px away
    assert not flags[1, 15, 18]
    assert flags[1].sum() < test.flags(data, BANDS, 10.0)[1].sum()  # 40 m = 4 px at 10 m


def test_the_reference_is_the_clearest_other_date() -> None:
    data = _series()
    data[0, 0] += 0.05  # date 0 hazy everywhere, dates 1 and 2 clear
    data[0, 2] += 0.03
    flags = haze.HazeTest(dilation_m=0).flags(data, BANDS, 20.0)
    assert flags[0].all() and not flags[1:].any()
    data[2] = np.nan  # a date masked entirely is no reference
    assert haze.HazeTest(dilation_m=0).flags(data, BANDS, 20.0)[0].all()


def test_apply_and_record() -> None:
    data = _series()
    flags = np.zeros((3, 20, 20), dtype=bool)
    flags[1, :5] = True
    out = haze.apply(data, flags)
    assert np.isnan(out[1, :, :5]).all() and np.isfinite(out[1, :, 5:]).all()
    assert np.isfinite(data).all()  # the input is not changed
    rec = haze.HazeTest().record(flags, ["2024-06-01", "2024-06-11", "2024-06-21"])
    assert rec["flagged_share"]["2024-06-11"] == pytest.approx(0.25)
    assert rec["blue_rise"] == 0.03 and rec["red_ratio"] == 1.5 and rec["dilation_m"] == 40.0
    with pytest.raises(ValueError, match="do not match"):
        haze.apply(data, flags[:2])


def test_bad_input_is_refused_by_name() -> None:
    data = _series()
    with pytest.raises(ValueError, match=r"reads B02 and B04; \['B04'\] not in"):
        haze.HazeTest().flags(data, ["B02", "B03", "B05", "B08"], 20.0)
    with pytest.raises(ValueError, match="compares dates; got 1"):
        haze.HazeTest().flags(data[:1], BANDS, 20.0)
    with pytest.raises(ValueError, match="must be"):
        haze.HazeTest().flags(data[:, :3], BANDS, 20.0)
    for bad in ({"blue_rise": 0}, {"red_ratio": -1}, {"dilation_m": -5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            haze.HazeTest(**bad)
    with pytest.raises(ValueError, match="pixel size"):
        haze.HazeTest().dilation_px(0)


def test_cloud_ratios_describe_the_real_scl_clouds(sample_dir) -> None:
    refl, scl = sample.read_exeter_scl(sample_dir)
    assert len(refl) == 5 and scl.shape == (5, *refl[0].shape[1:])
    assert set(np.unique(scl[np.isfinite(scl)])) <= set(range(12))  # nearest: classes stay
    data = np.stack([a.values for a in refl])
    classes = {"high": (9,), "thin cirrus": (10,)}
    out = haze.cloud_ratios(data, scl, BANDS, classes, haze.HazeTest())
    high = out["high"]
    assert high["n"] > 10_000 and high["risen"] > 0.9  # thick cloud brightens the blue
    assert high["q50"] < 1.5 and high["within"] > 0.9  # and the red about as much
    assert 0 < out["thin cirrus"]["flagged"] < high["flagged"]


def test_operating_points_count_false_alarms_and_detections() -> None:
    data = _series(size=10)
    clear = np.ones((3, 10, 10), dtype=bool)
    cloud = np.zeros_like(clear)
    data[1, 0, :2] += 0.05  # two rows of cloud on date 1: blue up 0.05, red up 0.05
    data[1, 2, :2] += 0.05
    cloud[1, :2], clear[1, :2] = True, False
    data[2, 0, 5, 5] += 0.025  # one clear pixel of date 2 brightened (a false alarm at 0.02)
    data[2, 2, 5, 5] += 0.02
    pts = haze.operating_points(data, BANDS, clear, cloud, [0.02, 0.04, 0.06], [0.5, 1.0])
    by = {(p["blue_rise"], p["red_ratio"]): p for p in pts}
    n_clear = clear.sum()
    assert by[0.02, 1.0]["detection"] == 1.0 and by[0.02, 1.0]["false_alarm"] == 1 / n_clear
    assert by[0.04, 1.0] == {**by[0.04, 1.0], "detection": 1.0, "false_alarm": 0.0}
    assert by[0.02, 0.5]["detection"] == 0.0  # the red rose as much as the blue
    assert by[0.06, 1.0]["detection"] == 0.0
    assert by[0.02, 1.0]["n_cloud"] == 20 and by[0.02, 1.0]["n_clear"] == n_clear
    wide = haze.operating_points(data, BANDS, clear, cloud, [0.02], [1.0], dilation_px=1)
    assert wide[0]["false_alarm"] == (5 + 10) / n_clear  # the disk, and the cloud's edge row
    assert haze.select_test(pts, 0.005, haze.HazeTest(dilation_m=40.0)) == haze.HazeTest(
        0.04, 1.0, 40.0
    )
    assert haze.select_test(pts, 0.5, haze.HazeTest(dilation_m=0.0)) == haze.HazeTest(
        0.04, 1.0, 0.0
    )  # tie: fewer alarms
    with pytest.raises(ValueError, match="no thresholds flag at most"):
        haze.select_test([{**p, "false_alarm": 0.2} for p in pts], 0.1, haze.HazeTest())
    with pytest.raises(ValueError, match="max_false_alarm must be in"):
        haze.select_test(pts, 0.0, haze.HazeTest())
    with pytest.raises(ValueError, match="do not match data"):
        haze.operating_points(data, BANDS, clear[:2], cloud, [0.02], [1.0])
    with pytest.raises(ValueError, match="got 0 clear"):
        haze.operating_points(data, BANDS, clear & False, cloud, [0.02], [1.0])


def test_a_lasting_change_is_not_haze() -> None:
    data = _series(t=4)
    data[1:, 0, 2:6, 2:6] += 0.06  # a new bright roof from date 1 on: blue and red up alike
    data[1:, 2, 2:6, 2:6] += 0.06
    data[2, 0, 10:14, 10:14] += 0.06  # haze on date 2 only
    data[2, 2, 10:14, 10:14] += 0.04
    flags = haze.HazeTest(dilation_m=0).flags(data, BANDS, 20.0)
    assert not flags[:, 2:6, 2:6].any()  # flagged on 3 of 4 dates: a lasting change
    assert flags[2, 10:14, 10:14].all() and flags.sum() == 16
    unchecked = haze.HazeTest(dilation_m=0, lasting_share=1.0).flags(data, BANDS, 20.0)
    assert unchecked[1:, 2:6, 2:6].all() and not unchecked[0].any()
    # seen on two dates only, one flagged: haze and a change cannot be told apart; it is flagged
    data[1:3, :, 2:6, 2:6] = np.nan
    assert haze.HazeTest(dilation_m=0).flags(data, BANDS, 20.0)[3, 2:6, 2:6].all()
    with pytest.raises(ValueError, match="lasting_share must be in"):
        haze.HazeTest(lasting_share=0.0)
