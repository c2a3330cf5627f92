import numpy as np
import pytest
import xarray as xr

from lulcbook import haze, legend, temporal, viz
from lulcbook.experiments import temporal as exp
from lulcbook.params import TemporalSlovenia


def _dataset(seed: int = 0) -> xr.Dataset:
    """A made-up 40x40 NDVI series: woodland peaks in summer, cropland in spring."""
    rng = np.random.default_rng(seed)
    dates = np.array([f"2016-{m:02d}-15" for m in range(1, 13)], dtype="datetime64[s]")
    label = np.full((40, 40), legend.index_of("woodland"), dtype=np.uint8)
    label[:, 20:] = legend.index_of("cropland")
    label[0, 0] = legend.NODATA
    month = np.arange(1, 13)[:, None, None]
    peak = np.where(label == legend.index_of("woodland"), 7, 4)[None]
    ndvi = np.exp(-(((month - peak) / 2.0) ** 2)) + rng.normal(0, 0.05, (12, 40, 40))
    clear = rng.random((12, 40, 40)) > 0.3
    clear[6] = True  # one fully clear date
    return xr.Dataset(
        {
            "ndvi": (("time", "y", "x"), np.where(clear, ndvi, np.nan).astype(np.float32)),
            "clear": (("time", "y", "x"), clear),
            "label": (("y", "x"), label),
        },
        coords={"time": dates},
    )


def test_split_blocks_separates_train_and_test() -> None:
    label = np.zeros((30, 30), dtype=np.uint8)
    label[0, :] = legend.NODATA
    ids, train, test = exp.split_blocks(label, block=10, test_share=0.5, buffer=2, seed=0)
    assert ids.max() == 8 and test.any() and train.any()
    assert not (train & test).any()
    assert not (train | test)[0].any()  # unlabelled pixels are in neither
    # every training pixel is more than `buffer` pixels from every test pixel
    ty, tx = np.nonzero(test)
    for y, x in zip(*np.nonzero(train), strict=True):
        assert np.min(np.maximum(abs(ty - y), abs(tx - x))) > 2
    with pytest.raises(ValueError, match="test_share"):
        exp.split_blocks(label, 10, 1.0, 2, 0)


def test_slovenia_comparison_on_made_up_series() -> None:
    settings = TemporalSlovenia(
        n_train=120, block=10, buffer=1, test_share=0.5, val_share=0.3, min_clear=0.99, epochs=40
    )
    r = exp.slovenia_comparison(_dataset(), settings, seeds=(0, 1), n_boot=50)
    assert set(r["models"]) == {
        "temporal (L-TAE, masked series)",
        "single date (best on validation)",
        "median composite",
        "seasonal composites",
    }
    tm = r["models"]["temporal (L-TAE, masked series)"]
    assert tm["macro_f1"] > 0.9  # the classes differ in timing: the series separates them
    lo, hi = tm["macro_f1_ci95"]
    assert lo <= tm["macro_f1"] + 1e-9 and hi >= tm["macro_f1"] - 0.05
    assert len(tm["per_seed"]) == 2 and tm["per_seed"][0]["n_test_blocks"] > 0
    assert set(r["differences_temporal_minus"]) == set(r["models"]) - {
        "temporal (L-TAE, masked series)"
    }
    assert len(r["chosen_dates"]) == 2
    assert r["settings"] == {"seeds": [0, 1], "n_train": 120, "block_px": 10, "buffer_px": 1,
                             "test_share": 0.5, "val_share": 0.3, "epochs": 40, "n_boot": 50}  # fmt: skip
    table = exp.comparison_table(r)
    assert table.loc[exp.TEMPORAL, "macro-F1"] == tm["macro_f1"]
    diff = exp.difference_table(r)
    assert exp.TEMPORAL not in diff.index and diff["seeds with CI > 0"].str.endswith("/2").all()
    verdicts = exp.temporal_verdicts(r, {}, 0.01)
    assert len(verdicts) == 3 and all(ok is None for _, ok in verdicts)
    assert all(t.startswith("Slovenia: temporal macro-F1") for t, _ in verdicts)


