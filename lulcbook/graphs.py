"""Superpixels → region-adjacency graph → ``torch_geometric`` data.

Following Leonhardt & Roscher (ICLR ML4RS workshop 2024) and LC-SLab (Leonhardt, Gall & Roscher,
Int. J. Appl. Earth Obs. Geoinf. 152:105476, 2026), an image patch around a labelled point is
over-segmented into superpixels (SLIC, Achanta et al., IEEE TPAMI 2012, on the multi-band
reflectance without a Lab conversion; or Felzenszwalb & Huttenlocher, IJCV 2004). Each segment
becomes a node of a region-adjacency graph with per-segment spectral statistics and shape
descriptors as features; the node that contains the labelled pixel carries the label, every other
node is unlabelled (partial supervision).

Node features (in this order, ``B`` bands): per-band mean, standard deviation, minimum and
maximum (``4 B`` columns), then ``log_area`` (log of the pixel count), ``fill`` (area / bounding
box area), ``elongation`` (1 - minor/major axis ratio of the second moments) and ``log_aspect``
(log of bounding-box height / width). The segment centroids are kept apart in ``pos`` (for
drawing); they are not features, since the labelled node always lies at the patch centre.

Edge weights measure the spectral similarity of neighbouring segments,
``exp(-d² / (2 σ²))`` with ``d`` the Euclidean distance between mean spectra and ``σ`` the
median ``d`` of the graph, so that weighted pooling merges similar segments first.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from skimage.segmentation import felzenszwalb, relabel_sequential, slic
from torch_geometric.data import Batch, Data

from lulcbook.io import atomic_path
from lulcbook.progress import progress as tqdm
from lulcbook.standardise import Standardiser

METHODS: tuple[str, ...] = ("slic", "felzenszwalb")
SHAPE_FEATURES: tuple[str, ...] = ("log_area", "fill", "elongation", "log_aspect")
STATS: tuple[str, ...] = ("mean", "std", "min", "max")
CACHE_VERSION = 2  # 2: graphs stored as dicts of tensors, loaded with weights_only=True


def feature_names(bands: Sequence[str]) -> list[str]:
    """Names of the :func:`node_features` columns for ``bands`` (e.g. ``"B04_mean"``)."""
    return [f"{b}_{s}" for s in STATS for b in bands] + list(SHAPE_FEATURES)


def n_features(n_bands: int) -> int:
    """Number of node features for ``n_bands`` bands."""
    return 4 * n_bands + len(SHAPE_FEATURES)


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3:
        raise ValueError(f"image must be (band, y, x); got shape {image.shape}")
    if not np.isfinite(image).all():
        raise ValueError(
            "image contains NaN/inf; fill invalid pixels first (see fill_invalid) and mask the "
            "output afterwards"
        )
    return image


def fill_invalid(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace non-finite pixels by the per-band mean of the valid ones.

    Returns:
        ``(filled image, valid mask (y, x))``; a pixel is valid when all its bands are finite.
        Bands with no valid pixel are filled with 0.
    """
    image = np.asarray(image, dtype=np.float32)
    valid = np.isfinite(image).all(axis=0)
    if valid.all():
        return image, valid
    out = image.copy()
    for b in range(out.shape[0]):
        band = out[b]
        fill = float(band[valid].mean()) if valid.any() else 0.0
        band[~valid | ~np.isfinite(band)] = fill
    return out, valid


