"""Tests for lulcbook.l2a_offset: the documented L2A input offset of a shipped map model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lulcbook import legend, zoo
from lulcbook.l2a_offset import (
    METADATA_KEY,
    apply_documented,
    check_collection,
    check_input,
    check_item_files,
    check_items,
    check_level,
    documented_offset,
    item_level,
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


MIXED = "stac-fixtures/extracted_featurecollections/earthsearch_v1_cql2_filter_cloudcover_mixed_s2__resp2.json"
"""Recorded Earth Search response holding real sentinel-2-l1c, -l2a and -c1-l2a items."""


def _features(sample_dir: Path) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads((sample_dir / MIXED).read_text())["features"]
    return features


def test_item_level_of_recorded_sentinel2_items(sample_dir: Path) -> None:
    levels = {(f["collection"], item_level(f)) for f in _features(sample_dir)}
    assert ("sentinel-2-l1c", ("L1C", "s2:product_type")) in levels
    assert ("sentinel-2-l2a", ("L2A", "s2:product_type")) in levels
    assert {c for c, found in levels if found is not None and found[0] == "L1C"} == {
        "sentinel-2-l1c"
    }


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"properties": {"processing:level": " l2a"}}, ("L2A", "processing:level")),
        ({"properties": {"processing:level": "L1TP", "s2:product_type": "S2MSI2A"}},
         ("L1TP", "processing:level")),
        ({"properties": {"s2:product_uri": "S2B_MSIL1C_20190629T212529_N0207.SAFE"}},
         ("L1C", "s2:product_uri")),
        ({"properties": {"sentinel:product_id": "S2A_MSIL2A_20200714T115221_N0214"}},
         ("L2A", "sentinel:product_id")),
        ({"collection": "sentinel-2-l1c", "properties": {}}, ("L1C", "collection")),
        ({"collection": "sentinel-s2-l2a-cogs"}, ("L2A", "collection")),
        ({"collection": "landsat-c2-l2", "properties": {"platform": "landsat-8"}}, None),
        ({"collection": "myl1cthing"}, None),  # a marker only as a whole part of the id
    ],
)  # fmt: skip
def test_item_level_reads_the_first_field_that_says(
    item: dict[str, Any], expected: tuple[str, str] | None
) -> None:
    assert item_level(item) == expected


def test_check_items_names_the_first_level1_item_and_counts_them(sample_dir: Path) -> None:
    features = _features(sample_dir)
    l1c = [f for f in features if f["collection"] == "sentinel-2-l1c"]
    check_items([f for f in features if f["collection"] != "sentinel-2-l1c"], "x.json")
    with pytest.raises(ValueError) as err:
        check_items(features, "x.json")
    first = next(f for f in features if f["collection"] == "sentinel-2-l1c")
    assert f"STAC item {first['id']!r} in x.json is L1C (s2:product_type)" in str(err.value)
    assert f"({len(l1c)} level-1 item(s) in all)" in str(err.value)


def test_check_collection_refuses_level1_collections_only() -> None:
    for ok in (None, "sentinel-2-l2a", "sentinel-2-c1-l2a", "landsat-c2-l2", "hls"):
        check_collection(ok)
    with pytest.raises(ValueError, match="--collection sentinel-2-l1c holds L1C"):
        check_collection("sentinel-2-l1c")


def test_check_item_files_reads_items_and_item_collections(
    sample_dir: Path, tmp_path: Path
) -> None:
    features = _features(sample_dir)
    l1c = next(f for f in features if f["collection"] == "sentinel-2-l1c")
    l2a = next(f for f in features if f["collection"] == "sentinel-2-l2a")
    (tmp_path / "l2a.json").write_text(json.dumps(l2a))
    (tmp_path / "l1c.json").write_text(json.dumps(l1c))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "scene.tif").write_bytes(b"")
    check_item_files([tmp_path / n for n in ("l2a.json", "broken.json", "scene.tif", "nope.json")])
    with pytest.raises(ValueError, match=f"STAC item '{l1c['id']}' in .*l1c.json is L1C"):
        check_item_files([tmp_path / "l2a.json", tmp_path / "l1c.json"])
    n_l1c = sum(f["collection"] == "sentinel-2-l1c" for f in features)
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(ValueError, match=rf"mixed.json is L1C .*\({n_l1c} level-1 item\(s\)"):
        check_item_files([mixed])


def test_check_input_checks_preset_collection_and_item_files(tmp_path: Path) -> None:
    check_input("s2-l2a", [], "sentinel-2-l2a")
    with pytest.raises(ValueError, match="--preset s2-l1c declares L1C"):
        check_input("s2-l1c", [], None)
    with pytest.raises(ValueError, match="--collection sentinel-2-l1c"):
        check_input(None, [], "sentinel-2-l1c")
    item = tmp_path / "item.json"
    item.write_text(json.dumps({"id": "a", "properties": {"processing:level": "L1C"}}))
    with pytest.raises(ValueError, match="STAC item 'a' in .*item.json is L1C"):
        check_input(None, [item], None)