def test_simulate_change_and_consistency() -> None:
    k, h, w = legend.N_CLASSES, 20, 20
    proba = np.full((4, k, h, w), 0.02, dtype=np.float32)
    proba[:, 2, :, :10] = 0.86  # woodland on the left,
    proba[:, 4, :, 10:] = 0.86  # grassland on the right, the same on every date
    dates = ["2024-06-01", "2024-06-20", "2024-08-01", "2024-08-20"]
    spliced, truth = exp.simulate_change(proba, dates, "month", 10, 0.5, seed=0)
    assert truth.any() and truth.sum() % 100 == 0  # whole 10x10 blocks
    assert np.array_equal(spliced[:2], proba[:2])  # the first period is untouched
    r = exp.consistency(
        proba, dates, period="month", change_prior=0.01, pairs=[(0, 2)], block=10, n_boot=20,
        priors=[0.2],
    )  # fmt: skip
    assert r["date_pairs"]["2024-06-01→2024-08-01"]["raw"]["changed_share"] == 0.0
    assert r["periods"]["2024-06→2024-08"]["rule"]["changed_share"] == 0.0
    sim = r["simulated_change"]
    assert sim["raw"]["recall"] == 1.0
    assert sim["rule"]["recall"] == 1.0  # two confident dates per period outweigh the prior
    assert sim["rule"]["false_change_share"] == 0.0
    assert r["smoothed_classes"].shape == (2, h, w)
    swept = r["prior_sensitivity"]["0.2"]["date_pairs"]["2024-06-01→2024-08-01"]
    assert swept["changed_share"] == 0.0 and len(swept["ci95"]) == 2

    # the tables and verdicts of the notebook, from the same results
    c = {"S": {**r, "simulated_change": r["simulated_change"], "dates": dates}}
    rows = exp.change_rows(c, "date_pairs")
    assert rows.loc[("S", "2024-06-01→2024-08-01"), "rule"] == 0.0
    sens = exp.sensitivity_table(c, 0.01)
    assert sens.loc[("S", "recall of simulated change", "0.01"), "value"] == 1.0
    assert ("S", "no-change share", "0.2") in sens.index
    no_slo = {"models": {exp.TEMPORAL: {"macro_f1": 0.5}}, "differences_temporal_minus": {}}
    verdicts = exp.temporal_verdicts(no_slo, c, 0.01)
    assert [ok for _, ok in verdicts] == [True, True, None]
    assert "keeps 100.0% of" in verdicts[2][0] and "at prior 0.2:" in verdicts[2][0]
    assert exp.verdict_lines(verdicts).splitlines()[0].startswith("✔ S 2024-06-01")
    pair = {"changed_share": 0.15, "ci95": [0.13, 0.17], "n_valid_both": 100}
    segs = {"shared": {"d1→d2": pair}, "per-date": {"d1→d2": {**pair, "changed_share": 0.19}},
            "shared − per-date": {"d1→d2": {"difference": -0.04, "ci95": [-0.05, -0.03]}}}  # fmt: skip
    with_segs = {"S": {**c["S"], "segments": segs}}
    table = exp.segments_table(with_segs)
    assert table.loc[("S", "d1→d2", "per-date"), "changed share"] == 0.19
    assert table.loc[("S", "d1→d2", "shared − per-date"), "changed share"] == -0.04
    line = exp.temporal_verdicts(no_slo, with_segs, 0.01)[-1]
    assert line == ("S d1→d2, single-date maps: 15.0% of pixels change with shared superpixels "
                    "(CI 13.0%–17.0%); 19.0% of pixels change with per-date superpixels "
                    "(CI 13.0%–17.0%); difference -4.0% (paired CI -5.0% to -3.0%)", None)  # fmt: skip
    no_pairs = {"S": {**c["S"], "date_pairs": {}, "simulated_change": {}}}
    assert "fewer than two clear dates" in exp.temporal_verdicts(no_slo, no_pairs, 0.01)[0][0]


