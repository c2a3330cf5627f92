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


def test_shared_segments_keep_every_date_on_one_segmentation(model) -> None:
    rng = np.random.default_rng(1)
    fields = np.kron(rng.uniform(0.02, 0.3, size=(4, 5, 6)), np.ones((1, 8, 8)))  # 8-px parcels
    series = np.stack([fields * g for g in (1.0, 1.1, 0.95)]).astype("float32")
    series += rng.normal(0, 0.01, series.shape).astype("float32")
    series[1, :, :20, :] = np.nan  # cloud on the second date
    labels = model.shared_segments(series)
    assert labels.shape == (40, 48)
    assert np.array_equal(labels, model.segments(np.nanmedian(series, axis=0)))
    for t in range(3):  # one probability vector per shared segment on every date
        proba = model.predict_proba(series[t], labels=labels)
        ok = np.isfinite(proba[0])
        assert np.isnan(proba[:, ~np.isfinite(series[t]).all(axis=0)]).all()
        for lab in np.unique(labels[ok]):
            assert len(np.unique(proba[0][ok & (labels == lab)])) == 1
    with pytest.raises(ValueError, match="do not match the tile"):
        model.predict_proba(series[0], labels=labels[:, :10])
    with pytest.raises(ValueError, match="series must be"):
        model.shared_segments(series[0])


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


def test_grid_segmentation_settings_and_context(model) -> None:
    assert model.segmentation == "grid"
    assert model.grid() == (4, 1)  # 16 px superpixels: a 4 px cell, too small to coarsen
    assert model.context_px == 4 * (2 * model.iterations + 4)
    big = spectral.SpectralClassifier(**{**model.__dict__, "segment_size": 64.0})
    assert big.grid() == (8, 2)
    slic = spectral.SpectralClassifier(**{**model.__dict__, "segmentation": "slic"})
    assert slic.context_px == 0
    pixel = spectral.SpectralClassifier(**{**model.__dict__, "segment_size": 0.0})
    assert pixel.context_px == 0
    with pytest.raises(ValueError, match="segmentation must be"):
        spectral.SpectralClassifier(**{**model.__dict__, "segmentation": "watershed"})


@pytest.mark.parametrize("mc_samples", [0, 4])
def test_a_tile_with_the_context_margin_predicts_its_core_as_the_whole_scene(
    model, mc_samples: int
) -> None:
    rng = np.random.default_rng(1)
    fields = rng.uniform(0.02, 0.35, size=(4, 12, 12))
    scene = np.repeat(np.repeat(fields, 9, axis=1), 9, axis=2)[:, :100, :104]
    scene = (scene + rng.normal(0, 0.005, scene.shape)).astype("float32")
    whole = model.predict_proba(scene, mc_samples=mc_samples)
    m = model.context_px
    r0, c0 = 3, 1  # tile = rows 3.., cols 1.., core starts m further in
    tile = scene[:, r0 : r0 + 2 * m + 20, c0 : c0 + 2 * m + 20]
    part = model.predict_proba(tile, mc_samples=mc_samples, origin=(r0, c0))
    core = (slice(None), slice(m, m + 20), slice(m, m + 20))
    np.testing.assert_array_equal(part[core], whole[:, r0 + m : r0 + m + 20, c0 + m : c0 + m + 20])


def test_keyed_mc_dropout_depends_only_on_each_row(model) -> None:
    rng = np.random.default_rng(2)
    rows = rng.uniform(0.02, 0.35, size=(50, 4))
    p = model.predict_keyed(rows, 6)
    assert p.shape == (50, legend.N_CLASSES)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    # the same rows in another order and company get the same probabilities
    order = rng.permutation(50)[:20]
    np.testing.assert_array_equal(model.predict_keyed(rows[order], 6), p[order])
    # and they are MC draws, not the deterministic pass
    assert not np.allclose(p, model.predict_vectors(rows))


