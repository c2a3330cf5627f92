"""Tests for lulcbook.bioclim (climate inputs, conditional models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from lulcbook import bioclim
from lulcbook import graphs as G
from lulcbook.models.condnorm import N_BIO

REGIONS = ["utm29-30", "utm31", "utm32", "utm33-36"]


def _dataset(per_region: int = 8, size: int = 16, seed: int = 0) -> xr.Dataset:
    """Tiny patch dataset: class-dependent reflectance, region-dependent climate, some NaN."""
    rng = np.random.default_rng(seed)
    n = per_region * len(REGIONS)
    labels = np.tile([1, 2, 6, 0], n // 4)  # cropland, woodland, water, artificial
    refl = rng.uniform(0.02, 0.1, size=(n, 4, size, size)).astype("float32")
    refl[:, 3] += 0.1 * (labels == 2)[:, None, None]  # NIR-bright woodland
    region = np.repeat(REGIONS, per_region)
    climate = rng.normal(0, 1, size=(n, N_BIO)) + np.repeat(np.arange(4), per_region)[:, None]
    climate[::5] = np.nan  # missing climate vectors
    split = np.where((np.arange(n) // 4) % 2 == 1, "val", "train")  # every class in val
    return xr.Dataset(
        {
            "reflectance": (("sample", "band", "y", "x"), refl),
            "label": ("sample", labels.astype("int64")),
            "point_y": ("sample", np.full(n, size // 2)),
            "point_x": ("sample", np.full(n, size // 2)),
            "region": ("sample", region),
            "split": ("sample", split),
            "climate": (("sample", "bio"), climate.astype("float32")),
        },
        coords={"band": ["B02", "B03", "B04", "B08"], "bio": [f"bio{i}" for i in range(1, 20)]},
    )


PARAMS = {
    "families": ["gnn", "cnn"],
    "variants": list(bioclim.VARIANTS),
    "seeds": [0],
    "missing_indicator": True,
    "shuffle_seed": 3,
    "n_jobs": 1,
    "gnn": {"model": "GNN", "hidden": 8, "depth": 1, "dropout": 0.0, "epochs": 2, "batch_size": 8},
    "cnn": {"crop": 8, "hidden": 4, "depth": 1, "dropout": 0.0, "epochs": 2, "batch_size": 8},
}


def test_crop_around_points_keeps_the_labelled_pixel() -> None:
    refl = np.arange(2 * 1 * 10 * 10, dtype="float32").reshape(2, 1, 10, 10)
    win, pts = bioclim.crop_around_points(refl, np.array([5, 0]), np.array([5, 9]), 4)
    assert win.shape == (2, 1, 4, 4)
    for i, (py, px) in enumerate([(5, 5), (0, 9)]):
        assert win[i, 0, pts[i, 0], pts[i, 1]] == refl[i, 0, py, px]
    np.testing.assert_array_equal(pts[1], [0, 3])  # window clipped at the corner
    with pytest.raises(ValueError, match="crop size 12"):
        bioclim.crop_around_points(refl, np.array([5, 5]), np.array([5, 5]), 12)


def test_variant_inputs() -> None:
    ds = _dataset(per_region=2)
    graphs = G.build_graphs(ds, progress=False, segment_size=16)[:3]
    cond = torch.randn(3, N_BIO + 1)
    plain = bioclim.gnn_inputs(graphs, cond, "no_climate")
    extra = bioclim.gnn_inputs(graphs, cond, "climate_input")
    assert torch.equal(plain[0].x, graphs[0].x)
    assert extra[1].x.shape == (graphs[1].num_nodes, graphs[1].x.shape[1] + N_BIO + 1)
    torch.testing.assert_close(extra[1].x[:, -1], cond[1, -1].expand(graphs[1].num_nodes))
    assert torch.equal(plain[2].cond, cond[2:3])
    x = torch.randn(3, 4, 8, 8)
    xi, ci = bioclim.cnn_inputs(x, cond, "climate_input")
    assert xi.shape == (3, 4 + N_BIO + 1, 8, 8) and ci is None
    torch.testing.assert_close(xi[0, 4 + 5], torch.full((8, 8), float(cond[0, 5])))
    xn, cn = bioclim.cnn_inputs(x, cond, "climate_norm")
    assert xn is x and torch.equal(cn, cond)
    with pytest.raises(ValueError, match="Unknown climate variant 'both'"):
        bioclim.cnn_inputs(x, cond, "both")
    with pytest.raises(ValueError, match="2 rows for 3 graphs"):
        bioclim.gnn_inputs(graphs, cond[:2], "no_climate")


def test_build_model_uses_conditional_norm_only_for_climate_norm() -> None:
    for family, in_dim in (("gnn", 20), ("cnn", 4)):
        cfg = PARAMS[family]
        n_cond = {
            v: len(bioclim.conditional_layers(bioclim.build_model(family, v, in_dim, 20, cfg)))
            for v in bioclim.VARIANTS
        }
        assert n_cond["climate_norm"] > 0
        assert n_cond["no_climate"] == n_cond["climate_input"] == 0
    with pytest.raises(ValueError, match="Unknown model family 'rf'"):
        bioclim.build_model("rf", "no_climate", 4, 20, {})
