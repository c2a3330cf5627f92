"""Tests for lulcbook.predict.bands: band-name matching and uniqueness."""

from __future__ import annotations

from pathlib import Path

import pytest
from predict_helpers import SpectralCentroid, scene_dn, write_scene

from lulcbook import predict


def test_canonical_band_names_sentinel2_bands_and_upper_cases_others() -> None:
    assert [predict.canonical_band(b) for b in ("b2", " B8a", "scl", "Fmask")] == [
        "B02",
        "B8A",
        "SCL",
        "FMASK",
    ]
    predict.check_unique_bands(["B02", None, "B03"], "x.tif")
    with pytest.raises(ValueError, match=r"Duplicate band name\(s\) \['B02'\] in x\.tif"):
        predict.check_unique_bands(["b2", "B02", "B03"], "x.tif")


def test_match_bands_is_case_insensitive_and_names_missing() -> None:
    assert predict.match_bands(["b02", "B3", "b04", "SCL"], ["B04", "B03", "scl"], "x.tif") == [
        2,
        1,
        3,
    ]
    with pytest.raises(ValueError, match=r"\['B08'\] missing in x.tif"):
        predict.match_bands(["B02", "B03"], ["B02", "B08"], "x.tif")


def test_duplicate_band_names_are_refused(model: SpectralCentroid, tmp_path: Path) -> None:
    _, dn = scene_dn(64, 64)
    src = write_scene(tmp_path / "nodesc.tif", dn, descriptions=None)
    with pytest.raises(
        ValueError, match=r"Duplicate band name\(s\) \['B02'\] given by --band-names"
    ):
        predict.predict_scene(
            src, model, tmp_path / "m.tif", progress=False, band_names=["B02", "b2", "B04", "B08"]
        )
    dup = write_scene(tmp_path / "dup.tif", dn, descriptions=["B02", "B03", "B04", "B04"])
    with pytest.raises(ValueError, match=r"Duplicate band name\(s\) \['B04'\] in the band desc"):
        predict.predict_scene(dup, model, tmp_path / "m.tif", progress=False)
