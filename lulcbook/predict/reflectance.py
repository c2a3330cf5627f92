"""Reflectance plausibility of a scaled input, checked on a sample of pixels before any tile."""

from __future__ import annotations

import warnings

import numpy as np
from rasterio.windows import Window

from lulcbook.predict.sources import Source


class ImplausibleReflectanceError(ValueError):
    """The scaled input does not look like reflectance (see :func:`check_reflectance`)."""


VISIBLE_BANDS: tuple[str, ...] = ("B02", "B03", "B04")
"""Bands whose median is checked against :data:`PLAUSIBLE_MEDIAN` (all bands if none present)."""
PLAUSIBLE_MEDIAN: tuple[float, float] = (-0.05, 1.0)
"""Range of the median reflectance of a visible band (fresh snow and clouds reach ~0.9)."""
MAX_SHARE_ABOVE: tuple[float, float] = (1.5, 0.05)
"""At most 5 % of the sampled values of any band may exceed reflectance 1.5."""
MIN_P99: float = 0.01
"""The 99th percentile over all bands must reach 0.01 (else: reflectance scaled twice)."""


SAMPLE_WHOLE_PIXELS: int = 2048 * 2048
"""Grids up to this many pixels are read once for :func:`check_reflectance` (each read of a
reprojected source sets up a warp, which costs more than reading a small grid whole)."""


def sample_windows(width: int, height: int, size: int = 64, n: int = 3) -> list[Window]:
    """An ``n``×``n`` grid of ``size``-pixel windows spread evenly over a grid (clipped)."""
    out = []
    for fy in (np.arange(n) + 0.5) / n:
        for fx in (np.arange(n) + 0.5) / n:
            w, h = min(size, width), min(size, height)
            c0 = int(np.clip(round(fx * width - w / 2), 0, width - w))
            r0 = int(np.clip(round(fy * height - h / 2), 0, height - h))
            out.append(Window(c0, r0, w, h))
    return out


def check_reflectance(source: Source, allow: bool = False) -> dict[str, dict[str, float]]:
    """Check that a sample of valid pixels of ``source`` looks like reflectance after scaling.

    Reads a 3×3 grid of 64-pixel windows and checks, per band: the median of each visible band
    (B02–B04) lies in :data:`PLAUSIBLE_MEDIAN`, at most 5 % of the values exceed 1.5
    (:data:`MAX_SHARE_ABOVE`), and the 99th percentile over all bands reaches :data:`MIN_P99`.
    Digital numbers read as reflectance fail the first two, reflectance scaled twice the last.

    Args:
        source: the scene, already scaled (:func:`~lulcbook.predict.open_source`).
        allow: warn instead of raising (CLI: ``--allow-implausible``).

    Returns:
        Per band: ``median``, ``p99`` and ``share_above_1_5`` of the sampled valid pixels
        (empty when the sample holds no valid pixel).

    Raises:
        ImplausibleReflectanceError: naming the band, the values seen and the likely cause.
    """
    windows = sample_windows(source.width, source.height)
    if source.width * source.height <= SAMPLE_WHOLE_PIXELS:  # one read instead of nine
        whole = source.read(Window(0, 0, source.width, source.height))
        parts = [whole[(slice(None), *w.toslices())] for w in windows]
    else:
        parts = [source.read(w) for w in windows]
    px = np.concatenate([p.reshape(p.shape[0], -1) for p in parts], axis=1)
    px = px[:, np.isfinite(px).all(axis=0)]
    names = list(source.band_names)
    if px.shape[1] == 0:
        return {}
    stats = {
        b: {
            "median": float(np.median(px[i])),
            "p99": float(np.percentile(px[i], 99)),
            "share_above_1_5": float((px[i] > MAX_SHARE_ABOVE[0]).mean()),
        }
        for i, b in enumerate(names)
    }
    visible = [b for b in names if b in VISIBLE_BANDS] or names
    problems: list[str] = []
    cause = ""
    for b in names:
        st = stats[b]
        if st["share_above_1_5"] > MAX_SHARE_ABOVE[1] or (
            b in visible and st["median"] > PLAUSIBLE_MEDIAN[1]
        ):
            problems.append(
                f"band {b}: median {st['median']:.4g}, {st['share_above_1_5']:.0%} of values > 1.5"
            )
            cause = (
                "digital numbers were not scaled to reflectance (give --preset, e.g. s2-l1c, "
                "or --scale 0.0001)"
            )
        elif b in visible and st["median"] < PLAUSIBLE_MEDIAN[0]:
            problems.append(f"band {b}: median {st['median']:.4g} < {PLAUSIBLE_MEDIAN[0]}")
            cause = (
                "a wrong offset (e.g. an n0400 preset for data before processing baseline 04.00)"
            )
    p99 = max(st["p99"] for st in stats.values())
    if not problems and p99 < MIN_P99:
        problems.append(
            "all bands: 99th percentile "
            + ", ".join(f"{b} {st['p99']:.3g}" for b, st in stats.items())
            + f" < {MIN_P99}"
        )
        cause = (
            "reflectance scaled twice (the input already holds reflectance: use --preset "
            "reflectance or --scale 1)"
        )
    if problems:
        scaling = ""
        scale, offset = getattr(source, "scale", None), getattr(source, "offset", None)
        if scale is not None and offset is not None:
            scaling = f" (after DN × {scale:g} {offset:+g})"
        msg = (
            f"{source.name} does not look like reflectance{scaling}: {'; '.join(problems)} "
            f"(sample of {px.shape[1]} valid pixels). Likely cause: {cause}. If the values are "
            "right, override with --allow-implausible (allow_implausible=True)"
        )
        if not allow:
            raise ImplausibleReflectanceError(msg)
        warnings.warn(msg, stacklevel=2)
    return stats


__all__ = [
    "MAX_SHARE_ABOVE",
    "MIN_P99",
    "PLAUSIBLE_MEDIAN",
    "SAMPLE_WHOLE_PIXELS",
    "VISIBLE_BANDS",
    "ImplausibleReflectanceError",
    "check_reflectance",
    "sample_windows",
]