def segment(
    image: np.ndarray,
    method: str = "slic",
    segment_size: float = 48.0,
    compactness: float = 0.05,
    sigma: float = 0.0,
    scale: float = 2.0,
    min_size: int = 24,
) -> np.ndarray:
    """Over-segment a multi-band image into superpixels.

    Args:
        image: ``(band, y, x)`` float32 reflectance, all finite.
        method: ``"slic"`` (multi-band SLIC with ``convert2lab=False``) or ``"felzenszwalb"``.
        segment_size: SLIC's target mean segment size in pixels (``n_segments = pixels / size``).
        compactness: SLIC's balance of spectral vs spatial distance; reflectance lies in [0, 1],
            so small values (≈0.01–0.1) let segments follow spectral boundaries.
        sigma: Gaussian pre-smoothing (pixels) for both methods.
        scale: Felzenszwalb's observation scale in reflectance units (higher → larger
            segments); the image is not rescaled, so segments do not depend on the tile.
        min_size: Felzenszwalb's minimum segment size (pixels).

    Returns:
        ``(y, x)`` int32 labels ``0 .. n-1`` (consecutive).

    Raises:
        ValueError: for an unknown method, a non-3-D or non-finite image, or bad sizes.
    """
    image = _check_image(image)
    chw = np.moveaxis(image, 0, -1)
    h, w = chw.shape[:2]
    if method == "slic":
        if segment_size <= 0:
            raise ValueError(f"segment_size must be positive; got {segment_size}")
        n_segments = max(1, round(h * w / float(segment_size)))
        # slic rescales the image by its own min/max; dividing the compactness by that range
        # gives the same result as SLIC on the unscaled reflectance, so the segmentation of a
        # pixel does not depend on the brightest or darkest pixel of its tile.
        value_range = max(float(chw.max() - chw.min()), 1e-6)
        labels = slic(
            chw,
            n_segments=n_segments,
            compactness=compactness / value_range,
            sigma=sigma,
            convert2lab=False,
            channel_axis=-1,
            start_label=0,
            enforce_connectivity=True,
        )
    elif method == "felzenszwalb":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # "third dimension of 4" notice
            labels = felzenszwalb(
                chw, scale=scale, sigma=sigma, min_size=int(min_size), channel_axis=-1
            )
    else:
        raise ValueError(f"Unknown segmentation method {method!r}; expected one of {METHODS}")
    labels, _, _ = relabel_sequential(np.asarray(labels, dtype=np.int64))  # type: ignore[no-untyped-call]  # scikit-image is untyped
    return np.asarray(labels, dtype=np.int32)


