"""Graph neural networks for superpixel graphs, and the deployable :class:`SegmentClassifier`.

* :class:`GraphUNet`: an encoder-decoder on the region-adjacency graph (Gao & Ji, ICML 2019)
  with **edge-weighted, graclus-style pooling** (Dhillon, Guan & Kulis, IEEE TPAMI 2007), as in
  LC-SLab (Leonhardt, Gall & Roscher, JAG 152:105476, 2026). PyG's ``GraphUNet`` pools with
  TopK, which drops nodes (and so the segments they stand for) and ignores edge weights; here
  every level merges pairs of neighbouring segments chosen by a heavy-edge matching on the
  normalised-cut score ``w_ij (1/d_i + 1/d_j)``, so no segment is dropped and similar segments
  merge first. Unpooling copies each cluster's features back to its members, and skip
  connections concatenate the features of the same level.
* :class:`GNN`: a plain stack of message-passing layers (GraphSAGE, Hamilton et al. 2017, by
  default; or weighted ``GraphConv`` / ``TransformerConv``).

Both take ``norm="batch" | "none" | "cond"``; ``"cond"`` uses the climate-conditional
:class:`lulcbook.models.condnorm.ConditionalNorm` with the graph's standardised climate vector
``data.cond`` broadcast to its nodes (``data.cond[data.batch]``).

The matching is computed in pure torch (no ``torch-cluster``): in each round every unmatched
node proposes to its unmatched neighbour with the highest score, and mutual proposals are
merged; unmatched nodes stay singletons.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import GraphConv, SAGEConv, TransformerConv
from torch_geometric.utils import coalesce, remove_self_loops, scatter

from lulcbook import graphs as G
from lulcbook.models.bundle import Bundle
from lulcbook.models.mc_dropout import mc_softmax
from lulcbook.progress import progress as tqdm
from lulcbook.tiling import tile_windows

if TYPE_CHECKING:
    from lulcbook.models.condnorm import ClimateScaler

NORMS: tuple[str, ...] = ("batch", "none", "cond")
CONVS: tuple[str, ...] = ("sage", "graph", "transformer")


def make_norm(norm: str, num_features: int, cond_dim: int = 0, spatial: bool = False) -> nn.Module:
    """Return a normalization layer: BatchNorm, identity or climate-conditional.

    Raises:
        ValueError: for an unknown ``norm`` or ``norm="cond"`` with ``cond_dim <= 0``.
    """
    if norm == "batch":
        return nn.BatchNorm2d(num_features) if spatial else nn.BatchNorm1d(num_features)
    if norm == "none":
        return nn.Identity()
    if norm == "cond":
        if cond_dim <= 0:
            raise ValueError(f"norm='cond' needs cond_dim > 0; got {cond_dim}")
        from lulcbook.models.condnorm import ConditionalNorm

        return ConditionalNorm(num_features, cond_dim, spatial=spatial)
    raise ValueError(f"Unknown norm {norm!r}; expected one of {NORMS}")


def apply_norm(layer: nn.Module, x: Tensor, cond: Tensor | None) -> Tensor:
    """Call ``layer`` with ``cond`` if it is conditional, else without."""
    if getattr(layer, "cond_dim", None) is not None and not isinstance(layer, nn.Identity):
        out: Tensor = layer(x, cond)
    else:
        out = layer(x)
    return out


def normalise_weights(edge_index: Tensor, edge_weight: Tensor, num_nodes: int) -> Tensor:
    """Scale incoming edge weights of every node to sum to one (weighted mean aggregation)."""
    total = scatter(edge_weight, edge_index[1], dim=0, dim_size=num_nodes, reduce="sum")
    result: Tensor = edge_weight / total.clamp_min(1e-12)[edge_index[1]]
    return result


def heavy_edge_matching(
    edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int, rounds: int = 4
) -> tuple[Tensor, int]:
    """Graclus-style matching of neighbouring nodes by normalised-cut score.

    Args:
        edge_index: ``(2, E)`` edges (both directions).
        edge_weight: ``(E,)`` non-negative weights, or ``None`` for ones.
        num_nodes: number of nodes.
        rounds: proposal rounds; each merges at least the heaviest remaining edge.

    Returns:
        ``(cluster, n_clusters)``: cluster id per node (``0 .. n_clusters-1``); every cluster
        has one or two nodes, and two only if they are adjacent.
    """
    device = edge_index.device
    ei, w = remove_self_loops(edge_index, edge_weight)
    if w is None:
        w = torch.ones(ei.shape[1], device=device)
    w = w.detach().float().clamp_min(0)
    src, dst = ei
    deg = scatter(w, src, dim=0, dim_size=num_nodes, reduce="sum").clamp_min(1e-12)
    score = w * (1.0 / deg[src] + 1.0 / deg[dst])
    partner = torch.arange(num_nodes, device=device)
    matched = torch.zeros(num_nodes, dtype=torch.bool, device=device)
    for _ in range(rounds):
        ok = ~matched[src] & ~matched[dst]
        if not bool(ok.any()):
            break
        s, d, sc = src[ok], dst[ok], score[ok]
        best_score = torch.full((num_nodes,), -1.0, device=device).scatter_reduce(
            0, s, sc, reduce="amax", include_self=True
        )
        top = sc >= best_score[s]
        best = torch.full((num_nodes,), -1, dtype=torch.long, device=device).scatter_reduce(
            0, s[top], d[top], reduce="amax", include_self=True
        )
        cand = torch.nonzero(best >= 0).flatten()
        mutual = cand[best[best[cand]] == cand]
        if mutual.numel() == 0:
            break
        matched[mutual] = True
        partner[mutual] = best[mutual]
    root = torch.minimum(torch.arange(num_nodes, device=device), partner)
    uniq, cluster = torch.unique(root, return_inverse=True)
    return cluster, int(uniq.numel())


def pool_graph(
    x: Tensor,
    edge_index: Tensor,
    edge_weight: Tensor,
    batch: Tensor,
    cluster: Tensor,
    n_clusters: int,
    reduce: str = "mean",
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Coarsen a graph by clusters: pooled features, summed edge weights, cluster batch vector."""
    xc = scatter(x, cluster, dim=0, dim_size=n_clusters, reduce=reduce)
    ei = cluster[edge_index]
    ei, w = remove_self_loops(ei, edge_weight)
    ei, w = coalesce(ei, w, num_nodes=n_clusters, reduce="sum")
    bc = torch.zeros(n_clusters, dtype=batch.dtype, device=batch.device).scatter_(0, cluster, batch)
    return xc, ei, w, bc


