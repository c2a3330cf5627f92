"""Climate context for land-cover models: inputs, conditional models and what they learned.

Three ways of giving a land-cover model the WorldClim bioclimatic vector of a patch, following
Leonhardt, Drees, Gall & Roscher (GCPR 2023):

* ``no_climate``: the model sees imagery only (BatchNorm).
* ``climate_input``: the standardised climate vector is concatenated to the input (to every
  node's features for the GNN, as constant extra input channels for the CNN).
* ``climate_norm``: every BatchNorm is replaced by the climate-conditional
  :class:`~lulcbook.models.condnorm.ConditionalNorm` (scale and shift predicted from climate).

This module builds the inputs and models of each variant for the superpixel GNN
(:mod:`lulcbook.models.gnn`) and the pixel CNN (:class:`lulcbook.models.pixel.PixelCNN`), and
reads the learned scale and shift of the conditional layers. The leave-region-out experiment of
notebook 03-bioclim is :mod:`lulcbook.experiments.bioclim`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from lulcbook import legend
from lulcbook.models import gnn as gnn_models
from lulcbook.models.condnorm import ClimateScaler, ConditionalNorm
from lulcbook.models.pixel import PixelCNN

VARIANTS: tuple[str, ...] = ("no_climate", "climate_input", "climate_norm")
FAMILIES: tuple[str, ...] = ("gnn", "cnn")
EVALS: tuple[str, ...] = ("out", "in", "out_shuffled")
"""Evaluation sets: held-out region, in-region validation, held-out region with shuffled climate."""


def model_name(family: str, variant: str) -> str:
    """Name of a family/variant combination in tables and metrics (e.g. ``gnn_climate_norm``)."""
    return f"{family}_{variant}"


def check(family: str, variant: str) -> None:
    """Raise ``ValueError`` naming an unknown model family or climate variant."""
    if family not in FAMILIES:
        raise ValueError(f"Unknown model family {family!r}; expected one of {FAMILIES}")
    if variant not in VARIANTS:
        raise ValueError(f"Unknown climate variant {variant!r}; expected one of {VARIANTS}")


def crop_around_points(
    reflectance: np.ndarray, point_y: np.ndarray, point_x: np.ndarray, size: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``size``×``size`` windows around the labelled pixels (kept inside the patch).

    Args:
        reflectance: ``(n, band, H, W)``.
        point_y: row of the labelled pixel of every patch.
        point_x: column of the labelled pixel of every patch.
        size: window size in pixels; ``None`` keeps the whole patch.

    Returns:
        ``(windows (n, band, size, size), points (n, 2))`` with the labelled pixel's position
        inside its window.

    Raises:
        ValueError: if ``size`` exceeds the patch size.
    """
    refl = np.asarray(reflectance)
    py, px = np.asarray(point_y, dtype=int), np.asarray(point_x, dtype=int)
    h, w = refl.shape[2:]
    if size is None:
        return refl, np.stack([py, px], axis=1)
    if size > min(h, w) or size < 1:
        raise ValueError(f"crop size {size} does not fit patches of {h}x{w} px")
    r0 = np.clip(py - size // 2, 0, h - size)
    c0 = np.clip(px - size // 2, 0, w - size)
    out = np.stack(
        [
            refl[i, :, r : r + size, c : c + size]
            for i, (r, c) in enumerate(zip(r0, c0, strict=True))
        ]
    )
    return out, np.stack([py - r0, px - c0], axis=1)


def gnn_inputs(graphs: Sequence[Data], cond: Tensor, variant: str) -> list[Data]:
    """Graphs carrying the variant's climate information.

    Every copy gets ``cond`` (its ``(1, cond_dim)`` standardised climate); for
    ``climate_input`` the vector is also appended to every node's features.

    Raises:
        ValueError: if ``cond`` has not one row per graph.
    """
    check("gnn", variant)
    if cond.shape[0] != len(graphs):
        raise ValueError(f"cond has {cond.shape[0]} rows for {len(graphs)} graphs")
    out = []
    for g, c in zip(graphs, cond, strict=True):
        h = g.clone()
        h.cond = c[None].float()
        if variant == "climate_input":
            h.x = torch.cat([g.x, c[None].float().expand(g.num_nodes, -1)], dim=1)
        out.append(h)
    return out


def cnn_inputs(x: Tensor, cond: Tensor, variant: str) -> tuple[Tensor, Tensor | None]:
    """Input tensor and conditioning of the CNN for a variant.

    ``climate_input`` appends the climate vector as constant channels; ``climate_norm``
    returns it as the conditioning vector; ``no_climate`` ignores it.
    """
    check("cnn", variant)
    if cond.shape[0] != x.shape[0]:
        raise ValueError(f"cond has {cond.shape[0]} rows for {x.shape[0]} patches")
    if variant == "climate_input":
        const = cond[:, :, None, None].float().expand(-1, -1, x.shape[2], x.shape[3])
        return torch.cat([x, const], dim=1), None
    if variant == "climate_norm":
        return x, cond.float()
    return x, None


def build_model(
    family: str, variant: str, in_dim: int, cond_dim: int, cfg: dict[str, Any]
) -> nn.Module:
    """Instantiate the model of a family/variant.

    Args:
        family: ``"gnn"`` or ``"cnn"``.
        variant: one of :data:`VARIANTS`.
        in_dim: node features (GNN) or input bands (CNN) without climate.
        cond_dim: width of the standardised climate vector.
        cfg: the family's section of the parameters (``model`` for the GNN class, ``hidden``,
            ``depth``, ``dropout``; other keys are ignored here).
    """
    check(family, variant)
    norm = "cond" if variant == "climate_norm" else "batch"
    width = in_dim + (cond_dim if variant == "climate_input" else 0)
    kw = {k: cfg[k] for k in ("hidden", "depth", "dropout") if k in cfg}
    cdim = cond_dim if norm == "cond" else 0
    if family == "gnn":
        return gnn_models.build_model(
            cfg.get("model", "GraphUNet"),
            in_dim=width,
            n_classes=legend.N_CLASSES,
            norm=norm,
            cond_dim=cdim,
            **kw,
        )
    return PixelCNN(width, n_classes=legend.N_CLASSES, norm=norm, cond_dim=cdim, **kw)


def conditional_layers(model: nn.Module) -> list[ConditionalNorm]:
    """The :class:`ConditionalNorm` layers of a model, in forward-definition order."""
    return [m for m in model.modules() if isinstance(m, ConditionalNorm)]


@torch.no_grad()
def film_table(
    model: nn.Module,
    scaler: ClimateScaler,
    climate: np.ndarray,
    bio_names: Sequence[str],
    layer: int = 0,
) -> pd.DataFrame:
    """Learned per-channel scale ``gamma`` and shift ``beta`` for every climate vector.

    Args:
        model: a model with :class:`ConditionalNorm` layers.
        scaler: the climate scaler of the model's training fold.
        climate: ``(n, n_bio)`` raw climate (NaN rows: missing).
        bio_names: names of the climate columns (e.g. ``bio1`` … ``bio19``).
        layer: which conditional layer (0: the first).

    Returns:
        Long table ``sample, channel, gamma, beta, missing`` plus one column per BIO variable.

    Raises:
        ValueError: if the model has no such conditional layer.
    """
    layers = conditional_layers(model)
    if not layers or not -len(layers) <= layer < len(layers):
        raise ValueError(f"Model has {len(layers)} ConditionalNorm layers; asked for layer {layer}")
    cond = torch.as_tensor(scaler.transform(np.asarray(climate, dtype=np.float64)))
    gamma, beta = (t.numpy() for t in layers[layer].film(cond))
    n, c = gamma.shape
    df = pd.DataFrame(
        {
            "sample": np.repeat(np.arange(n), c),
            "channel": np.tile(np.arange(c), n),
            "gamma": gamma.ravel(),
            "beta": beta.ravel(),
            "missing": np.repeat(~np.isfinite(climate).all(axis=1), c),
        }
    )
    for j, b in enumerate(bio_names):
        df[str(b)] = np.repeat(np.asarray(climate)[:, j], c)
    return df


def film_summary(table: pd.DataFrame, bios: Sequence[str] = ("bio1", "bio12")) -> dict[str, float]:
    """How far the learned scale/shift moved from identity, and how it follows BIO variables.

    Returns:
        ``gamma_sd`` / ``beta_sd``: mean over channels of the across-sample standard deviation
        (0 = the layer ignores climate); ``gamma_dev``: mean ``|gamma - 1|``; and for each BIO
        variable the largest absolute Spearman correlation over channels of ``gamma`` and of
        ``beta`` with it (complete climate vectors only).
    """
    valid = table[~table["missing"]]
    res = {
        "gamma_sd": float(valid.groupby("channel")["gamma"].std().mean()),
        "beta_sd": float(valid.groupby("channel")["beta"].std().mean()),
        "gamma_dev": float((valid["gamma"] - 1).abs().mean()),
    }
    for b in bios:
        for p in ("gamma", "beta"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # constant gamma/beta: correlation undefined
                corr = pd.Series(
                    {
                        ch: g[p].corr(g[b], method="spearman")
                        for ch, g in valid.groupby("channel")[[p, b]]
                    },
                    dtype=float,
                )
            res[f"max_abs_spearman_{p}_{b}"] = (
                float(corr.abs().max()) if corr.notna().any() else np.nan
            )
    return res


def top_channels(table: pd.DataFrame, k: int = 3, by: str = "gamma") -> list[int]:
    """The ``k`` channels whose ``by`` varies most across (complete) climate vectors."""
    valid = table[~table["missing"]]
    return [int(c) for c in valid.groupby("channel")[by].std().nlargest(k).index]


def film_plot_frame(
    table: pd.DataFrame, k: int = 3, temperature_scale: float = 1.0
) -> pd.DataFrame:
    """The ``k`` most climate-dependent channels of a :func:`film_table`, ready to plot.

    Complete climate vectors only, with ``BIO1 (°C)`` (BIO1 / ``temperature_scale``: 1 for
    WorldClim 2.1, 10 for WorldClim 1.4), ``BIO12 (mm)`` and the channel as a string category.
    """
    sub = table[table["channel"].isin(top_channels(table, k, "gamma")) & ~table["missing"]]
    return sub.assign(
        **{
            "BIO1 (°C)": sub["bio1"] / temperature_scale,
            "BIO12 (mm)": sub["bio12"],
            "channel": sub["channel"].astype(str),
        }
    )
