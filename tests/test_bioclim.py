"""Tests for lulcbook.bioclim (climate inputs, conditional models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bioclim_helpers import PARAMS
from bioclim_helpers import bioclim_dataset as _dataset

from lulcbook import bioclim
from lulcbook import graphs as G
from lulcbook.models.condnorm import N_BIO


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
