"""Tests for lulcbook.models.bundle: format-tagged state dictionaries saved and loaded safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from lulcbook import checkpoint
from lulcbook.models.bundle import Bundle


class _Weights(Bundle):
    FORMAT = "test.weights/1"

    def __init__(self, w: torch.Tensor, name: str) -> None:
        self.w, self.name = w, name

    def state(self) -> dict[str, Any]:
        return {"format": self.FORMAT, "w": self.w, "name": self.name}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> _Weights:
        return cls(state["w"], state["name"])


def test_save_load_round_trip_is_byte_reproducible(tmp_path: Path) -> None:
    b = _Weights(torch.arange(6.0).reshape(2, 3), "a")
    assert b.save(tmp_path / "a.pt") == tmp_path / "a.pt"
    b.save(tmp_path / "b.pt")
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    back = _Weights.load(tmp_path / "a.pt")
    assert isinstance(back, _Weights) and back.name == "a" and torch.equal(back.w, b.w)


def test_other_formats_and_missing_files_are_refused(tmp_path: Path) -> None:
    checkpoint.save({"format": "other/1", "w": torch.zeros(1)}, tmp_path / "o.pt")
    with pytest.raises(ValueError, match=r"o\.pt is not a test\.weights/1 file"):
        _Weights.load(tmp_path / "o.pt")
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        _Weights.load(tmp_path / "absent.pt")
    with pytest.raises(NotImplementedError):
        Bundle().state()
