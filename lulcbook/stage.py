"""Run one DVC stage's notebook safely: ``python -m lulcbook.stage NAME``.

Every stage in ``dvc.yaml`` runs ``${LULCBOOK_PYTHON:-.venv/bin/python} -m lulcbook.stage
NAME``, so a stage never depends on what is on ``PATH``. The runner:

1. checks the environment (the offline sample, the notebook kernel) before any
   output is touched, and says what is missing;
2. moves the stage's existing outputs (``outs``, ``metrics``, ``plots``) aside, so
   nothing stale survives a run;
3. executes the notebook (the stage's first ``.ipynb`` dependency) with papermill
   into a scratch file, and moves the executed copy to its place under
   ``reports/notebooks/`` only when the whole notebook ran;
4. on failure puts every output back exactly as it was (a failed stage never
   leaves committed results deleted or half-written) and keeps the failed
   executed notebook in ``.dvc/tmp/lulcbook/`` for reading.

Stage outputs are declared ``persist: true`` so that DVC itself never deletes
them before the runner has saved them. ``python -m lulcbook.stage --check`` runs
step 1 alone (``make repro`` does this before ``dvc repro``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import yaml

from lulcbook.config import ROOT, sample_dir

SCRATCH = Path(".dvc") / "tmp" / "lulcbook"
"""Scratch folder (inside the repository, ignored by git) for backups and failed runs."""


class StageError(RuntimeError):
    """A stage could not run or failed; the message says why."""


@dataclass(frozen=True)
class Stage:
    """What the runner needs to know of one notebook stage of ``dvc.yaml``."""

    name: str
    notebook: Path
    executed: Path
    outputs: tuple[Path, ...]


def _entries(items: Sequence[Any] | None) -> Iterator[str]:
    for item in items or []:
        if isinstance(item, dict):
            yield from (str(k) for k in item)
        else:
            yield str(item)


def read_stage(name: str, root: Path = ROOT) -> Stage:
    """Read stage ``name`` from ``root/dvc.yaml``.

    Raises:
        StageError: if the file or stage is missing, or the stage has no notebook
            dependency or no executed copy under ``reports/notebooks/``.
    """
    dvc_file = root / "dvc.yaml"
    if not dvc_file.is_file():
        raise StageError(f"{dvc_file} does not exist")
    stages = (yaml.safe_load(dvc_file.read_text()) or {}).get("stages", {})
    if name not in stages:
        raise StageError(f"no stage {name!r} in {dvc_file}; stages: {sorted(stages)}")
    spec = stages[name]
    notebooks = [d for d in _entries(spec.get("deps")) if d.endswith(".ipynb")]
    if not notebooks:
        raise StageError(f"stage {name!r} in {dvc_file} has no notebook (.ipynb) dependency")
    outputs = [
        *_entries(spec.get("outs")),
        *_entries(spec.get("metrics")),
        *_entries(spec.get("plots")),
    ]
    executed = [o for o in outputs if o.startswith("reports/notebooks/") and o.endswith(".ipynb")]
    if len(executed) != 1:
        raise StageError(
            f"stage {name!r} in {dvc_file} must have exactly one executed notebook under "
            f"reports/notebooks/ among its outs; found {executed}"
        )
    return Stage(
        name,
        root / notebooks[0],
        root / executed[0],
        tuple(root / o for o in outputs),
    )


def check_environment() -> list[str]:
    """Return what is missing for the pipeline to run (empty when all is well)."""
    problems = []
    sample = sample_dir()
    if not sample.is_dir():
        how = (
            "LULCBOOK_SAMPLE points there"
            if os.environ.get("LULCBOOK_SAMPLE")
            else "paths.sample in params.yaml points there; put the sample beside the "
            "repository (../shared/eo-sample) or set LULCBOOK_SAMPLE"
        )
        problems.append(f"the offline sample {sample} does not exist ({how})")
    for module in ("papermill", "ipykernel", "dvc"):
        if importlib.util.find_spec(module) is None:
            problems.append(
                f"Python package {module!r} is missing from {sys.executable}: run `make env` "
                "(or `pip install -e '.[dev]'`) or set LULCBOOK_PYTHON to an environment with it"
            )
    return problems


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _move(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    _remove(dst)
    shutil.move(str(src), str(dst))


class OutputGuard:
    """Move a stage's outputs aside and put them back unless the stage succeeds."""

    def __init__(self, stage: Stage, root: Path = ROOT) -> None:
        """Guard the outputs of ``stage`` under ``root``."""
        self.stage = stage
        self.root = root
        self.backup = root / SCRATCH / "backup" / stage.name
        self.saved: list[Path] = []

    def __enter__(self) -> OutputGuard:
        """Move the current outputs aside (or keep a backup left by a killed run)."""
        manifest = self.backup / "MANIFEST"
        if manifest.exists():
            # a run killed earlier left its backup: those are the last good outputs
            self.saved = [Path(line) for line in manifest.read_text().splitlines() if line]
            self._restore()
        shutil.rmtree(self.backup, ignore_errors=True)
        self.backup.mkdir(parents=True)
        self.saved = [o.relative_to(self.root) for o in self.stage.outputs if o.exists()]
        manifest.write_text("".join(f"{rel}\n" for rel in self.saved))
        for rel in self.saved:
            _move(self.root / rel, self.backup / rel)
        return self

    def _restore(self) -> None:
        saved = set(self.saved)
        for out in self.stage.outputs:
            rel = out.relative_to(self.root)
            if rel not in saved:
                _remove(out)  # written by the failed run, absent before it
            elif (self.backup / rel).exists():
                _move(self.backup / rel, out)  # else it was never moved aside

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Restore the saved outputs if the body raised; drop the backup."""
        if exc_type is not None:
            self._restore()
        shutil.rmtree(self.backup, ignore_errors=True)


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Signal handler: leave through ``SystemExit`` so that the output guard restores."""
    raise SystemExit(f"terminated by signal {signum}")


