"""Learned Landsat-8 OLI → Sentinel-2 MSI translators.

* :class:`SpectralMLP` — a per-pixel MLP from OLI bands to MSI bands (a least-squares linear map
  plus a learned non-linear residual), trained on exactly paired spectra
  (:mod:`lulcbook.sources.spectra`); :func:`fit_ols` is the learned-linear reference.
* :class:`TranslateUNet` — a small U-Net from 30 m to 10 m (B02, B03, B04, B08) that refines the
  bicubic + HLS baseline, trained on Landsat-like inputs **simulated** from real Sentinel-2
  patches (:mod:`lulcbook.landsat_sim`). No co-located Landsat/Sentinel-2 image pairs are used:
  every spatial score is a score on simulated Landsat.

The published HLS band-pass adjustment is in :mod:`lulcbook.harmonise`, the leave-out
experiments in :mod:`lulcbook.experiments.translate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lulcbook.progress import progress as tqdm


def minibatches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    """Indices of one epoch's shuffled minibatches of ``n`` samples.

    The permutation is drawn from ``generator`` when the first batch is requested, so random
    draws made between batches (augmentation) follow it in the generator's stream.

    Args:
        n: number of training samples.
        batch_size: samples per batch (the last batch may be smaller).
        generator: the seeded generator of the training run.

    Yields:
        The sample indices of each batch.
    """
    perm = torch.randperm(n, generator=generator)
    for i in range(0, n, batch_size):
        yield perm[i : i + batch_size]


def optimizer_step(opt: torch.optim.Optimizer, loss: Tensor) -> None:
    """One gradient step: clear the gradients, back-propagate ``loss`` and update."""
    opt.zero_grad()
    loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
    opt.step()


class SpectralMLP(nn.Module):
    """Per-pixel translator: a linear map plus an MLP residual on standardised spectra.

    The last MLP layer starts at zero and :meth:`init_linear` sets the linear part to the
    least-squares solution, so training starts from the multivariate linear regression and the
    MLP learns the non-linear remainder.

    Args:
        in_bands: number of input (OLI) bands.
        out_bands: number of output (MSI) bands.
        hidden: hidden width.
        depth: number of hidden layers.
    """

    x_mean: Tensor
    x_std: Tensor
    y_mean: Tensor
    y_std: Tensor

    def __init__(self, in_bands: int, out_bands: int, hidden: int = 64, depth: int = 2) -> None:
        """Build the layers; see the class docstring for the arguments."""
        super().__init__()
        self.linear = nn.Linear(in_bands, out_bands)
        layers: list[nn.Module] = []
        width = in_bands
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.GELU()]
            width = hidden
        last = nn.Linear(width, out_bands)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        layers.append(last)
        self.mlp = nn.Sequential(*layers)
        self.register_buffer("x_mean", torch.zeros(in_bands))
        self.register_buffer("x_std", torch.ones(in_bands))
        self.register_buffer("y_mean", torch.zeros(out_bands))
        self.register_buffer("y_std", torch.ones(out_bands))

    def set_scaling(self, x: np.ndarray, y: np.ndarray) -> None:
        """Store the mean/std of training inputs and targets (standardisation inside the model)."""
        for name, arr in (("x", x), ("y", y)):
            getattr(self, f"{name}_mean").copy_(
                torch.as_tensor(np.mean(arr, 0), dtype=torch.float32)
            )
            getattr(self, f"{name}_std").copy_(
                torch.as_tensor(np.std(arr, 0) + 1e-6, dtype=torch.float32)
            )

    def init_linear(self, x: np.ndarray, y: np.ndarray) -> None:
        """Set the linear part to the least-squares fit on standardised data (call after scaling)."""
        xs = (np.asarray(x, np.float64) - self.x_mean.numpy()) / self.x_std.numpy()
        ys = (np.asarray(y, np.float64) - self.y_mean.numpy()) / self.y_std.numpy()
        coef, *_ = np.linalg.lstsq(np.c_[xs, np.ones(len(xs))], ys, rcond=None)
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(coef[:-1].T, dtype=torch.float32))
            self.linear.bias.copy_(torch.as_tensor(coef[-1], dtype=torch.float32))

    def forward_std(self, x: Tensor) -> Tensor:
        """Standardised prediction from raw reflectance ``(n, in_bands)``."""
        z = (x - self.x_mean) / self.x_std
        out: Tensor = self.linear(z) + self.mlp(z)
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Reflectance ``(n, out_bands)`` from reflectance ``(n, in_bands)``."""
        return self.forward_std(x) * self.y_std + self.y_mean

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        """NumPy convenience: ``(n, in_bands)`` → ``(n, out_bands)``; NaN rows stay NaN."""
        x = np.asarray(x, np.float32)
        out = np.full((x.shape[0], self.y_mean.numel()), np.nan, np.float32)
        ok = np.isfinite(x).all(axis=1)
        if ok.any():
            self.eval()
            out[ok] = self(torch.as_tensor(x[ok])).numpy()
        return out


