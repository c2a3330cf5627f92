import numpy as np
import pytest
import xarray as xr

from lulcbook import splits


def test_region_of_crs() -> None:
    assert splits.region_of_crs("EPSG:32629") == "utm29-30"
    assert splits.region_of_crs("EPSG:32635") == "utm33-36"
    with pytest.raises(ValueError, match="EPSG:4326"):
        splits.region_of_crs("EPSG:4326")
    with pytest.raises(ValueError, match="zone 37"):
        splits.region_of_crs("EPSG:32637")


def test_stratified_split_keeps_every_class() -> None:
    labels = np.repeat([0, 1, 2], [10, 5, 1])
    val = splits.stratified_split(labels, 0.2, seed=1)
    assert val[labels == 0].sum() == 2 and val[labels == 1].sum() == 1
    assert not val[labels == 2].any()  # a singleton class stays in training
    assert (val == splits.stratified_split(labels, 0.2, seed=1)).all()


def test_region_folds_partition() -> None:
    ds = xr.Dataset(
        {
            "region": ("sample", np.array(["utm31", "utm32", "utm31", "utm29-30"])),
            "split": ("sample", np.array(["train", "val", "train", "train"])),
            "label": ("sample", np.array([0, 1, 0, 1])),
        }
    )
    folds = splits.region_folds(ds)
    assert [f[0] for f in folds] == ["utm29-30", "utm31", "utm32"]
    for _, train, test in folds:
        assert set(train).isdisjoint(test) and len(train) + len(test) == 4
    tr, va = splits.train_val_indices(ds, np.array([0, 1, 2]))
    assert tr.tolist() == [0, 2] and va.tolist() == [1]


def test_selection_and_calibration_are_disjoint_halves() -> None:
    labels = np.repeat([0, 1, 2], 10)
    ds = xr.Dataset({"label": ("sample", labels)})
    va = np.arange(0, 30, 1)
    sel, cal = splits.selection_calibration(ds, va, seed=3)
    assert not set(sel) & set(cal) and len(sel) + len(cal) == 30
    for c in range(3):  # stratified: each class split in half
        assert (labels[cal] == c).sum() == 5
    again = splits.selection_calibration(ds, va[::-1], seed=3)
    assert np.array_equal(again[0], sel) and np.array_equal(again[1], cal)
    with pytest.raises(ValueError, match="at least two"):
        splits.selection_calibration(ds, [4])
