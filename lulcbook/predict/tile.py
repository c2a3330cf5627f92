"""One tile task: read the padded window, predict it, encode and count its core."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from lulcbook import legend
from lulcbook.predict.classifier import TileClassifier
from lulcbook.predict.encoding import class_values, encode, encode_segments, no_data
from lulcbook.predict.seeding import accepts_seed, seeded, tile_seed
from lulcbook.predict.sources import Source
from lulcbook.tiling import Tile


@dataclass
class TileResult:
    """The encoded core of one tile (see :func:`encode`), its class pixel counts and timing.

    ``cpu_seconds`` is the CPU time of the task's thread, ``seconds`` its wall time; on a busy
    machine the ratio shows how much of the time the task actually ran.
    """

    window: Window
    data: np.ndarray
    uncertainty: np.ndarray
    counts: np.ndarray
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def map_origin(source: Source, window: Window) -> tuple[int, int]:
    """``(row, col)`` of ``window``'s first pixel on the pixel grid of the source's CRS.

    The grid is the source's, extended to the CRS origin: a model that anchors its superpixels
    there (:attr:`lulcbook.models.spectral.SpectralClassifier.context_px`) cuts every tile,
    scene and production cell of that CRS and resolution the same way.
    """
    a = source.affine
    return round(a.f / a.e) + int(window.row_off), round(a.c / a.a) + int(window.col_off)


def climate_layers(source: Source, window: Window, model: object) -> np.ndarray | None:
    """Per-pixel climate ``(19, h, w)`` of ``window`` for a model with climate input, else ``None``.

    The climate of a pixel depends only on its coordinates
    (:meth:`lulcbook.models.spectral.SpectralClassifier.climate_layers`), so every tile and
    production cell gives a superpixel the same climate.
    """
    layers = getattr(model, "climate_layers", None)
    if layers is None or not getattr(model, "uses_climate", False):
        return None
    shape = (int(window.height), int(window.width))
    result: np.ndarray | None = layers(source.crs, window_transform(window, source.affine), shape)
    return result


def context_overlap(model: object, overlap: int) -> int:
    """The tile margin to use: ``overlap``, or more if the model needs it to be exact."""
    return max(int(overlap), int(getattr(model, "context_px", 0) or 0))


def predict_tile(
    source: Source,
    model: TileClassifier,
    tile: Tile,
    mc_samples: int = 0,
    threads: int | None = 1,
    seed: int = 0,
) -> TileResult:
    """Read one padded tile, predict it and return its encoded core.

    Args:
        source: where to read.
        model: the classifier.
        tile: the windows.
        mc_samples: Monte-Carlo dropout samples (0 = deterministic).
        threads: torch intra-op threads for this worker (``None`` leaves the setting alone).
        seed: the run's seed; with ``mc_samples > 0`` the prediction runs with torch's and
            NumPy's global generators seeded by :func:`tile_seed`, and a ``predict_proba``
            with a ``seed`` parameter gets that seed too.
    """
    t0, c0 = time.perf_counter(), time.thread_time()
    if threads is not None:
        with contextlib.suppress(ImportError):
            import torch

            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
    image = source.read(tile.padded)
    invalid = ~np.isfinite(image).all(axis=0)
    h, w = int(tile.core.height), int(tile.core.width)
    values = class_values(model.classes)
    if invalid.all():
        data, unc = no_data(h, w)
    else:
        core = tile.core_in_padded
        segments = getattr(model, "predict_segments", None)
        predict: Callable[..., Any] = segments if segments is not None else model.predict_proba
        kw: dict[str, object] = {"mc_samples": mc_samples}
        if segments is not None:
            kw["origin"] = map_origin(source, tile.padded)
            climate = climate_layers(source, tile.padded, model)
            if climate is not None:
                kw["climate"] = climate
        if mc_samples > 0:
            ts = tile_seed(seed, tile)
            if accepts_seed(predict):
                kw["seed"] = ts
            with seeded(ts):
                result = predict(image, **kw)
        else:
            result = predict(image, **kw)
        if segments is not None:
            index, seg_proba = result
            data, unc = encode_segments(index[core], seg_proba, values)
        else:
            proba = np.asarray(result, dtype=np.float32)
            if proba.shape != (len(values), *image.shape[1:]):
                raise ValueError(
                    f"predict_proba returned shape {proba.shape}; expected "
                    f"{(len(values), *image.shape[1:])} for a tile of {image.shape}"
                )
            data, unc = encode(proba[(slice(None), *core)], invalid[core], values)
    return TileResult(
        tile.core, data, unc, legend.class_counts(data[0]), time.perf_counter() - t0,
        time.thread_time() - c0,
    )  # fmt: skip


__all__ = ["TileResult", "climate_layers", "context_overlap", "map_origin", "predict_tile"]
