import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lulcbook import io


def test_write_json_handles_numpy_and_nan(tmp_path: Path) -> None:
    p = io.write_metrics(
        tmp_path, "m", {"a": np.float32(0.5), "b": np.arange(3), "c": float("nan")}
    )
    assert json.loads(p.read_text()) == {"a": 0.5, "b": [0, 1, 2], "c": None}


def test_atomic_path_keeps_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_path_missing_folder(tmp_path: Path) -> None:
    with (
        pytest.raises(FileNotFoundError, match="nofolder"),
        io.atomic_path(tmp_path / "nofolder" / "x.json"),
    ):
        pass


def test_atomic_files_get_normal_permissions(tmp_path: Path) -> None:
    import stat

    out = io.write_json(tmp_path / "p.json", {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


# --- output sets ------------------------------------------------------------------------------


def _state(paths: list[Path]) -> list[bytes | None]:
    return [p.read_bytes() if p.exists() else None for p in paths]


def _scratch(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_output_set_moves_all_files_together(tmp_path: Path) -> None:
    sub = tmp_path / "items"
    sub.mkdir()
    paths = [tmp_path / "map.tif", tmp_path / "map_uncertainty.tif", sub / "map.json"]
    paths[0].write_bytes(b"old map")
    with io.output_set(paths) as outs:
        for i, t in enumerate(outs.tmp):
            t.write_bytes(f"new {i}".encode())
        assert all(p.parent != t.parent for p, t in zip(paths, outs.tmp, strict=True))
        assert _state(paths) == [b"old map", None, None]  # nothing visible before the end
    assert _state(paths) == [b"new 0", b"new 1", b"new 2"]
    assert _scratch(tmp_path) == [] and _scratch(sub) == []


class _Injected(OSError):
    pass


def _fail_on_call(monkeypatch: pytest.MonkeyPatch, n: int) -> list[int]:
    """Make the ``n``-th ``os.replace`` (1-based) fail; later calls (the rollback) work."""
    calls = [0]
    real = os.replace

    def replace(src: object, dst: object) -> None:
        calls[0] += 1
        if calls[0] == n:
            raise _Injected(f"injected failure of rename {n}")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return calls


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    existing=st.lists(st.booleans(), min_size=1, max_size=4),
    fail_at=st.integers(min_value=0, max_value=9),
    fail_in_block=st.booleans(),
)
def test_output_set_is_all_or_nothing_under_injected_failures(
    tmp_path_factory: pytest.TempPathFactory,
    existing: list[bool],
    fail_at: int,
    fail_in_block: bool,
) -> None:
    """Property: whatever step fails (writing, a backup move, a move into place), the targets
    afterwards hold either the complete new set or exactly the old state, and no scratch is left.
    ``fail_at = 0`` injects nothing (or only the failure inside the block)."""
    folder = tmp_path_factory.mktemp("set")
    paths = [folder / f"out{i}.bin" for i in range(len(existing))]
    for p, e in zip(paths, existing, strict=True):
        if e:
            p.write_bytes(b"old " + p.name.encode())
    before = _state(paths)
    new = [b"new " + p.name.encode() for p in paths]
    mp = pytest.MonkeyPatch()
    try:
        if fail_at:
            _fail_on_call(mp, fail_at)
        with io.output_set(paths) as outs:
            for i, t in enumerate(outs.tmp):
                if fail_in_block and i == len(paths) - 1:
                    raise _Injected("failure while writing the last file")
                t.write_bytes(new[i])
    except _Injected:
        assert _state(paths) == before
    else:
        assert _state(paths) == new
    finally:
        mp.undo()
    assert _scratch(folder) == []


def test_output_set_rejects_duplicates_inputs_and_folders(tmp_path: Path) -> None:
    a = tmp_path / "a.tif"
    with pytest.raises(ValueError, match=r"same file"):
        with io.output_set([a, tmp_path / "." / "a.tif"]):
            pass
    src = tmp_path / "scene.tif"
    src.write_bytes(b"input")
    with pytest.raises(ValueError, match=r"is an input .*scene\.tif"):
        io.check_output_paths([src], inputs=[src], names=["--out"])
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match=r"--out .*d is a folder"):
        io.check_output_paths([tmp_path / "d"], names=["--out"])
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    with pytest.raises(FileNotFoundError, match=r"file\.txt does not exist"):
        io.check_output_paths([not_a_folder / "item.json"], names=["--stac-out"])
    assert src.read_bytes() == b"input" and sorted(p.name for p in tmp_path.iterdir()) == [
        "d",
        "file.txt",
        "scene.tif",
    ]


def test_stale_scratch_of_a_killed_run_is_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f"{io.SCRATCH_PREFIX}{int(dead.stdout)}-abc123"
    stale.mkdir()
    (stale / "new-0.tif").write_bytes(b"half written")
    alive = tmp_path / f"{io.SCRATCH_PREFIX}{os.getppid()}-live"  # a running process: kept
    alive.mkdir()
    lookalike = tmp_path / ".lulcbook-scratchy"  # not the pattern: kept
    lookalike.mkdir()
    with io.output_set([tmp_path / "m.tif"]) as outs:
        outs.tmp[0].write_bytes(b"map")
    assert not stale.exists() and alive.exists() and lookalike.exists()
    assert (tmp_path / "m.tif").read_bytes() == b"map"


def test_sigterm_removes_scratch_and_keeps_old_outputs(tmp_path: Path) -> None:
    target = tmp_path / "map.tif"
    target.write_bytes(b"old")
    code = textwrap.dedent(
        f"""
        import sys, time
        from lulcbook import io
        with io.output_set([{str(target)!r}]) as outs:
            outs.tmp[0].write_bytes(b"new")
            print(outs.scratch, flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    scratch = Path(proc.stdout.readline().strip())
    assert scratch.is_dir()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert not scratch.exists() and target.read_bytes() == b"old"
    assert _scratch(tmp_path) == []
