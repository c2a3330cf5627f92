"""Atomic output writing: a file, or a set of files, appears complete or not at all.

* :func:`atomic_path` — one file, written to a temporary name beside it and renamed.
* :func:`output_set` — several files (e.g. a map, its uncertainty and its STAC item) written
  into a scratch folder beside the targets and moved into place together: if any move fails,
  the ones already moved are rolled back from backups, so the old set stays intact.

Scratch folders are named ``.lulcbook-scratch-<pid>-<random>``. They are removed on any exit
of the ``with`` block, at interpreter exit and on SIGTERM (a handler turns SIGTERM into
``SystemExit(143)`` so that the ``with`` blocks unwind); a scratch folder left behind by a
killed process (``kill -9``) is recognised by its name and removed by the next
:func:`output_set` in the same folder once its process no longer runs.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

SCRATCH_PREFIX = ".lulcbook-scratch-"
"""Name prefix of scratch folders; followed by ``<pid>-<random>``."""
_SCRATCH_NAME = re.compile(rf"^{re.escape(SCRATCH_PREFIX)}(\d+)-[A-Za-z0-9_]+$")
_ACTIVE: set[Path] = set()
_LOCK = threading.Lock()


def _replace(src: Path, dst: Path) -> None:
    """The rename that moves outputs into place (looked up at call time: tests inject failures)."""
    os.replace(src, dst)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only on success.

    On any exception the temporary file is removed and an existing ``path`` is
    left untouched.

    Raises:
        FileNotFoundError: if the destination folder does not exist.
        IsADirectoryError: if ``path`` is an existing folder.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Output folder {path.parent} does not exist (for {path.name})")
    if path.is_dir():
        raise IsADirectoryError(f"Output {path} is a folder; give a file name")
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix or path.suffix or ".tmp", dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates owner-only files
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


# --------------------------------------------------------------------------- scratch folders
def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_stale_scratch(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove scratch folders in ``folder`` left by processes that no longer run.

    Returns:
        The removed folders.
    """
    removed = []
    with contextlib.suppress(OSError):
        for p in Path(folder).iterdir():
            m = _SCRATCH_NAME.match(p.name)
            if m and p.is_dir() and p not in _ACTIVE and not _pid_alive(int(m.group(1))):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def _cleanup_all() -> None:
    with _LOCK:
        active = list(_ACTIVE)
        _ACTIVE.clear()
    for p in active:
        shutil.rmtree(p, ignore_errors=True)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM handler: exit through ``SystemExit`` so that cleanups run."""
    raise SystemExit(128 + signum)  # unwinds the with blocks: scratch removed, rollback done


_HANDLER_INSTALLED = False


def _install_handlers() -> None:
    """Register the ``atexit`` cleanup, and SIGTERM → SystemExit where SIGTERM still has its default action."""
    global _HANDLER_INSTALLED
    if _HANDLER_INSTALLED:
        return
    _HANDLER_INSTALLED = True
    atexit.register(_cleanup_all)
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _on_sigterm)


@contextlib.contextmanager
def scratch_dir(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """A private scratch folder inside ``folder``, removed on any exit (also at exit, SIGTERM).

    Stale scratch folders of killed processes in ``folder`` are removed first.

    Raises:
        FileNotFoundError: if ``folder`` does not exist.
        PermissionError: if ``folder`` is not writable.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Output folder {folder} does not exist")
    _install_handlers()
    clean_stale_scratch(folder)
    path = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=folder))
    with _LOCK:
        _ACTIVE.add(path)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        with _LOCK:
            _ACTIVE.discard(path)