def fit_spectral_mlp(
    x: np.ndarray,
    y: np.ndarray,
    hidden: int = 64,
    depth: int = 2,
    epochs: int = 60,
    batch_size: int = 512,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    progress: bool = True,
) -> SpectralMLP:
    """Train a :class:`SpectralMLP` with Adam on the MSE of standardised targets (seeded)."""
    torch.manual_seed(seed)
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32)
    model = SpectralMLP(x.shape[1], y.shape[1], hidden, depth)
    model.set_scaling(x, y)
    model.init_linear(x, y)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1))
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    yz = (yt - model.y_mean) / model.y_std
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in tqdm(range(epochs), desc="spectral MLP", disable=not progress, leave=False):
        for idx in minibatches(len(xt), batch_size, gen):
            optimizer_step(opt, F.mse_loss(model.forward_std(xt[idx]), yz[idx]))
        sched.step()
    return model.eval()


def fit_ols(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Least-squares multivariate linear map (with intercept); returns a predict function."""
    xa = np.c_[np.asarray(x, float), np.ones(len(x))]
    coef, *_ = np.linalg.lstsq(xa, np.asarray(y, float), rcond=None)
    return lambda z: (np.c_[np.asarray(z, float), np.ones(len(z))] @ coef).astype(np.float32)


def _block(cin: int, cout: int) -> nn.Sequential:
    """Two 3 × 3 convolutions with GELU: the unit of every U-Net level."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.GELU(),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.GELU(),
    )