def _graph_inputs(data: Data) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    x, ei = data.x, data.edge_index
    w = getattr(data, "edge_weight", None)
    if w is None:
        w = torch.ones(ei.shape[1], device=x.device)
    batch = getattr(data, "batch", None)
    if batch is None:
        batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    return x, ei, w, batch


def _node_cond(data: Data, batch: Tensor, cond: Tensor | None, needed: bool) -> Tensor | None:
    if not needed:
        return None
    c = cond if cond is not None else getattr(data, "cond", None)
    if c is None:
        raise ValueError("norm='cond' needs a climate vector: data.cond (standardised) or cond=")
    if not torch.isfinite(c).all():
        raise ValueError(
            "data.cond contains NaN: standardise it first with "
            "lulcbook.models.condnorm.standardise_climate (missing-climate rule)"
        )
    return c.float()


class _NodeModel(nn.Module):
    """Shared constructor arguments and the conv → norm → ReLU → dropout block."""

    def __init__(
        self,
        in_dim: int,
        hidden: int,
        n_classes: int,
        depth: int,
        dropout: float,
        norm: str,
        cond_dim: int,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"Unknown norm {norm!r}; expected one of {NORMS}")
        if depth < 1:
            raise ValueError(f"depth must be >= 1; got {depth}")
        self.in_dim, self.hidden, self.n_classes = in_dim, hidden, n_classes
        self.depth, self.norm_kind, self.cond_dim = depth, norm, cond_dim
        self.uses_cond = norm == "cond"
        self.drop = nn.Dropout(dropout)

    def _norm(self, n: int) -> nn.Module:
        return make_norm(self.norm_kind, n, self.cond_dim, spatial=False)


