"""The classifier interface of scene prediction and loading a saved classifier."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

PathLike = str | os.PathLike[str]


@runtime_checkable
class TileClassifier(Protocol):
    """What ``predict_scene`` needs from a model (``lulcbook.models.gnn.SegmentClassifier``).

    Attributes:
        bands: the input bands in the order the model expects (Sentinel-2 names).
        classes: one legend key (``lulcbook.legend.KEYS``) per output channel.
    """

    bands: Sequence[str]
    classes: Sequence[str]

    def predict_proba(self, tile: np.ndarray, mc_samples: int = 0) -> np.ndarray:
        """Class probabilities ``(n_classes, y, x)`` for a ``(band, y, x)`` float32 tile.

        The tile may contain NaN (no data); the output may be NaN there.
        """
        ...


def load_classifier(
    path: PathLike, model_class: str = "lulcbook.models.gnn:SegmentClassifier"
) -> TileClassifier:
    """Load a saved classifier with ``<module>:<Class>.load(path)``.

    Raises:
        FileNotFoundError: if the model file does not exist.
        ValueError: if the class cannot be imported, the file cannot be loaded (corrupt,
            truncated, another format, unsafe content), or the loaded object lacks the
            :class:`TileClassifier` interface.
    """
    import importlib

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Model {path} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"Model {path} is a folder; give the model file")
    module_name, _, cls_name = model_class.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(f"Cannot import model class {model_class!r}: {err}") from err
    try:
        model = cls.load(path)
    except Exception as err:  # torch/pickle/JSON raise many types for a bad file
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"Model {path} cannot be loaded as {model_class} (corrupt, truncated or not a "
            f"{cls_name} file): {type(err).__name__}: {reason}"
        ) from err
    if not isinstance(model, TileClassifier):
        raise ValueError(f"{model_class} loaded from {path} lacks bands/classes/predict_proba")
    return model


__all__ = ["TileClassifier", "load_classifier"]