class TranslateUNet(nn.Module):
    """Small U-Net that refines the bicubic + HLS baseline to 10 m Sentinel-2 (residual output).

    Input and output are ``(B, band, H, W)`` reflectance on the 10 m grid; the network predicts
    a correction added to its input, so an untrained network starts at the baseline.

    Args:
        bands: number of bands (input = output).
        base: channels of the first level (doubling per level).
        depth: number of down-sampling levels.
    """

    mean: Tensor
    std: Tensor

    def __init__(self, bands: int = 4, base: int = 16, depth: int = 2) -> None:
        """Build the layers; see the class docstring for the arguments."""
        super().__init__()
        self.depth = depth
        chans = [base * 2**i for i in range(depth + 1)]
        self.inc = _block(bands, chans[0])
        self.down = nn.ModuleList(_block(chans[i], chans[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth))
        )
        self.dec = nn.ModuleList(_block(2 * chans[i], chans[i]) for i in reversed(range(depth)))
        self.out = nn.Conv2d(chans[0], bands, 1)
        nn.init.zeros_(self.out.weight)
        if self.out.bias is not None:
            nn.init.zeros_(self.out.bias)
        self.register_buffer("mean", torch.zeros(bands))
        self.register_buffer("std", torch.ones(bands))

    def set_scaling(self, x: np.ndarray) -> None:
        """Store per-band mean/std of training inputs ``(n, band, y, x)``."""
        self.mean.copy_(torch.as_tensor(np.nanmean(x, axis=(0, 2, 3)), dtype=torch.float32))
        self.std.copy_(torch.as_tensor(np.nanstd(x, axis=(0, 2, 3)) + 1e-6, dtype=torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, band, H, W)`` → ``(B, band, H, W)``; H and W must be divisible by ``2**depth``."""
        s = self.std.view(1, -1, 1, 1)
        z = (x - self.mean.view(1, -1, 1, 1)) / s
        skips = [self.inc(z)]
        for layer in self.down:
            skips.append(layer(F.max_pool2d(skips[-1], 2)))
        h = skips.pop()
        for up, dec in zip(self.up, self.dec, strict=True):
            h = dec(torch.cat([up(h), skips.pop()], dim=1))
        out: Tensor = x + self.out(h) * s
        return out

    @torch.no_grad()
    def predict(self, x: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """Apply to ``(n, band, y, x)`` or ``(band, y, x)`` of any size (mirror-padded); NaN kept."""
        x = np.asarray(x, np.float32)
        single = x.ndim == 3
        x = x[None] if single else x
        nan = ~np.isfinite(x)
        with np.errstate(invalid="ignore"):
            total = np.where(nan, 0.0, x).sum(axis=(0, 2, 3), keepdims=True)
            fill = np.nan_to_num(total / (~nan).sum(axis=(0, 2, 3), keepdims=True))
        x = np.where(nan, fill, x).astype(np.float32)
        m = 2**self.depth
        h, w = x.shape[-2:]
        x = np.pad(x, [(0, 0), (0, 0), (0, -h % m), (0, -w % m)], mode="symmetric")
        self.eval()
        out = np.concatenate(
            [
                self(torch.as_tensor(x[i : i + batch_size])).numpy()
                for i in range(0, len(x), batch_size)
            ]
        )[:, :, :h, :w]
        out[nan] = np.nan
        return out[0] if single else out


def fit_unet(
    x: np.ndarray,
    y: np.ndarray,
    base: int = 16,
    depth: int = 2,
    epochs: int = 20,
    batch_size: int = 16,
    lr: float = 2e-3,
    crop: int | None = 32,
    seed: int = 0,
    progress: bool = True,
) -> TranslateUNet:
    """Train a :class:`TranslateUNet` (L1 loss, Adam, random crops, flips and rotations; seeded).

    Args:
        x: baseline inputs ``(n, band, H, W)`` (bicubic + HLS of simulated Landsat).
        y: Sentinel-2 targets of the same shape.
        base: channels of the first U-Net level.
        depth: number of down-sampling levels.
        epochs: passes over the training patches.
        batch_size: patches per step.
        lr: maximum learning rate of the one-cycle schedule.
        crop: side of the random training crops (``None``: whole patches); a multiple of
            ``2**depth``.
        seed: seeds initialisation, shuffling and augmentation.
        progress: show a progress bar.

    Returns:
        The trained network in eval mode.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = TranslateUNet(x.shape[1], base, depth)
    model.set_scaling(x)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = max(epochs * math.ceil(len(x) / batch_size), 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    xt, yt = torch.as_tensor(np.asarray(x, np.float32)), torch.as_tensor(np.asarray(y, np.float32))
    model.train()
    for _ in tqdm(range(epochs), desc="U-Net", disable=not progress, leave=False):
        for idx in minibatches(len(xt), batch_size, gen):
            k = int(torch.randint(4, (1,), generator=gen))
            flip = bool(torch.randint(2, (1,), generator=gen))
            xb, yb = xt[idx], yt[idx]
            if crop is not None and crop < min(xb.shape[-2:]):
                r0 = int(torch.randint(xb.shape[-2] - crop + 1, (1,), generator=gen))
                c0 = int(torch.randint(xb.shape[-1] - crop + 1, (1,), generator=gen))
                xb = xb[..., r0 : r0 + crop, c0 : c0 + crop]
                yb = yb[..., r0 : r0 + crop, c0 : c0 + crop]
            xb, yb = torch.rot90(xb, k, (2, 3)), torch.rot90(yb, k, (2, 3))
            if flip:
                xb, yb = xb.flip(3), yb.flip(3)
            optimizer_step(opt, F.l1_loss(model(xb), yb))
            sched.step()
    return model.eval()


__all__ = [
    "SpectralMLP",
    "TranslateUNet",
    "fit_ols",
    "fit_spectral_mlp",
    "fit_unet",
    "minibatches",
    "optimizer_step",
]
