"""Tests for lulcbook.predict.encoding: probabilities → class, confidence, entropy."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook import legend, predict


def test_encode_class_confidence_entropy_and_nodata() -> None:
    p = np.zeros((4, 1, 4), np.float32)
    p[2, 0, 0] = 1.0  # certain
    p[:, 0, 1] = 0.25  # uniform
    p[:, 0, 2] = [0.1, 0.6, 0.2, 0.1]
    p[:, 0, 3] = np.nan
    values = np.array([6, 2, 1, 0])
    m, unc = predict.encode(p, np.zeros((1, 4), bool), values)
    assert m.dtype == np.uint8 and m.shape == (2, 1, 4)
    assert m[0].tolist() == [[1, 6, 2, legend.NODATA]]
    assert m[1, 0, 0] == 250 and m[1, 0, 2] == 150 and m[1, 0, 3] == legend.NODATA
    ent = -(np.array([0.1, 0.6, 0.2, 0.1]) * np.log([0.1, 0.6, 0.2, 0.1])).sum() / np.log(4)
    assert unc[0, 0] == pytest.approx(0.0) and unc[0, 1] == pytest.approx(1.0)
    assert unc[0, 2] == pytest.approx(ent, abs=1e-4) and np.isnan(unc[0, 3])


def test_decode_reads_back_what_encode_wrote() -> None:
    p = np.zeros((3, 1, 3), np.float32)
    p[:, 0, 0] = [0.2, 0.5, 0.3]
    p[:, 0, 1] = [0.6, 0.3, 0.1]
    p[:, 0, 2] = np.nan
    m, _ = predict.encode(p, np.zeros((1, 3), bool), np.array([4, 0, 2]))
    cls, conf = predict.decode(m)
    assert cls.tolist() == [[0, 4, legend.NODATA]]
    assert conf.dtype == np.float32 and conf[0, :2].tolist() == pytest.approx([0.5, 0.6])
    assert np.isnan(conf[0, 2])


def test_reaches_compares_at_the_stored_precision() -> None:
    stored = np.array([[174, 175, 137, 138, legend.NODATA]], np.uint8)  # 0.696 ... 0.552
    _, conf = predict.decode(np.stack([np.zeros_like(stored), stored]))
    assert predict.reaches(conf, 0.7).tolist() == [[False, True, False, False, False]]
    assert predict.reaches(conf, 0.55).tolist() == [[True, True, False, True, False]]
    # unstored confidences are compared as they would be stored (steps of 1/250)
    assert predict.reaches(np.array([0.5495, 0.5505, 0.699]), 0.55).tolist() == [False, True, True]


def test_blank_unconfident_keeps_confidence_and_counts() -> None:
    data = np.array([[[1, 2, 3, legend.NODATA]], [[175, 174, 250, legend.NODATA]]], np.uint8)
    assert predict.blank_unconfident(data, 0.7) == 1
    assert data[0].tolist() == [[1, legend.NODATA, 3, legend.NODATA]]
    assert data[1].tolist() == [[175, 174, 250, legend.NODATA]]  # confidence untouched
    for bad in (0.0, -0.1, 1.01, float("nan")):
        with pytest.raises(ValueError, match="must lie in"):
            predict.check_min_confidence(bad)


def test_class_values_accepts_keys_names_indices() -> None:
    assert predict.class_values(["water", "Woodland", 1]).tolist() == [6, 2, 1]
    with pytest.raises(ValueError, match="'forest' is not in the legend"):
        predict.class_values(["forest"])


def test_encoding_per_superpixel_gives_the_bytes_of_encoding_per_pixel() -> None:
    from lulcbook.predict import encode, encode_segments

    rng = np.random.default_rng(5)
    proba = rng.dirichlet(np.ones(8), size=30).astype(np.float32)
    proba[3] = np.nan  # a superpixel the model could not score
    index = rng.integers(0, 30, size=(20, 25))
    index[:4, :6] = -1  # no data
    values = np.arange(8)
    painted = np.where(
        index[None] >= 0, proba[np.where(index >= 0, index, 0)].transpose(2, 0, 1), np.nan
    )
    expected = encode(painted.astype(np.float32), index < 0, values)
    got = encode_segments(index, proba, values)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert (got[0][:, :4, :6] == legend.NODATA).all()
    empty = encode_segments(np.full((3, 3), -1), proba[:0], values)
    assert (empty[0] == legend.NODATA).all() and np.isnan(empty[1]).all()
