"""Seeded training loops with progress bars, early stopping and best checkpoints.

The building blocks of every model the notebooks train: seeding, graph preparation, class
weights, the GNN and CNN loops with their prediction functions, and painting node predictions
onto pixels. The leave-region-out experiments that compose them live in
:mod:`lulcbook.experiments.folds`.

Both loops use the *partial* (single-point) cross-entropy: only the node (GNN) or pixel (CNN)
that holds the labelled point contributes to the supervised loss.

Semi-supervised learning from the unlabelled nodes (``fit_gnn(..., semi=...)``) follows FixMatch
(Sohn et al., NeurIPS 2020) on graphs: the prediction of every unlabelled node on the clean
("weak") graph becomes a pseudo-label where its confidence exceeds a threshold, and the model is
trained to predict that pseudo-label on a strongly augmented view of the same graph (Gaussian
feature noise, feature dropout and edge dropout). The unsupervised term is averaged over all
unlabelled nodes and weighted by ``weight``.
"""

from __future__ import annotations

import copy
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, overload

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.utils import dropout_edge

from lulcbook.evaluate import macro_f1
from lulcbook.io import atomic_path
from lulcbook.progress import progress as tqdm


class GraphScaler(Protocol):
    """A fitted node-feature scaler (e.g. :class:`lulcbook.graphs.FeatureScaler`)."""

    def transform(self, graphs: Sequence[Data]) -> list[Data]:
        """Standardised copies of ``graphs``."""
        ...


class ArrayScaler(Protocol):
    """A fitted array scaler (e.g. :class:`lulcbook.models.condnorm.ClimateScaler`)."""

    def transform(self, x: np.ndarray, /) -> np.ndarray | Tensor:
        """Standardised ``x``."""
        ...


def _n_classes(model: nn.Module) -> int:
    """The ``n_classes`` attribute of a classifier.

    Raises:
        TypeError: if ``model`` has no integer ``n_classes``.
    """
    n = getattr(model, "n_classes", None)
    if not isinstance(n, int):
        raise TypeError(f"{type(model).__name__} has no integer n_classes attribute (got {n!r})")
    return n


