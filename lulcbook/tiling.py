"""Cutting a grid into overlapping tiles whose cores cover it exactly once.

A :class:`Tile` reads a ``padded`` window (its ``core`` plus ``overlap`` pixels of context on
every side, clipped at the grid edge) and keeps only the ``core``, so predictions of
neighbouring tiles meet without seams. Scene prediction (:mod:`lulcbook.predict`), in-memory
tiled prediction (:meth:`lulcbook.models.gnn.SegmentClassifier.predict_proba_tiled`) and
uncertainty maps (:func:`lulcbook.uncertainty.scene_uncertainty`) all cut tiles here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

Slices = tuple[slice, slice]
"""Row and column slices of a ``(y, x)`` grid (prefix ``...`` for leading axes)."""


@dataclass(frozen=True)
class Tile:
    """A tile: the ``core`` window it owns in the output and the ``padded`` window it reads."""

    core: Window
    padded: Window

    @property
    def core_slices(self) -> Slices:
        """The core's rows and columns in the whole grid."""
        return _slices(self.core, 0, 0)

    @property
    def padded_slices(self) -> Slices:
        """The padded window's rows and columns in the whole grid."""
        return _slices(self.padded, 0, 0)

    @property
    def core_in_padded(self) -> Slices:
        """The core's rows and columns inside an array read from the padded window."""
        return _slices(self.core, int(self.padded.row_off), int(self.padded.col_off))


def _slices(window: Window, row0: int, col0: int) -> Slices:
    r, c = int(window.row_off) - row0, int(window.col_off) - col0
    return slice(r, r + int(window.height)), slice(c, c + int(window.width))


def tile_windows(width: int, height: int, tile_size: int, overlap: int) -> list[Tile]:
    """Split a ``width``×``height`` grid into core tiles of ``tile_size`` with ``overlap`` context.

    Each tile reads ``overlap`` extra pixels on every side (clipped at the scene edge) and
    keeps only its core, so neighbouring predictions meet without seams.

    Args:
        width: grid width in pixels.
        height: grid height in pixels.
        tile_size: core tile size in pixels.
        overlap: context pixels around each core.

    Returns:
        The tiles, row by row.

    Raises:
        ValueError: for a non-positive tile size or a negative overlap.
    """
    if tile_size <= 0 or overlap < 0:
        raise ValueError(f"tile_size must be > 0 and overlap >= 0, got {tile_size}, {overlap}")
    tiles = []
    for r in range(0, height, tile_size):
        for c in range(0, width, tile_size):
            h, w = min(tile_size, height - r), min(tile_size, width - c)
            r0, c0 = max(r - overlap, 0), max(c - overlap, 0)
            r1, c1 = min(r + h + overlap, height), min(c + w + overlap, width)
            tiles.append(Tile(Window(c, r, w, h), Window(c0, r0, c1 - c0, r1 - r0)))
    return tiles


def tile_border_mask(width: int, height: int, tile_size: int, margin: int) -> np.ndarray:
    """Pixels within ``margin`` of an internal tile border of :func:`tile_windows` (``(y, x)`` bool).

    Where seams would show: compare a tiled with an untiled prediction there.

    Args:
        width: grid width in pixels.
        height: grid height in pixels.
        tile_size: core tile size of :func:`tile_windows`.
        margin: pixels on either side of a border.

    Returns:
        The mask.
    """
    mask = np.zeros((height, width), dtype=bool)
    for r in range(tile_size, height, tile_size):
        mask[max(r - margin, 0) : r + margin, :] = True
    for c in range(tile_size, width, tile_size):
        mask[:, max(c - margin, 0) : c + margin] = True
    return mask


__all__ = ["Slices", "Tile", "tile_border_mask", "tile_windows"]
