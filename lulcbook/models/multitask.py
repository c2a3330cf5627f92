"""A shared CNN encoder with a land-cover head and a leaf-area-index head.

* **Encoder**: a few 3×3 convolutions (GroupNorm, ReLU) at full resolution, shared by both
  heads.
* **Land-cover head**: global average pooling of the encoder features, then a linear layer to
  one logit per legend class: multi-label presence (sigmoid), trained with binary
  cross-entropy from patch-level labels — one label set per patch, so the supervision is
  sparse (one set per 14 400 pixels of a BigEarthNet patch).
* **LAI head**: a 1×1 convolution to one value per pixel, trained with the mean squared error
  against dense LAI targets (NaN targets ignored).

``lc_weight`` / ``lai_weight`` select single-task (one weight 0) or multi-task training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


class MultiTaskCNN(nn.Module):
    """Shared encoder, patch-level land-cover head and per-pixel LAI head.

    Args:
        in_channels: input bands.
        n_classes: land-cover classes (multi-label logits).
        width: channels of the encoder.
        depth: number of 3×3 convolution blocks.
    """

    def __init__(self, in_channels: int, n_classes: int, width: int = 16, depth: int = 3) -> None:
        """Build the layers; the arguments are described in the class docstring."""
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for _ in range(depth):
            layers += [nn.Conv2d(c, width, 3, padding=1), nn.GroupNorm(4, width), nn.ReLU()]
            c = width
        self.encoder = nn.Sequential(*layers)
        self.lc_head = nn.Linear(width, n_classes)
        self.lai_head = nn.Conv2d(width, 1, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (B, C, H, W) → land-cover logits (B, K) and LAI (B, H, W)."""
        h = self.encoder(x)
        return self.lc_head(h.mean(dim=(2, 3))), self.lai_head(h)[:, 0]


@dataclass
class TrainConfig:
    """Training settings.

    Attributes:
        lc_weight, lai_weight: loss weights (0 switches a task off).
        steps: optimisation steps; batch: crops per step; crop: crop size (pixels).
        lr: Adam learning rate; width, depth: encoder size.
        lai_scale: LAI targets are divided by this before the squared error.
    """

    lc_weight: float = 1.0
    lai_weight: float = 1.0
    steps: int = 150
    batch: int = 16
    crop: int = 48
    lr: float = 3e-3
    width: int = 16
    depth: int = 3
    lai_scale: float = 3.0


def train_multitask(
    x: np.ndarray,
    y_lc: np.ndarray,
    y_lai: np.ndarray,
    cfg: TrainConfig,
    seed: int,
) -> MultiTaskCNN:
    """Train on patches with random crops (and flips).

    Args:
        x: (N, C, H, W) standardised inputs.
        y_lc: (N, K) 0/1 land-cover presence per patch.
        y_lai: (N, H, W) LAI targets, NaN = unknown.
        cfg: settings.
        seed: torch / numpy seed (initialisation, crops).

    Raises:
        ValueError: for mismatched shapes or both task weights zero.
    """
    if cfg.lc_weight <= 0 and cfg.lai_weight <= 0:
        raise ValueError("lc_weight and lai_weight are both 0: nothing to train")
    n, c, h, w = x.shape
    if y_lc.shape[0] != n or y_lai.shape != (n, h, w):
        raise ValueError(f"shapes x {x.shape}, y_lc {y_lc.shape}, y_lai {y_lai.shape} do not match")
    if cfg.crop > min(h, w):
        raise ValueError(f"crop {cfg.crop} larger than the patches ({h}x{w})")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = MultiTaskCNN(c, y_lc.shape[1], cfg.width, cfg.depth)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    xt = torch.as_tensor(x, dtype=torch.float32)
    lct = torch.as_tensor(y_lc, dtype=torch.float32)
    lait = torch.as_tensor(y_lai / cfg.lai_scale, dtype=torch.float32)
    bce = nn.BCEWithLogitsLoss()
    model.train()
    for _ in range(cfg.steps):
        idx = rng.integers(0, n, cfg.batch)
        r0 = rng.integers(0, h - cfg.crop + 1, cfg.batch)
        c0 = rng.integers(0, w - cfg.crop + 1, cfg.batch)
        xb = torch.stack(
            [
                xt[i, :, a : a + cfg.crop, b : b + cfg.crop]
                for i, a, b in zip(idx, r0, c0, strict=True)
            ]
        )
        tb = torch.stack(
            [
                lait[i, a : a + cfg.crop, b : b + cfg.crop]
                for i, a, b in zip(idx, r0, c0, strict=True)
            ]
        )
        if rng.random() < 0.5:
            xb, tb = xb.flip(-1), tb.flip(-1)
        logits, lai = model(xb)
        loss = torch.zeros(())
        if cfg.lc_weight > 0:
            loss = loss + cfg.lc_weight * bce(logits, lct[idx])
        if cfg.lai_weight > 0:
            ok = torch.isfinite(tb)
            if ok.any():
                loss = loss + cfg.lai_weight * ((lai[ok] - tb[ok]) ** 2).mean()
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
        opt.step()
    model.eval()
    return model


@torch.no_grad()
def predict(model: MultiTaskCNN, x: np.ndarray, lai_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Land-cover presence probabilities (N, K) and LAI (N, H, W) for whole patches."""
    logits, lai = model(torch.as_tensor(x, dtype=torch.float32))
    return torch.sigmoid(logits).numpy(), lai.numpy() * lai_scale