def set_seed(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a torch generator seeded alike."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@dataclass
class SemiSupervised:
    """FixMatch-style consistency settings for :func:`fit_gnn`.

    Attributes:
        weight: weight of the unsupervised loss.
        threshold: minimum softmax confidence for a pseudo-label.
        noise: std of the Gaussian noise added to (standardised) node features.
        feature_drop: probability of zeroing a feature entry.
        edge_drop: probability of dropping an (undirected) edge.
        warmup: epochs of supervised-only training before the unsupervised term starts.
    """

    weight: float = 1.0
    threshold: float = 0.9
    noise: float = 0.3
    feature_drop: float = 0.2
    edge_drop: float = 0.2
    warmup: int = 5


@dataclass
class History:
    """Per-epoch training record and the best epoch (lowest validation loss)."""

    rows: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    best_val_loss: float = float("inf")

    def as_records(self) -> list[dict[str, float]]:
        """The rows as a list of dicts (for JSON/CSV and ``dvc plots``)."""
        return [dict(r) for r in self.rows]


class _EarlyStopping:
    """Validation metrics per epoch, the best weights (lowest validation loss) and patience.

    Without validation data every epoch counts as the best, so the last weights are kept.
    """

    def __init__(self, model: nn.Module, weight: Tensor | None, patience: int) -> None:
        self.model, self.weight, self.patience = model, weight, patience
        self.hist = History()
        self.best_state = copy.deepcopy(model.state_dict())
        self.since_best = 0

    def end_epoch(
        self, epoch: int, row: dict[str, float], bar: Any, logits: Tensor | None, y: Tensor | None
    ) -> bool:
        """Record ``row`` (plus validation metrics from ``logits``); return True to stop."""
        if logits is not None and y is not None:
            row["val_loss"] = float(F.cross_entropy(logits, y, weight=self.weight))
            pred = logits.argmax(1).numpy()
            row["val_acc"] = float((pred == y.numpy()).mean())
            row["val_macro_f1"] = macro_f1(y.numpy(), pred)
            if row["val_loss"] < self.hist.best_val_loss - 1e-4:
                self.hist.best_val_loss, self.hist.best_epoch = row["val_loss"], epoch
                self.best_state = copy.deepcopy(self.model.state_dict())
                self.since_best = 0
            else:
                self.since_best += 1
        else:
            self.hist.best_epoch = epoch
            self.best_state = copy.deepcopy(self.model.state_dict())
        self.hist.rows.append(row)
        bar.set_postfix(
            loss=f"{row['train_loss']:.3f}", val=f"{row.get('val_loss', float('nan')):.3f}"
        )
        return logits is not None and self.since_best >= self.patience

    def finish(self, checkpoint: str | os.PathLike[str] | None) -> History:
        """Restore the best weights, switch to eval mode, write the checkpoint."""
        self.model.load_state_dict(self.best_state)
        self.model.eval()
        _save_checkpoint(self.best_state, checkpoint)
        return self.hist


def prepare_graphs(
    graphs: Sequence[Data], scaler: GraphScaler, climate_scaler: ArrayScaler | None = None
) -> list[Data]:
    """Standardise node features (and the climate vector ``cond``, if a scaler is given).

    Args:
        graphs: graphs from :func:`lulcbook.graphs.build_graphs`.
        scaler: a fitted :class:`lulcbook.graphs.FeatureScaler`.
        climate_scaler: a fitted :class:`lulcbook.models.condnorm.ClimateScaler`; its
            missing-climate rule replaces NaN. ``None`` leaves ``cond`` unchanged.

    Returns:
        The standardised graphs.
    """
    out = scaler.transform(graphs)
    if climate_scaler is not None:
        for g in out:
            g.cond = torch.as_tensor(climate_scaler.transform(g.cond.double().numpy()))
    return out


def _augment(batch: Batch, semi: SemiSupervised, gen: torch.Generator) -> Batch:
    """A strongly augmented copy of ``batch``: feature noise and dropout, edge dropout."""
    aug = batch.clone()
    x = aug.x
    noise = torch.randn(x.shape, generator=gen) * semi.noise
    keep = (torch.rand(x.shape, generator=gen) >= semi.feature_drop).float()
    aug.x = (x + noise) * keep
    if semi.edge_drop > 0 and aug.edge_index.shape[1] > 0:
        ei, mask = dropout_edge(aug.edge_index, p=semi.edge_drop, force_undirected=True)
        aug.edge_index = ei
        if getattr(aug, "edge_weight", None) is not None:
            aug.edge_weight = aug.edge_weight[mask]  # mask: bool mask or edge indices
    return aug


def _label_loss(logits: Tensor, batch: Batch, weight: Tensor | None) -> Tensor:
    """Cross-entropy at the labelled node of every graph in ``batch``."""
    return F.cross_entropy(logits[batch.label_node], batch.y, weight=weight)


def _batches(
    graphs: Sequence[Data], batch_size: int, shuffle: bool, gen: torch.Generator
) -> Iterator[Batch]:
    """Mini-batches of ``graphs`` (shuffled with ``gen``; lone single-graph batches skipped)."""
    order = torch.randperm(len(graphs), generator=gen).tolist() if shuffle else range(len(graphs))
    order = list(order)
    for i in range(0, len(order), batch_size):
        chunk = [graphs[j] for j in order[i : i + batch_size]]
        if shuffle and len(chunk) == 1 and len(order) > 1:
            continue  # a single-graph batch breaks BatchNorm statistics
        yield Batch.from_data_list(chunk)


@overload
def predict_gnn(
    model: nn.Module,
    graphs: Sequence[Data],
    batch_size: int = 64,
    nodes: Literal[False] = False,
) -> Tensor: ...


@overload
def predict_gnn(
    model: nn.Module, graphs: Sequence[Data], batch_size: int = 64, *, nodes: Literal[True]
) -> list[Tensor]: ...


@torch.no_grad()
def predict_gnn(
    model: nn.Module, graphs: Sequence[Data], batch_size: int = 64, nodes: bool = False
) -> Tensor | list[Tensor]:
    """Logits at the labelled node of every graph ``(n, C)``, or all node logits per graph.

    Args:
        model: a graph model in any mode (it is switched to eval).
        graphs: standardised graphs.
        batch_size: graphs per forward pass.
        nodes: return a list of ``(N_i, C)`` logits, one per graph, instead.

    Returns:
        ``(n, C)`` logits, or a list of per-graph node logits with ``nodes=True``.
    """
    model.eval()
    label_logits: list[Tensor] = []
    node_logits: list[Tensor] = []
    for i in range(0, len(graphs), batch_size):
        b = Batch.from_data_list(list(graphs[i : i + batch_size]))
        out = model(b)
        if nodes:
            node_logits.extend(out[b.ptr[k] : b.ptr[k + 1]] for k in range(b.num_graphs))
        else:
            label_logits.append(out[b.label_node])
    if nodes:
        return node_logits
    return (
        torch.cat(label_logits) if label_logits else torch.zeros(0, getattr(model, "n_classes", 0))
    )


def class_weights(y: Sequence[int] | np.ndarray, n_classes: int) -> Tensor:
    """Inverse-frequency class weights (mean 1 over the present classes, 0 for absent ones)."""
    counts = np.bincount(np.asarray(y, dtype=int), minlength=n_classes).astype(float)
    w = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
    w = w / w[counts > 0].mean()
    return torch.as_tensor(w, dtype=torch.float32)


def _save_checkpoint(state: dict[str, Tensor], path: str | os.PathLike[str] | None) -> None:
    """Write ``state`` atomically to ``path`` (nothing when ``path`` is None)."""
    if path is not None:
        with atomic_path(Path(path), suffix=".pt") as tmp:
            torch.save(state, tmp)


def fit_gnn(
    model: nn.Module,
    train_graphs: Sequence[Data],
    val_graphs: Sequence[Data] | None = None,
    epochs: int = 100,
    lr: float = 5e-3,
    weight_decay: float = 1e-4,
    batch_size: int = 32,
    patience: int = 20,
    seed: int = 0,
    semi: SemiSupervised | dict[str, Any] | None = None,
    balanced: bool = True,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> History:
    """Train a graph model with the partial cross-entropy at the labelled nodes.

    Early stopping watches the validation loss at the labelled nodes; the best weights are
    loaded back into ``model`` at the end (and written to ``checkpoint`` if given). Without
    validation graphs the last epoch is kept.

    Args:
        model: :class:`~lulcbook.models.gnn.GraphUNet` or :class:`~lulcbook.models.gnn.GNN`.
        train_graphs: standardised graphs (see :func:`prepare_graphs`) with ``y`` and
            ``label_node``.
        val_graphs: standardised validation graphs for early stopping (or None).
        epochs: maximum number of epochs.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        batch_size: graphs per mini-batch.
        patience: epochs without validation improvement before stopping.
        seed: seeds initialisation-independent randomness (shuffling, augmentation).
        semi: :class:`SemiSupervised` settings (or a dict of them) to add the consistency loss
            on the unlabelled nodes; ``None`` for supervised training only.
        balanced: weight the loss by inverse class frequency of the training labels.
        checkpoint: where to save the best ``state_dict``.
        progress: show a tqdm bar.

    Returns:
        The :class:`History` (columns ``epoch, train_loss, sup_loss, unsup_loss, pseudo_frac,
        val_loss, val_acc, val_macro_f1``).

    Raises:
        ValueError: for an empty training set.
    """
    if not train_graphs:
        raise ValueError("fit_gnn needs at least one training graph")
    if isinstance(semi, dict):
        semi = SemiSupervised(**semi)
    gen = set_seed(seed)
    n_classes = _n_classes(model)
    y_train = torch.cat([g.y for g in train_graphs])
    weight = class_weights(y_train.numpy(), n_classes) if balanced else None
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    stopper = _EarlyStopping(model, weight, patience)
    bar = tqdm(range(epochs), desc=f"fit {type(model).__name__}", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        tot = sup_t = uns_t = frac_t = 0.0
        nb = 0
        for batch in _batches(train_graphs, batch_size, True, gen):
            opt.zero_grad()
            logits = model(batch)
            sup = _label_loss(logits, batch, weight)
            loss = sup
            uns = torch.zeros(())
            frac = 0.0
            if semi is not None and epoch >= semi.warmup:
                probs = F.softmax(logits.detach(), dim=1)
                conf, pseudo = probs.max(dim=1)
                unl = torch.ones_like(conf, dtype=torch.bool)
                unl[batch.label_node] = False
                mask = unl & (conf >= semi.threshold)
                frac = float(mask.sum()) / max(int(unl.sum()), 1)
                if mask.any():
                    strong = model(_augment(batch, semi, gen))
                    per_node = F.cross_entropy(strong, pseudo, reduction="none")
                    uns = (per_node * mask.float()).sum() / unl.sum().clamp_min(1)
                    loss = loss + semi.weight * uns
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            opt.step()
            tot += float(loss.detach())
            sup_t += float(sup.detach())
            uns_t += float(uns.detach())
            frac_t += frac
            nb += 1
        row = {
            "epoch": epoch,
            "train_loss": tot / max(nb, 1),
            "sup_loss": sup_t / max(nb, 1),
            "unsup_loss": uns_t / max(nb, 1),
            "pseudo_frac": frac_t / max(nb, 1),
        }
        vl = yv = None
        if val_graphs:
            vl = predict_gnn(model, val_graphs)
            yv = torch.cat([g.y for g in val_graphs])
        if stopper.end_epoch(epoch, row, bar, vl, yv):
            break
    return stopper.finish(checkpoint)


def point_logits(dense: Tensor, points: Tensor) -> Tensor:
    """The logits ``(n, C)`` at one pixel per sample of dense logits ``(n, C, H, W)``.

    Args:
        dense: dense logits of ``n`` patches.
        points: ``(n, 2)`` row and column of each patch's labelled pixel.

    Returns:
        The logits at the labelled pixels.
    """
    b = torch.arange(dense.shape[0])
    return dense[b, :, points[:, 0], points[:, 1]]


def _crop_batch(x: Tensor, pts: Tensor, size: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Random ``size``×``size`` windows, one per sample, each containing its labelled pixel."""
    h, w = x.shape[2], x.shape[3]
    out, new = [], pts.clone()
    for k in range(x.shape[0]):
        py, px = int(pts[k, 0]), int(pts[k, 1])
        lo_y, hi_y = max(0, py - size + 1), min(py, h - size)
        lo_x, hi_x = max(0, px - size + 1), min(px, w - size)
        oy = int(torch.randint(lo_y, hi_y + 1, (1,), generator=gen))
        ox = int(torch.randint(lo_x, hi_x + 1, (1,), generator=gen))
        out.append(x[k, :, oy : oy + size, ox : ox + size])
        new[k, 0], new[k, 1] = py - oy, px - ox
    return torch.stack(out), new


def _flip_batch(x: Tensor, pts: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Random horizontal/vertical flips and transposition (the labelled point moves along)."""
    h, w = x.shape[2], x.shape[3]
    pts = pts.clone()
    if torch.rand(1, generator=gen) < 0.5:
        x = x.flip(3)
        pts[:, 1] = w - 1 - pts[:, 1]
    if torch.rand(1, generator=gen) < 0.5:
        x = x.flip(2)
        pts[:, 0] = h - 1 - pts[:, 0]
    if h == w and torch.rand(1, generator=gen) < 0.5:
        x = x.transpose(2, 3)
        pts = pts.flip(1)
    return x, pts


@torch.no_grad()
def predict_cnn(
    model: nn.Module,
    x: Tensor,
    points: Tensor | None = None,
    cond: Tensor | None = None,
    batch_size: int = 32,
) -> Tensor:
    """Logits at the labelled pixels ``(n, C)``, or dense logits ``(n, C, H, W)`` if no points."""
    model.eval()
    outs = []
    for i in range(0, x.shape[0], batch_size):
        c = None if cond is None else cond[i : i + batch_size]
        d = model(x[i : i + batch_size], c)
        outs.append(d if points is None else point_logits(d, points[i : i + batch_size]))
    return torch.cat(outs)


def fit_cnn(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    points: Tensor,
    val: tuple[Tensor, Tensor, Tensor] | None = None,
    cond: Tensor | None = None,
    val_cond: Tensor | None = None,
    epochs: int = 60,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    batch_size: int = 16,
    patience: int = 15,
    seed: int = 0,
    augment: bool = True,
    crop: int | None = None,
    balanced: bool = True,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> History:
    """Train a dense model (e.g. :class:`~lulcbook.models.pixel.PixelCNN`) with a single-pixel loss.

    Args:
        model: maps ``(B, band, H, W)`` (and ``cond``) to ``(B, C, H, W)`` logits.
        x: standardised patches ``(n, band, H, W)``.
        y: labels ``(n,)``.
        points: labelled pixels ``(n, 2)`` (row, column).
        val: ``(x, y, points)`` for early stopping on the validation loss.
        cond: standardised climate ``(n, cond_dim)`` for conditional models.
        val_cond: standardised climate of the validation patches.
        epochs: maximum number of epochs.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        batch_size: patches per mini-batch.
        patience: epochs without validation improvement before stopping.
        seed: seeds shuffling, cropping and flips.
        balanced: weight the loss by inverse class frequency of the training labels.
        checkpoint: where to save the best ``state_dict``.
        progress: show a tqdm bar.
        augment: random flips/transpositions (the labelled point follows).
        crop: train on random ``crop``×``crop`` windows that contain the labelled pixel (a
            cheaper step and a translation augmentation; must be divisible by ``2**depth``).
            Validation and prediction use whole patches.

    Returns:
        The :class:`History` (``epoch, train_loss, val_loss, val_acc, val_macro_f1``).
    """
    if x.shape[0] == 0:
        raise ValueError("fit_cnn needs at least one training patch")
    gen = set_seed(seed)
    weight = class_weights(y.numpy(), _n_classes(model)) if balanced else None
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    stopper = _EarlyStopping(model, weight, patience)
    bar = tqdm(range(epochs), desc=f"fit {type(model).__name__}", disable=not progress, leave=False)
    n = x.shape[0]
    for epoch in bar:
        model.train()
        order = torch.randperm(n, generator=gen)
        tot, nb = 0.0, 0
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            if len(idx) < 2 and n > 1:
                continue
            xb, pb = x[idx], points[idx]
            if crop is not None and crop < min(x.shape[2], x.shape[3]):
                xb, pb = _crop_batch(xb, pb, crop, gen)
            if augment:
                xb, pb = _flip_batch(xb, pb, gen)
            opt.zero_grad()
            out = model(xb, None if cond is None else cond[idx])
            loss = F.cross_entropy(point_logits(out, pb), y[idx], weight=weight)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            opt.step()
            tot += float(loss.detach())
            nb += 1
        row = {"epoch": epoch, "train_loss": tot / max(nb, 1)}
        vl = vy = None
        if val is not None:
            vx, vy, vp = val
            vl = predict_cnn(model, vx, vp, val_cond)
        if stopper.end_epoch(epoch, row, bar, vl, vy):
            break
    return stopper.finish(checkpoint)


def paint(node_values: np.ndarray | Tensor, segments: np.ndarray | Tensor) -> np.ndarray:
    """Paint per-node values back onto the pixels of their segments (``values[segments]``)."""
    v = node_values.numpy() if isinstance(node_values, Tensor) else np.asarray(node_values)
    s = segments.numpy() if isinstance(segments, Tensor) else np.asarray(segments)
    painted: np.ndarray = v[s]
    return painted
