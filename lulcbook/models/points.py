"""Neural point classifier: an MLP on standardised per-point features, optionally climate-aware.

Three variants share one architecture (``Linear → norm → ReLU → Dropout`` blocks and a
linear head):

* ``"no_climate"``: features only; the norm is BatchNorm1d with its own affine parameters.
* ``"climate_input"``: the standardised climate vector (BIO1–19 + missing flag) is
  appended to the features.
* ``"climate_norm"``: every norm is a :class:`~lulcbook.models.condnorm.ConditionalNorm`
  whose scale and shift are predicted from the climate vector (climate-conditional batch
  normalization, Leonhardt et al. GCPR 2023); climate does not enter the features.

:class:`PointClassifier` wraps scaling, training (AdamW, cosine learning rate, optional
class weighting and label smoothing) and prediction, and saves everything needed to
predict into one ``torch.save`` file that :meth:`PointClassifier.load` reads with
``weights_only=True`` (tensors and plain Python values only, no pickled objects).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from lulcbook import checkpoint
from lulcbook.models.condnorm import ClimateScaler, ConditionalNorm
from lulcbook.standardise import Standardiser

Variant = Literal["no_climate", "climate_input", "climate_norm"]
VARIANTS: tuple[str, ...] = ("no_climate", "climate_input", "climate_norm")
FORMAT_VERSION: int = 1


class FeatureScaler(Standardiser):
    """Per-column standardisation fitted on training rows; NaN → 0 (the training mean).

    The statistics (float64) are taken over the finite training values.
    """

    def fit(self, x: np.ndarray) -> FeatureScaler:
        """Fit on ``x (n, f)``, ignoring non-finite entries.

        Raises:
            ValueError: if ``x`` is not 2-D or a column has no finite value.
        """
        a = np.asarray(x, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError(f"features must be 2-D (n, f); got shape {a.shape}")
        finite = np.isfinite(a)
        empty = np.flatnonzero(~finite.any(axis=0))
        if empty.size:
            raise ValueError(f"feature column(s) {empty.tolist()} have no finite value")
        with np.errstate(invalid="ignore"):
            self.mean = np.nanmean(np.where(finite, a, np.nan), axis=0)
            std = np.nanstd(np.where(finite, a, np.nan), axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardise; non-finite entries become 0. Returns float32.

        Raises:
            RuntimeError: not fitted. ValueError: wrong width.
        """
        mean, std = self.fitted()
        a = np.asarray(x, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != mean.shape[0]:
            raise ValueError(f"expected (n, {mean.shape[0]}) features; got {a.shape}")
        z = (a - mean) / std
        return np.where(np.isfinite(z), z, 0.0).astype(np.float32)


class PointMLP(nn.Module):
    """MLP over point features with plain or climate-conditional normalization.

    Args:
        n_features: input features (without climate).
        n_classes: output classes.
        variant: one of :data:`VARIANTS`.
        cond_dim: width of the conditioning vector (climate variants).
        hidden: widths of the hidden layers.
        dropout: dropout after each hidden block.
        cond_hidden: hidden width of ConditionalNorm's conditioning MLP.

    Raises:
        ValueError: an unknown variant or empty ``hidden``.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        variant: Variant = "no_climate",
        cond_dim: int = 20,
        hidden: Sequence[int] = (256, 256),
        dropout: float = 0.2,
        cond_hidden: int = 32,
    ) -> None:
        """Build the layers; the arguments are described in the class docstring."""
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"Unknown variant {variant!r}; expected one of {VARIANTS}")
        if not hidden:
            raise ValueError("hidden must list at least one layer width")
        self.variant = variant
        width = n_features + (cond_dim if variant == "climate_input" else 0)
        self.linears = nn.ModuleList()
        self.norms = nn.ModuleList()
        for h in hidden:
            self.linears.append(nn.Linear(width, h))
            if variant == "climate_norm":
                self.norms.append(
                    ConditionalNorm(h, cond_dim, kind="batch", spatial=False, hidden=cond_hidden)
                )
            else:
                self.norms.append(nn.BatchNorm1d(h))
            width = h
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(width, n_classes)

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        """Return logits ``(n, n_classes)``.

        Raises:
            ValueError: a climate variant called without ``cond``.
        """
        if self.variant != "no_climate" and cond is None:
            raise ValueError(f"variant {self.variant!r} needs a climate vector; got cond=None")
        h = (
            torch.cat([x, cond], dim=1)
            if cond is not None and self.variant == "climate_input"
            else x
        )
        for lin, norm in zip(self.linears, self.norms, strict=True):
            h = lin(h)
            h = norm(h, cond) if isinstance(norm, ConditionalNorm) else norm(h)
            h = self.drop(torch.relu(h))
        out: Tensor = self.head(h)
        return out


@dataclass
class PointConfig:
    """Hyper-parameters of :class:`PointClassifier`."""

    variant: str = "no_climate"
    hidden: list[int] = field(default_factory=lambda: [256, 256])
    dropout: float = 0.2
    cond_hidden: int = 32
    epochs: int = 30
    batch_size: int = 512
    lr: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    class_weight: bool = False
    seed: int = 0
    n_classes: int = 8


class PointClassifier:
    """Scaling + :class:`PointMLP` + training loop + prediction, saved in one safe file.

    Args:
        config: hyper-parameters (a :class:`PointConfig` or a dict of its fields).
        feature_names: names of the feature columns (stored with the weights).
    """

    def __init__(
        self,
        config: PointConfig | dict[str, Any] | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        """Configure the classifier; see the class docstring for the arguments."""
        if isinstance(config, dict):
            unknown = set(config) - set(PointConfig.__dataclass_fields__)
            if unknown:
                raise ValueError(f"Unknown PointConfig key(s) {sorted(unknown)}")
            config = PointConfig(**config)
        self.config = config or PointConfig()
        if self.config.variant not in VARIANTS:
            raise ValueError(f"Unknown variant {self.config.variant!r}; expected one of {VARIANTS}")
        self.feature_names = list(feature_names) if feature_names is not None else None
        self.scaler = FeatureScaler()
        self.climate_scaler = ClimateScaler()
        self.model: PointMLP | None = None
        self.history: list[float] = []

    @property
    def uses_climate(self) -> bool:
        """Whether the variant needs a climate vector."""
        return self.config.variant != "no_climate"

    def _cond(self, climate: np.ndarray | None, n: int, fit: bool = False) -> Tensor | None:
        if not self.uses_climate:
            return None
        if climate is None:
            raise ValueError(f"variant {self.config.variant!r} needs climate (n, 19); got None")
        c = np.asarray(climate, dtype=np.float64)
        if c.ndim != 2 or c.shape[0] != n:
            raise ValueError(f"climate must be ({n}, n_bio); got {c.shape}")
        if fit:
            self.climate_scaler.fit(c)
        return torch.from_numpy(np.asarray(self.climate_scaler.transform(c)))

    def fit(
        self, x: np.ndarray, y: np.ndarray, climate: np.ndarray | None = None
    ) -> PointClassifier:
        """Train on features ``x (n, f)``, labels ``y (n,)`` and climate ``(n, 19)`` if needed.

        Raises:
            ValueError: shape mismatches, labels outside ``[0, n_classes)``.
        """
        cfg = self.config
        x = np.asarray(x)
        y = np.asarray(y, dtype=np.int64)
        if x.ndim != 2 or y.shape != (x.shape[0],):
            raise ValueError(f"x {x.shape} and y {y.shape} must be (n, f) and (n,)")
        if y.size and (y.min() < 0 or y.max() >= cfg.n_classes):
            raise ValueError(f"labels must lie in [0, {cfg.n_classes}); got {y.min()}…{y.max()}")
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        xt = torch.from_numpy(self.scaler.fit(x).transform(x))
        ct = self._cond(climate, x.shape[0], fit=True)
        yt = torch.from_numpy(y.copy())
        self.model = self._network(x.shape[1])
        weight = None
        if cfg.class_weight:
            counts = np.bincount(y, minlength=cfg.n_classes).astype(np.float64)
            w = np.where(
                counts > 0, np.sqrt(counts.sum() / np.maximum(counts, 1) / cfg.n_classes), 0
            )
            weight = torch.tensor(w / w[counts > 0].mean(), dtype=torch.float32)
        loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing)
        opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        n_batches = max(1, int(np.ceil(x.shape[0] / cfg.batch_size)))
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.lr, total_steps=cfg.epochs * n_batches
        )
        self.history = []
        self.model.train()
        for _ in range(cfg.epochs):
            order = torch.from_numpy(rng.permutation(x.shape[0]))
            total = 0.0
            for b in range(n_batches):
                idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                if idx.numel() < 2:  # batch norm needs two samples
                    continue
                logits = self.model(xt[idx], None if ct is None else ct[idx])
                loss = loss_fn(logits, yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * idx.numel()
            self.history.append(total / x.shape[0])
        self.model.eval()
        return self

    def _network(self, n_features: int) -> PointMLP:
        """A new :class:`PointMLP` of the configuration (climate scaler fitted or loaded)."""
        cfg = self.config
        return PointMLP(
            n_features,
            cfg.n_classes,
            cfg.variant,  # type: ignore[arg-type]
            cond_dim=self.climate_scaler.cond_dim if self.uses_climate else 20,
            hidden=cfg.hidden,
            dropout=cfg.dropout,
            cond_hidden=cfg.cond_hidden,
        )

    @torch.no_grad()
    def predict_proba(
        self, x: np.ndarray, climate: np.ndarray | None = None, batch_size: int = 8192
    ) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` (float32).

        Raises:
            RuntimeError: not fitted. ValueError: wrong feature width or missing climate.
        """
        if self.model is None:
            raise RuntimeError("PointClassifier is not fitted; call fit() or load()")
        xt = torch.from_numpy(self.scaler.transform(np.asarray(x)))
        ct = self._cond(climate, xt.shape[0])
        self.model.eval()
        out = []
        for s in range(0, xt.shape[0], batch_size):
            c = None if ct is None else ct[s : s + batch_size]
            out.append(torch.softmax(self.model(xt[s : s + batch_size], c), dim=1))
        if not out:
            return np.zeros((0, self.config.n_classes), dtype=np.float32)
        return torch.cat(out).numpy().astype(np.float32)

    def predict(self, x: np.ndarray, climate: np.ndarray | None = None) -> np.ndarray:
        """Most probable class per point."""
        return np.asarray(self.predict_proba(x, climate).argmax(axis=1))

    def state(self) -> dict[str, Any]:
        """Everything needed to predict, as tensors and plain Python values."""
        if self.model is None:
            raise RuntimeError("PointClassifier is not fitted; nothing to save")
        return {
            "format_version": FORMAT_VERSION,
            "kind": "lulcbook.models.points.PointClassifier",
            "config": asdict(self.config),
            "feature_names": self.feature_names,
            "scaler": self.scaler.to_dict(),
            "climate_scaler": self.climate_scaler.to_dict() if self.uses_climate else None,
            "n_features": int(self.scaler.mean.shape[0]),  # type: ignore[union-attr]
            "state_dict": self.model.state_dict(),
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save atomically and byte-reproducibly (readable with ``weights_only=True``)."""
        return checkpoint.save(self.state(), path)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PointClassifier:
        """Rebuild a classifier from :meth:`state`.

        Raises:
            ValueError: an unknown format version or kind.
        """
        if state.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"Unsupported point-model format {state.get('format_version')!r}; "
                f"expected {FORMAT_VERSION}"
            )
        clf = cls(state["config"], state.get("feature_names"))
        clf.scaler = FeatureScaler.from_dict(state["scaler"])
        if state.get("climate_scaler") is not None:
            clf.climate_scaler = ClimateScaler.from_dict(state["climate_scaler"])
        clf.model = clf._network(int(state["n_features"]))
        clf.model.load_state_dict(state["state_dict"])
        clf.model.eval()
        return clf

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PointClassifier:
        """Load a file written by :meth:`save` (``torch.load(weights_only=True)``).

        Raises:
            FileNotFoundError: no such file. ValueError: not a point-model file.
        """
        state = _safe_load(Path(path))
        if not isinstance(state, dict) or "state_dict" not in state:
            raise ValueError(f"{path} is not a lulcbook point-model file")
        return cls.from_state(state)


class PointEnsemble:
    """Average of the probabilities of several :class:`PointClassifier` (e.g. seeds).

    Saved as one file holding the members' states (``weights_only=True`` loadable).
    """

    def __init__(self, members: Sequence[PointClassifier]) -> None:
        """Hold the members; see the class docstring."""
        if not members:
            raise ValueError("PointEnsemble needs at least one member")
        self.members = list(members)

    @property
    def uses_climate(self) -> bool:
        """Whether any member needs climate."""
        return any(m.uses_climate for m in self.members)

    @property
    def feature_names(self) -> list[str] | None:
        """Feature names of the first member."""
        return self.members[0].feature_names

    def predict_proba(self, x: np.ndarray, climate: np.ndarray | None = None) -> np.ndarray:
        """Mean member probabilities."""
        return np.asarray(np.mean([m.predict_proba(x, climate) for m in self.members], axis=0))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save atomically (``{"format_version", "kind", "members": [state, …]}``)."""
        path = Path(path)
        obj = {
            "format_version": FORMAT_VERSION,
            "kind": "lulcbook.models.points.PointEnsemble",
            "members": [m.state() for m in self.members],
        }
        return checkpoint.save(obj, path)


def _safe_load(path: Path) -> Any:
    """``torch.load(weights_only=True)``: tensors and plain values only, never code.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a file that is not a safe torch file (corrupt, truncated, or holding
            objects that would need arbitrary unpickling).
    """
    if not path.is_file():
        raise FileNotFoundError(f"Point model {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError) as err:
        msg = " ".join(str(err).split())[:200]
        raise ValueError(f"{path} is not a safe lulcbook point-model file ({msg})") from None


def load_point_model(path: str | os.PathLike[str]) -> PointClassifier | PointEnsemble:
    """Load a single classifier or an ensemble saved by this module (``weights_only=True``).

    Raises:
        FileNotFoundError: no such file. ValueError: not a point-model file.
    """
    path = Path(path)
    state = _safe_load(path)
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a lulcbook point-model file")
    if state.get("kind") == "lulcbook.models.points.PointEnsemble":
        return PointEnsemble([PointClassifier.from_state(s) for s in state["members"]])
    if "state_dict" in state:
        return PointClassifier.from_state(state)
    raise ValueError(f"{path} is not a lulcbook point-model file (keys {sorted(state)[:8]})")