# --------------------------------------------------------------------------- output sets
def check_output_paths(
    outputs: Sequence[str | os.PathLike[str]],
    inputs: Sequence[str | os.PathLike[str]] = (),
    names: Sequence[str] | None = None,
) -> list[Path]:
    """Check output paths before any work: distinct, not inputs, not folders, folder writable.

    Args:
        outputs: the files to be written.
        inputs: the files that are read (scene, band files, STAC item, model); no output may
            be one of them.
        names: what each output is (e.g. ``"--out"``, ``"--stac-out"``), for messages.

    Returns:
        The outputs as absolute paths.

    Raises:
        ValueError: naming the paths that coincide (two outputs, or an output and an input).
        IsADirectoryError: if an output is an existing folder.
        FileNotFoundError: if an output's folder does not exist.
        PermissionError: if an output's folder is not writable.
    """
    names = list(names) if names is not None else [f"output {i + 1}" for i in range(len(outputs))]
    outs = [Path(os.path.abspath(p)) for p in outputs]
    resolved = [p.resolve() for p in outs]
    ins = {Path(os.path.abspath(p)).resolve(): Path(p) for p in inputs}
    for i, (p, r) in enumerate(zip(outs, resolved, strict=True)):
        for j in range(i):
            if resolved[j] == r:
                raise ValueError(
                    f"{names[i]} {p} is the same file as {names[j]} {outs[j]}; "
                    "each output needs its own path"
                )
        same = [src for key, src in ins.items() if key == r or _same_file(p, key)]
        if same:
            raise ValueError(
                f"{names[i]} {p} is an input ({same[0]}); writing it would destroy the input"
            )
        if p.is_dir():
            raise IsADirectoryError(f"{names[i]} {p} is a folder; give a file name")
        if not p.parent.is_dir():
            raise FileNotFoundError(
                f"Output folder {p.parent} does not exist (for {names[i]} {p.name})"
            )
        if not os.access(p.parent, os.W_OK | os.X_OK):
            raise PermissionError(f"Output folder {p.parent} is not writable (for {names[i]})")
        if p.exists() and not os.access(p, os.W_OK) and not os.access(p.parent, os.W_OK):
            raise PermissionError(f"{names[i]} {p} exists and cannot be replaced")
    return outs


def _same_file(a: Path, b: Path) -> bool:
    """Whether two existing paths are one file (also through hard links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@dataclass
class OutputSet:
    """Temporary paths for a set of outputs and a scratch folder for intermediate files.

    Attributes:
        targets: the final paths.
        tmp: one temporary path per target (same folder tree, same file system).
        scratch: the scratch folder beside the first target, for intermediate files.
    """

    targets: list[Path]
    tmp: list[Path]
    scratch: Path
    _scratches: dict[Path, Path] = field(default_factory=dict)


def _commit(targets: Sequence[Path], tmps: Sequence[Path], scratches: dict[Path, Path]) -> None:
    """Move ``tmps`` onto ``targets``; on any failure restore the previous state and re-raise."""
    umask = _umask()
    for t in tmps:
        if not t.exists():
            raise FileNotFoundError(f"{t.name} was not written (for {t})")
        os.chmod(t, 0o666 & ~umask)
    done: list[tuple[Path, Path | None]] = []  # (target, its backup or None if it was absent)
    try:
        for i, (target, tmp) in enumerate(zip(targets, tmps, strict=True)):
            backup = None
            if target.exists():
                backup = scratches[target.parent] / f"backup-{i}"
                _replace(target, backup)
            done.append((target, backup))
            _replace(tmp, target)
    except BaseException:
        for target, backup in reversed(done):
            with contextlib.suppress(OSError):
                if backup is not None and backup.exists():
                    os.replace(backup, target)
                elif backup is None and target.exists():
                    target.unlink()
        raise


@contextlib.contextmanager
def output_set(paths: Sequence[str | os.PathLike[str]]) -> Iterator[OutputSet]:
    """Write several files that appear together or not at all.

    Write each file to ``set.tmp[i]`` inside the block; on a clean exit they are moved onto
    ``paths`` one by one (each existing target first moved to a backup), and if any move fails
    the already moved ones are restored from their backups (targets that did not exist are
    removed). The scratch folders (one per target folder, so every move is a rename) are
    removed on any exit, including SIGTERM.

    Raises:
        ValueError: if two paths are the same file.
        IsADirectoryError, FileNotFoundError, PermissionError: see :func:`check_output_paths`.
    """
    targets = check_output_paths(paths)
    with contextlib.ExitStack() as stack:
        scratches: dict[Path, Path] = {}
        for t in targets:
            if t.parent not in scratches:
                scratches[t.parent] = stack.enter_context(scratch_dir(t.parent))
        tmps = [scratches[t.parent] / f"new-{i}{t.suffix}" for i, t in enumerate(targets)]
        out = OutputSet(targets, tmps, scratches[targets[0].parent], scratches)
        yield out
        _commit(targets, tmps, scratches)


# --------------------------------------------------------------------------- JSON
def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically; numpy values and NaN (→ null) are handled."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n")
    return path


def write_metrics(metrics_dir: str | os.PathLike[str], name: str, metrics: dict[str, Any]) -> Path:
    """Write ``reports/metrics/<name>.json`` (read by ``dvc metrics show``)."""
    return write_json(Path(metrics_dir) / f"{name}.json", metrics)
