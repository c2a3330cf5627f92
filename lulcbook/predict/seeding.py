"""Reproducible MC dropout: per-tile seeds and seeded global generators."""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from lulcbook.tiling import Tile


def tile_seed(seed: int, tile: Tile) -> int:
    """The seed of one tile: derived from the run's ``seed`` and the tile's core position.

    Independent of the worker, process and order the tile runs in, so MC-dropout maps are the
    same across runs and worker counts.
    """
    entropy = [int(seed) & 0xFFFFFFFF, int(tile.core.row_off), int(tile.core.col_off)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0])


_RNG_LOCK = threading.Lock()
"""Serialises seeded stochastic predictions of threads that share the global generators."""


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's and NumPy's global generators for one block; restore them afterwards.

    Holds a lock, so threads of one process (``--threads``) cannot interleave their draws.
    """
    import torch

    with _RNG_LOCK:
        state = np.random.get_state()
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                np.random.seed(seed)
                yield
        finally:
            np.random.set_state(state)


def accepts_seed(fn: Any) -> bool:
    """Whether the callable ``fn`` takes a ``seed`` parameter (``False`` if unknown)."""
    with contextlib.suppress(TypeError, ValueError):
        return "seed" in inspect.signature(fn).parameters
    return False


__all__ = ["accepts_seed", "seeded", "tile_seed"]
