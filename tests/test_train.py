"""Tests for lulcbook.train: one step lowers the loss, early stopping, semi-supervision, CNN loop.

The leave-region-out experiments built on these loops are tested in tests/experiments/test_folds.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch
from train_helpers import toy_graphs as _graphs
from train_helpers import toy_image as _image

from lulcbook import graphs, train
from lulcbook.models.condnorm import ClimateScaler
from lulcbook.models.gnn import GNN, GraphUNet
from lulcbook.models.pixel import PixelCNN

torch.set_num_threads(1)  # the test machine's cores are shared


@torch.no_grad()
def _loss(model, gs) -> float:
    model.eval()
    b = Batch.from_data_list(gs)
    return float(F.cross_entropy(model(b)[b.label_node], b.y))


@pytest.mark.parametrize("cls", [GraphUNet, GNN])
def test_one_training_step_lowers_the_loss(cls: type) -> None:
    gs = _graphs()
    gs = graphs.FeatureScaler().fit(gs).transform(gs)
    torch.manual_seed(0)
    model = cls(gs[0].num_node_features, 16, 2, 2, 0.0, norm="none")
    before = _loss(model, gs)
    hist = train.fit_gnn(model, gs, epochs=1, lr=1e-2, batch_size=len(gs), progress=False)
    assert len(hist.rows) == 1
    assert _loss(model, gs) < before


def test_fit_gnn_learns_early_stops_and_restores_best(tmp_path) -> None:
    gs = _graphs(12)
    sc = graphs.FeatureScaler().fit(gs)
    tr, va = sc.transform(gs[:8]), sc.transform(gs[8:])
    torch.manual_seed(0)
    model = GraphUNet(tr[0].num_node_features, 16, 2, 1, 0.1)
    hist = train.fit_gnn(
        model,
        tr,
        va,
        epochs=30,
        lr=1e-2,
        batch_size=4,
        patience=5,
        checkpoint=tmp_path / "best.pt",
        progress=False,
    )
    assert len(hist.rows) <= 30 and hist.best_epoch >= 0
    assert {"train_loss", "val_loss", "val_macro_f1"} <= set(hist.rows[0])
    logits = train.predict_gnn(model, va)
    assert logits.shape == (4, 2)
    yv = torch.cat([g.y for g in va])
    w = train.class_weights(torch.cat([g.y for g in tr]).numpy(), 2)
    assert float(F.cross_entropy(logits, yv, weight=w)) == pytest.approx(
        hist.best_val_loss, rel=1e-4
    )
    assert (logits.argmax(1) == yv).float().mean() == 1.0
    saved = torch.load(tmp_path / "best.pt")
    assert torch.equal(saved["head.weight"], model.head.weight)
    nodes = train.predict_gnn(model, va, nodes=True)
    assert [n.shape[0] for n in nodes] == [g.num_nodes for g in va]


def test_semi_supervised_uses_unlabelled_nodes() -> None:
    gs = _graphs()
    gs = graphs.FeatureScaler().fit(gs).transform(gs)
    torch.manual_seed(0)
    model = GNN(gs[0].num_node_features, 16, 2, 2, 0.0)
    semi = {"weight": 1.0, "threshold": 0.5, "warmup": 1}
    hist = train.fit_gnn(model, gs, epochs=4, batch_size=4, semi=semi, progress=False)
    assert hist.rows[0]["pseudo_frac"] == 0.0  # warm-up epoch
    assert hist.rows[-1]["pseudo_frac"] > 0 and hist.rows[-1]["unsup_loss"] > 0


def test_prepare_graphs_standardises_climate_with_missing_rule() -> None:
    gs = _graphs(4)
    clim = ClimateScaler().fit(torch.cat([g.cond for g in gs]).numpy())
    out = train.prepare_graphs(gs, graphs.FeatureScaler().fit(gs), clim)
    assert out[0].cond.shape == (1, 20) and torch.isfinite(out[0].cond).all()
    assert out[0].cond[0, -1] == 1.0 and out[1].cond[0, -1] == 0.0
    model = GNN(gs[0].num_node_features, 8, 2, 1, 0.0, norm="cond", cond_dim=20)
    hist = train.fit_gnn(model, out, epochs=2, batch_size=4, progress=False)
    assert np.isfinite(hist.rows[-1]["train_loss"])


def test_fit_cnn_single_pixel_loss_and_flips_move_the_point() -> None:
    x = torch.stack([torch.as_tensor(_image(i % 2, i, 16)) for i in range(8)])
    y = torch.tensor([i % 2 for i in range(8)])
    pts = torch.tensor([[4, 12]] * 8)
    gen = torch.Generator().manual_seed(3)
    for _ in range(5):
        xf, pf = train._flip_batch(x, pts, gen)
        torch.testing.assert_close(xf[:, :, pf[0, 0], pf[0, 1]], x[:, :, 4, 12])
        xc, pc = train._crop_batch(x, pts, 8, gen)
        assert xc.shape == (8, 4, 8, 8)
        for k in range(8):
            torch.testing.assert_close(xc[k, :, pc[k, 0], pc[k, 1]], x[k, :, 4, 12])
    torch.manual_seed(0)
    model = PixelCNN(4, 2, hidden=8, depth=1, dropout=0.0, norm="none")
    before = float(F.cross_entropy(train.predict_cnn(model, x, pts), y))
    hist = train.fit_cnn(
        model, x, y, pts, val=(x, y, pts), epochs=15, batch_size=4, crop=8, progress=False
    )
    after = float(F.cross_entropy(train.predict_cnn(model, x, pts), y))
    assert after < before and hist.best_epoch >= 0
    assert train.predict_cnn(model, x).shape == (8, 2, 16, 16)


def test_point_logits_and_paint() -> None:
    dense = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    out = train.point_logits(dense, torch.tensor([[1, 2], [3, 4]]))
    assert out.shape == (2, 3)
    torch.testing.assert_close(out[0], dense[0, :, 1, 2])
    torch.testing.assert_close(out[1], dense[1, :, 3, 4])
    painted = train.paint(torch.tensor([5, 6, 7]), np.array([[0, 1], [1, 2]]))
    assert painted.tolist() == [[5, 6], [6, 7]]
