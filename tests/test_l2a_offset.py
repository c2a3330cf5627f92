"""Tests for lulcbook.l2a_offset: the documented L2A input offset of a shipped map model."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook import legend, zoo
from lulcbook.l2a_offset import (
    METADATA_KEY,
    apply_documented,
    check_level,
    documented_offset,
    with_input_offset,
)
from lulcbook.models import spectral

BANDS = ["B02", "B03", "B04", "B08"]


def _model() -> spectral.SpectralClassifier:
    n_feat = len(spectral.feature_names(BANDS))
    rng = np.random.default_rng(0)
    return spectral.SpectralClassifier(
        bands=list(BANDS),
        classes=list(legend.KEYS),
        mean=rng.normal(size=n_feat).astype("float32"),
        std=np.ones(n_feat, dtype="float32"),
        net=spectral.SpectralMLP(n_feat, legend.N_CLASSES, 8),
        segment_size=0,
    )


def test_documented_offset_of_the_shipped_four_band_model() -> None:
    meta = zoo.get("lucas-s2-segments-10m").metadata
    offset = documented_offset(meta, BANDS, "m")
    assert list(offset) == BANDS and offset == {b: meta[METADATA_KEY][b] for b in BANDS}
    assert offset["B02"] > offset["B08"] > 0  # a path offset: strongest in the blue


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({}, "model 'm' documents no l2a_offset"),
        ({METADATA_KEY: {}}, "documents no l2a_offset"),
        ({METADATA_KEY: {"B02": 0.04, "B03": 0.02}}, r"no value for bands \['B04', 'B08'\]"),
        ({METADATA_KEY: dict.fromkeys(BANDS, 0.01) | {"B04": "x"}}, "B04 is not a finite number"),
        ({METADATA_KEY: dict.fromkeys(BANDS, 0.01) | {"B08": float("nan")}}, "B08 is not a"),
        ({METADATA_KEY: dict.fromkeys(BANDS, 0.01) | {"B03": True}}, "B03 is not a"),
    ],
)
def test_documented_offset_names_what_is_wrong(metadata: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        documented_offset(metadata, BANDS, "m")


def test_with_input_offset_shifts_the_input_of_a_copy() -> None:
    model = _model()
    offset = dict.fromkeys(BANDS, 0.05)
    shifted = with_input_offset(model, offset, "m")
    assert shifted.offset == offset and model.offset == {}  # the original is untouched
    tile = np.random.default_rng(1).uniform(0.02, 0.3, size=(4, 5, 6)).astype("float32")
    moved = (tile + 0.05).astype("float32")
    assert np.allclose(shifted.predict_proba(tile), model.predict_proba(moved), atol=1e-6)
    with pytest.raises(ValueError, match="model 'g' \\(dict\\) takes no input offset"):
        with_input_offset({}, offset, "g")


def test_check_level_refuses_only_declared_l1c() -> None:
    for preset in (None, "s2-l2a", "s2-l2a-n0400", "hls", "reflectance"):
        check_level(preset)
    for preset in ("s2-l1c", "s2-l1c-n0400"):
        with pytest.raises(ValueError, match=f"--preset {preset} declares L1C"):
            check_level(preset)


def test_apply_documented_returns_the_shifted_copy_and_its_offset() -> None:
    model = _model()
    meta = {METADATA_KEY: {"B02": 0.04, "B03": 0.025, "B04": 0.015, "B08": 0.006, "B11": 0.002}}
    shifted, offset = apply_documented(model, model.bands, meta, "m")
    assert offset == {"B02": 0.04, "B03": 0.025, "B04": 0.015, "B08": 0.006}  # the model's bands
    assert shifted.offset == offset and model.offset == {}
    with pytest.raises(ValueError, match="documents no l2a_offset"):
        apply_documented(model, model.bands, {}, "m")
    with pytest.raises(ValueError, match="takes no input offset"):
        apply_documented({}, BANDS, meta, "g")
