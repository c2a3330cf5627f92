"""Every file the project loads that could carry code is loaded safely.

A crafted checkpoint whose unpickling would run a shell command (an object with a
``__reduce__`` returning ``os.system``) must be refused by each loader, and the command must
never run. Real files written by the project's own savers still load.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from lulcbook import graphs


class _RunsCode:
    """Unpickling this object runs ``touch MARKER`` (what an attacker's checkpoint would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _crafted(path: Path, payload: object) -> Path:
    torch.save(payload, path)
    return path


def test_crafted_pickle_would_run_code_when_loaded_unsafely(tmp_path: Path) -> None:
    """The crafted file is real: unsafe loading runs its command (so the tests below mean it)."""
    marker = tmp_path / "ran"
    path = _crafted(tmp_path / "evil.pt", {"config": _RunsCode(marker)})
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_diffusion_checkpoint_loader_refuses_code(tmp_path: Path) -> None:
    from lulcbook.models import diffusion

    marker = tmp_path / "ran"
    path = _crafted(tmp_path / "diffusion.pt", {"config": _RunsCode(marker), "state": {}})
    with pytest.raises(ValueError, match=r"diffusion\.pt is not a safe diffusion checkpoint"):
        diffusion.load_diffusion(path)
    assert not marker.exists()
    (tmp_path / "cut.pt").write_bytes(b"PK\x03\x04")  # truncated: a named error too
    with pytest.raises(ValueError, match=r"cut\.pt is not a safe diffusion checkpoint"):
        diffusion.load_diffusion(tmp_path / "cut.pt")


def test_segment_classifier_loader_refuses_code(tmp_path: Path) -> None:
    from lulcbook import predict

    marker = tmp_path / "ran"
    path = _crafted(tmp_path / "gnn.pt", {"format": _RunsCode(marker)})
    with pytest.raises(ValueError, match=r"gnn\.pt cannot be loaded"):
        predict.load_classifier(path)
    assert not marker.exists()


def _patches(n: int = 3) -> xr.Dataset:
    rng = np.random.default_rng(0)
    refl = rng.uniform(0.02, 0.3, (n, 4, 24, 24)).astype(np.float32)
    refl[:, :, :12] += 0.2  # two regions per patch
    return xr.Dataset(
        {
            "reflectance": (("sample", "band", "y", "x"), refl),
            "label": ("sample", np.arange(n) % 2),
            "point_y": ("sample", np.full(n, 12)),
            "point_x": ("sample", np.full(n, 12)),
        },
        coords={"band": ["B02", "B03", "B04", "B08"]},
    )


def test_graph_cache_refuses_code_and_is_rebuilt(tmp_path: Path) -> None:
    ds = _patches()
    params = {"segment_size": 36}
    built = graphs.build_graphs(ds, cache_dir=tmp_path, progress=False, **params)
    (cache,) = tmp_path.glob("graphs-*.pt")
    again = graphs.build_graphs(ds, cache_dir=tmp_path, progress=False, **params)  # from cache
    for a, b in zip(built, again, strict=True):
        assert type(b) is graphs.SegmentGraph and torch.equal(a.x, b.x)
        assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.label_node, b.label_node)
    marker = tmp_path / "ran"
    _crafted(cache, [_RunsCode(marker)])
    with pytest.warns(UserWarning, match=r"Ignoring graph cache .*graphs-.*\.pt"):
        rebuilt = graphs.build_graphs(ds, cache_dir=tmp_path, progress=False, **params)
    assert not marker.exists()
    assert len(rebuilt) == len(built) and torch.equal(rebuilt[0].x, built[0].x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten cache loads safely, without a warning
        assert graphs.load_graph_cache(cache) is not None
