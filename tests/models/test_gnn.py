"""Tests for lulcbook.models.gnn: edge-weighted pooling, GraphUNet/GNN, SegmentClassifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from lulcbook import graphs
from lulcbook.models import gnn

torch.set_num_threads(1)  # the test machine's cores are shared


def _path_graph(weights: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    n = len(weights) + 1
    src = torch.arange(n - 1)
    ei = torch.cat([torch.stack([src, src + 1]), torch.stack([src + 1, src])], dim=1)
    w = torch.tensor(weights + weights, dtype=torch.float32)
    return ei, w


def _image(seed: int, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((4, size, size), np.float32)
    img[:, : size // 2] = rng.uniform(0.05, 0.5, (4, 1, 1))
    img[:, size // 2 :] = rng.uniform(0.05, 0.5, (4, 1, 1))
    return img + rng.normal(0, 0.01, img.shape).astype(np.float32)


def _graphs(n: int = 4) -> list[graphs.SegmentGraph]:
    gs = [graphs.patch_graph(_image(i), (16, 16), segment_size=32) for i in range(n)]
    for i, g in enumerate(gs):
        g.y = torch.tensor([i % 2])
        g.cond = torch.randn(1, 20, generator=torch.Generator().manual_seed(i))
    return graphs.FeatureScaler().fit(gs).transform(gs)


def test_matching_merges_heaviest_edges_of_a_path() -> None:
    ei, w = _path_graph([1.0, 10.0, 1.0])  # 0 -1- 1 -10- 2 -1- 3
    cluster, n = gnn.heavy_edge_matching(ei, w, 4)
    assert cluster[1] == cluster[2]
    assert cluster[0] != cluster[1] and cluster[3] != cluster[2]
    assert n == 3


def test_matching_pairs_are_adjacent_and_at_most_two() -> None:
    g = _graphs(1)[0]
    cluster, n = gnn.heavy_edge_matching(g.edge_index, g.edge_weight, g.num_nodes)
    sizes = torch.bincount(cluster, minlength=n)
    assert int(sizes.max()) <= 2 and n < g.num_nodes and int(sizes.sum()) == g.num_nodes
    adj = set(map(tuple, g.edge_index.T.tolist()))
    for c in torch.nonzero(sizes == 2).flatten():
        a, b = torch.nonzero(cluster == c).flatten().tolist()
        assert (a, b) in adj


def test_pool_graph_keeps_every_node_and_sums_weights() -> None:
    ei, w = _path_graph([1.0, 10.0, 1.0])
    x = torch.arange(4, dtype=torch.float32)[:, None]
    cluster = torch.tensor([0, 1, 1, 2])
    xc, eic, wc, bc = gnn.pool_graph(x, ei, w, torch.zeros(4, dtype=torch.long), cluster, 3)
    assert xc[:, 0].tolist() == [0.0, 1.5, 3.0]
    assert eic.shape[1] == 4 and torch.all(wc == 1.0) and bc.tolist() == [0, 0, 0]


@pytest.mark.parametrize("cls", [gnn.GraphUNet, gnn.GNN])
@pytest.mark.parametrize("norm", ["batch", "none", "cond"])
def test_forward_shapes(cls: type, norm: str) -> None:
    b = Batch.from_data_list(_graphs())
    model = cls(b.num_node_features, 16, 8, 2, 0.1, norm=norm, cond_dim=20 if norm == "cond" else 0)
    out = model(b)
    assert out.shape == (b.num_nodes, 8) and torch.isfinite(out).all()


def test_cond_needs_standardised_climate() -> None:
    b = Batch.from_data_list(_graphs())
    model = gnn.GNN(b.num_node_features, 8, 8, 1, 0.0, norm="cond", cond_dim=20)
    b.cond[0, 0] = float("nan")
    with pytest.raises(ValueError, match="standardise"):
        model(b)
    with pytest.raises(ValueError, match="Unknown norm 'layer'"):
        gnn.GNN(4, 8, 8, 1, 0.0, norm="layer")


def test_conditional_norm_uses_the_climate() -> None:
    torch.manual_seed(0)
    b = Batch.from_data_list(_graphs())
    model = gnn.GraphUNet(b.num_node_features, 16, 8, 1, 0.0, norm="cond", cond_dim=20).eval()
    for m in model.modules():  # move the FiLM MLPs away from their identity initialisation
        if isinstance(m, torch.nn.Linear) and m.out_features == 32:
            torch.nn.init.normal_(m.weight)
    a = model(b, cond=torch.zeros(4, 20))
    c = model(b, cond=torch.ones(4, 20))
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("cls", [gnn.GraphUNet, gnn.GNN])
def test_batched_equals_single_graph_outputs(cls: type) -> None:
    torch.manual_seed(0)
    gs = _graphs(3)
    model = cls(gs[0].num_node_features, 16, 8, 2, 0.3, norm="batch").eval()
    batched = model(Batch.from_data_list(gs))
    ptr = np.cumsum([0] + [g.num_nodes for g in gs])
    for i, g in enumerate(gs):
        torch.testing.assert_close(batched[ptr[i] : ptr[i + 1]], model(g), atol=1e-5, rtol=1e-4)


def _classifier(norm: str = "batch") -> gnn.SegmentClassifier:
    torch.manual_seed(1)
    raw = [graphs.patch_graph(_image(i), (16, 16), segment_size=32) for i in range(4)]
    scaler = graphs.FeatureScaler().fit(raw)
    kwargs = {
        "in_dim": raw[0].num_node_features,
        "hidden": 16,
        "n_classes": 3,
        "depth": 2,
        "dropout": 0.3,
        "norm": norm,
    }
    climate = None
    if norm == "cond":
        from lulcbook.models.condnorm import ClimateScaler

        climate = ClimateScaler().fit(np.random.default_rng(0).normal(size=(10, 19)))
        kwargs["cond_dim"] = climate.cond_dim
    model = gnn.GraphUNet(**kwargs)
    model.train()
    cond = torch.zeros(4, kwargs.get("cond_dim", 1))
    model(Batch.from_data_list(scaler.transform(raw)), cond=cond)  # move BatchNorm running stats
    return gnn.SegmentClassifier(
        model,
        kwargs,
        ["B02", "B03", "B04", "B08"],
        ["cropland", "woodland", "water"],
        {"segment_size": 32},
        scaler,
        climate,
        meta={"note": "test"},
    )


@pytest.mark.parametrize("norm", ["batch", "cond"])
def test_segment_classifier_save_load_round_trip(tmp_path, norm: str) -> None:
    clf = _classifier(norm)
    tile = _image(7, size=48)
    p = clf.predict_proba(tile)
    assert p.shape == (3, 48, 48) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(0), 1.0, rtol=1e-5)
    path = clf.save(tmp_path / "gnn.pt")
    loaded = gnn.SegmentClassifier.load(path)
    assert loaded.bands == clf.bands and loaded.classes == clf.classes
    assert loaded.meta == {"note": "test"}
    np.testing.assert_array_equal(loaded.predict_proba(tile), p)
    assert not list(tmp_path.glob(".gnn.pt*"))  # no temporary file left behind


def test_segment_classifier_nan_pixels_bands_and_mc_dropout() -> None:
    clf = _classifier()
    tile = _image(3, size=32)
    tile[:, :4, :4] = np.nan
    p = clf.predict_proba(tile)
    assert np.isnan(p[:, :4, :4]).all() and np.isfinite(p[:, 4:, 4:]).all()
    labels = clf.predict(tile)
    assert (labels[:4, :4] == 255).all() and labels[10, 10] < 3
    mc = clf.predict_proba(tile, mc_samples=5)
    np.testing.assert_allclose(np.nansum(mc, 0)[4:, 4:], 1.0, rtol=1e-5)
    assert not np.allclose(mc[:, 4:, 4:], p[:, 4:, 4:])
    assert np.isnan(clf.predict_proba(np.full((4, 8, 8), np.nan, np.float32))).all()
    with pytest.raises(ValueError, match="4 bands"):
        clf.predict_proba(tile[:3])


def test_segment_classifier_reorders_dataarray_bands() -> None:
    import xarray as xr

    clf = _classifier()
    tile = _image(5, size=32)
    da = xr.DataArray(
        tile[::-1], dims=("band", "y", "x"), coords={"band": ["B08", "B04", "B03", "B02"]}
    )
    np.testing.assert_allclose(clf.predict_proba(da), clf.predict_proba(tile), rtol=1e-6)
    with pytest.raises(ValueError, match="lacks band"):
        clf.predict_proba(da.assign_coords(band=["B08", "B04", "B03", "B05"]))


def test_load_rejects_other_files(tmp_path) -> None:
    torch.save({"foo": 1}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a lulcbook.SegmentClassifier"):
        gnn.SegmentClassifier.load(tmp_path / "x.pt")
    with pytest.raises(FileNotFoundError):
        gnn.SegmentClassifier.load(tmp_path / "missing.pt")


def test_saving_twice_gives_identical_files(tmp_path) -> None:
    """DVC hashes models/gnn.pt: the same weights must give the same bytes."""
    clf = _classifier()
    a, b = clf.save(tmp_path / "a.pt"), clf.save(tmp_path / "b.pt")
    assert a.read_bytes() == b.read_bytes()


def test_tiled_prediction_covers_the_image_and_matches_one_tile() -> None:
    clf = _classifier()
    image = _image(11, size=40)
    tiled = clf.predict_proba_tiled(image, tile_size=16, overlap=8, progress=False)
    assert tiled.shape == (3, 40, 40) and np.isfinite(tiled).all()
    np.testing.assert_allclose(tiled.sum(0), 1.0, rtol=1e-5)
    whole = clf.predict_proba_tiled(image, tile_size=64, overlap=0, progress=False)
    np.testing.assert_array_equal(whole, clf.predict_proba(image))
    with pytest.raises(ValueError, match="tile_size"):
        clf.predict_proba_tiled(image, tile_size=0)