def _adjacent_pairs(segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undirected adjacent segment pairs ``(2, E)`` (i < j) and their shared boundary length."""
    seg = np.asarray(segments)
    if seg.ndim != 2:
        raise ValueError(f"segments must be (y, x); got shape {seg.shape}")
    a = np.concatenate([seg[:, :-1].ravel(), seg[:-1, :].ravel()])
    b = np.concatenate([seg[:, 1:].ravel(), seg[1:, :].ravel()])
    diff = a != b
    lo = np.minimum(a[diff], b[diff]).astype(np.int64)
    hi = np.maximum(a[diff], b[diff]).astype(np.int64)
    n = int(seg.max()) + 1 if seg.size else 0
    keys, counts = np.unique(lo * n + hi, return_counts=True)
    pairs = np.stack([keys // max(n, 1), keys % max(n, 1)]) if n else np.zeros((2, 0), np.int64)
    return pairs.astype(np.int64), counts.astype(np.float32)


def region_adjacency(segments: np.ndarray) -> np.ndarray:
    """Region-adjacency graph of a segmentation (4-neighbourhood).

    Args:
        segments: ``(y, x)`` integer labels ``0 .. n-1``.

    Returns:
        ``(2, E)`` int64 edge index with both directions of every adjacency, sorted by source.
    """
    pairs, _ = _adjacent_pairs(segments)
    both = np.concatenate([pairs, pairs[::-1]], axis=1)
    order = np.lexsort((both[1], both[0]))
    return np.ascontiguousarray(both[:, order])


def _segment_moments(segments: np.ndarray) -> dict[str, np.ndarray]:
    seg = np.asarray(segments).ravel()
    n = int(seg.max()) + 1
    h, w = np.asarray(segments).shape
    yy, xx = np.divmod(np.arange(seg.size), w)
    count = np.bincount(seg, minlength=n).astype(np.float64)
    safe = np.maximum(count, 1)
    cy = np.bincount(seg, yy, n) / safe
    cx = np.bincount(seg, xx, n) / safe
    vyy = np.bincount(seg, yy.astype(np.float64) ** 2, n) / safe - cy**2
    vxx = np.bincount(seg, xx.astype(np.float64) ** 2, n) / safe - cx**2
    vxy = np.bincount(seg, yy.astype(np.float64) * xx, n) / safe - cy * cx
    ymin = np.full(n, h, np.int64)
    ymax = np.full(n, -1, np.int64)
    xmin = np.full(n, w, np.int64)
    xmax = np.full(n, -1, np.int64)
    np.minimum.at(ymin, seg, yy)
    np.maximum.at(ymax, seg, yy)
    np.minimum.at(xmin, seg, xx)
    np.maximum.at(xmax, seg, xx)
    return {
        "count": count,
        "cy": cy,
        "cx": cx,
        "vyy": vyy,
        "vxx": vxx,
        "vxy": vxy,
        "bh": (ymax - ymin + 1).astype(np.float64),
        "bw": (xmax - xmin + 1).astype(np.float64),
    }


def node_features(image: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Per-segment features: band mean/std/min/max, then shape (see module docstring).

    Args:
        image: ``(band, y, x)`` float32, all finite.
        segments: ``(y, x)`` labels ``0 .. n-1`` on the same grid.

    Returns:
        ``(n, 4 * band + 4)`` float32; column names from :func:`feature_names`.

    Raises:
        ValueError: if the shapes differ, a label is negative or a segment in ``0..n-1`` is empty.
    """
    image = _check_image(image)
    seg = np.asarray(segments)
    if seg.shape != image.shape[1:]:
        raise ValueError(f"segments {seg.shape} and image {image.shape[1:]} differ in shape")
    if seg.min() < 0:
        raise ValueError(f"segment labels must be >= 0; got minimum {seg.min()}")
    flat = seg.ravel().astype(np.int64)
    n = int(flat.max()) + 1
    m = _segment_moments(seg)
    if (m["count"] == 0).any():
        empty = np.flatnonzero(m["count"] == 0)[:5].tolist()
        raise ValueError(f"segments must be labelled 0..n-1 without gaps; empty labels {empty}")
    pix = image.reshape(image.shape[0], -1).astype(np.float64)
    order = np.argsort(flat, kind="stable")
    starts = np.searchsorted(flat[order], np.arange(n))
    sorted_pix = pix[:, order]
    mean = np.stack([np.bincount(flat, p, n) for p in pix]) / m["count"]
    sq = np.stack([np.bincount(flat, p * p, n) for p in pix]) / m["count"]
    std = np.sqrt(np.maximum(sq - mean**2, 0.0))
    vmin = np.minimum.reduceat(sorted_pix, starts, axis=1)
    vmax = np.maximum.reduceat(sorted_pix, starts, axis=1)
    tr = m["vyy"] + m["vxx"]
    det_term = np.sqrt(np.maximum((m["vyy"] - m["vxx"]) ** 2 / 4 + m["vxy"] ** 2, 0.0))
    l1 = tr / 2 + det_term
    l2 = np.maximum(tr / 2 - det_term, 0.0)
    elongation = np.where(l1 > 0, 1.0 - np.sqrt(l2 / np.where(l1 > 0, l1, 1.0)), 0.0)
    shape = np.stack(
        [
            np.log(m["count"]),
            m["count"] / (m["bh"] * m["bw"]),
            elongation,
            np.log(m["bh"] / m["bw"]),
        ]
    )
    return np.concatenate([mean, std, vmin, vmax, shape]).T.astype(np.float32)


def edge_weights(features: np.ndarray, edge_index: np.ndarray, n_bands: int) -> np.ndarray:
    """Spectral similarity ``exp(-d² / (2 σ²))`` of the mean spectra at both ends of each edge.

    ``σ`` is the median distance over the graph's edges (floored at 1e-6), so weights are
    comparable between patches of different contrast.
    """
    if edge_index.shape[1] == 0:
        return np.zeros(0, np.float32)
    mean = features[:, :n_bands].astype(np.float64)
    d = np.linalg.norm(mean[edge_index[0]] - mean[edge_index[1]], axis=1)
    sigma = max(float(np.median(d)), 1e-6)
    return np.asarray(np.exp(-(d**2) / (2 * sigma**2)), dtype=np.float32)


class SegmentGraph(Data):  # type: ignore[misc]  # torch_geometric is untyped
    """A superpixel graph; ``label_node`` is shifted like an index when graphs are batched.

    Attributes (besides ``x``, ``edge_index``, ``edge_weight``, ``pos``):
        label_node: ``(1,)`` index of the node holding the labelled pixel.
        segments: ``(1, y, x)`` int32 segment labels (to paint node outputs back to pixels).
        boundary: ``(E,)`` shared boundary length of each edge in pixels.
        y: ``(1,)`` class index of the labelled node (when known).
        cond: ``(1, n_bio)`` raw climate vector (NaN where missing), when known.
    """

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        """Shift ``label_node`` by the number of nodes when graphs are batched."""
        if key == "label_node":
            return self.num_nodes
        return super().__inc__(key, value, *args, **kwargs)


def graph_from_segments(
    image: np.ndarray, segments: np.ndarray, point_yx: tuple[int, int] | None = None
) -> SegmentGraph:
    """Build the graph of a given segmentation (features, adjacency, weights, label node).

    Args:
        image: ``(band, y, x)`` float32, all finite.
        segments: ``(y, x)`` labels ``0 .. n-1``.
        point_yx: the labelled pixel (row, column); ``None`` for unlabelled tiles.

    Raises:
        ValueError: if ``point_yx`` lies outside the image.
    """
    image = _check_image(image)
    seg = np.asarray(segments, dtype=np.int32)
    feats = node_features(image, seg)
    pairs, boundary = _adjacent_pairs(seg)
    ei = np.concatenate([pairs, pairs[::-1]], axis=1)
    bnd = np.concatenate([boundary, boundary])
    w = edge_weights(feats, ei, image.shape[0])
    m = _segment_moments(seg)
    pos = np.stack([m["cy"], m["cx"]], axis=1).astype(np.float32)
    data = SegmentGraph(
        x=torch.from_numpy(feats),
        edge_index=torch.from_numpy(ei),
        edge_weight=torch.from_numpy(w),
        boundary=torch.from_numpy(bnd),
        pos=torch.from_numpy(pos),
        segments=torch.from_numpy(seg)[None],
    )
    data.num_nodes = feats.shape[0]
    if point_yx is not None:
        py, px = (int(v) for v in point_yx)
        if not (0 <= py < seg.shape[0] and 0 <= px < seg.shape[1]):
            raise ValueError(f"point_yx {point_yx} lies outside the {seg.shape} image")
        data.label_node = torch.tensor([int(seg[py, px])], dtype=torch.long)
    return data


def patch_graph(
    image: np.ndarray, point_yx: tuple[int, int] | None = None, **params: Any
) -> SegmentGraph:
    """Segment a patch and build its region-adjacency graph.

    Args:
        image: ``(band, y, x)`` float32 reflectance, all finite.
        point_yx: the labelled pixel (row, column), or ``None``.
        **params: passed to :func:`segment` (``method``, ``segment_size``, ``compactness``, …).

    Returns:
        A :class:`SegmentGraph` with ``x``, ``edge_index``, ``edge_weight``, ``boundary``,
        ``pos`` (segment centroids, row/column), ``segments`` and ``label_node``.
    """
    seg = segment(image, **params)
    return graph_from_segments(image, seg, point_yx)


def _cache_key(ds: xr.Dataset, params: dict[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"v": CACHE_VERSION, **params}, sort_keys=True, default=str).encode())
    h.update(Path(__file__).read_bytes())  # graphs built by other code are not reused
    for name in ("reflectance", "point_y", "point_x", "label"):
        h.update(np.ascontiguousarray(ds[name].values).tobytes())
    h.update(json.dumps([str(b) for b in ds["band"].values]).encode())
    return h.hexdigest()[:16]


