import numpy as np
import pytest
import xarray as xr

from lulcbook import legend
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
    assert [len(f) for f, _ in series.values()] == [1, 1]
    assert series["Exeter HLS S30 2021"][1]["mask_band"] == "Fmask"
