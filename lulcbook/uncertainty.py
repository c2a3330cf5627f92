"""Predictive uncertainty of graph classifiers: MC dropout, deep ensembles, temperature scaling.

* **MC dropout** (Gal & Ghahramani, ICML 2016): ``T`` stochastic forward passes with the dropout
  layers sampling and batch normalisation in eval mode (running statistics), averaged.
* **Deep ensembles** (Lakshminarayanan, Pritzel & Blundell, NeurIPS 2017): ``M`` members trained
  from different random initialisations and data orders, averaged.
* **Temperature scaling** (Guo et al., ICML 2017): one scalar ``T > 0`` dividing the logits,
  fitted by minimising the negative log-likelihood on a validation split. For stochastic or
  ensemble predictions the members are averaged first and ``T`` divides the log of the
  averaged probabilities ("pool, then calibrate"; Rahaman & Thiery, NeurIPS 2021). Scaling
  every member before averaging instead lets the fit drive ``T`` towards 0 whenever some member
  is right on each validation sample, which makes the pooled prediction over-confident.
* **Uncertainty decomposition** (Depeweg et al., ICML 2018; Smith & Gal, 2018): the predictive
  entropy ``H[E_t p_t]`` (total) splits into the expected entropy ``E_t H[p_t]`` (aleatoric)
  and the mutual information ``H[E_t p_t] - E_t H[p_t]`` between prediction and model
  parameters (epistemic).

Array conventions: member/pass probabilities are ``(T, n, C)`` (``T`` passes or members,
``n`` samples or nodes, ``C`` classes); class probabilities are on the last axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar
from torch import Tensor, nn
from torch_geometric.data import Batch, Data

from lulcbook.models.mc_dropout import enable_mc_dropout
from lulcbook.progress import progress as tqdm
from lulcbook.tiling import tile_windows

METHODS: tuple[str, ...] = ("single", "mc_dropout", "ensemble")
"""Uncertainty methods compared: one deterministic network, MC dropout of that network, and
the deep ensemble."""

LOG_T_BOUNDS: tuple[float, float] = (-3.0, 3.0)
"""Search interval of ``log T`` for temperature scaling (``T`` from 0.05 to 20)."""


def _as_numpy(x: np.ndarray | Tensor | Sequence[Any]) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def entropy(probs: np.ndarray | Tensor, axis: int = -1) -> np.ndarray:
    """Shannon entropy (nats) of probability vectors along ``axis`` (``0 log 0 = 0``)."""
    p = _as_numpy(probs)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return np.asarray(terms.sum(axis=axis), dtype=float)


def _check_members(member_probs: np.ndarray | Tensor) -> np.ndarray:
    p = _as_numpy(member_probs)
    if p.ndim < 3:
        raise ValueError(
            f"member probabilities must be (T, n, C) (passes/members first); got shape {p.shape}"
        )
    return p


def predictive_entropy(member_probs: np.ndarray | Tensor) -> np.ndarray:
    """Total uncertainty ``H[mean_t p_t]`` of ``(T, n, C)`` member probabilities → ``(n,)``."""
    return entropy(_check_members(member_probs).mean(axis=0))


def expected_entropy(member_probs: np.ndarray | Tensor) -> np.ndarray:
    """Aleatoric part ``mean_t H[p_t]`` of ``(T, n, C)`` member probabilities → ``(n,)``."""
    return np.asarray(entropy(_check_members(member_probs)).mean(axis=0), dtype=float)


def mutual_information(member_probs: np.ndarray | Tensor) -> np.ndarray:
    """Epistemic part: predictive entropy minus expected entropy (≥ 0, clipped at 0) → ``(n,)``."""
    p = _check_members(member_probs)
    return np.asarray(np.clip(entropy(p.mean(axis=0)) - entropy(p).mean(axis=0), 0.0, None))


def decompose(member_probs: np.ndarray | Tensor) -> dict[str, np.ndarray]:
    """Mean probabilities and the three uncertainty measures of ``(T, n, C)`` probabilities.

    Returns:
        ``probs`` ``(n, C)``, ``entropy``, ``expected_entropy``, ``mutual_information`` ``(n,)``.
    """
    p = _check_members(member_probs)
    total = entropy(p.mean(axis=0))
    aleatoric = entropy(p).mean(axis=0)
    return {
        "probs": p.mean(axis=0),
        "entropy": total,
        "expected_entropy": aleatoric,
        "mutual_information": np.clip(total - aleatoric, 0.0, None),
    }


def _member_logits(logits: np.ndarray | Tensor) -> Tensor:
    z = torch.as_tensor(_as_numpy(logits))
    if z.ndim == 2:
        z = z[None]
    if z.ndim != 3:
        raise ValueError(f"logits must be (n, C) or (T, n, C); got shape {tuple(z.shape)}")
    return z


def _pooled_log_probs(z: Tensor) -> Tensor:
    """``log mean_t softmax(z_t)`` of ``(T, n, C)`` logits, computed stably."""
    return torch.logsumexp(F.log_softmax(z, dim=-1), dim=0) - math.log(z.shape[0])


def calibrated_probs(logits: np.ndarray | Tensor, temperature: float = 1.0) -> np.ndarray:
    """Temperature-scaled class probabilities ``softmax(log(mean_t softmax(z_t)) / T)``.

    For a single pass ``(n, C)`` this is the usual ``softmax(z / T)``; for ``(T, n, C)`` logits
    the passes/members are averaged first ("pool, then calibrate").

    Raises:
        ValueError: for a non-positive temperature.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return F.softmax(_pooled_log_probs(_member_logits(logits)) / temperature, dim=-1).numpy()


