"""Tests of the grid-anchored SLIC superpixels: exact tile independence, edges, invalid pixels."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook import superpixels


def fields(h: int = 160, w: int = 200, seed: int = 0) -> np.ndarray:
    """A four-band image of irregular fields (Voronoi cells of random reflectance) plus noise."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, [h, w], size=(40, 2))
    yy, xx = np.mgrid[:h, :w]
    owner = ((yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2).argmin(-1)
    spectra = rng.uniform(0.02, 0.4, size=(40, 4))
    image = spectra[owner].transpose(2, 0, 1) + rng.normal(0, 0.01, size=(4, h, w))
    return image.astype(np.float32)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two label arrays split the pixels into the same superpixels."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return pairs.shape[1] == len(np.unique(a)) == len(np.unique(b))


def tile_labels(
    image: np.ndarray, core: tuple[int, int, int, int], margin: int, **kw
) -> np.ndarray:
    """Labels of the core ``(row, col, height, width)`` when only core + margin is segmented."""
    r, c, h, w = core
    r0, c0 = max(r - margin, 0), max(c - margin, 0)
    r1, c1 = min(r + h + margin, image.shape[1]), min(c + w + margin, image.shape[2])
    labels = superpixels.grid_slic(image[:, r0:r1, c0:c1], origin=(r0, c0), **kw)
    return labels[r - r0 : r - r0 + h, c - c0 : c - c0 + w]


@pytest.mark.parametrize(("cell", "coarsen", "iterations"), [(8, 2, 3), (4, 1, 2)])
def test_a_tile_with_the_context_margin_has_the_superpixels_of_the_whole_image(
    cell: int, coarsen: int, iterations: int
) -> None:
    image = fields(300, 320)
    kw = {"cell": cell, "coarsen": coarsen, "iterations": iterations, "compactness": 0.05}
    whole = superpixels.grid_slic(image, **kw)
    margin = superpixels.context_px(cell, iterations)
    core = (97, 101, 61, 70)  # not aligned with the cells, margin inside the image
    part = tile_labels(image, core, margin, **kw)
    r, c, h, w = core
    assert same_partition(part, whole[r : r + h, c : c + w])
    # and the superpixel means over the tile equal those over the whole image
    r0, c0 = r - margin, c - margin
    sub = image[:, r0 : r + h + margin, c0 : c + w + margin]
    sub_lab = superpixels.grid_slic(sub, origin=(r0, c0), **kw)
    m_part, i_part, _ = superpixels.segment_means(sub, sub_lab)
    m_whole, i_whole, _ = superpixels.segment_means(image, whole)
    core_part = m_part[i_part[margin : margin + h, margin : margin + w]]
    core_whole = m_whole[i_whole[r : r + h, c : c + w]]
    np.testing.assert_array_equal(core_part, core_whole)


def test_without_margin_the_tile_border_changes_the_superpixels() -> None:
    image = fields()
    kw = {"cell": 8, "coarsen": 2, "iterations": 3, "compactness": 0.05}
    whole = superpixels.grid_slic(image, **kw)
    part = tile_labels(image, (37, 51, 61, 70), 0, **kw)
    assert not same_partition(part, whole[37:98, 51:121])


def test_zero_iterations_gives_the_cells_anchored_on_the_map_grid() -> None:
    image = np.full((2, 12, 10), 0.1, dtype=np.float32)
    labels = superpixels.grid_slic(image, cell=4, coarsen=1, iterations=0, origin=(3, 6))
    # rows 0 and 1..4 fall in different cells: the map row 3 ends a cell, row 4 starts one
    assert labels[0, 0] != labels[1, 0]
    assert len(np.unique(labels[1:5, 2:6])) == 1
    assert labels[1, 1] != labels[1, 2]  # map column 8 starts a cell


def test_superpixels_follow_a_spectral_edge_between_cell_borders() -> None:
    image = np.full((4, 64, 64), 0.05, dtype=np.float32)
    image[:, :, 13:] = 0.3  # the edge at column 13 is not a multiple of the cell
    labels = superpixels.grid_slic(image, cell=8, coarsen=1, iterations=3, compactness=0.01)
    for lab in np.unique(labels):
        cols = np.nonzero(labels == lab)[1]
        assert cols.max() < 13 or cols.min() >= 13, f"superpixel {lab} straddles the edge"


def test_invalid_pixels_are_left_out_of_segments_and_means() -> None:
    image = fields(64, 64)
    holed = image.copy()
    holed[:, 20:30, 20:30] = np.nan
    labels = superpixels.grid_slic(holed, cell=8, coarsen=2, iterations=2)
    means, index, valid = superpixels.segment_means(holed, labels)
    assert (index[20:30, 20:30] == -1).all() and not valid[20:30, 20:30].any()
    assert np.isfinite(means).all()
    # every mean is the mean of exactly the valid pixels that point to it
    k = index[0, 0]
    np.testing.assert_allclose(means[k], image[:, index == k].mean(axis=1), rtol=1e-5)


@pytest.mark.parametrize(
    ("cell", "coarsen", "iterations", "match"),
    [(6, 4, 3, "multiple of coarsen"), (8, 0, 3, "coarsen must be"), (8, 2, -1, "iterations")],
)
def test_bad_grid_settings_are_refused(
    cell: int, coarsen: int, iterations: int, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        superpixels.grid_slic(fields(32, 32), cell=cell, coarsen=coarsen, iterations=iterations)


def test_image_must_be_three_dimensional() -> None:
    with pytest.raises(ValueError, match="band, y, x"):
        superpixels.grid_slic(np.zeros((8, 8), dtype=np.float32))
