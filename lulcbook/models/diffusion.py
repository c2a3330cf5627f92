"""Climate-conditional diffusion model for editing multispectral patches.

A small denoising diffusion model (DDPM; Ho et al., NeurIPS 2020) on Sentinel-2 patches whose
U-Net normalization layers are conditioned on the WorldClim climate vector *and* the diffusion
timestep through :class:`lulcbook.models.condnorm.ConditionalNorm`, following ClimSat
(Leonhardt, Gall & Roscher, "ClimSat: climate-conditional diffusion for satellite image
editing", Science of Remote Sensing 2025, 100235).

* Noise schedule: cosine (Nichol & Dhariwal, ICML 2021) or linear (Ho et al. 2020).
* Target: ``"eps"`` (noise) or ``"v"`` (Salimans & Ho, ICLR 2022) prediction.
* Condition dropout during training gives classifier-free guidance (Ho & Salimans 2022).
  The *null* condition is the missing-climate vector of :mod:`lulcbook.models.condnorm`
  (all zeros + ``missing = 1``), so patches without a valid climate vector are simply trained
  as unconditional samples, and dropped-out conditions look exactly like missing climate.
* Exponential moving average (EMA) of the weights is used for sampling.
* Deterministic DDIM sampling and inversion (Song, Meng & Ermon, ICLR 2021) with the number of
  steps a parameter. An edit inverts a patch under its own (source) climate to noise level
  ``strength`` and decodes it under a target climate.

Patches are scaled per band to zero mean and unit variance (:class:`BandScaler`), fitted on the
training patches.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lulcbook import checkpoint
from lulcbook.models.condnorm import ClimateScaler, ConditionalNorm, NormKind
from lulcbook.models.semantic_encoder import SemanticEncoder
from lulcbook.progress import progress as tqdm

Prediction = Literal["eps", "v"]
SCHEDULES: tuple[str, ...] = ("cosine", "linear")
PREDICTIONS: tuple[str, ...] = ("eps", "v")


# --------------------------------------------------------------------------- noise schedule
@dataclass(frozen=True)
class NoiseSchedule:
    """A discrete forward-noising schedule.

    Attributes:
        kind: ``"cosine"`` or ``"linear"``.
        betas: ``(T,)`` float64 per-step noise variances.
        alphas_cumprod: ``(T,)`` float64 ``alpha_bar_t = prod_{s<=t} (1 - beta_s)``, strictly
            decreasing from just below 1 to just above 0.
    """

    kind: str
    betas: Tensor
    alphas_cumprod: Tensor

    @property
    def timesteps(self) -> int:
        """Number of diffusion steps ``T``."""
        return int(self.betas.shape[0])


def make_schedule(
    kind: str = "cosine",
    timesteps: int = 1000,
    beta_start: float = 1e-4,
    beta_end: float = 0.02,
    max_beta: float = 0.999,
    cosine_s: float = 0.008,
) -> NoiseSchedule:
    """Build a noise schedule.

    Args:
        kind: ``"cosine"`` (``alpha_bar(t) = cos^2((t/T + s)/(1 + s) * pi/2)``, Nichol &
            Dhariwal 2021) or ``"linear"`` (betas linear from ``beta_start`` to ``beta_end``).
        timesteps: number of steps ``T``.
        beta_start: first beta of the linear schedule.
        beta_end: last beta of the linear schedule.
        max_beta: upper clip of the cosine schedule's betas.
        cosine_s: offset ``s`` of the cosine schedule.

    Raises:
        ValueError: for an unknown ``kind`` or fewer than 2 timesteps.
    """
    if timesteps < 2:
        raise ValueError(f"timesteps must be >= 2; got {timesteps}")
    if kind == "cosine":
        t = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
        f = torch.cos((t + cosine_s) / (1 + cosine_s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(min=1e-8, max=max_beta)
    elif kind == "linear":
        betas = torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)
    else:
        raise ValueError(f"Unknown noise schedule {kind!r}; expected one of {SCHEDULES}")
    return NoiseSchedule(kind, betas, torch.cumprod(1 - betas, dim=0))


def ddim_timesteps(timesteps: int, steps: int, strength: float = 1.0) -> np.ndarray:
    """Return the ``steps + 1`` increasing DDIM timesteps ``0 = tau_0 < ... < tau_S``.

    ``tau_S = round(strength * (T - 1))``: ``strength = 1`` reaches pure noise, smaller values
    stop at an intermediate noise level (a weaker edit).

    Raises:
        ValueError: if ``steps < 1``, ``strength`` is not in (0, 1] or there are too few
            timesteps for ``steps`` distinct values.
    """
    if steps < 1:
        raise ValueError(f"DDIM steps must be >= 1; got {steps}")
    if not 0 < strength <= 1:
        raise ValueError(f"strength must be in (0, 1]; got {strength}")
    t_max = int(round(strength * (timesteps - 1)))
    if t_max < steps:
        raise ValueError(
            f"{steps} DDIM steps need at least {steps} timesteps up to t={t_max} "
            f"(T={timesteps}, strength={strength})"
        )
    return np.round(np.linspace(0, t_max, steps + 1)).astype(np.int64)


# --------------------------------------------------------------------------- data scaling
class BandScaler:
    """Per-band standardisation of reflectance patches (fitted on training patches).

    Attributes:
        mean: ``(C,)`` per-band mean reflectance.
        std: ``(C,)`` per-band standard deviation.
    """

    def __init__(
        self, mean: Sequence[float] | None = None, std: Sequence[float] | None = None
    ) -> None:
        """Create the object (see the class docstring)."""
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.asarray(std, dtype=np.float32)

    def fit(self, x: np.ndarray) -> BandScaler:
        """Fit on ``x (N, C, H, W)`` reflectance.

        Raises:
            ValueError: if ``x`` is not 4-D or contains non-finite values.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 4:
            raise ValueError(f"patches must be (N, C, H, W); got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("patches contain NaN/inf; fill or drop them before fitting")
        self.mean = x.mean(axis=(0, 2, 3)).astype(np.float32)
        std = x.std(axis=(0, 2, 3))
        self.std = np.where(std > 0, std, 1.0).astype(np.float32)
        return self

    def _check(self, x: Tensor | np.ndarray) -> tuple[Tensor, Tensor]:
        if self.mean is None or self.std is None:
            raise RuntimeError("BandScaler is not fitted; call fit() first")
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"patches have {x.shape[1]} bands; the scaler {self.mean.shape[0]}")
        m = torch.as_tensor(self.mean)[None, :, None, None]
        s = torch.as_tensor(self.std)[None, :, None, None]
        return m, s

    def transform(self, x: Tensor | np.ndarray) -> Tensor:
        """Reflectance ``(N, C, H, W)`` → standardised float32 tensor."""
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x).float()
        m, s = self._check(x)
        return (x - m) / s

    def inverse(self, z: Tensor) -> Tensor:
        """Standardised tensor → reflectance, clipped to [0, 1]."""
        m, s = self._check(z)
        return (z * s + m).clamp(0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain-python state (checkpoints)."""
        return {
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
        }


def downsample(x: np.ndarray | Tensor, size: int) -> np.ndarray:
    """Area-average patches ``(N, C, H, W)`` to ``size × size`` (no-op if already that size).

    Raises:
        ValueError: if ``size`` does not divide the patch size.
    """
    t = torch.as_tensor(np.asarray(x, dtype=np.float32))
    h, w = t.shape[-2:]
    if (h, w) == (size, size):
        return t.numpy()
    if h % size or w % size:
        raise ValueError(f"size {size} does not divide the patch size {h}×{w}")
    return F.adaptive_avg_pool2d(t, size).numpy()


def null_condition(n: int, cond_dim: int) -> Tensor:
    """The unconditional (null) climate condition: zeros with ``missing = 1`` (last column)."""
    c = torch.zeros(n, cond_dim)
    c[:, -1] = 1.0
    return c


# --------------------------------------------------------------------------- network
def timestep_embedding(t: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """Sinusoidal embedding ``(B, dim)`` of integer timesteps ``t (B,)`` (Vaswani et al. 2017)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class ResBlock(nn.Module):
    """Residual block: (ConditionalNorm → SiLU → conv) × 2 with a 1×1 skip when widths differ."""

    def __init__(
        self, c_in: int, c_out: int, cond_dim: int, norm: NormKind, dropout: float
    ) -> None:
        """Build the block (see the class docstring)."""
        super().__init__()
        self.norm1 = ConditionalNorm(c_in, cond_dim, kind=norm, spatial=True, hidden=0)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm2 = ConditionalNorm(c_out, cond_dim, kind=norm, spatial=True, hidden=0)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        if self.conv2.bias is not None:
            nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        """Apply the block to ``x (B, C_in, H, W)`` under conditioning ``cond (B, cond_dim)``."""
        h = self.conv1(F.silu(self.norm1(x, cond)))
        h = self.conv2(self.drop(F.silu(self.norm2(h, cond))))
        out: Tensor = self.skip(x) + h
        return out


class ClimateUNet(nn.Module):
    """A small U-Net denoiser whose every normalization is conditioned on climate and time.

    The conditioning vector of each :class:`ConditionalNorm` is
    ``concat(MLP(sinusoidal(t)), climate)`` where ``climate`` is the standardised climate
    vector with the missing flag (:func:`lulcbook.models.condnorm.standardise_climate`).

    Args:
        in_channels: bands ``C``.
        base: channels at full resolution.
        mults: channel multipliers per resolution level (each extra level halves H, W).
        climate_dim: width of the climate conditioning vector (19 BIO + 1 missing flag).
        time_dim: width of the timestep embedding.
        norm: normalization kind of :class:`ConditionalNorm` (``"group"`` by default).
        dropout: dropout inside residual blocks.
        semantic_dim: width of the semantic code of the diffusion autoencoder appended to the
            conditioning vector (0: no semantic code).
        map_channels: channels of the spatial land-cover map concatenated to the input
            (0: no map).

    Raises:
        ValueError: for an empty ``mults``.
    """

    def __init__(
        self,
        in_channels: int = 4,
        base: int = 32,
        mults: Sequence[int] = (1, 2, 2),
        climate_dim: int = 20,
        time_dim: int = 64,
        norm: NormKind = "group",
        dropout: float = 0.0,
        semantic_dim: int = 0,
        map_channels: int = 0,
    ) -> None:
        """Build the module (see the class docstring)."""
        super().__init__()
        if not mults:
            raise ValueError("mults must name at least one resolution level")
        self.in_channels, self.climate_dim, self.time_dim = in_channels, climate_dim, time_dim
        self.semantic_dim, self.map_channels = semantic_dim, map_channels
        self.time_mlp = nn.Sequential(
            nn.Linear(time_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim)
        )
        cdim = time_dim + climate_dim + semantic_dim
        widths = [base * m for m in mults]
        self.stem = nn.Conv2d(in_channels + map_channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        c = widths[0]
        for i, w in enumerate(widths):
            self.down.append(ResBlock(c, w, cdim, norm, dropout))
            c = w
            if i < len(widths) - 1:
                self.pool.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.mid = nn.ModuleList(
            [ResBlock(c, c, cdim, norm, dropout), ResBlock(c, c, cdim, norm, dropout)]
        )
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(len(widths))):
            self.up.append(ResBlock(c + widths[i], widths[i], cdim, norm, dropout))
            c = widths[i]
            if i > 0:
                self.upsample.append(nn.Conv2d(c, widths[i - 1], 3, padding=1))
                c = widths[i - 1]
        self.out_norm = ConditionalNorm(c, cdim, kind=norm, spatial=True, hidden=0)
        self.out = nn.Conv2d(c, in_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        if self.out.bias is not None:
            nn.init.zeros_(self.out.bias)

    def forward(
        self,
        x: Tensor,
        t: Tensor,
        climate: Tensor,
        semantic: Tensor | None = None,
        lc_map: Tensor | None = None,
    ) -> Tensor:
        """Predict the target (ε or v) for noisy patches.

        Args:
            x: ``(B, C, H, W)`` noisy standardised patches; H, W divisible by ``2**(levels-1)``.
            t: ``(B,)`` integer timesteps.
            climate: ``(B, climate_dim)`` conditioning (no NaN; null rows = missing climate).
            semantic: ``(B, semantic_dim)`` semantic codes (required iff ``semantic_dim > 0``).
            lc_map: ``(B, map_channels, H, W)`` land-cover class fractions (required iff
                ``map_channels > 0``).

        Returns:
            ``(B, C, H, W)`` predicted target.

        Raises:
            ValueError: if a conditioning input is missing, unexpected or of the wrong shape.
        """
        b = x.shape[0]
        if climate.shape != (b, self.climate_dim):
            raise ValueError(
                f"climate must be ({b}, {self.climate_dim}); got {tuple(climate.shape)}"
            )
        parts = [self.time_mlp(timestep_embedding(t, self.time_dim)), climate]
        if self.semantic_dim:
            if semantic is None or semantic.shape != (b, self.semantic_dim):
                got = None if semantic is None else tuple(semantic.shape)
                raise ValueError(f"semantic must be ({b}, {self.semantic_dim}); got {got}")
            parts.append(semantic)
        elif semantic is not None:
            raise ValueError("This U-Net has no semantic conditioning (semantic_dim=0)")
        if self.map_channels:
            want = (b, self.map_channels, *x.shape[2:])
            if lc_map is None or tuple(lc_map.shape) != want:
                got = None if lc_map is None else tuple(lc_map.shape)
                raise ValueError(f"lc_map must be {want}; got {got}")
            x = torch.cat([x, lc_map.to(x.dtype)], 1)
        elif lc_map is not None:
            raise ValueError("This U-Net has no land-cover map conditioning (map_channels=0)")
        cond = torch.cat(parts, 1)
        h = self.stem(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, cond)
            skips.append(h)
            if i < len(self.pool):
                h = self.pool[i](h)
        for block in self.mid:
            h = block(h, cond)
        for j, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], 1), cond)
            if j < len(self.upsample):
                h = F.interpolate(h, scale_factor=2, mode="nearest")
                h = self.upsample[j](h)
        out: Tensor = self.out(F.silu(self.out_norm(h, cond)))
        return out


