"""Tile-independent superpixels: SLIC on a cell grid fixed in map coordinates.

SLIC (Achanta et al., IEEE TPAMI 2012) starts from one centre per grid cell and, for a few
iterations, assigns every pixel to the nearest centre among the 3×3 cells around it, then moves
each centre to the mean of its pixels. scikit-image places its grid relative to the array it is
given and ends with a connectivity pass over the whole array, so the superpixels of a pixel depend
on the tile that contains it: a map cut into tiles differs from the same map made in one piece.

:func:`grid_slic` anchors the cell grid at multiples of ``cell`` pixels of the *map grid* (the
caller passes the tile's position on it) and keeps everything local:

* a centre starts as the mean of the valid pixels of its own cell;
* a pixel only ever looks at the 3×3 cells around its own;
* positions are integers relative to each cell's corner, so sums are exact;
* invalid pixels (NaN in any band) have weight 0 and never move a centre.

A pixel's label therefore depends only on the pixels within :func:`context_px` of it, and a tile
read with at least that much margin gives exactly the superpixels of the whole map in its core
(tested bit for bit). There is no connectivity pass: a superpixel may, rarely, be split in two
pieces, which does not matter for classifying its mean.

For speed, SLIC can run on ``coarsen``×``coarsen`` block means (e.g. 20 m blocks of a 10 m image
with 8-pixel cells); the labels are then painted back onto the full-resolution pixels, so segment
edges follow 20 m block edges. Its cost per pixel is fixed (9 candidate centres per iteration)
and does not depend on the tile size.
"""

from __future__ import annotations

import numpy as np

OFFSETS: tuple[tuple[int, int], ...] = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
"""The 3×3 neighbouring cells a pixel is compared with, in a fixed order (ties go to the first)."""


def check_grid(cell: int, coarsen: int, iterations: int) -> None:
    """Refuse a cell that is not a positive multiple of ``coarsen``, or negative iterations.

    Raises:
        ValueError: naming the bad value.
    """
    if coarsen < 1:
        raise ValueError(f"coarsen must be >= 1; got {coarsen}")
    if cell < coarsen or cell % coarsen:
        raise ValueError(f"cell ({cell} px) must be a positive multiple of coarsen ({coarsen})")
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0; got {iterations}")


def context_px(cell: int, iterations: int) -> int:
    """Margin (pixels) around a tile's core that makes its superpixels and their means exact.

    A centre starts from its own cell and every iteration lets it reach the pixels of the 3×3
    cells around it, whose labels depend on the centres around *them*: the reach grows by two
    cells per iteration. The final labels add one cell, and the mean of a superpixel that
    touches the core adds the superpixel's own extent (two cells).
    """
    return int(cell) * (2 * int(iterations) + 4)