def test_reference_counts_and_exeter_series(tmp_path) -> None:
    counts = exp.reference_counts(_dataset())
    assert counts == {"woodland": 799, "cropland": 800, "nodata": 1}
    for sub, name in (("s2-data", "exe_2024-06-02.tif"), ("hls-data", "hls_exe_2021-07-01.tif")):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / name).touch()
    series = exp.exeter_series(tmp_path)
    assert [len(f) for f, _ in series.values()] == [1, 1, 1]
    assert series["Exeter HLS S30 2021"][1]["mask_band"] == "Fmask"
    s2, hazed = series["Exeter S2 L2A 2024"], series[exp.HAZE_SERIES]
    assert hazed[0] == s2[0] and "haze_test" not in s2[1]
    assert hazed[1] == {**s2[1], "haze_test": haze.HazeTest()}
    assert set(exp.PRODUCT_SLUGS) == {"Exeter S2 L2A 2024", exp.SELECT_SERIES}
    chosen = haze.HazeTest(blue_rise=0.02)
    four = exp.exeter_series(tmp_path, chosen)
    assert list(four) == [*list(series)[:2], exp.HAZE_CHOSEN_SERIES, exp.SELECT_SERIES]
    assert four[exp.HAZE_CHOSEN_SERIES][1] == {**s2[1], "haze_test": chosen}


def _swept(changes: dict[str, float], recalls: dict[str, float], pairs: dict[str, float]) -> dict:
    """A consistency entry with the rule's changes, recalls and date-pair changes per prior."""
    first, *rest = changes
    period, dp = "2024-06→2024-08", "2024-06-02→2024-08-01"

    def pair(p: str) -> dict:
        return {"changed_share": pairs[p], "ci95": [pairs[p] - 0.01, pairs[p] + 0.01]}

    return {
        "periods": {period: {"rule": {"changed_share": changes[first]}}},
        "date_pairs": {dp: {"rule": pair(first)}},
        "simulated_change": {"rule": {"recall": recalls[first]}},
        "prior_sensitivity": {
            p: {"rule_change_share": {period: changes[p]}, "simulated_recall": recalls[p],
                "date_pairs": {dp: pair(p)}}
            for p in rest
        },
    }  # fmt: skip