def build_graphs(
    ds: xr.Dataset,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    **params: Any,
) -> list[SegmentGraph]:
    """Build one graph per patch of the 01-data patch dataset.

    Each graph also holds ``y`` (the label at ``label_node``), ``cond`` (``(1, n_bio)`` raw
    climate, NaN allowed) and ``sample`` (its position in ``ds``).

    Args:
        ds: dataset with ``reflectance (sample, band, y, x)``, ``label``, ``point_y``,
            ``point_x`` and optionally ``climate (sample, bio)``.
        cache_dir: if given, graphs are stored there under a hash of the data and ``params``
            and reused on the next call.
        progress: show a tqdm bar.
        **params: segmentation parameters (see :func:`segment`).

    Raises:
        ValueError: if a required variable is missing.
    """
    missing = [v for v in ("reflectance", "label", "point_y", "point_x") if v not in ds]
    if missing:
        raise ValueError(f"Dataset lacks variables {missing} needed to build graphs")
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"graphs-{_cache_key(ds, params)}.pt"
        if cache_file.exists():
            cached = load_graph_cache(cache_file)
            if cached is not None:
                return cached
    refl = ds["reflectance"].transpose("sample", "band", "y", "x").values.astype(np.float32)
    climate = ds["climate"].values.astype(np.float32) if "climate" in ds else None
    graphs = []
    for i in tqdm(range(refl.shape[0]), desc="graphs", disable=not progress):
        img, _ = fill_invalid(refl[i])
        g = patch_graph(img, (int(ds["point_y"].values[i]), int(ds["point_x"].values[i])), **params)
        g.y = torch.tensor([int(ds["label"].values[i])], dtype=torch.long)
        if climate is not None:
            g.cond = torch.from_numpy(climate[i][None].copy())
        g.sample = torch.tensor([i], dtype=torch.long)
        graphs.append(g)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cache_file) as tmp:
            torch.save([g.to_dict() for g in graphs], tmp)
    return graphs