def _block_means(image: np.ndarray, weight: np.ndarray, f: int) -> tuple[np.ndarray, np.ndarray]:
    """Means of the valid pixels of ``f``×``f`` blocks and the blocks' valid pixel counts.

    ``image`` must be 0 wherever ``weight`` is 0 (as :func:`grid_slic` builds it).
    """
    if f == 1:
        return image, weight
    xsum = np.zeros((image.shape[0], image.shape[1] // f, image.shape[2] // f), dtype=np.float32)
    wsum = np.zeros(xsum.shape[1:], dtype=np.float32)
    for i in range(f):
        for j in range(f):
            xsum += image[:, i::f, j::f]
            wsum += weight[i::f, j::f]
    means = np.divide(xsum, wsum[None], out=np.zeros_like(xsum), where=wsum[None] > 0)
    return means, wsum


def grid_slic(
    image: np.ndarray,
    cell: int = 8,
    compactness: float = 0.05,
    iterations: int = 3,
    coarsen: int = 2,
    origin: tuple[int, int] = (0, 0),
    valid: np.ndarray | None = None,
) -> np.ndarray:
    """Superpixels of a ``(band, y, x)`` image on a cell grid fixed in map coordinates.

    Args:
        image: reflectance; pixels with a non-finite band are invalid.
        cell: grid spacing in pixels (the mean superpixel is ``cell²`` pixels); a multiple of
            ``coarsen``.
        compactness: weight of the spatial distance, in reflectance units per cell spacing
            (SLIC's ``m``): distance² = |Δreflectance|² + (compactness · d / cell)².
        iterations: SLIC iterations (0 = the cells themselves).
        coarsen: run on block means of this many pixels a side (1 = full resolution).
        origin: ``(row, col)`` of the image's first pixel on the map grid; the cells start at
            multiples of ``cell`` there.
        valid: ``(y, x)`` valid pixels (default: those with every band of ``image`` finite);
            a caller that segments a subset of its bands passes the validity of all of them.

    Returns:
        ``(y, x)`` int64 labels; equal labels are one superpixel. The values are cell numbers of
        the padded tile, not consecutive, and carry no meaning across tiles.

    Raises:
        ValueError: for a non-3-D image or bad grid settings (:func:`check_grid`).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3:
        raise ValueError(f"image must be (band, y, x); got shape {image.shape}")
    check_grid(cell, coarsen, iterations)
    _, h, w = image.shape
    top, left = int(origin[0]) % cell, int(origin[1]) % cell
    ph, pw = -(-(top + h) // cell) * cell, -(-(left + w) // cell) * cell
    if valid is None:
        valid = np.isfinite(image).all(axis=0)
    x = np.zeros((image.shape[0], ph, pw), dtype=np.float32)
    x[:, top : top + h, left : left + w] = np.where(valid[None], image, 0.0)
    weight = np.zeros((ph, pw), dtype=np.float32)
    weight[top : top + h, left : left + w] = valid
    xc, wc = _block_means(x, weight, coarsen)
    step = cell // coarsen
    labels = _iterate(xc, wc, step, compactness, iterations)
    if coarsen > 1:
        labels = np.repeat(np.repeat(labels, coarsen, axis=0), coarsen, axis=1)
    result: np.ndarray = labels[top : top + h, left : left + w]
    return result


def _cell_view(a: np.ndarray, step: int) -> np.ndarray:
    """``(..., gh·step, gw·step)`` → ``(..., gh, step, gw, step)`` (a view)."""
    *lead, hh, ww = a.shape
    return a.reshape(*lead, hh // step, step, ww // step, step)


def _iterate(
    x: np.ndarray, weight: np.ndarray, step: int, compactness: float, iterations: int
) -> np.ndarray:
    """SLIC iterations on a padded, cell-aligned work image; returns its labels."""
    c, hh, ww = x.shape
    gh, gw = hh // step, ww // step
    cells = np.arange(gh * gw, dtype=np.int64).reshape(gh, gw)
    own = np.broadcast_to(cells[:, None, :, None], (gh, step, gw, step))
    wv = _cell_view(weight, step).astype(np.float64)
    xv = _cell_view(x, step)
    lab = own
    centres, pos, alive = _update(xv, wv, lab, gh, gw, step, None)
    spatial = (float(compactness) / step) ** 2
    for _ in range(iterations):
        lab = _assign(xv, centres, pos, alive, own, gh, gw, step, spatial)
        centres, pos, alive = _update(xv, wv, lab, gh, gw, step, (centres, pos, alive))
    return _unview(lab, hh, ww)


def _unview(lab: np.ndarray, hh: int, ww: int) -> np.ndarray:
    return np.ascontiguousarray(lab).reshape(hh, ww).astype(np.int64)


def _update(
    xv: np.ndarray,
    wv: np.ndarray,
    lab: np.ndarray,
    gh: int,
    gw: int,
    step: int,
    previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres = weighted means of their pixels (features, position relative to the cell corner).

    A centre that lost all its pixels keeps its previous value (or is dead at the start).
    """
    n = gh * gw
    flat = np.ascontiguousarray(lab).ravel()
    wflat = np.ascontiguousarray(wv).ravel()
    count = np.bincount(flat, weights=wflat, minlength=n)
    ok = count > 0
    # pixel position relative to the corner of the cell it is assigned to (exact integers)
    gy_pix = np.arange(gh, dtype=np.int64)[:, None, None, None]
    gx_pix = np.arange(gw, dtype=np.int64)[None, None, :, None]
    ly = (gy_pix * step + np.arange(step)[None, :, None, None] - (lab // gw) * step).astype(
        np.float64
    )
    lx = (gx_pix * step + np.arange(step)[None, None, None, :] - (lab % gw) * step).astype(
        np.float64
    )
    safe = np.where(ok, count, 1.0)
    pos = np.stack(
        [
            np.bincount(flat, weights=(ly * wv).ravel(), minlength=n) / safe,
            np.bincount(flat, weights=(lx * wv).ravel(), minlength=n) / safe,
        ]
    )
    centres = np.stack(
        [
            np.bincount(flat, weights=(xv[b] * wv).ravel(), minlength=n) / safe
            for b in range(len(xv))
        ]
    ).astype(np.float32)
    if previous is not None:
        pc, pp, pa = previous
        centres = np.where(ok[None], centres, pc)
        pos = np.where(ok[None], pos, pp)
        ok = ok | pa
    return centres, pos, ok


def _assign(
    xv: np.ndarray,
    centres: np.ndarray,
    pos: np.ndarray,
    alive: np.ndarray,
    own: np.ndarray,
    gh: int,
    gw: int,
    step: int,
    spatial: float,
) -> np.ndarray:
    """Label of every pixel: the nearest live centre among the 3×3 cells around its own.

    The pixel's own |x|² is the same for every candidate and is left out of the distance:
    ``|c|² − 2 x·c + spatial term`` has the same minimum as SLIC's distance.
    """
    c = len(centres)
    cen = np.zeros((c, gh + 2, gw + 2), dtype=np.float32)
    cen[:, 1:-1, 1:-1] = centres.reshape(c, gh, gw)
    py = np.zeros((gh + 2, gw + 2), dtype=np.float32)
    px = np.zeros((gh + 2, gw + 2), dtype=np.float32)
    py[1:-1, 1:-1] = pos[0].reshape(gh, gw)
    px[1:-1, 1:-1] = pos[1].reshape(gh, gw)
    # |c|² of each centre, +inf for cells outside the tile or without valid pixels
    norm = np.full((gh + 2, gw + 2), np.inf, dtype=np.float32)
    norm[1:-1, 1:-1] = np.where(
        alive.reshape(gh, gw), (centres.reshape(c, gh, gw) ** 2).sum(0), np.inf
    )
    inner = np.arange(step, dtype=np.float32)  # in-cell pixel coordinates (exact integers)
    ry = inner[None, :, None, None]  # (1, step, 1, 1)
    rx = inner[None, None, None, :]  # (1, 1, 1, step)
    sp = np.float32(spatial)
    best = np.full(own.shape, np.inf, dtype=np.float32)
    pick = np.full(own.shape, OFFSETS.index((0, 0)), dtype=np.int8)  # no live candidate: own cell
    d = np.empty(own.shape, dtype=np.float32)
    tmp = np.empty(own.shape, dtype=np.float32)
    for k, (dy, dx) in enumerate(OFFSETS):
        sl = (slice(1 + dy, 1 + dy + gh), slice(1 + dx, 1 + dx + gw))
        # small factors: (gh, step, gw, 1) and (gh, 1, gw, step), broadcast once
        ty = sp * (ry - (py[sl] + np.float32(dy * step))[:, None, :, None]) ** 2
        ty += norm[sl][:, None, :, None]
        tx = sp * (rx - (px[sl] + np.float32(dx * step))[:, None, :, None]) ** 2
        np.add(ty, tx, out=d)
        for b in range(c):
            np.multiply(xv[b], np.float32(-2) * cen[b][sl][:, None, :, None], out=tmp)
            d += tmp
        better = d < best
        np.copyto(best, d, where=better)
        pick[better] = k
    shift = np.array([dy * gw + dx for dy, dx in OFFSETS], dtype=np.int64)
    result: np.ndarray = own + shift[pick]
    return result


def segment_means(
    image: np.ndarray, labels: np.ndarray, valid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean reflectance of each superpixel over its valid pixels.

    Args:
        image: ``(band, y, x)``; pixels with a non-finite band are left out.
        labels: ``(y, x)`` non-negative superpixel labels (e.g. :func:`grid_slic`).
        valid: ``(y, x)`` pixels with every band finite, if the caller has it already.

    Returns:
        ``(means (n, band), index (y, x) into means or -1 for invalid pixels, valid (y, x))``;
        superpixels without a valid pixel are dropped, the others keep the order of their labels.
    """
    image = np.asarray(image, dtype=np.float32)
    if valid is None:
        valid = np.isfinite(image).all(axis=0)
    index = np.full(labels.shape, -1, dtype=np.int64)
    if not valid.any():
        return np.zeros((0, image.shape[0]), dtype=np.float64), index, valid
    every = bool(valid.all())
    lab = np.asarray(labels, dtype=np.int64).ravel() if every else labels[valid].astype(np.int64)
    counts = np.bincount(lab)
    ids = np.flatnonzero(counts)
    remap = np.full(len(counts), -1, dtype=np.int64)
    remap[ids] = np.arange(len(ids))
    inv = remap[lab]
    values = [b.ravel() if every else b[valid] for b in image]  # no copy when all are valid
    means = (
        np.stack([np.bincount(inv, weights=v, minlength=len(ids)) for v in values], axis=1)
        / counts[ids][:, None]
    )
    if every:
        index = inv.reshape(labels.shape)
    else:
        index[valid] = inv
    return means, index, valid


__all__ = ["OFFSETS", "check_grid", "context_px", "grid_slic", "segment_means"]
