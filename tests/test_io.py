import json
from pathlib import Path

import numpy as np
import pytest

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
    import os
    import stat

    out = io.write_json(tmp_path / "p.json", {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
