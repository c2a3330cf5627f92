"""Tests of the map checks against references on small arrays made by code."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook import legend, mapcheck

W, F, C = legend.index_of("water"), legend.index_of("woodland"), legend.index_of("cropland")


def test_polygon_recall_per_class_with_masked_pixels() -> None:
    ids = np.zeros((4, 6), dtype=int)
    ids[:2, :3] = 1  # water polygon
    ids[:2, 3:] = 2  # forest polygon
    ids[2:, :3] = 3  # forest polygon
    cls = np.full((4, 6), C, dtype=np.uint8)
    cls[:2, :3] = W
    cls[:2, 3:] = F
    cls[2:, 0] = F
    cls[0, 0] = legend.NODATA
    out = mapcheck.polygon_recall(cls, ids, [W, F, F], n_boot=200)
    assert out["per_class"]["water"]["recall"] == 1.0
    assert out["per_class"]["water"]["masked_pixels"] == 1
    assert out["per_class"]["woodland"]["recall"] == pytest.approx(8 / 12)
    lo, hi = out["per_class"]["woodland"]["ci95"]
    assert lo <= 8 / 12 <= hi and lo < hi  # polygons disagree → a real interval
    assert out["per_class"]["woodland"]["n_polygons"] == 2
    assert out["reference_pixels"] == 18 and out["masked_pixels"] == 1


def test_polygon_recall_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        mapcheck.polygon_recall(np.zeros((2, 2)), np.zeros((3, 2)), [W])
    with pytest.raises(ValueError, match="no label"):
        mapcheck.polygon_recall(np.zeros((2, 2)), np.full((2, 2), 3), [W])


def test_patch_agreement_majority_and_interval() -> None:
    a = np.full((4, 4), F, dtype=np.uint8)
    b = np.full((4, 4), C, dtype=np.uint8)
    b[0] = F
    out = mapcheck.patch_agreement([a, b], [["woodland"], ["woodland", "grassland"]])
    assert out["majority_agreement"] == 0.5
    assert out["pixel_share"] == pytest.approx((1 + 0.25) / 2)
    assert out["ci95"][0] < 0.5 < out["ci95"][1]
    with pytest.raises(ValueError, match="label sets"):
        mapcheck.patch_agreement([a], [])


def test_change_share_only_counts_valid_on_both() -> None:
    a = np.array([[W, F], [C, legend.NODATA]], dtype=np.uint8)
    b = np.array([[W, C], [legend.NODATA, F]], dtype=np.uint8)
    out = mapcheck.change_share(a, b)
    assert out["n_valid_both"] == 2 and out["changed_share"] == 0.5
    with pytest.raises(ValueError, match="cannot be compared"):
        mapcheck.change_share(a, b[:1])


def test_classes_from_proba_and_shares() -> None:
    p = np.zeros((legend.N_CLASSES, 2, 2), dtype="float32")
    p[W] = 1.0
    p[:, 1, 1] = np.nan
    cls = mapcheck.classes_from_proba(p)
    assert cls[1, 1] == legend.NODATA and (cls[cls != legend.NODATA] == W).all()
    s = mapcheck.class_shares(cls)
    assert s["water"] == 1.0 and s["nodata"] == 0.25


def test_wilson_interval() -> None:
    lo, hi = mapcheck.wilson_interval(7, 14)
    assert lo < 0.5 < hi and hi - lo < 0.6
    assert np.isnan(mapcheck.wilson_interval(0, 0)[0])


def test_bin_extremes_names_the_share_of_a_bin() -> None:
    bins = {"window_px": 3, **{f"q{i}": {"i": i} for i in range(1, 5)}}
    assert mapcheck.bin_extremes(bins) == ("quarter", {"i": 1}, {"i": 4})
    assert mapcheck.bin_extremes({"q1": {}, "q2": {}}) == ("half", {}, {})
    assert mapcheck.bin_extremes({f"q{i}": {} for i in range(1, 7)}) == ("1/6", {}, {})
    assert mapcheck.bin_extremes({}) is None and mapcheck.bin_extremes(None) is None
    assert mapcheck.bin_extremes({"window_px": 3}) is None
