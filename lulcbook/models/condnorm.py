"""Climate-conditional normalization (conditional batch norm / FiLM).

A normalization layer without its own affine parameters whose per-channel scale
``gamma(c)`` and shift ``beta(c)`` are predicted from a bioclimatic vector ``c`` by a small
MLP, following the climate-conditional normalization of Leonhardt, Drees, Gall & Roscher,
"Leveraging bioclimatic context for supervised and self-supervised land cover classification"
(DAGM GCPR 2023), itself an instance of conditional batch normalization (de Vries et al.,
"Modulating early visual processing by language", NeurIPS 2017) and FiLM (Perez et al.,
"FiLM: visual reasoning with a general conditioning layer", AAAI 2018):

    y = gamma(c) * norm(x) + beta(c)

The last MLP layer is initialised to zero and ``gamma = 1 + delta``, so at initialisation the
layer equals plain normalization (``gamma = 1``, ``beta = 0``) whatever the climate.

Climate inputs are WorldClim BIO1-BIO19 (Fick & Hijmans 2017 / Hijmans et al. 2005) in their
original units, standardised with statistics fitted on the training samples only
(:class:`ClimateScaler`).

Missing-climate rule (patches whose climate vector has no valid WorldClim cell):
    every non-finite entry becomes 0 after standardisation, i.e. the training mean of that
    variable, and one extra indicator column ``missing`` (1.0 if any entry of the vector was
    non-finite, else 0.0) is appended to the conditioning vector. The model therefore never
    sees NaN, a missing vector is not silently confused with an average climate, and the
    conditioning MLP can learn a separate "unknown climate" scale/shift. The conditioning
    vector has ``n_bio + 1`` columns (:func:`cond_dim`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

N_BIO: int = 19
"""Number of WorldClim bioclimatic variables (BIO1-BIO19)."""

NormKind = Literal["batch", "instance", "layer", "group", "none"]
KINDS: tuple[str, ...] = ("batch", "instance", "layer", "group", "none")


def cond_dim(n_bio: int = N_BIO, indicator: bool = True) -> int:
    """Width of the conditioning vector: ``n_bio`` standardised variables (+1 missing flag)."""
    return n_bio + int(indicator)


def _as_numpy(climate: np.ndarray | Tensor | Sequence[Any]) -> np.ndarray:
    if isinstance(climate, Tensor):
        return climate.detach().cpu().numpy().astype(np.float64)
    return np.asarray(climate, dtype=np.float64)


def standardise_climate(
    climate: np.ndarray | Tensor,
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
    indicator: bool = True,
) -> np.ndarray | Tensor:
    """Standardise climate vectors and apply the missing-climate rule.

    Args:
        climate: ``(n, n_bio)`` raw climate (original WorldClim units), NaN where missing.
            A torch tensor gives a float32 tensor back (same device), anything else numpy.
        mean: per-variable mean; ``None`` fits it on the complete rows of ``climate``.
        std: per-variable standard deviation; ``None`` fits it likewise (0 is replaced by 1).
        indicator: append the ``missing`` column (1.0 where any entry of a row was non-finite).

    Returns:
        ``(n, n_bio + indicator)`` float32 conditioning vectors; non-finite entries are 0
        (= the training mean), so the output never contains NaN.

    Raises:
        ValueError: if ``climate`` is not 2-D, if ``mean``/``std`` do not match its width, or if
            statistics must be fitted and no row is complete.
    """
    arr = _as_numpy(climate)
    if arr.ndim != 2:
        raise ValueError(f"climate must be 2-D (n, n_bio); got shape {arr.shape}")
    if mean is None or std is None:
        fitted = ClimateScaler().fit(arr)
        mean = fitted.mean if mean is None else mean
        std = fitted.std if std is None else std
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    std = np.asarray(std, dtype=np.float64).reshape(-1)
    if mean.shape[0] != arr.shape[1] or std.shape[0] != arr.shape[1]:
        raise ValueError(
            f"climate has {arr.shape[1]} variables but mean/std have {mean.shape[0]}/{std.shape[0]}"
        )
    finite = np.isfinite(arr)
    std_safe = np.where(std > 0, std, 1.0)
    z = np.where(finite, (np.where(finite, arr, 0.0) - mean) / std_safe, 0.0)
    if indicator:
        missing = (~finite.all(axis=1)).astype(np.float64)[:, None]
        z = np.concatenate([z, missing], axis=1)
    z = z.astype(np.float32)
    if isinstance(climate, Tensor):
        return torch.from_numpy(z).to(climate.device)
    return z


class ClimateScaler:
    """Per-variable standardisation of climate vectors, fitted on training samples.

    ``transform`` applies the module-level missing-climate rule (non-finite → 0 = training
    mean, plus a ``missing`` indicator column when ``indicator`` is true).

    Attributes:
        mean: ``(n_bio,)`` mean of the complete training rows.
        std: ``(n_bio,)`` standard deviation (zeros replaced by 1).
        indicator: whether a ``missing`` column is appended.
    """

    def __init__(
        self,
        mean: np.ndarray | None = None,
        std: np.ndarray | None = None,
        indicator: bool = True,
    ) -> None:
        """Hold the statistics (or none yet); see the class docstring for the arguments."""
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)
        self.indicator = indicator

    def fit(self, climate: np.ndarray | Tensor) -> ClimateScaler:
        """Fit mean and std on the rows of ``climate`` that are complete (all finite).

        Raises:
            ValueError: if ``climate`` is not 2-D or has no complete row.
        """
        arr = _as_numpy(climate)
        if arr.ndim != 2:
            raise ValueError(f"climate must be 2-D (n, n_bio); got shape {arr.shape}")
        complete = np.isfinite(arr).all(axis=1)
        if not complete.any():
            raise ValueError(
                f"Cannot fit climate statistics: none of the {arr.shape[0]} rows is complete"
            )
        rows = arr[complete]
        self.mean = rows.mean(axis=0)
        std = rows.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    @property
    def n_bio(self) -> int:
        """Number of climate variables the scaler was fitted on."""
        if self.mean is None:
            raise RuntimeError("ClimateScaler is not fitted; call fit() first")
        return int(self.mean.shape[0])

    @property
    def cond_dim(self) -> int:
        """Width of the conditioning vectors that :meth:`transform` returns."""
        return cond_dim(self.n_bio, self.indicator)

    def transform(self, climate: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """Standardise ``climate`` with the fitted statistics (see :func:`standardise_climate`)."""
        if self.mean is None or self.std is None:
            raise RuntimeError("ClimateScaler is not fitted; call fit() first")
        return standardise_climate(climate, self.mean, self.std, indicator=self.indicator)

    def fit_transform(self, climate: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """Fit on ``climate`` and transform it."""
        return self.fit(climate).transform(climate)

    def to_dict(self) -> dict[str, Any]:
        """Plain-python state (for checkpoints and JSON)."""
        return {
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
            "indicator": self.indicator,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ClimateScaler:
        """Rebuild a scaler saved with :meth:`to_dict`."""
        return cls(state.get("mean"), state.get("std"), bool(state.get("indicator", True)))


def _make_norm(
    kind: str, num_features: int, spatial: bool, num_groups: int, eps: float, momentum: float
) -> nn.Module:
    if kind == "batch":
        cls = nn.BatchNorm2d if spatial else nn.BatchNorm1d
        return cls(num_features, eps=eps, momentum=momentum, affine=False)
    if kind == "instance":
        if not spatial:
            raise ValueError(
                "kind='instance' needs spatial inputs (B, C, H, W); use 'layer' or 'batch' for "
                "node features (N, C)"
            )
        return nn.InstanceNorm2d(num_features, eps=eps, affine=False)
    if kind == "layer":
        if spatial:
            return nn.GroupNorm(1, num_features, eps=eps, affine=False)
        return nn.LayerNorm(num_features, eps=eps, elementwise_affine=False)
    if kind == "group":
        groups = min(num_groups, num_features)
        while num_features % groups:
            groups -= 1
        return nn.GroupNorm(groups, num_features, eps=eps, affine=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"Unknown normalization kind {kind!r}; expected one of {KINDS}")


class ConditionalNorm(nn.Module):
    """Normalization whose per-channel scale and shift are predicted from a climate vector.

    ``y = (1 + dgamma(c)) * norm(x) + beta(c)`` with ``[dgamma, beta] = MLP(c)``; the MLP's
    last layer starts at zero, so the layer equals plain (affine-free) normalization at
    initialisation.

    Args:
        num_features: channels ``C``.
        cond_dim: width of the conditioning vector (19 BIO variables + 1 missing flag = 20 with
            :class:`ClimateScaler` defaults).
        kind: ``"batch"`` (BatchNorm1d/2d), ``"instance"`` (spatial only), ``"layer"``,
            ``"group"`` or ``"none"`` (FiLM without normalization); all without affine params.
        spatial: ``True`` for ``x (B, C, H, W)`` with ``cond (B, cond_dim)``; ``False`` for node
            or sample features ``x (N, C)`` with ``cond (N, cond_dim)`` (one row per node).
        hidden: width of the conditioning MLP's hidden layer (0: a single linear layer).
        num_groups: groups for ``kind="group"`` (reduced until it divides ``num_features``).
        eps: numerical stability constant of the normalization.
        momentum: running-statistics momentum of batch normalization.

    Raises:
        ValueError: on an unknown ``kind`` or non-positive sizes.
    """

    def __init__(
        self,
        num_features: int,
        cond_dim: int,
        kind: NormKind = "batch",
        spatial: bool = True,
        hidden: int = 32,
        num_groups: int = 8,
        eps: float = 1e-5,
        momentum: float = 0.1,
    ) -> None:
        """Build the layers; the arguments are described in the class docstring."""
        super().__init__()
        if num_features <= 0 or cond_dim <= 0:
            raise ValueError(
                f"num_features and cond_dim must be positive; got {num_features}, {cond_dim}"
            )
        self.num_features = num_features
        self.cond_dim = cond_dim
        self.kind = kind
        self.spatial = spatial
        self.norm = _make_norm(kind, num_features, spatial, num_groups, eps, momentum)
        if hidden > 0:
            last = nn.Linear(hidden, 2 * num_features)
            self.mlp: nn.Module = nn.Sequential(nn.Linear(cond_dim, hidden), nn.ReLU(), last)
        else:
            last = nn.Linear(cond_dim, 2 * num_features)
            self.mlp = last
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def film(self, cond: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(gamma, beta)``, each ``(n, num_features)``, for conditioning vectors.

        Raises:
            ValueError: if ``cond`` is not ``(n, cond_dim)``.
        """
        if cond.ndim != 2 or cond.shape[1] != self.cond_dim:
            raise ValueError(f"cond must have shape (n, {self.cond_dim}); got {tuple(cond.shape)}")
        out = self.mlp(cond)
        dgamma, beta = out.chunk(2, dim=1)
        return 1.0 + dgamma, beta

    def forward(self, x: Tensor, cond: Tensor | None) -> Tensor:
        """Normalise ``x`` and apply the climate-predicted scale and shift.

        Args:
            x: ``(B, C, H, W)`` if ``spatial`` else ``(N, C)``.
            cond: ``(B, cond_dim)`` / ``(N, cond_dim)`` standardised climate (no NaN; see the
                missing-climate rule).

        Raises:
            ValueError: if ``cond`` is missing or shapes do not match.
        """
        want = 4 if self.spatial else 2
        if x.ndim != want or x.shape[1] != self.num_features:
            shape = "(B, C, H, W)" if self.spatial else "(N, C)"
            raise ValueError(f"x must be {shape} with C={self.num_features}; got {tuple(x.shape)}")
        if cond is None:
            raise ValueError("ConditionalNorm needs a conditioning vector; got cond=None")
        if cond.shape[0] != x.shape[0]:
            raise ValueError(f"cond has {cond.shape[0]} rows but x has {x.shape[0]} samples/nodes")
        if not torch.isfinite(cond).all():
            raise ValueError("cond contains NaN/inf; apply standardise_climate() first")
        h = self.norm(x)
        gamma, beta = self.film(cond.to(x.dtype))
        if self.spatial:
            gamma, beta = gamma[:, :, None, None], beta[:, :, None, None]
        result: Tensor = gamma * h + beta
        return result

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return (
            f"num_features={self.num_features}, cond_dim={self.cond_dim}, kind={self.kind!r}, "
            f"spatial={self.spatial}"
        )
