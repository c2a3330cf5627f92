"""A lightweight temporal attention encoder for series of cloud-masked observations.

The encoder follows the idea of the Lightweight Temporal Attention Encoder (L-TAE; Garnot &
Landrieu 2020), itself a light version of the temporal attention of PSE-TAE (Garnot et al.
2020): every observation is embedded with a sinusoidal encoding of its day of year, and each
attention head pools the series with a *learned query* (no per-date query), so the cost is
linear in the number of dates. Missing dates (clouds, no acquisition) are excluded by a mask
in the attention softmax, so a pixel or segment with any number of clear dates is classified
without gap filling. During training, clear dates are dropped at random (``obs_dropout``) so
that the model does not rely on any single date.

:func:`fit_temporal` trains a :class:`TemporalClassifier` (standardisation + encoder + class
list) with a seed; :meth:`TemporalClassifier.predict_proba` returns class probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn


def day_encoding(doy: torch.Tensor, d_model: int, period: float = 365.25) -> torch.Tensor:
    """Sinusoidal encoding of the day of year (cyclic: 31 Dec sits beside 1 Jan).

    Args:
        doy: day of year, any shape ``(...)``.
        d_model: encoding size (even).
        period: the cycle length in days.

    Returns:
        ``(..., d_model)`` float tensor.

    Raises:
        ValueError: an odd ``d_model``.
    """
    if d_model % 2:
        raise ValueError(f"d_model must be even, got {d_model}")
    k = torch.arange(1, d_model // 2 + 1, dtype=torch.float32, device=doy.device)
    angle = 2 * math.pi * doy.float()[..., None] / period
    # harmonics 1, 2, ... of the year capture both the season and finer phenology
    return torch.cat([torch.sin(angle * k), torch.cos(angle * k)], dim=-1)


class LTAE(nn.Module):
    """Lightweight temporal attention: per-head learned queries pool a masked series.

    Args:
        n_in: input channels per date.
        n_classes: output classes.
        d_model: embedding size (divisible by ``n_heads``, even).
        n_heads: attention heads.
        d_key: key size per head.
        hidden: hidden size of the classification head.
        dropout: dropout before the head.
    """

    def __init__(
        self,
        n_in: int,
        n_classes: int,
        d_model: int = 32,
        n_heads: int = 4,
        d_key: int = 8,
        hidden: int = 64,
        dropout: float = 0.1,
    ) -> None:
        """Build the encoder (see the class docstring for the arguments)."""
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.d_model, self.n_heads, self.d_key = d_model, n_heads, d_key
        self.embed = nn.Sequential(nn.Linear(n_in, d_model), nn.LayerNorm(d_model))
        self.key = nn.Linear(d_model, n_heads * d_key)
        self.query = nn.Parameter(torch.randn(n_heads, d_key) * 0.1)
        self.head = nn.Sequential(
            nn.LayerNorm(d_model),
            nn.Dropout(dropout),
            nn.Linear(d_model, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )

    def attention(self, x: torch.Tensor, doy: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Attention weights ``(n, n_heads, t)`` of each head over the clear dates.

        Args:
            x: ``(n, t, n_in)`` observations (any value where masked).
            doy: ``(n, t)`` or ``(t,)`` day of year.
            mask: ``(n, t)`` bool, True where the observation is clear.
        """
        return self._encode(x, doy, mask)[1]

    def _encode(
        self, x: torch.Tensor, doy: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n, t, _ = x.shape
        if doy.dim() == 1:
            doy = doy[None].expand(n, t)
        h = self.embed(torch.nan_to_num(x)) + day_encoding(doy, self.d_model)
        keys = self.key(h).view(n, t, self.n_heads, self.d_key)
        scores = torch.einsum("nthk,hk->nht", keys, self.query) / math.sqrt(self.d_key)
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        # a series without any clear date gets uniform weights over zeros (its output is
        # masked by the caller); avoid NaN from a softmax over -inf only
        empty = ~mask.any(dim=1)
        scores = torch.where(empty[:, None, None], torch.zeros_like(scores), scores)
        attn = torch.softmax(scores, dim=-1)
        values = (h * mask[..., None]).view(n, t, self.n_heads, self.d_model // self.n_heads)
        pooled = torch.einsum("nht,nthd->nhd", attn, values).reshape(n, self.d_model)
        return pooled, attn

    def forward(self, x: torch.Tensor, doy: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Class logits ``(n, n_classes)`` of masked series ``x`` ``(n, t, n_in)``."""
        logits: torch.Tensor = self.head(self._encode(x, doy, mask)[0])
        return logits


@dataclass
class TemporalClassifier:
    """A trained temporal classifier: standardisation, the encoder and its classes.

    Attributes:
        classes: legend index of each output.
        mean, std: per-channel standardisation of the inputs.
        net: the encoder.
        info: training description (JSON-able).
    """

    classes: list[int]
    mean: np.ndarray
    std: np.ndarray
    net: LTAE
    info: dict[str, Any] = field(default_factory=dict)

    def _tensors(
        self, x: np.ndarray, doy: np.ndarray, mask: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 2:
            x = x[..., None]
        if x.shape[-1] != len(self.mean):
            raise ValueError(f"series have {x.shape[-1]} channels, the model {len(self.mean)}")
        mask = np.asarray(mask, dtype=bool) & np.isfinite(x).all(axis=-1)
        z = (x - self.mean) / self.std
        return (
            torch.from_numpy(np.where(mask[..., None], z, 0.0).astype(np.float32)),
            torch.as_tensor(np.asarray(doy), dtype=torch.float32),
            torch.from_numpy(mask),
        )

    @torch.no_grad()
    def predict_proba(
        self, x: np.ndarray, doy: np.ndarray, mask: np.ndarray, batch: int = 4096
    ) -> np.ndarray:
        """Class probabilities ``(n, n_classes)``; NaN rows for series without a clear date.

        Args:
            x: ``(n, t)`` or ``(n, t, channels)`` observations, NaN where missing.
            doy: ``(t,)`` or ``(n, t)`` day of year.
            mask: ``(n, t)`` bool, True where clear.
            batch: series per forward pass.
        """
        self.net.eval()
        xt, dt, mt = self._tensors(x, doy, mask)
        out = []
        for i in range(0, len(xt), batch):
            d = dt if dt.dim() == 1 else dt[i : i + batch]
            out.append(torch.softmax(self.net(xt[i : i + batch], d, mt[i : i + batch]), -1))
        proba = torch.cat(out).numpy() if out else np.zeros((0, len(self.classes)), np.float32)
        proba[~mt.any(dim=1).numpy()] = np.nan
        return proba

    def predict(self, x: np.ndarray, doy: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Legend index per series (:data:`lulcbook.legend.NODATA` without a clear date)."""
        proba = self.predict_proba(x, doy, mask)
        out = np.full(len(proba), 255, dtype=np.int64)
        ok = np.isfinite(proba).all(axis=1)
        out[ok] = np.asarray(self.classes)[proba[ok].argmax(axis=1)]
        return out


def fit_temporal(
    x: np.ndarray,
    doy: np.ndarray,
    mask: np.ndarray,
    y: np.ndarray,
    *,
    seed: int = 0,
    epochs: int = 200,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    batch: int = 512,
    obs_dropout: float = 0.3,
    balanced: bool = True,
    **net_kw: Any,
) -> TemporalClassifier:
    """Train an :class:`LTAE` on labelled series (seeded, deterministic on CPU).

    Args:
        x: ``(n, t)`` or ``(n, t, channels)`` observations, NaN where missing.
        doy: ``(t,)`` or ``(n, t)`` day of year.
        mask: ``(n, t)`` bool, True where clear.
        y: ``(n,)`` legend index per series.
        seed: seed of initialisation, batches and observation dropout.
        epochs: passes over the data.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        batch: series per step.
        obs_dropout: chance of hiding each clear date in training (at least one is kept).
        balanced: weight the loss by inverse class frequency.
        **net_kw: passed to :class:`LTAE` (``d_model``, ``n_heads``, ...).

    Returns:
        The trained classifier; ``info`` holds the final training loss and the settings.

    Raises:
        ValueError: mismatched lengths, or a training series without any clear date.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x[..., None]
    y = np.asarray(y)
    mask = np.asarray(mask, dtype=bool) & np.isfinite(x).all(axis=-1)
    if not (len(x) == len(y) == len(mask)):
        raise ValueError(f"x ({len(x)}), mask ({len(mask)}) and y ({len(y)}) differ in length")
    if not mask.any(axis=1).all():
        raise ValueError(f"{int((~mask.any(axis=1)).sum())} training series have no clear date")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    obs = x[mask]
    mean = obs.mean(axis=0).astype(np.float32)
    std = (obs.std(axis=0) + 1e-6).astype(np.float32)
    classes = sorted(int(c) for c in np.unique(y))
    yi = torch.from_numpy(np.searchsorted(classes, y).astype(np.int64))
    model = TemporalClassifier(classes, mean, std, LTAE(x.shape[-1], len(classes), **net_kw))
    xt, dt, mt = model._tensors(x, doy, mask)
    counts = np.bincount(yi.numpy(), minlength=len(classes)).astype(np.float64)
    weight = torch.tensor(
        counts.sum() / (len(classes) * counts) if balanced else np.ones(len(classes)),
        dtype=torch.float32,
    )
    opt = torch.optim.AdamW(model.net.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    model.net.train()
    loss = torch.tensor(float("nan"))
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(xt)))
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            m = mt[idx]
            if obs_dropout > 0:
                keep = torch.from_numpy(rng.random(tuple(m.shape)) >= obs_dropout)
                kept = m & keep
                m = torch.where(kept.any(dim=1, keepdim=True), kept, m)
            d = dt if dt.dim() == 1 else dt[idx]
            loss = loss_fn(model.net(xt[idx], d, m), yi[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.net.eval()
    model.info = {
        "epochs": epochs,
        "lr": lr,
        "obs_dropout": obs_dropout,
        "n_train": len(y),
        "final_loss": float(loss.detach()),
        "seed": seed,
    }
    return model


__all__ = ["LTAE", "TemporalClassifier", "day_encoding", "fit_temporal"]
