"""Tests for lulcbook.experiments.exeter_haze (the haze study of 07-maps) on tiny scenes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from maps_helpers import veiled

from lulcbook import haze, predict
from lulcbook.experiments import exeter as EX
from lulcbook.experiments import exeter_haze as EH
from lulcbook.experiments import haze_select as HS
from lulcbook.experiments import maps as X


def test_haze_sensitivity_sentence_and_figure(trained) -> None:
    scenes = veiled(np.random.default_rng(7))
    test = haze.HazeTest(dilation_m=0)
    _, flags = EX.hazed_scenes(scenes, test)
    stab = EX.exeter_stability(scenes, trained[0], None, 0.5, test)
    product = EX.product_setting("s2-4")
    rows = [product + X.HAZE, product + EX.SERIES_SEGMENTS + X.HAZE]
    pair = "2024-06-02→2024-08-01"
    sens = EH.haze_sensitivity(scenes, stab.candidates[product], (0, 2), test)
    assert len(sens) == 12 and sens["default"].sum() == 1
    assert sens.loc[sens["default"], "flagged 2024-08-01"].item() == pytest.approx(0.5)
    assert (sens.loc[sens["blue_rise"] == 0.04, "flagged 2024-08-01"] == 0.5).all()
    wide = sens[(sens["dilation_m"] == 120.0)]
    assert wide["flagged 2024-08-01"].item() == 1.0  # 120 px here: everything
    evidence = pd.DataFrame({"flagged": {"cloud, high probability (9)": 0.98}})
    text = EH.haze_sentence(test, evidence, stab, sens)
    assert "2024-08-01 50.0%" in text and "cloud, high probability (9) 98%" in text
    assert (
        f"series superpixels {stab.runs['clear'][rows[1].replace(X.HAZE, '')][pair]:.1%} → 0.0%"
        in text
    )
    fig = EH.haze_figure(scenes[2], flags[2], [stab.series["2024-08-01"]] * 2, "2024-08-01")
    assert len(fig.axes) >= 3


def test_haze_other_series_on_the_real_hls_dates(sample_dir) -> None:
    """HLS S30 2021 (Fmask): the test adds little to a mask that already finds the clouds."""
    from lulcbook import zoo
    from lulcbook.experiments import temporal as TS

    info = zoo.get("lucas-s2-segments-10m")
    model = predict.load_classifier(info.weights, info.metadata["model_class"])
    files, kw = TS.exeter_series(sample_dir / "s2-hls-exeter")[TS.SELECT_SERIES]
    out = EH.haze_other_series(files, kw, model, 10.0, haze.HazeTest(), 0.3)
    assert out["dates"] == ["2021-06-08", "2021-06-13", "2021-06-23", "2021-07-18"]
    assert set(out["flagged_share"]) == set(out["dates"])
    assert 0 < max(out["flagged_share"].values()) < 0.05
    pair = "2021-06-13→2021-07-18"
    assert list(out["change"]["own mask"]) == [pair]
    plain, hazed = out["change"]["own mask"][pair], out["change"]["own mask + haze test"][pair]
    assert 0 < plain < 0.5 and plain != hazed
    pd_sens = pd.DataFrame({"series superpixels": [0.08, 0.1]})
    stab = EX.ExeterStability(
        ["2024-06-02", "2024-08-01"], {}, [0, 1], {}, {"clear": {
            k: {"2024-06-02→2024-08-01": 0.2} for k in (
                EX.product_setting("s2-4"), EX.product_setting("s2-4") + X.HAZE,
                EX.product_setting("s2-4") + EX.SERIES_SEGMENTS,
                EX.product_setting("s2-4") + EX.SERIES_SEGMENTS + X.HAZE)}},
        pd.DataFrame(), {}, {"2024-06-02": 0.01, "2024-08-01": 0.3},
    )  # fmt: skip
    evidence = pd.DataFrame({"flagged": {"thin cirrus (10)": 0.4}})
    text = EH.haze_sentence(haze.HazeTest(), evidence, stab, pd_sens, {"HLS": out})
    assert (
        f"on HLS, a series it was not set on, it flags {min(out['flagged_share'].values()):.1%}"
        in text
    )
    assert f"{pair}: {plain:.1%} → {hazed:.1%}" in text


def test_haze_study_gathers_the_checks(trained, sample_dir) -> None:
    scenes = veiled(np.random.default_rng(9))
    test = haze.HazeTest(dilation_m=0)
    stab = EX.exeter_stability(scenes, trained[0], None, 0.5, test)
    model = trained[0]["s2-4", X.SHIPPED_VARIANT]
    study = EH.haze_study(sample_dir, scenes, stab, model, test, 0.5, 0.01, other={})
    assert list(study.evidence.index) == list(EH.SCL_CLOUDS)
    assert len(study.sensitivity) == 12 and study.other_series == {}
    assert study.metrics["test"]["flagged_share"]["2024-08-01"] == pytest.approx(0.5)
    assert study.metrics["text"] == study.text and "a series it was not set on" not in study.text
    assert len(study.figure.axes) >= 3
    # the thresholds chosen on the real HLS dates, and the veiled pair mapped with them
    assert study.selection.chosen.dilation_m == 0 and study.selection.default == test
    pair = "2024-06-02→2024-08-01"
    row = study.selected[pair]
    assert row["flagged 2024-08-01"] == pytest.approx(0.5) and row["series superpixels"] == 0.0
    assert study.metrics["selection"]["exeter"] == study.selected
    assert list(study.budgets["budget"]) == pytest.approx([0.005, 0.01, 0.02])
    main = study.budgets[np.isclose(study.budgets["budget"], 0.01)].iloc[0]
    assert main["series superpixels"] == row["series superpixels"]
    assert (study.budgets["flagged 2024-08-01"] == 0.5).all()  # the veil, whatever the budget
    assert "under other budgets: 0.5%: " in study.text
    assert "; thresholds chosen instead on HLS S30 2021 (Fmask)" in study.text
    text, met = EH.selection_verdict(study)
    assert met and "chosen on HLS S30 2021 (Fmask)" in text and "0.000 (meets" in text
    again = EH.haze_study(sample_dir, scenes, stab, model, test, 0.5, 0.01, other={},
                          selection=study.selection)  # fmt: skip
    assert again.selected == study.selected
    with pytest.raises(ValueError, match="the selection was made for"):
        EH.haze_study(sample_dir, scenes, stab, model, test, 0.5, 0.02, other={},
                      selection=study.selection)  # fmt: skip
    one_clear = dataclasses.replace(stab, clear=[0])
    with pytest.raises(ValueError, match="two clear dates"):
        EH.haze_study(sample_dir, scenes, one_clear, model, test, 0.5, 0.01, other={})


def test_selection_sentence_names_both_operating_points() -> None:
    pts = pd.DataFrame(
        {"blue_rise": [0.02, 0.03], "red_ratio": [1.75, 1.5], "false_alarm": [0.009, 0.004],
         "detection": [0.46, 0.42], "default": [False, True], "chosen": [True, False]}
    )  # fmt: skip
    sel = HS.HazeSelection(pts, haze.HazeTest(0.02, 1.75), haze.HazeTest(), 0.01)
    row = {"flagged 2024-06-02": 0.1, "flagged 2024-08-01": 0.4,
           "per-date superpixels": 0.12, "series superpixels": 0.085}  # fmt: skip
    text = EH.selection_sentence(sel, {"2024-06-02→2024-08-01": row})
    assert "interpolation" not in text and "other budgets" not in text
    sel = dataclasses.replace(
        sel, labels={"a": {"interpolated": 0.08}, "b": {"interpolated": 0.22}}
    )
    budgets = pd.DataFrame({"budget": [0.005, 0.02], "blue_rise": [0.03, 0.015],
                            "red_ratio": [1.5, 2.0], "series superpixels": [0.09, 0.12]})  # fmt: skip
    text = EH.selection_sentence(sel, {"2024-06-02→2024-08-01": row}, budgets)
    assert "warped with interpolation: 8%–22% of the pixels" in text
    assert "under other budgets: 0.5%: 0.03, 1.5 → series superpixels 9.0%, 2.0%: 0.015, 2" in text
    assert "blue rise > 0.02, red rise ≤ 1.75 × blue rise (46.0% of Fmask cloud at 0.90%" in text
    assert "the default 0.03, 1.5: 42.0% of Fmask cloud at 0.40% false alarms" in text
    assert "series superpixels 8.5%, per-date superpixels 12.0%" in text
    assert "2024-06-02 10.0%, 2024-08-01 40.0%" in text


def test_haze_sensitivity_frame_and_figure() -> None:
    test = haze.HazeTest()
    rows = [{"blue_rise": r, "red_ratio": q, "dilation_m": 40.0} for r in (0.02, 0.03, 0.04)
            for q in (1.0, 1.5, 2.0)] + [{"blue_rise": 0.03, "red_ratio": 1.5, "dilation_m": m}
                                         for m in (0.0, 20.0, 120.0)]  # fmt: skip
    sens = pd.DataFrame(rows)
    sens["per-date superpixels"] = 0.1 + sens["red_ratio"] / 100
    sens["series superpixels"] = 0.05 + sens["blue_rise"]
    sens["default"] = (sens["blue_rise"] == 0.03) & (sens["red_ratio"] == 1.5) & (
        sens["dilation_m"] == 40.0)  # fmt: skip
    frame = EH.haze_sensitivity_frame(sens, test)
    counts = frame.groupby("threshold").size().to_dict()
    assert counts == {"blue_rise": 6, "red_ratio": 6, "dilation_m": 8}  # 3, 3, 4 values x 2
    ratio = frame[
        (frame["threshold"] == "red_ratio") & (frame["superpixels"] == "per-date superpixels")
    ]
    assert list(ratio["value"]) == [1.0, 1.5, 2.0]  # only the rows at the default blue_rise
    assert ratio["changed share"].tolist() == pytest.approx([0.11, 0.115, 0.12])
    assert frame["default"].sum() == 6  # the default row, once per threshold and segmentation
    fig = EH.haze_sensitivity_figure(sens, test)
    assert len(fig) == 3
