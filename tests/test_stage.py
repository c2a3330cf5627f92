"""The stage runner: environment checks first, outputs replaced only on success."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from lulcbook import stage


def _notebook(path: Path, code: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _project(tmp_path: Path, code: str) -> Path:
    """A tiny DVC-style project: one stage whose notebook runs ``code``."""
    _notebook(tmp_path / "notebooks" / "01-x.ipynb", code)
    (tmp_path / "dvc.yaml").write_text(
        """
stages:
  x:
    cmd: python -m lulcbook.stage x
    deps: [notebooks/01-x.ipynb]
    outs:
      - reports/figures/01-x:
          cache: false
          persist: true
      - reports/notebooks/01-x.ipynb:
          cache: false
          persist: true
    metrics:
      - reports/metrics/x.json:
          cache: false
          persist: true
"""
    )
    return tmp_path


def _committed(root: Path) -> dict[str, bytes]:
    """Committed outputs of the tiny project, written before a run."""
    files = {
        "reports/figures/01-x/a.png": b"old figure",
        "reports/notebooks/01-x.ipynb": b"{}",
        "reports/metrics/x.json": b'{"oa": 0.5}',
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


WRITE_OUTPUTS = """
from pathlib import Path
root = Path.cwd().parent
(root / "reports/figures/01-x").mkdir(parents=True, exist_ok=True)
(root / "reports/figures/01-x/b.png").write_bytes(b"new figure")
(root / "reports/metrics").mkdir(parents=True, exist_ok=True)
(root / "reports/metrics/x.json").write_text('{"oa": 0.9}')
"""


def test_read_stage_finds_notebook_and_outputs(tmp_path: Path) -> None:
    root = _project(tmp_path, "1")
    s = stage.read_stage("x", root)
    assert s.notebook == root / "notebooks/01-x.ipynb"
    assert s.executed == root / "reports/notebooks/01-x.ipynb"
    assert root / "reports/metrics/x.json" in s.outputs
    with pytest.raises(stage.StageError, match="no stage 'y'"):
        stage.read_stage("y", root)


def test_failed_stage_restores_committed_outputs(tmp_path: Path) -> None:
    root = _project(tmp_path, WRITE_OUTPUTS + "\nraise RuntimeError('boom')")
    committed = _committed(root)
    with pytest.raises(stage.StageError, match="previous outputs restored"):
        stage.run_stage("x", root)
    for rel, data in committed.items():
        assert (root / rel).read_bytes() == data, rel
    assert not (root / "reports/figures/01-x/b.png").exists()  # the failed run's output is gone
    failed = root / stage.SCRATCH / "x.failed.ipynb"
    assert "boom" in failed.read_text()


def test_successful_stage_replaces_outputs(tmp_path: Path) -> None:
    root = _project(tmp_path, WRITE_OUTPUTS)
    _committed(root)
    executed = stage.run_stage("x", root)
    assert json.loads((root / "reports/metrics/x.json").read_text()) == {"oa": 0.9}
    assert not (root / "reports/figures/01-x/a.png").exists()  # stale output removed
    assert (root / "reports/figures/01-x/b.png").exists()
    assert "papermill" in json.loads(executed.read_text())["metadata"]  # the executed copy
    assert not (root / stage.SCRATCH / "backup" / "x").exists()


def test_backup_of_killed_run_is_restored(tmp_path: Path) -> None:
    """A run killed after moving outputs aside leaves a backup; the next run restores it."""
    root = _project(tmp_path, "raise RuntimeError('boom')")
    committed = _committed(root)
    s = stage.read_stage("x", root)
    guard = stage.OutputGuard(s, root).__enter__()  # moved aside, then "killed"
    assert not (root / "reports/metrics/x.json").exists()
    assert guard.saved
    (root / "reports/metrics").mkdir(exist_ok=True)
    (root / "reports/metrics/x.json").write_text("half-written")
    with pytest.raises(stage.StageError):
        stage.run_stage("x", root)
    for rel, data in committed.items():
        assert (root / rel).read_bytes() == data, rel


def test_missing_sample_is_named_before_outputs_are_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, WRITE_OUTPUTS)
    committed = _committed(root)
    monkeypatch.setenv("LULCBOOK_SAMPLE", str(tmp_path / "nowhere"))
    with pytest.raises(stage.StageError, match=r"offline sample .*nowhere does not exist"):
        stage.run_stage("x", root)
    for rel, data in committed.items():
        assert (root / rel).read_bytes() == data
    assert stage.main(["--check"]) == 1
