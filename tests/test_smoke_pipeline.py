"""The DVC pipeline end to end, in smoke mode, through the stage commands of dvc.yaml.

The run happens in a throwaway copy of the working tree, so the committed outputs
(executed notebooks, figures, metrics, shipped models, dvc.lock) are never touched;
a broken stage command fails this test.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lulcbook.config import ROOT

PROTECTED = ("reports", "lulcbook/zoo", "dvc.lock")


def _tree_files(root: Path) -> list[Path]:
    """Tracked and untracked-but-not-ignored files (the tree CI clones), relative to root."""
    if (root / ".git").exists() and shutil.which("git"):
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            check=True,
            capture_output=True,
        ).stdout
        return [Path(p) for p in out.decode().split("\0") if p and (root / p).is_file()]
    return [p.relative_to(root) for p in root.rglob("*") if p.is_file() and ".venv" not in p.parts]


def _digest(root: Path) -> dict[str, str]:
    out = {}
    for name in PROTECTED:
        base = root / name
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for f in files:
            out[str(f.relative_to(root))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


@pytest.mark.slow
def test_dvc_pipeline_runs_in_smoke_mode(tmp_path: Path, sample_dir: Path) -> None:
    copy = tmp_path / "repo"
    for rel in _tree_files(ROOT):
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, copy / rel)
    venv = ROOT / ".venv"
    if venv.is_dir():
        (copy / ".venv").symlink_to(venv)
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    env = {
        **os.environ,
        "LULCBOOK_SMOKE": "1",
        "LULCBOOK_SMOKE_DIR": str(copy),
        "LULCBOOK_ROOT": str(copy),
        "LULCBOOK_SAMPLE": str(sample_dir),
        "PYTHONPATH": str(copy),
        "MPLBACKEND": "Agg",
    }
    if not venv.is_dir():
        env["LULCBOOK_PYTHON"] = sys.executable
    before = _digest(ROOT)
    run = subprocess.run(
        [sys.executable, "-m", "dvc", "repro", "--force"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, f"dvc repro failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    stages = yaml.safe_load((copy / "dvc.yaml").read_text())["stages"]
    for name, spec in stages.items():
        assert f"Running stage '{name}'" in run.stdout, f"stage {name} did not run"
        for kind in ("outs", "metrics"):
            for entry in spec.get(kind, []):
                out = entry if isinstance(entry, str) else next(iter(entry))
                assert (copy / out).exists(), f"stage {name} did not write {out}"
    assert _digest(ROOT) == before, "the smoke pipeline touched committed outputs"