def member_probs(logits: np.ndarray | Tensor, temperature: float = 1.0) -> np.ndarray:
    """Per-member probabilities ``softmax(z_t / T)`` as ``(T, n, C)``."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return F.softmax(_member_logits(logits) / temperature, dim=-1).numpy()


def _nll(pooled: Tensor, y: Tensor, log_t: float) -> float:
    return float(F.cross_entropy(pooled / np.exp(log_t), y))


def fit_temperature(
    logits: np.ndarray | Tensor,
    y: np.ndarray | Tensor | Sequence[int],
    bounds: tuple[float, float] = LOG_T_BOUNDS,
) -> float:
    """Fit the temperature ``T`` that minimises the NLL of :func:`calibrated_probs` on ``y``.

    The NLL is minimised over ``log T`` (so ``T`` stays positive): a coarse grid over
    ``bounds`` locates the basin, then bounded Brent search (scipy) refines it.

    Args:
        logits: validation logits ``(n, C)`` or ``(T, n, C)`` (MC passes / ensemble members).
        y: validation labels ``(n,)``.
        bounds: search interval of ``log T``.

    Returns:
        The fitted temperature ``T`` (> 1 softens over-confident predictions).

    Raises:
        ValueError: for empty or mismatched inputs.
    """
    z = _member_logits(logits)
    yt = torch.as_tensor(np.asarray(y), dtype=torch.long).reshape(-1)
    if z.shape[1] == 0 or yt.numel() != z.shape[1]:
        raise ValueError(f"{yt.numel()} labels for {z.shape[1]} samples; need the same, > 0")
    pooled = _pooled_log_probs(z)
    grid = np.linspace(bounds[0], bounds[1], 61)
    values = [_nll(pooled, yt, g) for g in grid]
    k = int(np.argmin(values))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    res = minimize_scalar(
        lambda t: _nll(pooled, yt, t), bounds=(lo, hi), method="bounded", options={"xatol": 1e-5}
    )
    best = float(res.x) if res.fun <= values[k] else float(grid[k])
    return float(np.exp(best))


class TemperatureScaler:
    """Temperature scaling as a fitted object (``fit`` on validation, ``predict_proba`` after).

    Attributes:
        temperature: the fitted ``T`` (1.0 before fitting: no change).
    """

    def __init__(self, temperature: float = 1.0) -> None:
        """Start from ``temperature`` (1: no change) until :meth:`fit` is called."""
        self.temperature = float(temperature)

    def fit(
        self, logits: np.ndarray | Tensor, y: np.ndarray | Tensor | Sequence[int]
    ) -> TemperatureScaler:
        """Fit ``T`` on validation logits ``(n, C)`` / ``(T, n, C)`` and labels."""
        self.temperature = fit_temperature(logits, y)
        return self

    def predict_proba(self, logits: np.ndarray | Tensor) -> np.ndarray:
        """Calibrated class probabilities ``(n, C)``."""
        return calibrated_probs(logits, self.temperature)

    def __repr__(self) -> str:
        """Show the fitted temperature."""
        return f"TemperatureScaler(temperature={self.temperature:.4f})"


@torch.no_grad()
def mc_dropout_logits(
    model: nn.Module,
    graphs: Sequence[Data],
    n_samples: int = 20,
    seed: int = 0,
    batch_size: int = 64,
    nodes: bool = False,
    progress: bool = False,
) -> Tensor | list[Tensor]:
    """Logits of ``n_samples`` stochastic passes with dropout on and batch norm in eval mode.

    Args:
        model: a graph model whose ``forward(batch)`` returns node logits.
        graphs: standardised graphs (with ``label_node`` unless ``nodes=True``).
        n_samples: number of stochastic passes ``T`` (``0``: one deterministic pass).
        seed: seeds the dropout masks.
        batch_size: graphs per forward pass.
        nodes: return all node logits, one ``(T, N_i, C)`` tensor per graph.
        progress: show a tqdm bar over the passes.

    Returns:
        ``(T, n, C)`` logits at the labelled nodes, or a list of ``(T, N_i, C)`` node logits.
    """
    if n_samples < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    was_training = model.training
    if n_samples == 0:
        model.eval()
        passes = 1
    else:
        enable_mc_dropout(model)
        passes = n_samples
    torch.manual_seed(seed)
    batches = [
        Batch.from_data_list(list(graphs[i : i + batch_size]))
        for i in range(0, len(graphs), batch_size)
    ]
    out: list[list[Tensor]] = []
    try:
        for _ in tqdm(range(passes), desc="MC dropout", disable=not progress, leave=False):
            per_pass: list[Tensor] = []
            for b in batches:
                z = model(b)
                if nodes:
                    per_pass.extend(z[b.ptr[k] : b.ptr[k + 1]] for k in range(b.num_graphs))
                else:
                    per_pass.append(z[b.label_node])
            out.append(per_pass)
    finally:
        model.train(was_training)
    if nodes:
        return [torch.stack([p[g] for p in out]) for g in range(len(graphs))]
    if not batches:
        return torch.zeros(passes, 0, getattr(model, "n_classes", 0))
    return torch.stack([torch.cat(p) for p in out])


def _at_labels(logits: Tensor | list[Tensor]) -> Tensor:
    """The ``(T, n, C)`` label logits of :func:`mc_dropout_logits` (called without ``nodes``).

    Raises:
        TypeError: for per-graph node logits.
    """
    if not isinstance(logits, Tensor):
        raise TypeError("mc_dropout_logits returned per-graph node logits; expected label logits")
    return logits


@torch.no_grad()
def ensemble_logits(
    models: Sequence[nn.Module], graphs: Sequence[Data], batch_size: int = 64
) -> Tensor:
    """Deterministic logits of every ensemble member at the labelled nodes: ``(M, n, C)``."""
    if not models:
        raise ValueError("ensemble_logits needs at least one model")
    return torch.cat(
        [_at_labels(mc_dropout_logits(m, graphs, 0, batch_size=batch_size)) for m in models]
    )


def train_ensemble(
    make_model: Callable[[], nn.Module],
    fit: Callable[..., Any],
    train_graphs: Sequence[Data],
    val_graphs: Sequence[Data] | None,
    n_members: int = 5,
    seed: int = 0,
    fit_kwargs: dict[str, Any] | None = None,
    progress: bool = True,
) -> list[nn.Module]:
    """Train a deep ensemble: ``n_members`` models, each seeded ``seed + m`` (init and data order).

    Args:
        make_model: builds a fresh, untrained model (called after seeding, so the seed sets
            its initial weights).
        fit: a training loop ``fit(model, train_graphs, val_graphs, seed=..., **fit_kwargs)``,
            e.g. :func:`lulcbook.train.fit_gnn`; it must leave the trained weights in the model.
        train_graphs: standardised training graphs.
        val_graphs: standardised validation graphs (early stopping).
        n_members: ensemble size.
        seed: base seed.
        fit_kwargs: passed to ``fit`` (epochs, lr, progress, ...).
        progress: show a tqdm bar over the members.

    Returns:
        The trained members, in eval mode.
    """
    if n_members < 1:
        raise ValueError(f"n_members must be >= 1, got {n_members}")
    members = []
    for m in tqdm(range(n_members), desc="ensemble", disable=not progress, leave=False):
        torch.manual_seed(seed + m)
        np.random.seed((seed + m) % 2**32)
        model = make_model()
        fit(model, train_graphs, val_graphs, seed=seed + m, **(fit_kwargs or {}))
        members.append(model.eval())
    return members


@torch.no_grad()
def graph_node_mc_logits(
    model: nn.Module,
    graph: Data,
    n_samples: int,
    seed: int = 0,
    cond: Tensor | None = None,
) -> Tensor:
    """Node logits of ``n_samples`` MC-dropout passes over one graph: ``(T, N, C)``.

    Used for scene-wide uncertainty maps, where the nodes are superpixels; a pass is
    deterministic when ``n_samples == 0`` (then ``T = 1``).
    """
    was_training = model.training
    if n_samples > 0:
        enable_mc_dropout(model)
    else:
        model.eval()
    torch.manual_seed(seed)
    try:
        return torch.stack([model(graph, cond=cond) for _ in range(max(n_samples, 1))])
    finally:
        model.train(was_training)


def calibrated_decompose(
    logits: np.ndarray | Tensor, temperature: float = 1.0
) -> dict[str, np.ndarray]:
    """:func:`decompose` with temperature scaling of the pooled prediction.

    ``probs`` and ``entropy`` come from :func:`calibrated_probs`; the ``mutual_information``
    (disagreement between passes/members) is measured on the raw passes, which a temperature of
    the pooled prediction leaves untouched; ``expected_entropy`` is the rest, ``entropy -
    mutual_information`` (clipped at 0). With ``temperature=1`` this equals :func:`decompose`.
    """
    probs = calibrated_probs(logits, temperature)
    total = entropy(probs)
    mi = mutual_information(member_probs(logits))
    return {
        "probs": probs,
        "entropy": total,
        "expected_entropy": np.clip(total - mi, 0.0, None),
        "mutual_information": mi,
    }


UNCERTAINTY_KEYS: tuple[str, ...] = ("entropy", "expected_entropy", "mutual_information")


def _tile_uncertainty(
    classifier: Any,
    arr: np.ndarray,
    n_samples: int,
    seed: int,
    temperature: float,
    climate: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """:func:`scene_uncertainty` of one in-memory tile ``(band, y, x)`` (segmented as a whole)."""
    shape = arr.shape[1:]
    out = {"probs": np.full((classifier.n_classes, *shape), np.nan, dtype=np.float32)}
    out.update({k: np.full(shape, np.nan, dtype=np.float32) for k in UNCERTAINTY_KEYS})
    if not np.isfinite(arr).all(axis=0).any():
        return out
    graph, valid = classifier.graph(arr)
    cond = classifier._cond(climate) if getattr(classifier.model, "uses_cond", False) else None
    node = calibrated_decompose(
        graph_node_mc_logits(classifier.model, graph, n_samples, seed, cond), temperature
    )
    seg = graph.segments[0].numpy()
    out["probs"][:] = node["probs"].T[:, seg]
    out["probs"][:, ~valid] = np.nan
    for key in UNCERTAINTY_KEYS:
        out[key][:] = node[key][seg]
        out[key][~valid] = np.nan
    return out


def scene_uncertainty(
    classifier: Any,
    image: np.ndarray | Any,
    n_samples: int = 20,
    seed: int = 0,
    temperature: float = 1.0,
    climate: np.ndarray | None = None,
    tile_size: int | None = 256,
    overlap: int = 32,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """MC-dropout class probabilities and uncertainty maps of a scene, tile by tile.

    Tiles are cut like :meth:`~lulcbook.models.gnn.SegmentClassifier.predict_proba_tiled`
    (each tile segmented with ``overlap`` pixels of context, only its core kept), so the class
    map matches the deterministic map of that method. Within a tile the ``n_samples``
    stochastic passes run on the superpixel graph and the node results are painted back to the
    pixels of each segment (memory ``O(T N C)``, not per pixel).

    Args:
        classifier: a :class:`~lulcbook.models.gnn.SegmentClassifier`.
        image: ``(band, y, x)`` reflectance in the classifier's band order (or a DataArray).
        n_samples: MC-dropout passes (0: one deterministic pass; mutual information is then 0).
        seed: seeds the dropout masks (the same seed in every tile).
        temperature: scales the pooled prediction (from :func:`fit_temperature`; see
            :func:`calibrated_decompose`).
        climate: raw climate vector for climate-conditioned models.
        tile_size: core tile size in pixels; ``None`` segments the whole image at once.
        overlap: context pixels around each tile core.
        progress: show a tqdm bar over the tiles.

    Returns:
        ``probs`` ``(C, y, x)`` float32, ``entropy``, ``expected_entropy``,
        ``mutual_information`` ``(y, x)`` float32 (NaN where the input is invalid) and
        ``classes`` ``(y, x)`` uint8 (255 = no data).

    Raises:
        ValueError: for a non-positive temperature or tile size, or a negative overlap.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    arr = classifier._tile_array(image)
    _, h, w = arr.shape
    if tile_size is None:
        out = _tile_uncertainty(classifier, arr, n_samples, seed, temperature, climate)
    else:
        tiles = tile_windows(w, h, tile_size, overlap)
        out = {"probs": np.full((classifier.n_classes, h, w), np.nan, dtype=np.float32)}
        out.update({k: np.full((h, w), np.nan, dtype=np.float32) for k in UNCERTAINTY_KEYS})
        for tile in tqdm(tiles, desc="tiles", disable=not progress, leave=False):
            part = _tile_uncertainty(
                classifier,
                arr[(slice(None), *tile.padded_slices)],
                n_samples,
                seed,
                temperature,
                climate,
            )
            core, inner = tile.core_slices, tile.core_in_padded
            out["probs"][(slice(None), *core)] = part["probs"][(slice(None), *inner)]
            for key in UNCERTAINTY_KEYS:
                out[key][core] = part[key][inner]
    valid = np.isfinite(out["probs"]).all(axis=0)
    classes = np.full((h, w), 255, dtype=np.uint8)
    classes[valid] = np.argmax(out["probs"][:, valid], axis=0).astype(np.uint8)
    out["classes"] = classes
    return out


def fold_logits(
    members: Sequence[nn.Module],
    val_graphs: Sequence[Data],
    test_graphs: Sequence[Data],
    mc_samples: int = 20,
    seed: int = 0,
) -> dict[str, dict[str, Tensor]]:
    """Validation and test logits of every method in :data:`METHODS` for one data split.

    ``single`` is the first member's deterministic pass, ``mc_dropout`` its ``mc_samples``
    stochastic passes, ``ensemble`` the deterministic passes of all members.

    Returns:
        ``{method: {"val": (T, n_val, C), "test": (T, n_test, C)}}``.
    """
    if not members:
        raise ValueError("fold_logits needs at least one trained member")
    out: dict[str, dict[str, Tensor]] = {}
    for split, gs in (("val", val_graphs), ("test", test_graphs)):
        out.setdefault("single", {})[split] = _at_labels(mc_dropout_logits(members[0], gs, 0))
        mc = mc_dropout_logits(members[0], gs, mc_samples, seed=seed)
        out.setdefault("mc_dropout", {})[split] = _at_labels(mc)
        out.setdefault("ensemble", {})[split] = ensemble_logits(members, gs)
    return out
