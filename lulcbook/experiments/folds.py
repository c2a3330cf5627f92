"""Leave-region-out folds: one model trained on one fold, every model on every fold.

A :class:`Fold` names the held-out region and the training, validation (early stopping) and
test indices; :class:`Patches` holds what the models learn from (one graph, one reflectance
patch, one label and one labelled pixel per sample). :func:`gnn_experiment`,
:func:`cnn_experiment` and :func:`rf_experiment` train one model on one fold and predict the
held-out patches (:class:`FoldResult`); :func:`run_fold` trains every model of the ``gnn``
parameters on one fold and :func:`run_folds` does so for every fold, optionally in parallel.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data

from lulcbook.graphs import FeatureScaler
from lulcbook.models.condnorm import ClimateScaler
from lulcbook.models.gnn import build_model
from lulcbook.models.pixel import (
    PixelCNN,
    band_stats,
    fit_rf,
    labelled_spectra,
    rf_predict_image,
    rf_proba,
    standardise_bands,
)
from lulcbook.progress import progress as tqdm
from lulcbook.train import (
    fit_cnn,
    fit_gnn,
    paint,
    point_logits,
    predict_cnn,
    predict_gnn,
    prepare_graphs,
    set_seed,
)


class Fold(NamedTuple):
    """One leave-region-out fold.

    Attributes:
        region: the held-out region.
        train: indices of the training samples.
        val: indices of the validation samples (early stopping).
        test: indices of the held-out samples.
    """

    region: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class Patches:
    """The labelled patches every model of a fold learns from.

    Attributes:
        graphs: one region-adjacency graph per sample (:func:`lulcbook.graphs.build_graphs`).
        reflectance: ``(sample, band, y, x)`` reflectance (NaN allowed).
        labels: ``(sample,)`` class of each patch's labelled pixel.
        points: ``(sample, 2)`` row and column of the labelled pixel.
    """

    graphs: Sequence[Data]
    reflectance: np.ndarray
    labels: np.ndarray
    points: np.ndarray


@dataclass
class FoldResult:
    """Predictions of one model on one held-out fold.

    Attributes:
        model: model name (e.g. ``"graph_unet"``).
        region: the held-out region.
        test_idx: sample indices of the held-out patches.
        y_true: labels at the labelled pixels.
        y_pred: predicted classes at the labelled pixels.
        proba: class probabilities at the labelled pixels ``(n, C)``.
        maps: predicted class maps of the held-out patches ``(n, y, x)`` uint8.
        history: per-epoch training records (empty for the random forest).
        fitted: the trained model (and what is needed to apply it), for later use.
    """

    model: str
    region: str
    test_idx: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray
    maps: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)
    fitted: Any = None


def gnn_experiment(
    name: str,
    fold: Fold,
    graph_list: Sequence[Data],
    model_cls: str,
    model_params: dict[str, Any],
    fit_params: dict[str, Any],
    semi: dict[str, Any] | None = None,
    climate: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> FoldResult:
    """Fit a graph model on one fold and predict the held-out patches.

    Node features (and, with ``climate=True``, the climate vectors) are standardised with
    statistics of the training graphs only.

    Args:
        name: result name.
        fold: the held-out region and the sample indices.
        graph_list: one graph per sample (:func:`lulcbook.graphs.build_graphs`).
        model_cls: ``"GraphUNet"`` or ``"GNN"``.
        model_params: constructor arguments besides ``in_dim``/``cond_dim``.
        fit_params: arguments of :func:`lulcbook.train.fit_gnn`.
        semi: FixMatch-style settings (:class:`lulcbook.train.SemiSupervised`) or ``None``.
        climate: condition the normalization on climate (needs ``norm="cond"``).
        seed: seed of initialisation and training.
        progress: show progress bars.

    Returns:
        The held-out predictions, maps and the fitted model.
    """
    tr = [graph_list[i] for i in fold.train]
    scaler = FeatureScaler().fit(tr)
    clim = None
    kwargs = {"in_dim": int(tr[0].num_node_features), **model_params}
    if climate:
        clim = ClimateScaler().fit(torch.cat([g.cond for g in tr]).double().numpy())
        kwargs["cond_dim"] = clim.cond_dim
    prep = prepare_graphs(graph_list, scaler, clim)
    set_seed(seed)
    model = build_model(model_cls, **kwargs)
    hist = fit_gnn(
        model,
        [prep[i] for i in fold.train],
        [prep[i] for i in fold.val],
        seed=seed,
        semi=semi,
        progress=progress,
        **fit_params,
    )
    test = [prep[i] for i in fold.test]
    node_logits = predict_gnn(model, test, nodes=True)
    pairs = list(zip(node_logits, test, strict=True))
    proba = torch.stack([F.softmax(nl[g.label_node[0]], dim=0) for nl, g in pairs]).numpy()
    maps = np.stack([paint(nl.argmax(1).to(torch.uint8), g.segments[0]) for nl, g in pairs])
    y_true = torch.cat([g.y for g in test]).numpy()
    fitted = {"model": model, "kwargs": kwargs, "scaler": scaler, "climate_scaler": clim}
    return FoldResult(
        name,
        fold.region,
        np.asarray(fold.test),
        y_true,
        proba.argmax(1),
        proba,
        maps,
        hist.as_records(),
        fitted,
    )


def cnn_experiment(
    name: str,
    fold: Fold,
    patches: Patches,
    model_params: dict[str, Any],
    fit_params: dict[str, Any],
    climate: np.ndarray | None = None,
    seed: int = 0,
    progress: bool = True,
) -> FoldResult:
    """Fit a :class:`~lulcbook.models.pixel.PixelCNN` with the single-pixel loss on one fold.

    Reflectance is standardised with the training patches' statistics (NaN → 0).

    Args:
        name: result name.
        fold: the held-out region and the sample indices.
        patches: reflectance, labels and labelled pixels of every sample.
        model_params: :class:`~lulcbook.models.pixel.PixelCNN` arguments besides ``in_ch``
            and ``cond_dim``.
        fit_params: arguments of :func:`lulcbook.train.fit_cnn`.
        climate: raw ``(n, n_bio)`` climate for ``norm="cond"`` (standardised with the
            training rows; missing-climate rule), else ``None``.
        seed: seed of initialisation and training.
        progress: show progress bars.

    Returns:
        The held-out predictions, maps and the fitted model.
    """
    tri, vai, tei = (np.asarray(i) for i in (fold.train, fold.val, fold.test))
    stats = band_stats(patches.reflectance[tri])
    x = torch.from_numpy(standardise_bands(patches.reflectance, stats))
    y = torch.as_tensor(np.asarray(patches.labels), dtype=torch.long)
    p = torch.as_tensor(np.asarray(patches.points), dtype=torch.long)
    cond, clim = None, None
    kwargs = {"in_ch": int(patches.reflectance.shape[1]), **model_params}
    if climate is not None:
        clim = ClimateScaler().fit(climate[tri])
        cond = torch.as_tensor(clim.transform(climate))
        kwargs["cond_dim"] = clim.cond_dim
    set_seed(seed)
    model = PixelCNN(**kwargs)

    def part(i: np.ndarray) -> Tensor | None:
        return None if cond is None else cond[i]

    hist = fit_cnn(
        model,
        x[tri],
        y[tri],
        p[tri],
        val=(x[vai], y[vai], p[vai]),
        cond=part(tri),
        val_cond=part(vai),
        seed=seed,
        progress=progress,
        **fit_params,
    )
    dense = predict_cnn(model, x[tei], cond=part(tei))
    proba = F.softmax(point_logits(dense, p[tei]), dim=1).numpy()
    maps = dense.argmax(1).to(torch.uint8).numpy()
    fitted = {"model": model, "kwargs": kwargs, "band_stats": stats, "climate_scaler": clim}
    return FoldResult(
        name, fold.region, tei, y[tei].numpy(), proba.argmax(1), proba, maps,
        hist.as_records(), fitted,
    )  # fmt: skip


def rf_experiment(
    name: str,
    fold: Fold,
    patches: Patches,
    rf_params: dict[str, Any],
    n_classes: int,
    seed: int = 0,
) -> FoldResult:
    """Fit the random forest on the labelled pixels' spectra of one fold; map the test patches.

    The forest needs no validation split, so it trains on the training and validation samples
    of the fold together.

    Args:
        name: result name.
        fold: the held-out region and the sample indices.
        patches: reflectance, labels and labelled pixels of every sample.
        rf_params: arguments of :func:`lulcbook.models.pixel.fit_rf`.
        n_classes: number of legend classes (columns of the probabilities).
        seed: seed of the forest.

    Returns:
        The held-out predictions, maps and the fitted forest.
    """
    tri, tei = np.concatenate([fold.train, fold.val]), np.asarray(fold.test)
    refl, labels, pts = patches.reflectance, np.asarray(patches.labels), np.asarray(patches.points)
    X = labelled_spectra(refl, pts[:, 0], pts[:, 1])
    rf = fit_rf(X[tri], labels[tri], seed=seed, **rf_params)
    proba = rf_proba(rf, X[tei], n_classes)
    maps = np.stack([rf_predict_image(rf, refl[i]) for i in tei])
    return FoldResult(
        name, fold.region, tei, labels[tei], proba.argmax(1), proba, maps, [], {"model": rf}
    )


def run_fold(
    fold: Fold,
    patches: Patches,
    spec: Mapping[str, Any],
    n_classes: int,
    seed: int = 0,
    threads: int | None = 1,
) -> list[FoldResult]:
    """Train and apply every model of ``spec`` on one leave-region-out fold.

    ``spec`` is the ``gnn`` section of ``params.yaml``: ``models`` (name → ``cls``, ``model``,
    ``semi``), ``fit``, ``semi``, ``cnn`` (``model``, ``fit``) and ``rf``. Graph models and the
    CNN train on ``fold.train`` with early stopping on ``fold.val``; the random forest trains on
    both. Each fold is independent, so folds can run in parallel (:func:`run_folds`).

    Args:
        fold: the held-out region and the sample indices.
        patches: graphs, reflectance, labels and labelled pixels of every sample.
        spec: the ``gnn`` parameters.
        n_classes: number of legend classes.
        seed: seed of initialisation and training.
        threads: torch threads of this process (``None`` leaves them as they are).

    Returns:
        One result per model: the graph models in ``spec`` order, then ``cnn`` and
        ``random_forest``.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    out = [
        gnn_experiment(
            name, fold, patches.graphs, m["cls"], {"n_classes": n_classes, **m["model"]},
            spec["fit"], semi=spec["semi"] if m.get("semi") else None, seed=seed, progress=False,
        )
        for name, m in spec["models"].items()
    ]  # fmt: skip
    cnn = {"n_classes": n_classes, **spec["cnn"]["model"]}
    out.append(
        cnn_experiment("cnn", fold, patches, cnn, spec["cnn"]["fit"], seed=seed, progress=False)
    )
    out.append(rf_experiment("random_forest", fold, patches, spec["rf"], n_classes, seed=seed))
    return out


