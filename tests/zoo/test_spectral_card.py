"""The spectral model card states the measured numbers and the metadata the zoo requires."""

from __future__ import annotations

import numpy as np
import torch

from lulcbook import legend, zoo
from lulcbook.models import spectral
from lulcbook.zoo import spectral_card


def _model() -> spectral.SpectralClassifier:
    torch.manual_seed(0)
    n_feat = len(spectral.feature_names(spectral.BANDS_10M))
    return spectral.SpectralClassifier(
        bands=list(spectral.BANDS_10M),
        classes=list(legend.KEYS),
        mean=np.zeros(n_feat, dtype="float32"),
        std=np.ones(n_feat, dtype="float32"),
        net=spectral.SpectralMLP(n_feat, legend.N_CLASSES, 8),
        info={"n_points": 123, "augment": "augmented"},
    )


def test_card_reports_the_checks() -> None:
    checks = {
        "brandenburg": {
            "per_class": {"woodland": {"recall": 0.8123, "ci95": [0.61, 0.93], "n_polygons": 12}}
        },
        "bigearthnet": {
            "as is": {"majority_agreement": 0.429, "ci95": [0.21, 0.67], "n_patches": 14},
            "with l2a_offset": {"majority_agreement": 0.714, "ci95": [0.45, 0.88], "n_patches": 14},
        },
        "exeter": {"as is": {"2024-06-02→2024-06-17": 0.234}},
    }
    card = spectral_card.spectral_card("m", _model(), checks)
    assert "0.81 (95 % CI 0.61–0.93)" in card and "12 polygons" in card
    assert (
        "(with l2a_offset): majority class among the CORINE-derived classes in 0.71 (95 % CI 0.45–0.88) of 14 patches"
        in card
    )
    assert "(as is): majority class among the CORINE-derived classes in 0.43" in card
    assert "Exeter L2A 2024 (as is)" in card and "23.4%" in card and "123 points" in card
    assert "mapped with `lulcbook series` at its defaults" in card  # where the series is judged
    no_exeter = {k: v for k, v in checks.items() if k != "exeter"}
    assert "lulcbook series` at its defaults" not in spectral_card.spectral_card(
        "m", _model(), no_exeter
    )
    assert "Built-up land" not in card  # no scene check, no claim
    assert "trained from seeds" not in card
    seeded = spectral_card.spectral_card(
        "m", _model(), {**checks, "exeter_seeds": "Exeter change, model trained from seeds 0–4"}
    )
    assert "- Exeter change, model trained from seeds 0–4.\n" in seeded
    assert "Simulated single dates" not in seeded
    simulated = spectral_card.spectral_card(
        "m", _model(), {**checks, "within_year": "Simulated single dates: 16.3% change class"}
    )
    assert "- Simulated single dates: 16.3% change class.\n" in simulated
    assert "confidence >=" not in simulated
    sure = spectral_card.spectral_card(
        "m", _model(), {**checks, "exeter_confidence": "Exeter, confidence >= 0.55: 0.109"}
    )
    assert "- Exeter, confidence >= 0.55: 0.109.\n" in sure
    assert "gradient boosting" not in sure
    based = spectral_card.spectral_card(
        "m", _model(), {**checks, "baseline": "Against plain gradient boosting: 0.83 vs 0.81."}
    )
    assert "- Against plain gradient boosting: 0.83 vs 0.81.\n" in based


def test_card_states_the_city_check_it_was_given() -> None:
    scene = {
        "artificial_share": {"2024-06-02": 0.004, "2024-08-01": 0.003},
        "points": [
            {
                "label": "artificial",
                "mapped": {"2024-06-02": "grassland", "2024-08-01": "grassland"},
            }
        ],
    }
    card = spectral_card.spectral_card("m", _model(), {"exeter_scene": scene})
    line = next(x for x in card.splitlines() if x.startswith("- Built-up land"))
    assert "0.4% on 2024-06-02, 0.3% on 2024-08-01" in line
    assert "(artificial) is mapped grassland." in line
    assert "B02, B03, B04, B08" in card


def test_card_names_haze_only_when_the_bound_removes_the_change() -> None:
    bound = {"as_is": 0.187, "by_scale": {"500 m": {"changed_share": 0.184}}}
    bins = {"q1": {"changed_share": 0.129, "range": [0.0, 0.031]},
            "q2": {"changed_share": 0.13, "range": [0.031, 0.07]},
            "q3": {"changed_share": 0.13, "range": [0.07, 0.13]},
            "q4": {"changed_share": 0.377, "range": [0.13, 0.9]}}  # fmt: skip
    scene = {"haze_bound": {"2024-06-02→2024-08-01": bound},
             "change_by_ndvi_change": {"2024-06-02→2024-08-01": bins}}  # fmt: skip
    card = spectral_card.spectral_card("m", _model(), {"exeter_scene": scene})
    line = next(x for x in card.splitlines() if x.startswith("- Cropland and grassland"))
    assert "2024-06-02→2024-08-01: 12.9% of the pixels change class in the quarter whose" in line
    assert "(by at most 0.031) and 37.7% in the quarter whose NDVI changed most" in line
    assert (
        "; a scene-scale haze correction removes little of it: 18.7% of the pixels change class as is, 18.4% with"
        in line
    )
    assert line.endswith("the scene-scale difference of the bands taken off (Gaussian σ 500 m).")
    bound["by_scale"]["500 m"]["changed_share"] = 0.05
    card = spectral_card.spectral_card("m", _model(), {"exeter_scene": scene})
    assert "a scene-scale haze correction removes up to 73% of it" in card
    plain = spectral_card.spectral_card("m", _model(), {})
    assert (
        "- Cropland and grassland are often confused on single dates (Exeter change shares)."
        in plain
    )


def test_metadata_has_required_keys() -> None:
    meta = spectral_card.spectral_metadata(_model(), {}, version="1")
    assert set(zoo.REQUIRED_METADATA) <= set(meta)
    assert meta["model_class"] == "lulcbook.models.spectral:SpectralClassifier"
    assert set(meta["l2a_offset"]) == set(spectral.BANDS_10M)
