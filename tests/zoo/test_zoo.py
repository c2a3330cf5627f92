"""Shipped models: export, listing, lookup, and the model that ships by default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lulcbook import zoo
from lulcbook.zoo import export

META = {
    "kind": "test",
    "classes": ["water", "woodland"],
    "bands": ["B02", "B03"],
    "input_level": "L1C",
    "scaling": "DN / 10000",
    "metrics": {"oa": 0.5},
    "training_data": "none",
    "licence": "MIT",
    "version": "0",
}


@pytest.fixture
def smoke_zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Smoke mode: exports go to the scratch folder, and readers look there first."""
    monkeypatch.setenv("LULCBOOK_SMOKE", "1")
    monkeypatch.setenv("LULCBOOK_SMOKE_DIR", str(tmp_path))
    out = tmp_path / "lulcbook" / "zoo"
    monkeypatch.setenv("LULCBOOK_ZOO_DIR", str(out))
    return out


def test_export_writes_weights_card_and_metadata(tmp_path: Path, smoke_zoo: Path) -> None:
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"weights")
    path = zoo.export_model(weights, "tiny", "# Card", META)
    assert path == smoke_zoo / "tiny.pt"
    assert path.read_bytes() == b"weights"
    info = zoo.get("tiny")
    assert info.card.read_text() == "# Card\n"
    assert info.metadata["classes"] == ["water", "woodland"]
    assert "tiny" in [m.name for m in zoo.list_models()]
    assert zoo.model_path("tiny") == path
    assert not (zoo.PACKAGE_DIR / "tiny.pt").exists()  # smoke never touches the package


def test_export_refuses_bad_names_and_missing_metadata(tmp_path: Path, smoke_zoo: Path) -> None:
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"w")
    with pytest.raises(ValueError, match="lacks \\['licence'\\]"):
        zoo.export_model(
            weights, "tiny", "# Card", {k: v for k, v in META.items() if k != "licence"}
        )
    with pytest.raises(ValueError, match="must be letters"):
        zoo.export_model(weights, "../evil", "# Card", META)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        zoo.export_model(tmp_path / "missing.pt", "tiny", "# Card", META)


def test_unknown_model_names_what_exists(smoke_zoo: Path) -> None:
    with pytest.raises(KeyError, match="no shipped model 'nope'"):
        zoo.model_path("nope")


def test_models_command_lists_and_prints_cards(tmp_path: Path, smoke_zoo: Path) -> None:
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"w")
    zoo.export_model(weights, "tiny", "# Card of tiny", META)
    env = {**__import__("os").environ}
    run = subprocess.run(
        [sys.executable, "-m", "lulcbook.cli", "models"], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    assert "tiny: test; input L1C [B02,B03]" in run.stdout
    card = subprocess.run(
        [sys.executable, "-m", "lulcbook.cli", "models", "--card", "tiny"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert card.stdout == "# Card of tiny\n"
    bad = subprocess.run(
        [sys.executable, "-m", "lulcbook.cli", "models", "--card", "nope"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode != 0 and bad.stderr.startswith("lulcbook: error: no shipped model")


def test_card_is_written_from_the_metrics() -> None:
    bundle = {
        "model_name": "GraphUNet",
        "bands": ["B02", "B03", "B04", "B08"],
        "classes": ["water", "woodland"],
        "graph_params": {"method": "slic"},
    }
    gnn = {
        "final_model": {"name": "m"},
        "n_points": 123,
        "models": {"m": {"oa": 0.71, "macro_f1": 0.64, "macro_f1_ci95": [0.6, 0.7]}},
    }
    gnn["brandenburg"] = {"class_fraction": {"grassland": 0.7, "water": 0.3, "woodland": 0.0}}
    card = export.gnn_card(bundle, gnn)
    assert "macro-F1 0.640 [0.600, 0.700]" in card
    assert "123 EuroSAT-MS patches" in card
    assert "the map is grassland 70.0%, water 30.0%; woodland covers 0.00%" in card
    assert "B02, B03, B04, B08" in card


def test_default_model_ships_with_its_card() -> None:
    """The pipeline exported the default map model into the package, loadable by its class."""
    info = zoo.get(zoo.DEFAULT_LULC)
    from lulcbook.predict import load_classifier

    clf = load_classifier(info.weights, info.metadata["model_class"])
    assert list(clf.bands) == info.metadata["bands"]
    assert list(clf.classes) == info.metadata["classes"]
    for key in zoo.REQUIRED_METADATA:
        assert key in info.metadata
    assert json.loads(info.weights.with_suffix(".json").read_text())["name"] == zoo.DEFAULT_LULC


@pytest.mark.parametrize("name", ["gnn-eurosat", "lucas-points"])
def test_pipeline_models_ship_with_cards(name: str) -> None:
    info = zoo.get(name)
    for key in zoo.REQUIRED_METADATA:
        assert key in info.metadata, f"{name}: metadata lacks {key}"
    assert info.card.read_text().startswith("# "), f"{name}: card missing"


def test_gnn_card_states_inputs_and_failures() -> None:
    card = zoo.card_path("gnn-eurosat").read_text()
    assert "## Known failure cases" in card and "Input level" in card


def test_shipped_path_names_no_machine(tmp_path: Path) -> None:
    root = Path(zoo.__file__).resolve().parents[2]
    assert zoo.shipped_path(zoo.model_path()) == f"lulcbook/zoo/{zoo.DEFAULT_LULC}.pt"
    assert (
        zoo.shipped_path(root / "lulcbook" / "zoo" / ".." / "zoo" / "x.pt") == "lulcbook/zoo/x.pt"
    )
    outside = tmp_path / "elsewhere.pt"
    assert zoo.shipped_path(outside) == str(outside.resolve())


def test_shipped_paths_in_the_metrics_are_relative() -> None:
    metrics = Path(zoo.__file__).resolve().parents[2] / "reports" / "metrics"
    for stage in ("maps", "continental"):
        shipped = json.loads((metrics / f"{stage}.json").read_text())["shipped"]
        assert shipped and all(p.startswith("lulcbook/zoo/") for p in shipped.values()), shipped
