"""MC dropout, ensembles, temperature scaling and the entropy decomposition."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from lulcbook import uncertainty as U
from lulcbook.graphs import SegmentGraph
from lulcbook.models.gnn import GNN

torch.set_num_threads(1)


def test_entropy_by_hand() -> None:
    assert U.entropy([0.5, 0.5]) == pytest.approx(math.log(2))
    assert U.entropy([1.0, 0.0, 0.0]) == 0.0
    p = [0.7, 0.2, 0.1]
    assert U.entropy(p) == pytest.approx(
        -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    )


def test_decomposition_agreeing_and_disagreeing_members() -> None:
    # two members that agree: no epistemic uncertainty
    same = np.array([[[0.7, 0.3]], [[0.7, 0.3]]])
    assert U.mutual_information(same)[0] == pytest.approx(0.0, abs=1e-12)
    assert U.predictive_entropy(same)[0] == pytest.approx(U.entropy([0.7, 0.3]))
    # two confident members that disagree: all uncertainty is epistemic (log 2)
    apart = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    d = U.decompose(apart)
    assert d["entropy"][0] == pytest.approx(math.log(2))
    assert d["expected_entropy"][0] == pytest.approx(0.0)
    assert d["mutual_information"][0] == pytest.approx(math.log(2))
    np.testing.assert_allclose(d["probs"], [[0.5, 0.5]])
    # mixed case, by hand: H([0.6, 0.4]) - (H([0.9, 0.1]) + H([0.3, 0.7])) / 2
    mixed = np.array([[[0.9, 0.1]], [[0.3, 0.7]]])
    expected = U.entropy([0.6, 0.4]) - (U.entropy([0.9, 0.1]) + U.entropy([0.3, 0.7])) / 2
    assert U.mutual_information(mixed)[0] == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"\(T, n, C\)"):
        U.mutual_information(np.ones((3, 2)) / 2)


def test_calibrated_probs_temperature() -> None:
    z = np.array([[2.0, 0.0], [0.0, 1.0]])
    p = U.calibrated_probs(z, temperature=2.0)
    np.testing.assert_allclose(p[0], [1 / (1 + math.exp(-1)), 1 - 1 / (1 + math.exp(-1))])
    # (T, n, C): members are averaged first, then the pooled log-probabilities are scaled
    zz = np.stack([z, -z])
    mean = (F.softmax(torch.tensor(z), 1) + F.softmax(torch.tensor(-z), 1)).numpy() / 2
    np.testing.assert_allclose(U.calibrated_probs(zz, 1.0), mean)
    scaled = np.exp(np.log(mean) / 3.0)
    np.testing.assert_allclose(U.calibrated_probs(zz, 3.0), scaled / scaled.sum(1, keepdims=True))
    with pytest.raises(ValueError, match="temperature"):
        U.calibrated_probs(z, 0.0)


def test_ensemble_temperature_is_not_driven_to_zero() -> None:
    # 100 samples both members get right; 100 where member A is mildly right and member B
    # confidently wrong (the pooled prediction is wrong there)
    y = np.zeros(200, dtype=int)
    both = np.tile([2.0, 0.0], (100, 1))
    a = np.vstack([both, np.tile([1.0, 0.0], (100, 1))])
    b = np.vstack([both, np.tile([0.0, 3.0], (100, 1))])
    members = np.stack([a, b])

    def nll_member_scaled(temp: float) -> float:  # scale every member, then average
        p = F.softmax(torch.tensor(members) / temp, -1).mean(0).numpy()
        return float(-np.mean(np.log(p[np.arange(200), y])))

    # scaling members would push T to the lower bound (one member is always right) ...
    assert nll_member_scaled(0.05) < nll_member_scaled(1.0)
    # ... pooling first keeps T finite, and better than both extremes
    t = U.fit_temperature(members, y)
    assert 0.2 < t < 20

    def nll_pooled(temp: float) -> float:
        p = U.calibrated_probs(members, temp)
        return float(-np.mean(np.log(p[np.arange(200), y])))

    assert nll_pooled(t) <= min(nll_pooled(0.05), nll_pooled(1.0), nll_pooled(20.0))


def test_fit_temperature_recovers_true_temperature() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, size=(4000, 4))
    true_t = 2.5  # labels drawn from softmax(z / 2.5): the raw logits are over-confident
    p = F.softmax(torch.tensor(z) / true_t, dim=1).numpy()
    y = np.array([rng.choice(4, p=row) for row in p])
    t = U.fit_temperature(z, y)
    assert t == pytest.approx(true_t, rel=0.1)

    # the fitted T is a minimum of the validation NLL
    def nll(temp: float) -> float:
        return float(F.cross_entropy(torch.tensor(z) / temp, torch.tensor(y)))

    assert nll(t) <= nll(t * 1.05) and nll(t) <= nll(t / 1.05)
    assert nll(t) < nll(1.0)
    scaler = U.TemperatureScaler().fit(z, y)
    assert scaler.temperature == pytest.approx(t)
    np.testing.assert_allclose(scaler.predict_proba(z), U.calibrated_probs(z, t))


def _graphs(n: int = 12, seed: int = 0) -> list[Data]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        k = 6
        src = torch.arange(k - 1)
        ei = torch.cat([torch.stack([src, src + 1]), torch.stack([src + 1, src])], dim=1)
        y = i % 3
        x = torch.randn(k, 5, generator=gen) + y
        g = SegmentGraph(
            x=x,
            edge_index=ei,
            edge_weight=torch.ones(ei.shape[1]),
            label_node=torch.tensor([2]),
            y=torch.tensor([y]),
        )
        g.num_nodes = k
        out.append(g)
    return out


def test_mc_dropout_passes_differ_and_batchnorm_is_frozen() -> None:
    torch.manual_seed(0)
    model = GNN(5, hidden=16, n_classes=3, depth=2, dropout=0.5, norm="batch")
    model.train()
    model(next(iter([_graph_batch()])))  # update running stats once
    bn = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)][0]
    before = bn.running_mean.clone()
    graphs = _graphs()
    z = U.mc_dropout_logits(model, graphs, n_samples=4, seed=1)
    assert z.shape == (4, 12, 3)
    assert not torch.allclose(z[0], z[1])  # dropout samples
    assert torch.equal(bn.running_mean, before)  # batch norm not updated (eval mode)
    assert model.training  # mode restored
    # seeded: the same masks again
    assert torch.equal(U.mc_dropout_logits(model, graphs, n_samples=4, seed=1), z)
    # no dropout: every pass equals the deterministic pass
    det = U.mc_dropout_logits(model, graphs, n_samples=0)
    assert det.shape == (1, 12, 3)
    model_nodrop = GNN(5, hidden=16, n_classes=3, depth=2, dropout=0.0, norm="batch")
    zz = U.mc_dropout_logits(model_nodrop, graphs, n_samples=3)
    assert torch.allclose(zz[0], zz[2])
    nodes = U.mc_dropout_logits(model, graphs[:2], n_samples=2, nodes=True)
    assert len(nodes) == 2 and nodes[0].shape == (2, 6, 3)


def _graph_batch():
    from torch_geometric.data import Batch

    return Batch.from_data_list(_graphs(4, seed=3))


def _fit(model: torch.nn.Module, train, val, seed: int = 0, epochs: int = 30) -> None:
    """A minimal full-batch training loop at the labelled nodes."""
    from torch_geometric.data import Batch

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    b = Batch.from_data_list(list(train))
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        loss = F.cross_entropy(model(b)[b.label_node], b.y)
        loss.backward()
        opt.step()
        torch.rand(1, generator=gen)


def test_train_ensemble_members_differ_and_learn() -> None:
    graphs = _graphs(24)
    members = U.train_ensemble(
        lambda: GNN(5, hidden=8, n_classes=3, depth=1, dropout=0.1),
        _fit,
        graphs,
        None,
        n_members=3,
        seed=7,
        progress=False,
        fit_kwargs={"epochs": 40},
    )
    assert len(members) == 3 and not any(m.training for m in members)
    z = U.ensemble_logits(members, graphs)
    assert z.shape == (3, 24, 3)
    assert not torch.allclose(z[0], z[1])  # different seeds, different members
    acc = (U.calibrated_probs(z).argmax(1) == np.array([g.y.item() for g in graphs])).mean()
    assert acc > 0.6  # the ensemble learned the (easy) class offset
    with pytest.raises(ValueError, match="n_members"):
        U.train_ensemble(lambda: GNN(5, 8, 3, 1, 0.1), _fit, graphs, None, n_members=0)


def test_graph_node_mc_logits_and_calibrated_decompose() -> None:
    torch.manual_seed(0)
    model = GNN(5, hidden=8, n_classes=3, depth=1, dropout=0.3).eval()
    g = _graphs(1)[0]
    z = U.graph_node_mc_logits(model, g, n_samples=5, seed=0)
    assert z.shape == (5, 6, 3) and not torch.allclose(z[0], z[1])
    assert U.graph_node_mc_logits(model, g, n_samples=0).shape == (1, 6, 3)
    raw = U.calibrated_decompose(z, 1.0)
    ref = U.decompose(F.softmax(z, -1).numpy())
    for key in ("probs", "entropy", "expected_entropy", "mutual_information"):
        np.testing.assert_allclose(raw[key], ref[key], atol=1e-9)
    hot = U.calibrated_decompose(z, 10.0)
    # a high temperature flattens the pooled prediction; the member disagreement stays
    assert np.all(hot["entropy"] >= raw["entropy"] - 1e-9)
    np.testing.assert_allclose(hot["mutual_information"], raw["mutual_information"])
    np.testing.assert_allclose(hot["entropy"], hot["expected_entropy"] + hot["mutual_information"])


def test_scene_uncertainty_paints_segments_and_masks_nodata() -> None:
    from lulcbook.graphs import FeatureScaler, patch_graph
    from lulcbook.models.gnn import SegmentClassifier

    rng = np.random.default_rng(0)
    tile = rng.uniform(0.02, 0.3, size=(4, 32, 32)).astype(np.float32)
    tile[:, :16] += 0.3  # two spectrally distinct halves
    tile[:, 0, :4] = np.nan  # no data
    params = {"method": "slic", "segment_size": 32.0, "compactness": 0.05}
    scaler = FeatureScaler().fit([patch_graph(np.nan_to_num(tile, nan=0.1), None, **params)])
    torch.manual_seed(0)
    kwargs = {
        "in_dim": scaler.mean.shape[0],
        "hidden": 8,
        "n_classes": 3,
        "depth": 1,
        "dropout": 0.5,
    }
    clf = SegmentClassifier(
        GNN(**kwargs), kwargs, ["B02", "B03", "B04", "B08"], ["a", "b", "c"], params, scaler
    )
    out = U.scene_uncertainty(clf, tile, n_samples=6, seed=0, temperature=1.5, tile_size=None)
    assert out["probs"].shape == (3, 32, 32) and out["classes"].dtype == np.uint8
    assert np.isnan(out["entropy"][0, 0]) and out["classes"][0, 0] == 255
    ok = np.isfinite(out["entropy"])
    assert ok.sum() == 32 * 32 - 4
    np.testing.assert_allclose(np.nansum(out["probs"], axis=0)[ok], 1.0, rtol=1e-5)
    # the decomposition holds pixel-wise, and dropout gives some epistemic uncertainty
    np.testing.assert_allclose(
        out["entropy"][ok], out["expected_entropy"][ok] + out["mutual_information"][ok], atol=1e-5
    )
    assert out["mutual_information"][ok].max() > 0
    assert np.array_equal(out["classes"][ok], np.argmax(out["probs"][:, ok], axis=0))
    det = U.scene_uncertainty(clf, tile, n_samples=0, tile_size=None)
    np.testing.assert_allclose(det["mutual_information"][ok], 0.0, atol=1e-6)
    np.testing.assert_allclose(det["probs"][:, ok], clf.predict_proba(tile)[:, ok], rtol=1e-5)
    # tiled: the same cores and context as SegmentClassifier.predict_proba_tiled
    tiled = U.scene_uncertainty(clf, tile, n_samples=0, tile_size=16, overlap=4, progress=False)
    ref = clf.predict_proba_tiled(tile, 16, 4, progress=False)
    np.testing.assert_allclose(tiled["probs"][:, ok], ref[:, ok], rtol=1e-5, atol=1e-6)
    assert tiled["classes"][0, 0] == 255 and np.isnan(tiled["entropy"][0, 0])


def test_fold_logits_methods() -> None:
    graphs = _graphs(9)
    torch.manual_seed(0)
    members = [GNN(5, hidden=8, n_classes=3, depth=1, dropout=0.3).eval() for _ in range(3)]
    out = U.fold_logits(members, graphs[:4], graphs[4:], mc_samples=5, seed=0)
    assert set(out) == set(U.METHODS)
    assert out["single"]["val"].shape == (1, 4, 3) and out["single"]["test"].shape == (1, 5, 3)
    assert out["mc_dropout"]["test"].shape == (5, 5, 3)
    assert out["ensemble"]["val"].shape == (3, 4, 3)
    assert torch.allclose(out["ensemble"]["test"][0], out["single"]["test"][0])