def test_operating_point_is_chosen_on_one_series_and_checked_on_the_other(tmp_path) -> None:
    def by_prior(*values: float) -> dict[str, float]:
        return dict(zip(("0.01", "0.5", "0.8", "0.9"), values, strict=True))

    c = {
        "HLS": _swept(by_prior(0.0, 0.04, 0.09, 0.12), by_prior(0.0, 0.2, 0.6, 0.9),
                      by_prior(0.0, 0.03, 0.08, 0.11)),
        "S2": _swept(by_prior(0.0, 0.05, 0.07, 0.16), by_prior(0.0, 0.3, 0.7, 0.95),
                     by_prior(0.0, 0.04, 0.12, 0.2)),
    }  # fmt: skip
    frame = exp.tradeoff_frame(c, 0.01)
    assert list(frame.columns) == ["series", "prior", "no-change share", "date-pair change",
                                   "date-pair CI", "recall"]  # fmt: skip
    assert frame["prior"].tolist() == [0.01, 0.5, 0.8, 0.9] * 2
    row = frame[(frame.series == "S2") & (frame.prior == 0.8)].iloc[0]
    assert row["recall"] == 0.7 and row["date-pair change"] == 0.12
    assert row["date-pair CI"] == pytest.approx([0.11, 0.13])
    point = exp.operating_point(frame, "HLS", 0.10)
    assert point["prior"] == 0.8 and point["selected_on"] == "HLS"
    s2 = point["series"]["S2"]
    assert s2["date_pair_ci95"] == pytest.approx([0.11, 0.13])
    assert [s2[k] for k in ("no_change_share", "date_pair_change", "recall")] == pytest.approx(
        [0.07, 0.12, 0.7]
    )
    ((text, ok),) = exp.operating_verdicts(point)
    assert ok is False  # the periods meet 10 %, the date pair does not
    assert text.startswith("S2: the rule at change_prior 0.8 (chosen on HLS: the largest prior")
    assert "changes 12.0% of pixels between consecutive clear dates (CI 11.0%–13.0%)" in text
    assert "7.0% between periods, and keeps 70.0% of" in text and "MISSES ≤ 10%" in text
    # a date pair above the target rules a prior out even where the periods meet it
    c["HLS"]["prior_sensitivity"]["0.8"]["date_pairs"]["2024-06-02→2024-08-01"]["changed_share"] = (
        0.2
    )
    assert exp.operating_point(exp.tradeoff_frame(c, 0.01), "HLS", 0.10)["prior"] == 0.5
    looser = exp.operating_point(frame, "HLS", 0.2)
    assert looser["prior"] == 0.9 and exp.operating_verdicts(looser)[0][1] is True
    assert exp.operating_point(frame, "HLS", 0.0)["prior"] == 0.01
    assert exp.operating_point(frame, "nowhere") == {} and exp.operating_verdicts({}) == []
    no_pairs = {
        **point,
        "series": {"S2": {**point["series"]["S2"], "date_pair_change": float("nan")}},
    }
    ((text, ok),) = exp.operating_verdicts(no_pairs)
    assert ok is True and "consecutive clear dates" not in text
    # both directions, the pre-declared series first; a series with no prior in the target
    # gives no point
    there, back = exp.operating_points(frame, "S2", 0.10)
    assert (there["selected_on"], there["prior"], list(there["series"])) == ("S2", 0.5, ["HLS"])
    assert (back["selected_on"], back["prior"], list(back["series"])) == ("HLS", 0.8, ["S2"])
    assert exp.operating_points(frame, "HLS", 0.10) == [back, there]
    assert exp.operating_points(frame, "HLS", -0.1) == []
    viz.save_png(exp.tradeoff_figure(frame), tmp_path / "tradeoff.png")
    assert (tmp_path / "tradeoff.png").stat().st_size > 1000


def test_series_consistency_with_the_haze_test_keeps_the_clear_dates(sample_dir) -> None:
    """Real S2 L2A Exeter dates: the haze test masks more, but the clear dates are the SCL's."""
    model, _, res = exp.shipped_map_model("lucas-s2-segments-10m")
    series = exp.exeter_series(sample_dir / "s2-hls-exeter")
    cfg = {"crop": 120, "clear_max_masked": 0.3, "period": "month", "change_prior": 0.01,
           "map_block": 40, "n_boot": 20, "prior_sweep": [0.01, 0.5]}  # fmt: skip
    plain, _ = exp.series_consistency(*series["Exeter S2 L2A 2024"], model, res, cfg)
    hazed, _ = exp.series_consistency(*series[exp.HAZE_SERIES], model, res, cfg)
    assert "haze_flagged" not in plain
    assert hazed["masked_share"] == plain["masked_share"]
    assert hazed["clear_dates"] == plain["clear_dates"] == ["2024-06-02", "2024-08-01"]
    assert hazed["haze_flagged"]["2024-08-01"] > hazed["haze_flagged"]["2024-06-02"]
    assert 0 < hazed["haze_flagged"]["2024-08-01"] < 1
    pair = "2024-06-02→2024-08-01"
    assert hazed["segments"]["shared"][pair] != plain["segments"]["shared"][pair]


