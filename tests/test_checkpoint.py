"""Checkpoints: byte-reproducible, loadable, and refusing code."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from lulcbook import checkpoint


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_state_gives_identical_files(tmp_path: Path) -> None:
    state = {"w": torch.arange(12.0).reshape(3, 4), "meta": {"name": "x", "n": 3}}
    a = checkpoint.save(state, tmp_path / "a.pt")
    b = checkpoint.save(state, tmp_path / "b.pt")
    assert _sha(a) == _sha(b)
    raw = tmp_path / "raw.pt"
    torch.save(state, raw)
    torch.save(state, tmp_path / "raw2.pt")
    assert _sha(raw) != _sha(tmp_path / "raw2.pt")  # why the module exists
    loaded = checkpoint.load(a)
    assert torch.equal(loaded["w"], state["w"]) and loaded["meta"] == state["meta"]


def test_different_states_give_different_files(tmp_path: Path) -> None:
    a = checkpoint.save({"w": torch.zeros(3)}, tmp_path / "a.pt")
    b = checkpoint.save({"w": torch.ones(3)}, tmp_path / "b.pt")
    assert _sha(a) != _sha(b)


class _Evil:
    def __reduce__(self):  # noqa: ANN204 - the attack itself
        return (Path.touch, (Path("/tmp/lulcbook-pwned"),))


def test_crafted_checkpoint_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pt"
    torch.save({"x": _Evil()}, evil)
    Path("/tmp/lulcbook-pwned").unlink(missing_ok=True)
    with pytest.raises(ValueError, match="evil.pt is not a loadable checkpoint"):
        checkpoint.load(evil)
    assert not Path("/tmp/lulcbook-pwned").exists()


def test_truncated_and_missing_files_are_named(tmp_path: Path) -> None:
    good = checkpoint.save({"w": torch.ones(100)}, tmp_path / "good.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="bad.pt is not a loadable model"):
        checkpoint.load(bad, what="model")
    with pytest.raises(FileNotFoundError, match="model .*nope.pt does not exist"):
        checkpoint.load(tmp_path / "nope.pt", what="model")
