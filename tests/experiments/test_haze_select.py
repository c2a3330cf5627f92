"""Tests for lulcbook.experiments.haze_select on the real HLS dates of the sample."""

from __future__ import annotations

import dataclasses

import pytest

from lulcbook import haze
from lulcbook.experiments import exeter_haze as EH
from lulcbook.experiments import haze_select as HS


def test_haze_selection_on_the_real_hls_dates(sample_dir, tmp_path) -> None:
    """HLS S30 2021 against its Fmask: the chosen pair is the best within the budget."""
    from lulcbook import viz

    test = haze.HazeTest()
    sel = HS.haze_selection(sample_dir, test, 0.01)
    pts = sel.points
    assert len(pts) == len(HS.HAZE_SELECT_GRID["blue_rise"]) * len(HS.HAZE_SELECT_GRID["red_ratio"])
    assert pts["default"].sum() == 1 and pts["chosen"].sum() == 1
    chosen = pts[pts["chosen"]].iloc[0]
    assert chosen["false_alarm"] <= 0.01
    assert chosen["detection"] == pts.loc[pts["false_alarm"] <= 0.01, "detection"].max()
    assert sel.chosen.dilation_m == test.dilation_m
    assert sel.by_budget[0.01] == sel.chosen and set(sel.by_budget) == {0.005, 0.01, 0.02}
    assert sel.by_budget[0.02].blue_rise <= sel.chosen.blue_rise <= sel.by_budget[0.005].blue_rise
    # the sample's Fmask was warped with interpolation: many values found in no neighbour
    assert set(sel.labels) == {"2021-06-08", "2021-06-13", "2021-06-23", "2021-07-18"}
    assert all(0.05 < v["interpolated"] < 0.5 and 0.1 < v["trusted"] < 0.9
               for v in sel.labels.values())  # fmt: skip
    assert (pts["n_clear"] < 0.7 * 4 * 224 * 237).all()
    # lower thresholds flag more of both: the budget binds
    lowest = pts[(pts["blue_rise"] == 0.01) & (pts["red_ratio"] == 2.5)].iloc[0]
    assert lowest["false_alarm"] > 0.01 and lowest["detection"] > chosen["detection"]
    # the widening is counted: without it, fewer clear pixels are flagged
    bare = HS.haze_selection(sample_dir, dataclasses.replace(test, dilation_m=0), 0.01).points
    assert (bare["false_alarm"] <= pts["false_alarm"]).all()
    assert (bare["false_alarm"] < pts["false_alarm"]).any()
    kept = HS.haze_selection(sample_dir, haze.HazeTest(lasting_share=1.0), 0.01).chosen
    assert kept == dataclasses.replace(sel.chosen, lasting_share=1.0)  # other settings kept
    with pytest.raises(ValueError, match="no thresholds flag at most"):
        HS.haze_selection(sample_dir, test, 1e-6)
    path = viz.save_png(EH.selection_figure(sel), tmp_path / "sel.png")
    assert path.stat().st_size > 1000
