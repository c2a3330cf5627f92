"""Tests for lulcbook.tiling: cores tile a grid exactly once, padded windows add the context."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook import tiling


@pytest.mark.parametrize(("w", "h", "tile", "overlap"), [(260, 200, 64, 8), (50, 30, 64, 16)])
def test_tiles_cover_the_grid_exactly_once(w: int, h: int, tile: int, overlap: int) -> None:
    tiles = tiling.tile_windows(w, h, tile, overlap)
    cover = np.zeros((h, w), int)
    for t in tiles:
        (r0, r1), (c0, c1) = t.core.toranges()
        cover[r0:r1, c0:c1] += 1
        (pr0, pr1), (pc0, pc1) = t.padded.toranges()
        assert pr0 <= r0 and pc0 <= c0 and pr1 >= r1 and pc1 >= c1
        assert pr0 >= 0 and pc0 >= 0 and pr1 <= h and pc1 <= w
        assert pr0 == max(r0 - overlap, 0) and pc1 == min(c1 + overlap, w)
    assert (cover == 1).all()
    with pytest.raises(ValueError, match="tile_size"):
        tiling.tile_windows(w, h, 0, 8)
    border = tiling.tile_border_mask(w, h, tile, 2)
    rows = [r for r in range(tile, h, tile)]
    assert border.shape == (h, w) and border.any() == bool(rows or w > tile)
    for r in rows:
        assert border[r - 2 : r + 2].all() and not border[r + 3 : r + 5, : tile - 3].any()


@pytest.mark.parametrize(
    ("w", "h", "tile", "overlap"),
    [(260, 200, 64, 8), (50, 30, 64, 16), (33, 70, 16, 5), (7, 7, 1, 0)],
)
def test_tile_slices_cut_the_same_pixels_as_the_windows(
    w: int, h: int, tile: int, overlap: int
) -> None:
    """Cutting by the slices and pasting the cores rebuilds the image exactly once."""
    image = np.arange(2 * h * w, dtype=np.float32).reshape(2, h, w)
    rebuilt = np.full_like(image, np.nan)
    count = np.zeros((h, w), int)
    for t in tiling.tile_windows(w, h, tile, overlap):
        padded = image[(slice(None), *t.padded_slices)]
        (pr0, pr1), (pc0, pc1) = t.padded.toranges()
        np.testing.assert_array_equal(padded, image[:, pr0:pr1, pc0:pc1])
        core = padded[(slice(None), *t.core_in_padded)]
        (r0, r1), (c0, c1) = t.core.toranges()
        assert core.shape == (2, r1 - r0, c1 - c0)
        np.testing.assert_array_equal(core, image[:, r0:r1, c0:c1])
        assert t.core_slices == (slice(r0, r1), slice(c0, c1))
        rebuilt[(slice(None), *t.core_slices)] = core
        count[t.core_slices] += 1
    assert (count == 1).all()
    np.testing.assert_array_equal(rebuilt, image)


def test_negative_overlap_is_refused() -> None:
    with pytest.raises(ValueError, match="overlap >= 0"):
        tiling.tile_windows(10, 10, 4, -1)
