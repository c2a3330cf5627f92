import numpy as np
import pytest
import xarray as xr

from lulcbook import legend
from lulcbook.experiments import temporal as exp


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
    r = exp.slovenia_comparison(
        _dataset(), seeds=(0, 1), n_train=120, block=10, buffer=1, epochs=40, n_boot=50
    )
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
