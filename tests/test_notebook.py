from pathlib import Path

import pytest

from lulcbook import notebook
from lulcbook.params import ParamsError


def test_setup_unpacks_and_creates_the_figure_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LULCBOOK_SMOKE", "1")
    monkeypatch.setenv("LULCBOOK_SMOKE_DIR", str(tmp_path))
    params, P, FIG = notebook.setup("09-multitask", "multitask", {"n_boot": 7})
    assert params["n_boot"] == 7
    assert FIG == P.figures / "09-multitask" and FIG.is_dir() and FIG.is_relative_to(tmp_path)
    assert "smoke mode: True" in capsys.readouterr().out


def test_setup_rejects_a_misspelt_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LULCBOOK_SMOKE", "1")
    monkeypatch.setenv("LULCBOOK_SMOKE_DIR", str(tmp_path))
    with pytest.raises(ParamsError, match="unknown key 'nboot' in section 'multitask'"):
        notebook.setup("09-multitask", "multitask", {"nboot": 7}, show=False)
