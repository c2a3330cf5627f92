"""Tests of the LUCAS-trained spectral map model on real LUCAS rows and tiny tiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lulcbook import legend
from lulcbook.models import spectral
from lulcbook.predict import TileClassifier
from lulcbook.sources import elc10


@pytest.fixture(scope="module")
def lucas(sample_dir: Path):
    return elc10.read_elc10(sample_dir / elc10.SAMPLE_SUBDIR, s1=False, nrows=4000)


@pytest.fixture(scope="module")
def model(lucas) -> spectral.SpectralClassifier:
    torch.set_num_threads(1)
    refl, labels, seasons = spectral.lucas_arrays(lucas, spectral.BANDS_10M)
    return spectral.train_spectral(
        refl, labels, spectral.BANDS_10M, seasons=seasons, copies=1, epochs=4, segment_size=16
    )


def test_features_match_between_table_and_pixels(lucas) -> None:
    refl, _, _ = spectral.lucas_arrays(lucas.head(5), spectral.BANDS_ALL)
    f = spectral.spectral_features(refl, spectral.BANDS_ALL)
    names = spectral.feature_names(spectral.BANDS_ALL)
    assert f.shape == (5, len(names))
    ndvi = f[:, names.index("ndvi")]
    nir, red = refl[:, 6], refl[:, 2]
    np.testing.assert_allclose(ndvi, (nir - red) / (nir + red), rtol=1e-5)
    # four bands: no SWIR or red-edge indices
    assert "mndwi" not in spectral.feature_names(spectral.BANDS_10M)


def test_features_reject_wrong_shape_and_unknown_band() -> None:
    with pytest.raises(ValueError, match="reflectance must be"):
        spectral.spectral_features(np.zeros((3, 2)), spectral.BANDS_10M)
    with pytest.raises(ValueError, match="B8A"):
        spectral.spectral_features(np.zeros((3, 1)), ["B8A"])


def test_seasonal_copy_sets_ndvi(lucas) -> None:
    refl, _, seasons = spectral.lucas_arrays(lucas.head(50), spectral.BANDS_10M)
    out = spectral.seasonal_reflectance(refl, spectral.BANDS_10M, seasons[:, 0])
    ok = np.isfinite(seasons[:, 0]) & (np.abs(seasons[:, 0]) < 0.9)
    ndvi = (out[:, 3] - out[:, 2]) / (out[:, 3] + out[:, 2])
    np.testing.assert_allclose(ndvi[ok], seasons[ok, 0], atol=0.02)
    np.testing.assert_array_equal(out[:, :3], refl[:, :3])  # visible bands unchanged


def test_model_learns_lucas_classes(model, lucas) -> None:
    refl, labels, _ = spectral.lucas_arrays(lucas, spectral.BANDS_10M)
    pred = model.predict_vectors(refl).argmax(1)
    majority = np.bincount(labels).max() / labels.size
    assert (pred == labels).mean() > majority + 0.1


def test_tile_protocol_nan_and_segments(model) -> None:
    rng = np.random.default_rng(0)
    tile = rng.uniform(0.02, 0.3, size=(4, 40, 48)).astype("float32")
    tile[:, :5, :7] = np.nan
    proba = model.predict_proba(tile)
    assert isinstance(model, TileClassifier)
    assert proba.shape == (legend.N_CLASSES, 40, 48)
    assert np.isnan(proba[:, :5, :7]).all()
    valid = proba[:, 10:, 10:]
    np.testing.assert_allclose(valid.sum(0), 1.0, atol=1e-5)
    # superpixels: far fewer distinct probability vectors than pixels
    assert len(np.unique(proba[0][np.isfinite(proba[0])])) < 40 * 48 / 4
    with pytest.raises(ValueError, match="tile must be"):
        model.predict_proba(tile[:3])


def test_offset_changes_input(model) -> None:
    v = np.array([[0.05, 0.06, 0.04, 0.3]])
    shifted = spectral.SpectralClassifier(
        **{**model.__dict__, "offset": dict(spectral.PATH_PROFILE)}
    )
    assert not np.allclose(model.features(v), shifted.features(v))
    np.testing.assert_allclose(
        shifted.features(v), model.features(v + [[0.04, 0.025, 0.015, 0.006]])
    )


def test_save_load_roundtrip_weights_only(model, tmp_path: Path) -> None:
    path = model.save(tmp_path / "m.pt")
    state = torch.load(path, weights_only=True)
    assert state["format"] == spectral.FORMAT
    again = spectral.SpectralClassifier.load(path)
    tile = np.full((4, 8, 8), 0.1, dtype="float32")
    np.testing.assert_allclose(again.predict_proba(tile), model.predict_proba(tile), atol=1e-6)
    assert again.bands == list(spectral.BANDS_10M)


def test_load_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "other.pt"
    torch.save({"format": "something else"}, bad)
    with pytest.raises(ValueError, match="is not a"):
        spectral.SpectralClassifier.load(bad)


def test_train_rejects_bad_labels() -> None:
    with pytest.raises(ValueError, match="legend indices"):
        spectral.train_spectral(np.full((3, 4), 0.1), np.array([0, 1, 99]), spectral.BANDS_10M)
    with pytest.raises(ValueError, match="labels"):
        spectral.train_spectral(np.full((3, 4), 0.1), np.array([0, 1]), spectral.BANDS_10M)