# --------------------------------------------------------------------------- diffusion
class ClimateDiffusion(nn.Module):
    """Denoiser + schedule + EMA weights, with training loss, DDIM sampling, inversion and edits.

    With a semantic ``encoder`` this is a *diffusion autoencoder* (Preechakul et al. 2022): the
    encoder's code of the clean patch conditions the denoiser next to the climate (and the
    land-cover map, if the denoiser takes one); an edit keeps the source patch's code and its
    DDIM-inverted noise and changes only the climate.

    Args:
        net: the denoiser (:class:`ClimateUNet`).
        schedule: the noise schedule.
        prediction: ``"eps"`` or ``"v"``.
        ema_decay: EMA decay of the sampling weights (warm-up ``min(decay, (1+n)/(10+n))``).
        x0_clip: with ε-prediction, bound of the predicted clean patch (standardised units)
            while decoding; ``None`` disables it. Inversion is never clipped.
        encoder: the semantic encoder (its ``latent_dim`` must equal ``net.semantic_dim``), or
            ``None`` for a plain conditional diffusion model.

    Raises:
        ValueError: for an unknown ``prediction`` or an encoder that does not fit the denoiser.
    """

    def __init__(
        self,
        net: ClimateUNet,
        schedule: NoiseSchedule,
        prediction: Prediction = "v",
        ema_decay: float = 0.995,
        x0_clip: float | None = 10.0,
        encoder: SemanticEncoder | None = None,
    ) -> None:
        """Build the module (see the class docstring)."""
        super().__init__()
        if prediction not in PREDICTIONS:
            raise ValueError(f"Unknown prediction {prediction!r}; expected one of {PREDICTIONS}")
        enc_dim = 0 if encoder is None else encoder.latent_dim
        if enc_dim != net.semantic_dim:
            raise ValueError(
                f"The encoder's code has width {enc_dim} but the denoiser expects "
                f"semantic_dim={net.semantic_dim}"
            )
        self.net = net
        self.ema = copy.deepcopy(net).requires_grad_(False)
        self.encoder = encoder
        self.ema_encoder = None if encoder is None else copy.deepcopy(encoder).requires_grad_(False)
        self.schedule = schedule
        self.prediction = prediction
        self.ema_decay = ema_decay
        self.x0_clip: float | None = x0_clip
        self.register_buffer("alphas_cumprod", schedule.alphas_cumprod.float())
        self.ema_updates = 0

    @property
    def _abar(self) -> Tensor:
        """The registered ``alphas_cumprod`` buffer (float32)."""
        buf = self.get_buffer("alphas_cumprod")
        return buf

    @property
    def climate_dim(self) -> int:
        """Width of the climate conditioning vector."""
        return self.net.climate_dim

    def trainable(self) -> list[nn.Parameter]:
        """Parameters the optimiser updates: the denoiser's and the encoder's (not the EMA)."""
        params = list(self.net.parameters())
        if self.encoder is not None:
            params += list(self.encoder.parameters())
        return params

    def encode(self, x0: Tensor, use_ema: bool = True) -> Tensor | None:
        """Semantic codes ``(B, D)`` of standardised clean patches (``None`` without encoder)."""
        enc = self.ema_encoder if use_ema else self.encoder
        if enc is None:
            return None
        out: Tensor = enc(x0)
        return out

    # ---- training
    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """Forward process: ``x_t = sqrt(a_t) x0 + sqrt(1 - a_t) noise``."""
        a = self._abar[t][:, None, None, None]
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def loss(
        self,
        x0: Tensor,
        climate: Tensor,
        generator: torch.Generator | None = None,
        cond_dropout: float = 0.0,
        lc_map: Tensor | None = None,
    ) -> Tensor:
        """Mean squared error of the prediction target at random timesteps.

        The semantic encoder (if any) sees the clean patch and is trained through this loss.
        Condition dropout replaces only the climate (classifier-free guidance on climate).

        Args:
            x0: ``(B, C, H, W)`` standardised clean patches.
            climate: ``(B, climate_dim)`` conditioning vectors.
            generator: seeded random generator (timesteps, noise, condition dropout).
            cond_dropout: probability of replacing a row's climate with the null condition.
            lc_map: ``(B, K, H, W)`` land-cover class fractions, if the denoiser takes a map.

        Returns:
            The scalar loss.
        """
        b = x0.shape[0]
        t = torch.randint(0, self.schedule.timesteps, (b,), generator=generator)
        noise = torch.randn(x0.shape, generator=generator)
        if cond_dropout > 0:
            drop = torch.rand(b, generator=generator) < cond_dropout
            climate = torch.where(drop[:, None], null_condition(b, climate.shape[1]), climate)
        xt = self.q_sample(x0, t, noise)
        out = self.net(xt, t, climate, self.encode(x0, use_ema=False), lc_map)
        if self.prediction == "eps":
            target = noise
        else:
            a = self._abar[t][:, None, None, None]
            target = a.sqrt() * noise - (1 - a).sqrt() * x0
        return F.mse_loss(out, target)

    @torch.no_grad()
    def update_ema(self) -> None:
        """Move the EMA weights toward the trained weights."""
        self.ema_updates += 1
        d = min(self.ema_decay, (1 + self.ema_updates) / (10 + self.ema_updates))
        pairs: list[tuple[nn.Module, nn.Module]] = [(self.ema, self.net)]
        if self.encoder is not None and self.ema_encoder is not None:
            pairs.append((self.ema_encoder, self.encoder))
        for ema, live in pairs:
            for pe, p in zip(ema.parameters(), live.parameters(), strict=True):
                pe.mul_(d).add_(p.detach(), alpha=1 - d)
            for be, b in zip(ema.buffers(), live.buffers(), strict=True):
                be.copy_(b)

    # ---- model output → (eps, x0)
    def _predict(
        self,
        x: Tensor,
        t: int,
        climate: Tensor,
        guidance: float,
        use_ema: bool,
        semantic: Tensor | None = None,
        lc_map: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Return ``(eps, x0)`` predicted at timestep ``t``, with guidance on the climate."""
        net = self.ema if use_ema else self.net
        tt = torch.full((x.shape[0],), int(t), dtype=torch.long)
        if guidance == 1.0:
            out = net(x, tt, climate, semantic, lc_map)
        else:
            null = null_condition(x.shape[0], climate.shape[1])
            sem2 = None if semantic is None else torch.cat([semantic, semantic])
            map2 = None if lc_map is None else torch.cat([lc_map, lc_map])
            both = net(
                torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([climate, null]), sem2, map2
            )
            cond, unc = both.chunk(2)
            out = unc + guidance * (cond - unc)
        a = self._abar[int(t)]
        if self.prediction == "eps":
            eps = out
            x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
        else:
            eps = a.sqrt() * out + (1 - a).sqrt() * x
            x0 = a.sqrt() * x - (1 - a).sqrt() * out
        return eps, x0

    @torch.no_grad()
    def ddim_sample(
        self,
        xt: Tensor,
        climate: Tensor,
        steps: int = 50,
        guidance: float = 1.0,
        strength: float = 1.0,
        use_ema: bool = True,
        progress: bool = False,
        semantic: Tensor | None = None,
        lc_map: Tensor | None = None,
    ) -> Tensor:
        """Deterministic DDIM decoding (eta = 0) from noise level ``strength`` to clean patches.

        Args:
            xt: ``(B, C, H, W)`` latents at ``tau_S`` (pure noise when ``strength = 1``).
            climate: ``(B, climate_dim)`` conditioning.
            steps: number of DDIM steps (network evaluations; ×2 with guidance ≠ 1).
            guidance: classifier-free guidance scale ``w`` (1 = conditional model only).
            strength: noise level reached, as a fraction of ``T`` (see :func:`ddim_timesteps`).
            use_ema: use the EMA weights.
            progress: show a tqdm bar.
            semantic: ``(B, D)`` semantic codes (diffusion autoencoder).
            lc_map: ``(B, K, H, W)`` land-cover class fractions.

        Returns:
            ``(B, C, H, W)`` standardised patches.
        """
        taus = ddim_timesteps(self.schedule.timesteps, steps, strength)
        x = xt
        for i in tqdm(range(steps, 0, -1), desc="DDIM decode", disable=not progress, leave=False):
            eps, x0 = self._predict(x, taus[i], climate, guidance, use_ema, semantic, lc_map)
            if self.prediction == "eps" and self.x0_clip is not None:
                # eps-prediction divides by sqrt(alpha_bar) ~ 0 near t = T: bound x0 and
                # recompute eps so the step stays consistent (Nichol & Dhariwal 2021).
                a = self._abar[int(taus[i])]
                x0 = x0.clamp(-self.x0_clip, self.x0_clip)
                eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
            x = self._ddim_state(x0, eps, taus[i - 1])
        return x

    @torch.no_grad()
    def ddim_invert(
        self,
        x0: Tensor,
        climate: Tensor,
        steps: int = 50,
        strength: float = 1.0,
        use_ema: bool = True,
        progress: bool = False,
        semantic: Tensor | None = None,
        lc_map: Tensor | None = None,
    ) -> Tensor:
        """Deterministic DDIM inversion: clean patches → latents at noise level ``strength``.

        Uses the conditional model (no guidance), which keeps decoding under the same climate
        an approximate inverse (error shrinks as ``steps`` grows). ``semantic`` and ``lc_map``
        are the same conditions as in :meth:`ddim_sample`.
        """
        taus = ddim_timesteps(self.schedule.timesteps, steps, strength)
        x = x0
        for i in tqdm(range(1, steps + 1), desc="DDIM invert", disable=not progress, leave=False):
            eps, x0p = self._predict(x, taus[i - 1], climate, 1.0, use_ema, semantic, lc_map)
            x = self._ddim_state(x0p, eps, taus[i])
        return x

    def _ddim_state(self, x0: Tensor, eps: Tensor, t: int | Tensor) -> Tensor:
        """The deterministic DDIM state at timestep ``t`` of clean patches and their noise.

        Args:
            x0: ``(B, C, H, W)`` clean-patch estimate.
            eps: ``(B, C, H, W)`` noise estimate.
            t: the timestep reached (a decoding or an inversion step).

        Returns:
            ``sqrt(abar_t) x0 + sqrt(1 - abar_t) eps``.
        """
        a = self._abar[int(t)]
        return a.sqrt() * x0 + (1 - a).sqrt() * eps

    @torch.no_grad()
    def sample(
        self,
        climate: Tensor,
        shape: tuple[int, int, int],
        steps: int = 50,
        guidance: float = 1.0,
        seed: int = 0,
        use_ema: bool = True,
        semantic: Tensor | None = None,
        lc_map: Tensor | None = None,
    ) -> Tensor:
        """Generate ``len(climate)`` standardised patches of ``shape = (C, H, W)`` (seeded).

        A diffusion autoencoder needs semantic codes (e.g. :meth:`encode` of real patches):
        the noise is new, so the stochastic detail is generated while the semantics are given.
        """
        g = torch.Generator().manual_seed(seed)
        noise = torch.randn((climate.shape[0], *shape), generator=g)
        return self.ddim_sample(
            noise, climate, steps, guidance, 1.0, use_ema, semantic=semantic, lc_map=lc_map
        )

    @torch.no_grad()
    def edit(
        self,
        x0: Tensor,
        source: Tensor,
        target: Tensor,
        steps: int = 50,
        guidance: float = 1.0,
        strength: float = 1.0,
        use_ema: bool = True,
        lc_map: Tensor | None = None,
    ) -> Tensor:
        """Edit patches: encode, DDIM-invert under the ``source`` climate, decode under ``target``.

        The semantic code (if the model has an encoder) and the land-cover map are those of the
        source patch for both directions. With ``target = source`` and ``guidance = 1`` this is
        the round trip, which returns ``x0`` up to the DDIM discretisation error.
        """
        sem = self.encode(x0, use_ema)
        latent = self.ddim_invert(x0, source, steps, strength, use_ema, semantic=sem, lc_map=lc_map)
        return self.ddim_sample(
            latent, target, steps, guidance, strength, use_ema, semantic=sem, lc_map=lc_map
        )


def build_diffusion(
    in_channels: int = 4,
    base: int = 32,
    mults: Sequence[int] = (1, 2, 2),
    climate_dim: int = 20,
    time_dim: int = 64,
    norm: NormKind = "group",
    dropout: float = 0.0,
    schedule: str = "cosine",
    timesteps: int = 1000,
    prediction: Prediction = "v",
    ema_decay: float = 0.995,
    seed: int = 0,
    semantic_dim: int = 0,
    encoder_base: int = 16,
    map_channels: int = 0,
) -> ClimateDiffusion:
    """Build a seeded :class:`ClimateDiffusion` with a :class:`ClimateUNet` denoiser.

    Args:
        in_channels: bands.
        base: U-Net channels at full resolution.
        mults: U-Net channel multipliers per level.
        climate_dim: width of the climate conditioning vector.
        time_dim: width of the timestep embedding.
        norm: :class:`ConditionalNorm` kind.
        dropout: dropout in residual blocks.
        schedule: noise schedule kind.
        timesteps: diffusion steps ``T``.
        prediction: ``"eps"`` or ``"v"``.
        ema_decay: EMA decay.
        seed: seed of the initial weights.
        semantic_dim: width of the semantic code; > 0 adds a :class:`SemanticEncoder`
            (diffusion autoencoder), 0 builds a plain conditional model.
        encoder_base: first-layer channels of the encoder.
        map_channels: classes of the land-cover map input (0: no map).

    Returns:
        The model (training mode).
    """
    torch.manual_seed(seed)
    net = ClimateUNet(
        in_channels,
        base,
        tuple(mults),
        climate_dim,
        time_dim,
        norm,
        dropout,
        semantic_dim=semantic_dim,
        map_channels=map_channels,
    )
    encoder = (
        SemanticEncoder(in_channels, encoder_base, (1, 2, 4), semantic_dim)
        if semantic_dim > 0
        else None
    )
    return ClimateDiffusion(
        net, make_schedule(schedule, timesteps), prediction, ema_decay, encoder=encoder
    )


def _augment_d4(x: Tensor, generator: torch.Generator) -> Tensor:
    """Random flips and 90° rotations (the dihedral group), one draw per batch."""
    k = int(torch.randint(0, 4, (1,), generator=generator))
    x = torch.rot90(x, k, dims=(2, 3))
    if bool(torch.randint(0, 2, (1,), generator=generator)):
        x = torch.flip(x, dims=(3,))
    return x


def train_diffusion(
    model: ClimateDiffusion,
    x: Tensor,
    climate: Tensor,
    steps: int = 500,
    batch_size: int = 32,
    lr: float = 2e-3,
    cond_dropout: float = 0.15,
    flips: bool = True,
    seed: int = 0,
    progress: bool = True,
    lc_map: Tensor | None = None,
    on_step: Callable[[int], None] | None = None,
) -> list[float]:
    """Train the denoiser (and encoder) for a fixed number of optimiser steps, updating the EMA.

    Args:
        model: the diffusion model.
        x: ``(N, C, H, W)`` standardised training patches.
        climate: ``(N, climate_dim)`` conditioning (missing climate = null condition).
        steps: optimiser steps.
        batch_size: patches per step (drawn with replacement).
        lr: AdamW learning rate (cosine-decayed to 10 %).
        cond_dropout: condition dropout probability (classifier-free guidance).
        flips: random flips/rotations of each batch.
        seed: seed of batches, noise and dropout.
        progress: show a tqdm bar.
        lc_map: ``(N, K, H, W)`` land-cover class fractions (flipped and rotated with ``x``),
            if the denoiser takes a map.
        on_step: called with the number of completed steps after each step (e.g. to evaluate
            the model during a benchmark); the model is left in training mode afterwards.

    Returns:
        The loss of every step.

    Raises:
        ValueError: if ``x``, ``climate`` and ``lc_map`` disagree in length.
    """
    if x.shape[0] != climate.shape[0]:
        raise ValueError(f"x has {x.shape[0]} patches but climate {climate.shape[0]} rows")
    if lc_map is not None and lc_map.shape[0] != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} patches but lc_map {lc_map.shape[0]}")
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.trainable(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s / max(steps, 1), 1.0)))
    )
    model.net.train()
    if model.encoder is not None:
        model.encoder.train()
    c = x.shape[1]
    both = x if lc_map is None else torch.cat([x, lc_map.to(x.dtype)], 1)
    losses: list[float] = []
    bar = tqdm(range(steps), desc="diffusion training", disable=not progress, mininterval=5.0)
    for _ in bar:
        idx = torch.randint(0, x.shape[0], (min(batch_size, x.shape[0]),), generator=g)
        bb = _augment_d4(both[idx], g) if flips else both[idx]
        xb, mb = bb[:, :c], (bb[:, c:] if lc_map is not None else None)
        loss = model.loss(xb, climate[idx], generator=g, cond_dropout=cond_dropout, lc_map=mb)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        nn.utils.clip_grad_norm_(model.trainable(), 1.0)
        opt.step()
        sched.step()
        model.update_ema()
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(len(losses))
            model.net.train()
            if model.encoder is not None:
                model.encoder.train()
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", refresh=False)
    model.eval()
    return losses


def roundtrip_rmse(
    model: ClimateDiffusion,
    x: np.ndarray,
    climate: Tensor,
    scaler: BandScaler,
    steps: int,
    strength: float = 1.0,
    lc_map: Tensor | None = None,
) -> float:
    """Reflectance RMSE of encoding, DDIM inversion and decoding under the same climate.

    Args:
        model: the trained diffusion model.
        x: ``(N, C, H, W)`` reflectance patches.
        climate: ``(N, climate_dim)`` their own conditioning vectors.
        scaler: the band scaler the model was trained with.
        steps: DDIM steps (each way).
        strength: noise level of the inversion.
        lc_map: ``(N, K, H, W)`` land-cover class fractions, if the model takes a map.

    Returns:
        The root mean squared reflectance error over all pixels and bands.
    """
    z = scaler.transform(x)
    back = scaler.inverse(model.edit(z, climate, climate, steps, 1.0, strength, lc_map=lc_map))
    return float((back - torch.as_tensor(x)).pow(2).mean().sqrt())


def edit_patches(
    model: ClimateDiffusion,
    x: np.ndarray,
    source: Tensor,
    target: Tensor,
    scaler: BandScaler,
    steps: int,
    guidance: float,
    strength: float,
    batch_size: int = 256,
    lc_map: Tensor | None = None,
) -> np.ndarray:
    """Edit reflectance patches from ``source`` to ``target`` climates, in batches.

    Args:
        model: the trained diffusion model.
        x: ``(N, C, H, W)`` reflectance patches.
        source: ``(N, climate_dim)`` their own conditioning vectors.
        target: ``(N, climate_dim)`` the target conditioning vectors.
        scaler: the band scaler the model was trained with.
        steps: DDIM steps (each way).
        guidance: classifier-free guidance scale of the decoding.
        strength: noise level of the inversion.
        batch_size: patches per call.
        lc_map: ``(N, K, H, W)`` land-cover class fractions of the sources, if the model
            takes a map.

    Returns:
        ``(N, C, H, W)`` edited reflectance in [0, 1].
    """
    out = []
    for i in range(0, len(x), batch_size):
        sl = slice(i, i + batch_size)
        z = scaler.transform(x[sl])
        e = model.edit(
            z,
            source[sl],
            target[sl],
            steps,
            guidance,
            strength,
            lc_map=None if lc_map is None else lc_map[sl],
        )
        out.append(scaler.inverse(e).numpy())
    return np.concatenate(out) if out else np.zeros_like(x)


# --------------------------------------------------------------------------- persistence
def save_diffusion(
    path: str | Path,
    model: ClimateDiffusion,
    config: dict[str, Any],
    band_scaler: BandScaler,
    climate_scaler: ClimateScaler,
    bands: Sequence[str],
) -> Path:
    """Save weights (trained + EMA), the build config and both scalers atomically."""
    return checkpoint.save(
        {
            "config": dict(config),
            "state": model.state_dict(),
            "ema_updates": model.ema_updates,
            "band_scaler": band_scaler.to_dict(),
            "climate_scaler": climate_scaler.to_dict(),
            "bands": list(bands),
        },
        path,
    )


def load_diffusion(
    path: str | Path,
) -> tuple[ClimateDiffusion, BandScaler, ClimateScaler, list[str]]:
    """Load what :func:`save_diffusion` wrote.

    The checkpoint holds only tensors, numbers, strings, lists and dicts and is read with
    ``torch.load(..., weights_only=True)``, which refuses pickled objects that could run code.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file, if it is not a safe diffusion checkpoint (corrupt,
            truncated, another format, or containing arbitrary Python objects).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Diffusion checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError, EOFError, ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError(
            f"{path} is not a safe diffusion checkpoint (corrupt, truncated, or holding "
            f"Python objects that could run code): {type(err).__name__}: {first}"
        ) from err
    missing = [k for k in ("config", "state", "band_scaler", "climate_scaler", "bands")
               if not isinstance(ckpt, dict) or k not in ckpt]  # fmt: skip
    if missing:
        raise ValueError(f"{path} is not a diffusion checkpoint: it lacks {missing}")
    model = build_diffusion(**ckpt["config"])
    model.load_state_dict(ckpt["state"])
    model.ema_updates = int(ckpt["ema_updates"])
    model.eval()
    bs = ckpt["band_scaler"]
    return (
        model,
        BandScaler(bs["mean"], bs["std"]),
        ClimateScaler.from_dict(ckpt["climate_scaler"]),
        list(ckpt["bands"]),
    )
