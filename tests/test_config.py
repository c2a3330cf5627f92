from pathlib import Path

import pytest
import yaml

from lulcbook import config
from lulcbook.params import MultitaskSection, ParamsError

TRAIN = {"steps": 80, "batch": 8, "crop": 32, "width": 8, "depth": 2, "lr": 0.01, "lai_scale": 3.0}


def _write(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.fixture
def params_file(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "params.yaml",
        {
            "paths": {"sample": "../x"},
            "multitask": {"seeds": [0, 1, 2], "n_boot": 1000, "train": TRAIN},
            "smoke": {"multitask": {"n_boot": 10, "train": {"steps": 2}}},
        },
    )


def test_load_params_plain_and_smoke(params_file: Path) -> None:
    full = config.load_params("multitask", smoke=False, path=params_file)
    smoke = config.load_params("multitask", smoke=True, path=params_file)
    assert full["n_boot"] == 1000 and full["train"] == TRAIN
    assert smoke["n_boot"] == 10 and smoke["train"] == {**TRAIN, "steps": 2}
    assert smoke["seeds"] == [0, 1, 2]


def test_overrides_win(params_file: Path) -> None:
    p = config.load_params("multitask", overrides={"n_boot": 5}, smoke=True, path=params_file)
    assert p["n_boot"] == 5


def test_unknown_section_and_missing_file(params_file: Path, tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="nosuch"):
        config.load_params("nosuch", path=params_file)
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        config.load_params(path=tmp_path / "missing.yaml")


def test_unknown_key_names_key_and_section(tmp_path: Path) -> None:
    bad = {"multitask": {"seeds": [0], "n_boot": 10, "train": {**TRAIN, "stepz": 3}}}
    path = _write(tmp_path / "params.yaml", bad)
    with pytest.raises(
        ParamsError, match=r"unknown key 'stepz' in section 'multitask.train'.*steps"
    ):
        config.load_params("multitask", path=path)


def test_typo_in_smoke_block_is_caught_outside_smoke_mode(tmp_path: Path) -> None:
    bad = {
        "multitask": {"seeds": [0], "n_boot": 10, "train": TRAIN},
        "smoke": {"multitask": {"nboot": 3}},
    }
    path = _write(tmp_path / "params.yaml", bad)
    with pytest.raises(ParamsError, match="smoke block.*unknown key 'nboot'"):
        config.load_params("multitask", smoke=False, path=path)


def test_unknown_section_and_wrong_type(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.yaml", {"multitsk": {"seeds": [0]}})
    with pytest.raises(ParamsError, match="unknown section 'multitsk'"):
        config.load_params(path=path)
    path = _write(
        tmp_path / "b.yaml", {"multitask": {"seeds": [0], "n_boot": "many", "train": TRAIN}}
    )
    with pytest.raises(ParamsError, match="multitask.n_boot = 'many'"):
        config.load_params("multitask", path=path)


def test_override_typo_is_an_error(params_file: Path) -> None:
    with pytest.raises(ParamsError, match="unknown key 'nboot' in section 'multitask'"):
        config.load_params("multitask", overrides={"nboot": 5}, path=params_file)


def test_typed_section(params_file: Path) -> None:
    cfg = config.load_config("multitask", smoke=True, path=params_file)
    assert isinstance(cfg, MultitaskSection)
    assert cfg.train.steps == 2 and cfg.train.lr == pytest.approx(0.01)


@pytest.mark.parametrize("smoke", [False, True])
def test_project_params_validate(smoke: bool) -> None:
    """Every section of the real params.yaml (and its smoke block) matches its schema."""
    raw = yaml.safe_load(config.PARAMS_FILE.read_text())
    for section in set(raw) - {"smoke"}:
        config.load_config(section, smoke=smoke)


def test_graph_stages_share_one_superpixel_block() -> None:
    raw = yaml.safe_load(config.PARAMS_FILE.read_text())
    for section in ("gnn", "bioclim", "uncertainty"):
        assert not {"graph", "graphs", "superpixels"} & set(raw[section]), section
    assert config.load_params("superpixels", smoke=False)["method"] in {"slic", "felzenszwalb"}


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


def test_mirrored_keys_must_agree(tmp_path: Path) -> None:
    raw = yaml.safe_load(config.PARAMS_FILE.read_text())
    raw["temporal"]["haze_max_false_alarm"] = 2 * raw["maps"]["haze_max_false_alarm"]
    path = _write(tmp_path / "params.yaml", raw)
    match = "maps.haze_max_false_alarm and temporal.haze_max_false_alarm must be equal"
    with pytest.raises(ParamsError, match=match):
        config.load_params("temporal", smoke=False, path=path)
    del raw["temporal"]["haze_max_false_alarm"]  # one of the two missing: the schema says so
    with pytest.raises(ParamsError, match="haze_max_false_alarm"):
        config.load_params("temporal", smoke=False, path=_write(path, raw))
