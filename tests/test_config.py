from pathlib import Path

import pytest
import yaml

from lulcbook import config


@pytest.fixture
def params_file(tmp_path: Path) -> Path:
    p = tmp_path / "params.yaml"
    p.write_text(
        yaml.safe_dump(
            {
                "paths": {"sample": "../x"},
                "data": {"bands": ["B02"], "n": 10, "nested": {"a": 1, "b": 2}},
                "smoke": {"data": {"n": 2, "nested": {"b": 3}}},
            }
        )
    )
    return p


def test_load_params_plain_and_smoke(params_file: Path) -> None:
    full = config.load_params("data", smoke=False, path=params_file)
    smoke = config.load_params("data", smoke=True, path=params_file)
    assert full["n"] == 10 and full["nested"] == {"a": 1, "b": 2}
    assert smoke["n"] == 2 and smoke["nested"] == {"a": 1, "b": 3}
    assert smoke["bands"] == ["B02"]


def test_overrides_win(params_file: Path) -> None:
    p = config.load_params("data", overrides={"n": 5}, smoke=True, path=params_file)
    assert p["n"] == 5


def test_unknown_section_and_missing_file(params_file: Path, tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="nosuch"):
        config.load_params("nosuch", path=params_file)
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        config.load_params(path=tmp_path / "missing.yaml")


def test_smoke_paths_are_scratch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LULCBOOK_SMOKE", "1")
    monkeypatch.setenv("LULCBOOK_SMOKE_DIR", str(tmp_path / "s"))
    p = config.get_paths()
    assert config.is_smoke()
    assert p.processed == tmp_path / "s" / "data" / "processed" and p.processed.is_dir()
    assert p.metrics.is_relative_to(tmp_path)
    monkeypatch.setenv("LULCBOOK_SMOKE", "0")
    assert config.get_paths().data == config.ROOT / "data"


def test_every_section_has_its_smoke_block() -> None:
    raw = yaml.safe_load(config.PARAMS_FILE.read_text())
    sections = set(raw) - {"paths", "smoke"}
    assert sections <= set(raw["smoke"]), f"no smoke overrides for {sections - set(raw['smoke'])}"


def test_require_names_stage(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="stage 'data'"):
        config.require(tmp_path / "nope.nc", "data")