def run_folds(
    folds: Sequence[Fold],
    patches: Patches,
    spec: Mapping[str, Any],
    n_classes: int,
    seed: int = 0,
    n_jobs: int = 1,
    progress: bool = True,
) -> list[FoldResult]:
    """:func:`run_fold` for every fold, optionally in parallel.

    With ``n_jobs > 1`` folds run in that many worker processes (one torch thread each);
    results are identical to a sequential run because every fold is seeded on its own.

    Args:
        folds: the leave-region-out folds.
        patches: graphs, reflectance, labels and labelled pixels of every sample.
        spec: the ``gnn`` parameters.
        n_classes: number of legend classes.
        seed: seed of initialisation and training.
        n_jobs: folds trained in parallel worker processes.
        progress: show a progress bar over the folds.

    Returns:
        All fold results, in fold order, then model order.
    """
    args = [(Fold(*f), patches, dict(spec), n_classes, seed, 1) for f in folds]
    if n_jobs <= 1:
        it = tqdm(args, desc="folds", disable=not progress)
        return [r for a in it for r in run_fold(*a)]
    with ProcessPoolExecutor(n_jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(run_fold, *a) for a in args]
        done = [f.result() for f in tqdm(futures, desc="folds", disable=not progress)]
    return [r for fold in done for r in fold]
