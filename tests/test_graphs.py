"""Tests for lulcbook.graphs: segmentation, adjacency, node features, labelled node, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from lulcbook import graphs

torch.set_num_threads(1)  # the test machine's cores are shared

# A hand-made segmentation (4 × 6 px) with known adjacency and boundary lengths:
#   0 0 1 1 1 1
#   0 0 1 1 1 1
#   2 2 2 3 3 3
#   2 2 2 3 3 3
SEG = np.array(
    [[0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1], [2, 2, 2, 3, 3, 3], [2, 2, 2, 3, 3, 3]], dtype=np.int32
)
PAIRS = {(0, 1): 2, (0, 2): 2, (1, 2): 1, (1, 3): 3, (2, 3): 2}


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(0.0, 0.5, size=(2, *SEG.shape)).astype(np.float32)


def _blocks(seed: int = 0, size: int = 32) -> np.ndarray:
    """A 4-band image of four flat quadrants plus mild noise."""
    rng = np.random.default_rng(seed)
    img = np.zeros((4, size, size), np.float32)
    h = size // 2
    for k, (ys, xs) in enumerate(
        [
            (slice(0, h), slice(0, h)),
            (slice(0, h), slice(h, None)),
            (slice(h, None), slice(0, h)),
            (slice(h, None), slice(h, None)),
        ]
    ):
        img[:, ys, xs] = 0.1 + 0.2 * k
    return img + rng.normal(0, 0.005, img.shape).astype(np.float32)


def test_region_adjacency_of_hand_made_segmentation() -> None:
    ei = graphs.region_adjacency(SEG)
    assert ei.dtype == np.int64 and ei.shape[0] == 2
    edges = set(map(tuple, ei.T.tolist()))
    expected = set(PAIRS) | {(b, a) for a, b in PAIRS}
    assert edges == expected
    assert (0, 3) not in edges


def test_boundary_lengths_and_edge_weights() -> None:
    g = graphs.graph_from_segments(_image(), SEG)
    for (a, b), length in PAIRS.items():
        k = int(((g.edge_index[0] == a) & (g.edge_index[1] == b)).nonzero())
        assert g.boundary[k].item() == length
    assert torch.all((g.edge_weight > 0) & (g.edge_weight <= 1))
    # symmetric weights
    w = {tuple(e): float(v) for e, v in zip(g.edge_index.T.tolist(), g.edge_weight, strict=True)}
    assert all(w[(a, b)] == pytest.approx(w[(b, a)]) for a, b in PAIRS)


def test_node_features_match_numpy_per_segment() -> None:
    img = _image()
    feats = graphs.node_features(img, SEG)
    assert feats.shape == (4, graphs.n_features(2)) == (4, 12)
    names = graphs.feature_names(["B04", "B08"])
    assert len(names) == feats.shape[1] and names[0] == "B04_mean"
    for s in range(4):
        px = img[:, SEG == s]
        np.testing.assert_allclose(feats[s, 0:2], px.mean(1), rtol=1e-5)
        np.testing.assert_allclose(feats[s, 2:4], px.std(1), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(feats[s, 4:6], px.min(1), rtol=1e-6)
        np.testing.assert_allclose(feats[s, 6:8], px.max(1), rtol=1e-6)
        assert feats[s, 8] == pytest.approx(np.log((SEG == s).sum()))
    # every segment here is a full rectangle → fill 1; segment 1 is 2 × 4 px
    np.testing.assert_allclose(feats[:, 9], 1.0)
    assert feats[1, 11] == pytest.approx(np.log(2 / 4))
    assert feats[1, 10] == pytest.approx(1 - np.sqrt(0.25 / 1.25), rel=1e-5)
    assert feats[0, 10] == pytest.approx(0.0, abs=1e-6)  # a square is not elongated


def test_label_node_is_the_segment_of_the_point() -> None:
    g = graphs.graph_from_segments(_image(), SEG, point_yx=(3, 4))
    assert g.label_node.tolist() == [3]
    assert g.num_nodes == 4
    assert g.pos[1].tolist() == pytest.approx([0.5, 3.5])
    with pytest.raises(ValueError, match="outside"):
        graphs.graph_from_segments(_image(), SEG, point_yx=(4, 0))


@pytest.mark.parametrize("method", ["slic", "felzenszwalb"])
def test_segment_returns_consecutive_labels(method: str) -> None:
    seg = graphs.segment(_blocks(), method=method, segment_size=32, compactness=0.05)
    assert seg.dtype == np.int32 and seg.shape == (32, 32)
    assert np.array_equal(np.unique(seg), np.arange(seg.max() + 1))
    # no segment straddles two quadrants of very different reflectance
    quadrant = np.zeros((32, 32), int)
    quadrant[:16, 16:], quadrant[16:, :16], quadrant[16:, 16:] = 1, 2, 3
    for s in np.unique(seg):
        assert len(np.unique(quadrant[seg == s])) == 1


def test_segment_size_controls_count() -> None:
    img = _blocks()
    fine = graphs.segment(img, segment_size=16).max() + 1
    coarse = graphs.segment(img, segment_size=128).max() + 1
    assert fine > coarse


def test_segment_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="Unknown segmentation method 'watershed'"):
        graphs.segment(_blocks(), method="watershed")
    bad = _blocks()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        graphs.segment(bad)
    filled, valid = graphs.fill_invalid(bad)
    assert np.isfinite(filled).all() and not valid[0, 0] and valid.sum() == valid.size - 1


def _dataset(n: int = 3) -> xr.Dataset:
    refl = np.stack([_blocks(i) for i in range(n)])
    climate = np.arange(n * 19, dtype=np.float32).reshape(n, 19)
    climate[1] = np.nan
    return xr.Dataset(
        {
            "reflectance": (("sample", "band", "y", "x"), refl),
            "label": ("sample", np.array([1, 2, 4])[:n]),
            "point_y": ("sample", np.full(n, 16)),
            "point_x": ("sample", np.full(n, 16)),
            "climate": (("sample", "bio"), climate),
        },
        coords={"band": ["B02", "B03", "B04", "B08"]},
    )


def test_build_graphs_labels_climate_and_cache(tmp_path) -> None:
    ds = _dataset()
    gs = graphs.build_graphs(ds, cache_dir=tmp_path, progress=False, segment_size=32)
    assert [int(g.y) for g in gs] == [1, 2, 4]
    assert gs[0].cond.shape == (1, 19) and torch.isnan(gs[1].cond).all()
    for g in gs:
        seg = g.segments[0]
        assert int(g.label_node) == int(seg[16, 16])
    assert len(list(tmp_path.glob("graphs-*.pt"))) == 1
    again = graphs.build_graphs(ds, cache_dir=tmp_path, progress=False, segment_size=32)
    assert torch.equal(again[2].x, gs[2].x)
    other = graphs.build_graphs(ds, cache_dir=tmp_path, progress=False, segment_size=64)
    assert len(list(tmp_path.glob("graphs-*.pt"))) == 2 and other[0].num_nodes < gs[0].num_nodes


def test_batching_shifts_label_node_and_scaler() -> None:
    gs = graphs.build_graphs(_dataset(), progress=False, segment_size=32)
    b = graphs.collate(gs)
    assert b.label_node.tolist() == [int(g.label_node) + int(b.ptr[i]) for i, g in enumerate(gs)]
    assert b.segments.shape == (3, 32, 32)
    sc = graphs.FeatureScaler().fit(gs)
    z = torch.cat([g.x for g in sc.transform(gs)])
    assert torch.allclose(z.mean(0), torch.zeros(z.shape[1]), atol=1e-4)
    restored = graphs.FeatureScaler.from_dict(sc.to_dict())
    assert torch.allclose(restored.transform_x(gs[0].x), sc.transform_x(gs[0].x))
    with pytest.raises(ValueError, match="features"):
        sc.transform_x(torch.zeros(2, 3))


def test_slic_compactness_is_in_reflectance_units() -> None:
    # slic rescales each image by its min/max; segment() compensates, so scaling reflectance and
    # compactness together leaves the segmentation unchanged (a bright pixel elsewhere in a
    # tile therefore does not change how the rest of the tile is segmented).
    img = _blocks(3)
    a = graphs.segment(img, segment_size=32, compactness=0.05)
    b = graphs.segment(img * 2.0, segment_size=32, compactness=0.10)
    np.testing.assert_array_equal(a, b)