def test_models_saved_before_the_grid_load_with_scikit_image_slic(model, tmp_path: Path) -> None:
    state = model.state()
    for key in ("segmentation", "iterations", "coarsen"):
        del state[key]
    old = spectral.SpectralClassifier.from_state(state)
    assert old.segmentation == "slic"
    tile = np.random.default_rng(0).uniform(0.02, 0.3, size=(4, 24, 24)).astype("float32")
    assert np.isfinite(old.predict_proba(tile)).all()


@pytest.fixture(scope="module")
def climate_model(lucas) -> tuple[spectral.SpectralClassifier, np.ndarray]:
    """A four-band model with the WorldClim BIO1-19 input, and its training climate."""
    torch.set_num_threads(1)
    refl, labels, seasons = spectral.lucas_arrays(lucas, spectral.BANDS_10M)
    rng = np.random.default_rng(0)
    climate = rng.normal(10.0, 3.0, (len(labels), 19))
    climate[:5, 3] = np.nan  # a missing value stands for the training mean
    model = spectral.train_spectral(
        refl, labels, spectral.BANDS_10M, seasons=seasons, copies=1, epochs=2, segment_size=16,
        climate=climate,
    )  # fmt: skip
    return model, climate


def test_climate_input_is_standardised_and_appended(climate_model) -> None:
    model, climate = climate_model
    assert model.uses_climate and model.climate_mean is not None
    assert model.climate_mean == pytest.approx(np.nanmean(climate, 0))
    v = np.array([[0.05, 0.06, 0.04, 0.3], [0.08, 0.09, 0.1, 0.2]])
    f = model.features(v, climate[:2])
    n_spectral = len(spectral.feature_names(spectral.BANDS_10M))
    assert f.shape == (2, n_spectral + 19)
    want = (climate[:2] - model.climate_mean) / model.climate_std
    np.testing.assert_allclose(f[:, n_spectral:], np.nan_to_num(want), rtol=1e-5, atol=1e-6)
    assert (f[:, n_spectral + 3] == 0).all()  # NaN -> 0, the training mean
    one = model.features(v, climate[0])  # one vector serves every row
    np.testing.assert_allclose(one[1, n_spectral:], f[0, n_spectral:])
    assert model.net.net[0].in_features == n_spectral + 19


def test_climate_changes_the_prediction_and_survives_save_load(climate_model, tmp_path) -> None:
    model, climate = climate_model
    tile = np.stack([np.full((8, 8), b, "float32") for b in (0.05, 0.07, 0.06, 0.3)])
    warm, cold = np.full(19, 25.0), np.full(19, -5.0)
    a, b = model.predict_proba(tile, climate=warm), model.predict_proba(tile, climate=cold)
    assert a.shape == (legend.N_CLASSES, 8, 8) and not np.allclose(a, b)
    again = spectral.SpectralClassifier.load(model.save(tmp_path / "climate.pt"))
    assert again.uses_climate
    np.testing.assert_allclose(again.predict_proba(tile, climate=warm), a, atol=1e-6)
    keyed = again.predict_segments(tile, mc_samples=3, climate=warm)[1]
    assert keyed.shape[1] == legend.N_CLASSES and np.allclose(keyed.sum(1), 1, atol=1e-5)


def test_climate_is_required_by_a_climate_model_and_refused_by_others(
    model, climate_model, lucas
) -> None:
    cm, climate = climate_model
    v = np.array([[0.05, 0.06, 0.04, 0.3]])
    with pytest.raises(ValueError, match="WorldClim BIO1-19 vector"):
        cm.predict_vectors(v)
    with pytest.raises(ValueError, match=r"climate must be \(19,\)"):
        cm.features(v, np.zeros(5))
    with pytest.raises(ValueError, match="no climate input"):
        model.features(v, climate[0])
    assert not model.uses_climate
    refl, labels, _ = spectral.lucas_arrays(lucas, spectral.BANDS_10M)
    with pytest.raises(ValueError, match="climate rows"):
        spectral.train_spectral(refl, labels, spectral.BANDS_10M, climate=climate[:3])
