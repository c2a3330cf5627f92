"""Per-column standardisation statistics: the fitted state every feature scaler shares.

:class:`Standardiser` holds the column means and standard deviations, checks that they are
fitted and round-trips them through plain Python for checkpoints; each scaler fits them in
its own way (:class:`lulcbook.graphs.FeatureScaler` on graph nodes,
:class:`lulcbook.models.points.FeatureScaler` on point tables with missing values).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike


class Standardiser:
    """Per-column mean and standard deviation, stored as :attr:`dtype`.

    Attributes:
        mean: ``(n_features,)`` column means, ``None`` until fitted.
        std: ``(n_features,)`` column standard deviations, ``None`` until fitted.
    """

    dtype: ClassVar[type[np.floating[Any]]] = np.float64
    """The float type the statistics are stored as."""

    def __init__(self, mean: ArrayLike | None = None, std: ArrayLike | None = None) -> None:
        """Start unfitted, or from known statistics (e.g. a saved model's)."""
        self.mean = None if mean is None else np.asarray(mean, dtype=self.dtype)
        self.std = None if std is None else np.asarray(std, dtype=self.dtype)

    def fitted(self) -> tuple[np.ndarray, np.ndarray]:
        """The fitted statistics.

        Returns:
            ``(mean, std)``.

        Raises:
            RuntimeError: if not fitted.
        """
        if self.mean is None or self.std is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")
        return self.mean, self.std

    def to_dict(self) -> dict[str, Any]:
        """Plain-python state for checkpoints.

        Returns:
            ``{"mean": list | None, "std": list | None}``.
        """
        return {
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Self:
        """Rebuild a scaler saved with :meth:`to_dict`.

        Args:
            state: the saved state.

        Returns:
            The scaler.
        """
        return cls(state.get("mean"), state.get("std"))


__all__ = ["Standardiser"]