def run_stage(name: str, root: Path = ROOT, kernel: str = "python3") -> Path:
    """Execute stage ``name``'s notebook; outputs are replaced only if it succeeds.

    Returns:
        The executed notebook.

    Raises:
        StageError: if the environment is incomplete (nothing touched) or the
            notebook failed (every previous output restored).
    """
    import papermill

    stage = read_stage(name, root)
    problems = check_environment()
    if problems:
        raise StageError(f"stage {name!r} cannot run:\n  - " + "\n  - ".join(problems))
    if not stage.notebook.is_file():
        raise StageError(f"stage {name!r}: notebook {stage.notebook} does not exist")
    failed = root / SCRATCH / f"{name}.failed.ipynb"
    partial = root / SCRATCH / f"{name}.partial.ipynb"
    partial.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("LULCBOOK_PROGRESS", "summary")
    signal.signal(signal.SIGTERM, _terminate)
    start = time.perf_counter()
    print(f"stage {name}: executing {stage.notebook.relative_to(root)}", flush=True)
    with OutputGuard(stage, root):
        try:
            papermill.execute_notebook(
                str(stage.notebook),
                str(partial),
                kernel_name=kernel,
                cwd=str(stage.notebook.parent),
                progress_bar=False,
            )
        except Exception as err:
            if partial.exists():
                _move(partial, failed)
            raise StageError(
                f"stage {name!r} failed after {time.perf_counter() - start:.0f} s; previous "
                f"outputs restored; executed notebook with the error: {failed}\n{err}"
            ) from None
        stage.executed.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, stage.executed)
    print(f"stage {name}: done in {time.perf_counter() - start:.0f} s", flush=True)
    return stage.executed


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the runner; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m lulcbook.stage", description=__doc__)
    parser.add_argument("stage", nargs="?", help="the dvc.yaml stage to run")
    parser.add_argument("--check", action="store_true", help="only check the environment")
    args = parser.parse_args(argv)
    if args.check or not args.stage:
        problems = check_environment()
        for p in problems:
            print(f"lulcbook: error: {p}", file=sys.stderr)
        if not problems:
            print(f"environment ok: python {sys.executable}, sample {sample_dir()}")
        return 1 if problems else 0
    try:
        run_stage(args.stage)
    except StageError as err:
        print(f"lulcbook: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