class GraphUNet(_NodeModel):
    """Graph U-Net with edge-weighted heavy-edge-matching pooling (see module docstring).

    Args:
        in_dim: node feature width.
        hidden: channels at every level.
        n_classes: output classes.
        depth: number of pooling levels.
        dropout: dropout probability after every block (also used for MC dropout).
        norm: ``"batch"``, ``"none"`` or ``"cond"`` (climate-conditional).
        cond_dim: width of the standardised climate vector for ``norm="cond"``.
        pool: ``"mean"`` or ``"max"`` of the member features of a cluster.
        match_rounds: proposal rounds of the matching per level.

    ``forward(data)`` returns node logits ``(N, n_classes)``.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int = 64,
        n_classes: int = 8,
        depth: int = 2,
        dropout: float = 0.2,
        norm: str = "batch",
        cond_dim: int = 0,
        pool: str = "mean",
        match_rounds: int = 4,
    ) -> None:
        """Build the layers; the arguments are described in the class docstring."""
        super().__init__(in_dim, hidden, n_classes, depth, dropout, norm, cond_dim)
        if pool not in ("mean", "max"):
            raise ValueError(f"Unknown pool {pool!r}; expected 'mean' or 'max'")
        self.pool, self.match_rounds = pool, match_rounds
        self.lin_in = nn.Linear(in_dim, hidden)
        self.conv_in = GraphConv(hidden, hidden, aggr="add")
        self.norm_in = self._norm(hidden)
        self.down = nn.ModuleList(GraphConv(hidden, hidden, aggr="add") for _ in range(depth))
        self.down_norm = nn.ModuleList(self._norm(hidden) for _ in range(depth))
        self.up = nn.ModuleList(GraphConv(2 * hidden, hidden, aggr="add") for _ in range(depth))
        self.up_norm = nn.ModuleList(self._norm(hidden) for _ in range(depth))
        self.head = nn.Linear(hidden, n_classes)

    def _block(
        self,
        conv: nn.Module,
        norm: nn.Module,
        x: Tensor,
        ei: Tensor,
        w: Tensor,
        batch: Tensor,
        cond: Tensor | None,
    ) -> Tensor:
        h = conv(x, ei, normalise_weights(ei, w, x.shape[0]))
        h = apply_norm(norm, h, None if cond is None else cond[batch])
        result: Tensor = self.drop(F.relu(h))
        return result

    def forward(self, data: Data, cond: Tensor | None = None) -> Tensor:
        """Node logits ``(N, n_classes)``; ``cond`` overrides ``data.cond`` (``(B, cond_dim)``)."""
        x, ei, w, batch = _graph_inputs(data)
        c = _node_cond(data, batch, cond, self.uses_cond)
        x = self.drop(F.relu(self.lin_in(x)))
        x = self._block(self.conv_in, self.norm_in, x, ei, w, batch, c)
        stack: list[tuple[Tensor, Tensor, Tensor, Tensor, Tensor]] = []
        for conv, norm in zip(self.down, self.down_norm, strict=True):
            skip = (x, ei, w, batch)
            cluster, n = heavy_edge_matching(ei, w, x.shape[0], self.match_rounds)
            x, ei, w, batch = pool_graph(x, ei, w, batch, cluster, n, self.pool)
            stack.append((*skip, cluster))
            x = self._block(conv, norm, x, ei, w, batch, c)
        for conv, norm in zip(self.up, self.up_norm, strict=True):
            xs, ei, w, batch, cluster = stack.pop()
            x = torch.cat([xs, x[cluster]], dim=1)
            x = self._block(conv, norm, x, ei, w, batch, c)
        result: Tensor = self.head(x)
        return result


class GNN(_NodeModel):
    """A plain message-passing GNN (no pooling).

    Args:
        in_dim, hidden, n_classes, depth, dropout, norm, cond_dim: as :class:`GraphUNet`
            (``depth`` = number of message-passing layers).
        conv: ``"sage"`` (GraphSAGE, mean aggregation; ignores edge weights), ``"graph"``
            (``GraphConv`` with weighted-mean aggregation) or ``"transformer"``
            (``TransformerConv`` with the edge weight as edge attribute).
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int = 64,
        n_classes: int = 8,
        depth: int = 3,
        dropout: float = 0.2,
        norm: str = "batch",
        cond_dim: int = 0,
        conv: str = "sage",
    ) -> None:
        """Build the layers; the arguments are described in the class docstring."""
        super().__init__(in_dim, hidden, n_classes, depth, dropout, norm, cond_dim)
        if conv not in CONVS:
            raise ValueError(f"Unknown conv {conv!r}; expected one of {CONVS}")
        self.conv_kind = conv
        self.lin_in = nn.Linear(in_dim, hidden)
        self.convs = nn.ModuleList(self._conv(hidden) for _ in range(depth))
        self.norms = nn.ModuleList(self._norm(hidden) for _ in range(depth))
        self.head = nn.Linear(hidden, n_classes)

    def _conv(self, h: int) -> nn.Module:
        # torch_geometric ships no type information: its layers are nn.Modules
        if self.conv_kind == "sage":
            return cast(nn.Module, SAGEConv(h, h, aggr="mean"))
        if self.conv_kind == "graph":
            return cast(nn.Module, GraphConv(h, h, aggr="add"))
        return cast(nn.Module, TransformerConv(h, h // 4, heads=4, edge_dim=1))

    def forward(self, data: Data, cond: Tensor | None = None) -> Tensor:
        """Node logits ``(N, n_classes)``; ``cond`` overrides ``data.cond`` (``(B, cond_dim)``)."""
        x, ei, w, batch = _graph_inputs(data)
        c = _node_cond(data, batch, cond, self.uses_cond)
        x = self.drop(F.relu(self.lin_in(x)))
        for conv, norm in zip(self.convs, self.norms, strict=True):
            if self.conv_kind == "sage":
                h = conv(x, ei)
            elif self.conv_kind == "graph":
                h = conv(x, ei, normalise_weights(ei, w, x.shape[0]))
            else:
                h = conv(x, ei, w[:, None])
            h = apply_norm(norm, h, None if c is None else c[batch])
            x = x + self.drop(F.relu(h))
        result: Tensor = self.head(x)
        return result


MODELS: dict[str, type[nn.Module]] = {"GraphUNet": GraphUNet, "GNN": GNN}


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate a graph model by class name (``"GraphUNet"`` or ``"GNN"``).

    Raises:
        ValueError: for an unknown name.
    """
    if name not in MODELS:
        raise ValueError(f"Unknown graph model {name!r}; expected one of {sorted(MODELS)}")
    return MODELS[name](**kwargs)


class SegmentClassifier(Bundle):
    """A trained superpixel GNN bundled with everything needed to map a new tile.

    Holds the band names, the class keys of the output channels, the segmentation parameters,
    the node-feature standardisation, optionally the climate standardisation, and the model
    configuration and weights.

    Args:
        model: a :class:`GraphUNet` or :class:`GNN`.
        model_kwargs: its constructor arguments (to rebuild it on load).
        bands: Sentinel-2 band names of the input, in order.
        classes: legend keys of the output channels, in order.
        graph_params: keyword arguments of :func:`lulcbook.graphs.segment`.
        scaler: the fitted node-feature standardisation.
        climate_scaler: the fitted :class:`~lulcbook.models.condnorm.ClimateScaler`
            (needed when the model uses ``norm="cond"``).
        meta: JSON-like extra information (training data, metrics).
    """

    FORMAT = "lulcbook.SegmentClassifier"
    VERSION = 1

    def __init__(
        self,
        model: nn.Module,
        model_kwargs: dict[str, Any],
        bands: Sequence[str],
        classes: Sequence[str],
        graph_params: dict[str, Any],
        scaler: G.FeatureScaler,
        climate_scaler: ClimateScaler | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Wrap a trained model; see the class docstring for the arguments."""
        self.model = model.eval()
        self.model_name = type(model).__name__
        if self.model_name not in MODELS:
            raise ValueError(
                f"Unsupported model class {self.model_name!r}; expected {sorted(MODELS)}"
            )
        self.model_kwargs = dict(model_kwargs)
        self.bands = [str(b) for b in bands]
        self.classes = [str(c) for c in classes]
        self.graph_params = dict(graph_params)
        self.scaler = scaler
        self.climate_scaler = climate_scaler
        self.meta = dict(meta or {})
        if getattr(model, "n_classes", len(self.classes)) != len(self.classes):
            raise ValueError(
                f"Model has {model.n_classes} outputs but {len(self.classes)} classes were given"
            )

    @property
    def n_classes(self) -> int:
        """Number of output classes."""
        return len(self.classes)

    def _tile_array(self, tile: np.ndarray | xr.DataArray) -> np.ndarray:
        if isinstance(tile, xr.DataArray):
            if "band" in tile.coords:
                names = [str(b) for b in tile["band"].values]
                missing = [b for b in self.bands if b not in names]
                if missing:
                    raise ValueError(f"Tile lacks band(s) {missing}; it has {names}")
                tile = tile.sel(band=self.bands)
            tile = tile.transpose("band", "y", "x").values
        arr = np.asarray(tile, dtype=np.float32)
        if arr.ndim != 3 or arr.shape[0] != len(self.bands):
            raise ValueError(
                f"tile must be (band, y, x) with {len(self.bands)} bands {self.bands}; "
                f"got shape {arr.shape}"
            )
        return arr

    def _cond(self, climate: np.ndarray | None) -> Tensor | None:
        if not getattr(self.model, "uses_cond", False):
            return None
        if self.climate_scaler is None:
            raise ValueError(
                "The model uses climate conditioning but the bundle has no climate scaler"
            )
        n_bio = self.climate_scaler.n_bio
        raw = (
            np.full((1, n_bio), np.nan)
            if climate is None
            else np.asarray(climate, float).reshape(1, -1)
        )
        return torch.as_tensor(self.climate_scaler.transform(raw), dtype=torch.float32)

    def graph(self, tile: np.ndarray | xr.DataArray) -> tuple[G.SegmentGraph, np.ndarray]:
        """Segment a tile and build its standardised graph; returns ``(graph, valid mask)``."""
        arr = self._tile_array(tile)
        filled, valid = G.fill_invalid(arr)
        g = G.patch_graph(filled, None, **self.graph_params)
        g.x = self.scaler.transform_x(g.x)
        return g, valid

    @torch.no_grad()
    def predict_nodes(self, graph: Data, mc_samples: int = 0, cond: Tensor | None = None) -> Tensor:
        """Node class probabilities ``(N, n_classes)`` of a standardised graph.

        ``mc_samples > 0`` averages that many stochastic passes with dropout active (MC dropout,
        Gal & Ghahramani 2016); ``0`` is one deterministic pass.
        """
        return mc_softmax(self.model, lambda: self.model(graph, cond=cond), mc_samples)

    def predict_proba(
        self,
        tile: np.ndarray | xr.DataArray,
        mc_samples: int = 0,
        climate: np.ndarray | None = None,
    ) -> np.ndarray:
        """Class probabilities of every pixel of a tile.

        Args:
            tile: ``(band, y, x)`` float32 reflectance in :attr:`bands` order (a DataArray with a
                ``band`` coordinate is reordered by name). NaN marks invalid pixels.
            mc_samples: MC-dropout passes (0: deterministic).
            climate: raw climate vector ``(n_bio,)`` of the tile for conditional models
                (``None``: treated as missing).

        Returns:
            ``(n_classes, y, x)`` float32 probabilities, NaN where any input band is NaN.
        """
        arr = self._tile_array(tile)
        out = np.full((self.n_classes, *arr.shape[1:]), np.nan, dtype=np.float32)
        if not np.isfinite(arr).all(axis=0).any():
            return out
        g, valid = self.graph(arr)
        probs = self.predict_nodes(g, mc_samples, self._cond(climate)).numpy()
        seg = g.segments[0].numpy()
        out[:] = probs.T[:, seg]
        out[:, ~valid] = np.nan
        return out

    def predict_proba_tiled(
        self,
        image: np.ndarray | xr.DataArray,
        tile_size: int = 256,
        overlap: int = 32,
        mc_samples: int = 0,
        progress: bool = True,
    ) -> np.ndarray:
        """:meth:`predict_proba` over a large image, tile by tile, in memory.

        Each tile is segmented with ``overlap`` pixels of context on every side, and only its
        core is kept, so segments are not cut at the tile borders of the output. (For scenes
        larger than memory, and COG output, see :func:`lulcbook.predict.predict_scene`.)

        Raises:
            ValueError: if ``tile_size`` is not positive or ``overlap`` is negative.
        """
        arr = self._tile_array(image)
        _, h, w = arr.shape
        tiles = tile_windows(w, h, tile_size, overlap)
        out = np.full((self.n_classes, h, w), np.nan, dtype=np.float32)
        for tile in tqdm(tiles, desc="tiles", disable=not progress, leave=False):
            p = self.predict_proba(arr[(slice(None), *tile.padded_slices)], mc_samples=mc_samples)
            out[(slice(None), *tile.core_slices)] = p[(slice(None), *tile.core_in_padded)]
        return out

    def predict(self, tile: np.ndarray | xr.DataArray, nodata: int = 255) -> np.ndarray:
        """Most likely class index per pixel (``uint8``), ``nodata`` where the input is NaN."""
        p = self.predict_proba(tile)
        valid = np.isfinite(p).all(axis=0)
        out = np.full(p.shape[1:], nodata, dtype=np.uint8)
        out[valid] = np.argmax(p[:, valid], axis=0).astype(np.uint8)
        return out

    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild the bundle (tensors and plain python only)."""
        return {
            "format": self.FORMAT,
            "version": self.VERSION,
            "model_name": self.model_name,
            "model_kwargs": self.model_kwargs,
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "bands": self.bands,
            "classes": self.classes,
            "graph_params": self.graph_params,
            "feature_scaler": self.scaler.to_dict(),
            "climate_scaler": None
            if self.climate_scaler is None
            else self.climate_scaler.to_dict(),
            "meta": self.meta,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SegmentClassifier:
        """Rebuild the bundle from :meth:`state` (as read by :meth:`~Bundle.load`)."""
        model = build_model(state["model_name"], **state["model_kwargs"])
        model.load_state_dict(state["state_dict"])
        climate = None
        if state.get("climate_scaler") is not None:
            from lulcbook.models.condnorm import ClimateScaler

            climate = ClimateScaler.from_dict(state["climate_scaler"])
        return cls(
            model,
            state["model_kwargs"],
            state["bands"],
            state["classes"],
            state["graph_params"],
            G.FeatureScaler.from_dict(state["feature_scaler"]),
            climate,
            state.get("meta"),
        )
