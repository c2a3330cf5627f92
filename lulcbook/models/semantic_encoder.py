"""Semantic encoder of the diffusion autoencoder: one latent code per patch.

In a diffusion autoencoder (Preechakul et al., "Diffusion Autoencoders", CVPR 2022) a
deterministic encoder maps an image to a compact *semantic* code that conditions the denoiser,
while the DDIM-inverted noise keeps the remaining stochastic detail. ClimSat (Leonhardt, Gall &
Roscher, Science of Remote Sensing 2025, 100235) uses this split to edit a patch's climate while
its semantics stay: the code is computed once from the source patch and kept when decoding under
another climate.

The encoder here is a small strided CNN with group normalization, global average pooling and a
linear projection; it is trained jointly with the denoiser through the diffusion loss.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn


class SemanticEncoder(nn.Module):
    """Strided CNN → global average pool → linear: patches ``(B, C, H, W)`` → codes ``(B, D)``.

    Args:
        in_channels: bands ``C``.
        base: channels of the first convolution.
        mults: channel multiplier of each stage; every stage halves H and W.
        latent_dim: width ``D`` of the semantic code.

    Raises:
        ValueError: for non-positive sizes or an empty ``mults``.
    """

    def __init__(
        self,
        in_channels: int = 4,
        base: int = 16,
        mults: Sequence[int] = (1, 2, 4),
        latent_dim: int = 32,
    ) -> None:
        """Build the encoder (see the class docstring)."""
        super().__init__()
        if in_channels <= 0 or base <= 0 or latent_dim <= 0 or not mults:
            raise ValueError(
                f"SemanticEncoder needs positive sizes and at least one stage; got "
                f"in_channels={in_channels}, base={base}, mults={list(mults)}, "
                f"latent_dim={latent_dim}"
            )
        self.in_channels = in_channels
        self.latent_dim = latent_dim
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base, 3, padding=1)]
        c = base
        for m in mults:
            w = base * m
            layers += [
                nn.GroupNorm(min(8, c), c),
                nn.SiLU(),
                nn.Conv2d(c, w, 3, stride=2, padding=1),
            ]
            c = w
        layers += [nn.GroupNorm(min(8, c), c), nn.SiLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.project = nn.Linear(c, latent_dim)

    def forward(self, x: Tensor) -> Tensor:
        """Return the semantic codes ``(B, latent_dim)`` of standardised patches ``x``.

        Args:
            x: ``(B, C, H, W)`` standardised patches.

        Raises:
            ValueError: if ``x`` is not 4-D with ``in_channels`` bands.
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"SemanticEncoder expects (B, {self.in_channels}, H, W); got {tuple(x.shape)}"
            )
        out: Tensor = self.project(self.features(x))
        return out