def load_graph_cache(path: str | os.PathLike[str]) -> list[SegmentGraph] | None:
    """Load a graph cache written by :func:`build_graphs`, safely.

    The cache holds plain dicts of tensors and numbers, read with ``torch.load(...,
    weights_only=True)``, which refuses pickled objects that could run code. A file that cannot
    be read that way (corrupt, from an older version, or crafted) is not used: a warning names
    it and ``None`` is returned, so the graphs are rebuilt and the cache rewritten.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, list) or not all(isinstance(d, dict) for d in state):
            raise ValueError(f"expected a list of dicts, got {type(state).__name__}")
        return [SegmentGraph(**d) for d in state]
    except Exception as err:  # UnpicklingError, RuntimeError, EOFError, ValueError, ...
        warnings.warn(
            f"Ignoring graph cache {path} (not a safe graph cache: {type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); rebuilding it",
            stacklevel=2,
        )
        return None


class FeatureScaler(Standardiser):
    """Per-feature standardisation of node features, fitted on training graphs (float32).

    ``log_area`` and other columns are standardised alike; constant columns keep std 1.
    """

    dtype = np.float32

    def fit(self, graphs: Sequence[Data]) -> FeatureScaler:
        """Fit on the nodes of ``graphs``.

        Raises:
            ValueError: for an empty list.
        """
        if not graphs:
            raise ValueError("Cannot fit a FeatureScaler on zero graphs")
        x = torch.cat([g.x for g in graphs]).double().numpy()
        self.mean = x.mean(axis=0).astype(np.float32)
        std = x.std(axis=0)
        self.std = np.where(std > 1e-8, std, 1.0).astype(np.float32)
        return self

    def transform_x(self, x: torch.Tensor) -> torch.Tensor:
        """Standardise a ``(N, F)`` feature tensor.

        Raises:
            RuntimeError: if not fitted. ValueError: for a feature-count mismatch.
        """
        mean, std = self.fitted()
        if x.shape[1] != mean.shape[0]:
            raise ValueError(f"x has {x.shape[1]} features; the scaler was fitted on {len(mean)}")
        return (x - torch.from_numpy(mean)) / torch.from_numpy(std)

    def transform(self, graphs: Sequence[Data]) -> list[Data]:
        """Return shallow copies of ``graphs`` with standardised ``x``."""
        out = []
        for g in graphs:
            c = g.clone()
            c.x = self.transform_x(g.x)
            out.append(c)
        return out


def collate(graphs: Sequence[Data]) -> Batch:
    """Batch graphs into one disjoint graph (``label_node`` indexes the batched nodes)."""
    return Batch.from_data_list(list(graphs))