def test_products_are_read_with_the_default_haze_test(tmp_path) -> None:
    """Every product series gets the command's default haze test, whatever it was read with."""
    for sub, name in (("s2-data", "exe_2024-06-02.tif"), ("hls-data", "hls_exe_2021-07-01.tif")):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / name).touch()
    series = exp.exeter_series(tmp_path, haze.HazeTest(blue_rise=0.05))
    products = exp.product_series(series, ["exeter-s2-2024", "exeter-hls-2021"])
    assert {k: v[0] for k, v in products.items()} == {
        "Exeter S2 L2A 2024": "exeter-s2-2024",
        exp.SELECT_SERIES: "exeter-hls-2021",
    }
    for label, (_, (files, kw)) in products.items():
        assert files == series[label][0] and kw["haze_test"] == haze.SERIES_DEFAULT
        assert {k: v for k, v in kw.items() if k != "haze_test"} == series[label][1]
    assert list(exp.product_series(series, ["exeter-hls-2021"])) == [exp.SELECT_SERIES]
    assert exp.product_series(series, []) == {}


def test_series_defaults_say_whether_they_are_the_chosen_values() -> None:
    prior = temporal.SERIES_CHANGE_PRIOR
    point = {"selected_on": "HLS", "prior": prior}
    text, ok = exp.series_defaults(point, haze.SERIES_DEFAULT, prior)
    assert ok is True and text.endswith("the defaults are the values chosen here")
    assert f"change prior {prior:g} (the operating point chosen on HLS: {prior:g}" in text
    d = haze.SERIES_DEFAULT
    assert f"(chosen on the HLS series against its Fmask: {d.blue_rise:g}, {d.red_ratio:g})" in text
    for args in (
        ({"selected_on": "HLS", "prior": 0.5}, d, prior),  # another operating point
        (point, haze.HazeTest(blue_rise=d.blue_rise + 0.01), prior),  # other thresholds
        (point, d, 0.01),  # products written with another prior
        ({}, d, prior),  # no prior met the target
        (point, None, prior),  # no thresholds chosen
    ):
        text, ok = exp.series_defaults(*args)
        assert ok is False and text.endswith("DIFFER from the values chosen here")
    assert (
        "chosen on Exeter HLS S30 2021: none meets the target"
        in exp.series_defaults({}, d, prior)[0]
    )


def test_default_product_verdict_reads_the_rule_with_its_interval() -> None:
    def entry(share: float, ci: list[float], n: int = 4000) -> dict:
        return {
            "date_pairs": {"2024-06-02→2024-08-01": {"rule": {"changed_share": share, "ci95": ci,
                                                              "n_blocks": 210, "n_valid_both": n}}},
            "periods": {"2024-06→2024-08": {"rule": {"changed_share": 0.064}}},
            "simulated_change": {"rule": {"recall": 1.0}},
        }  # fmt: skip

    c = {"S2": entry(0.065, [0.044, 0.088]), "S2b": entry(0.09, [0.07, 0.11])}
    ((text, ok),) = exp.default_product_verdict(c, "S2", 0.85)
    assert ok is True
    assert text.startswith("S2, mapped as `lulcbook series` maps by default (change prior 0.85)")
    assert "2024-06-02→2024-08-01: 0.065 [0.044, 0.088], 210 blocks" in text
    assert "the whole interval is on that side" in text
    assert text.endswith(
        "; on 4,000 pixels with a class on both dates; between periods 2024-06→2024-08: 6.4%; "
        "simulated changes kept 100%"
    )
    c["plain"] = entry(0.11, [0.09, 0.13], n=10000)
    ((text, _),) = exp.default_product_verdict(c, "S2", 0.85, plain="plain")
    assert (
        "on 4,000 pixels with a class on both dates (40% of the 10,000 that plain leaves)" in text
    )
    ((same, _),) = exp.default_product_verdict(c, "S2", 0.85, plain="elsewhere")
    assert "pixels with a class on both dates;" in same
    ((text, ok),) = exp.default_product_verdict(c, "S2b", 0.85)
    assert ok is True and "the interval holds the target" in text
    ((text, ok),) = exp.default_product_verdict(c, "S2b", 0.85, target=0.05)
    assert ok is False and "MISSES the target <= 0.05" in text
    assert exp.default_product_verdict({"S2": {**c["S2"], "date_pairs": {}}}, "S2", 0.85) == []
