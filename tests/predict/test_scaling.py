"""Tests for lulcbook.predict.scaling: DN → reflectance presets."""

from __future__ import annotations

import pytest

from lulcbook import predict


def test_scaling_presets_and_overrides() -> None:
    assert predict.resolve_scaling("s2-l2a-n0400", None, None, "uint16") == (1e-4, -0.1)
    assert predict.resolve_scaling("landsat-c2-l2", None, None, "uint16") == (2.75e-5, -0.2)
    assert predict.resolve_scaling(None, None, None, "float32") == (1.0, 0.0)
    assert predict.resolve_scaling(None, None, None, "uint16") == (1e-4, 0.0)
    assert predict.resolve_scaling("hls", 2e-4, 0.5, "int16") == (2e-4, 0.5)
    with pytest.raises(ValueError, match="Unknown scaling preset 'nope'"):
        predict.resolve_scaling("nope", None, None, "uint16")
