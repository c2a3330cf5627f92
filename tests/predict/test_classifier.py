"""Tests for lulcbook.predict.classifier: loading a classifier."""

from __future__ import annotations

from pathlib import Path

import pytest

from lulcbook import predict


def test_corrupt_model_file_is_a_named_error(tmp_path: Path) -> None:
    bad = tmp_path / "gnn.pt"
    bad.write_bytes(b"PK\x03\x04 not really a checkpoint")
    with pytest.raises(ValueError, match=r"Model .*gnn\.pt cannot be loaded as"):
        predict.load_classifier(bad)
