"""A series read for a stability check: the model on its grid, its clear dates, its haze flags.

Checks of map stability (notebooks 07-maps and 10-temporal) read a series as ``lulcbook
series`` reads it (:func:`lulcbook.series_predict.read_series`, with the series' own mask),
scale the map model's superpixels to the series' grid
(:func:`lulcbook.series_predict.for_resolution`), call a date *clear* when its own mask masks
at most a given share of it, and compare consecutive clear dates. :func:`read_clear` does
those steps once, so every check agrees on what a clear date is; an optional haze test
(:class:`lulcbook.haze.HazeTest`) is run on the whole grid before any crop, as the series
product runs it, and does not change which dates are clear.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lulcbook import haze
from lulcbook.predict import check_projected
from lulcbook.series_predict import Series, for_resolution, read_series


@dataclass(frozen=True)
class ClearSeries:
    """A series with the map model scaled to its grid and its clear dates.

    Attributes:
        series: the series as read (cropped when asked), masked by its own mask only.
        model: the map model with its superpixels scaled to the series' grid.
        pixel_m: the pixel size in metres.
        masked: per date, the share of pixels its own mask masks (of the cropped grid).
        clear: indices of the dates whose masked share is at most the threshold, in time order.
        flags: ``(time, y, x)`` haze flags of the optional test (cropped alike), else ``None``.
    """

    series: Series
    model: Any
    pixel_m: float
    masked: dict[str, float]
    clear: list[int]
    flags: np.ndarray | None = None

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """Consecutive clear dates as ``(i, j)`` indices."""
        return list(zip(self.clear[:-1], self.clear[1:], strict=True))

    def pair_label(self, i: int, j: int) -> str:
        """``"d_i→d_j"``, the label of a pair in the metrics."""
        return f"{self.series.dates[i]}→{self.series.dates[j]}"

    def hazed(self) -> Series:
        """The series with the haze flags masked too (itself without a test)."""
        if self.flags is None:
            return self.series
        return dataclasses.replace(self.series, data=haze.apply(self.series.data, self.flags))

    def flagged_share(self) -> dict[str, float]:
        """Per date, the share of pixels the haze test flags (empty without a test)."""
        if self.flags is None:
            return {}
        return {d: float(f.mean()) for d, f in zip(self.series.dates, self.flags, strict=True)}


def read_clear(
    files: Sequence[Path],
    read_kw: Mapping[str, Any],
    model: Any,
    model_res: float,
    clear_max_masked: float,
    *,
    crop: int | None = None,
    haze_test: haze.HazeTest | None = None,
) -> ClearSeries:
    """Read a series for a stability check (:class:`ClearSeries`).

    Args:
        files: the series' files, one per date.
        read_kw: how to read them (:func:`lulcbook.series_predict.read_series`: preset, mask
            band and values).
        model: the map model (with ``bands``); segment-based models are scaled from
            ``model_res`` to the series' grid.
        model_res: the resolution (m) the model's segment size refers to.
        clear_max_masked: a date is clear when its own mask masks at most this share.
        crop: keep only the top-left ``crop`` × ``crop`` pixels (``None`` or 0: the whole grid);
            the haze test still sees the whole grid.
        haze_test: a haze test whose flags are returned (not applied; see
            :meth:`ClearSeries.hazed`).

    Raises:
        ValueError: a series not on a projected grid in metres (named), or a threshold outside
            [0, 1].
    """
    if not 0 <= clear_max_masked <= 1:
        raise ValueError(f"clear_max_masked must be in [0, 1]; got {clear_max_masked}")
    s = read_series(files, list(model.bands), **read_kw)
    pixel_m = abs(s.transform.a) * check_projected(s.crs, s.names[0])
    flags = None if haze_test is None else haze_test.flags(s.data, s.bands, pixel_m)
    if crop:
        s = dataclasses.replace(s, data=s.data[..., :crop, :crop])
        flags = None if flags is None else flags[..., :crop, :crop]
    masked = {d: float(np.isnan(s.data[i]).any(axis=0).mean()) for i, d in enumerate(s.dates)}
    clear = [i for i, d in enumerate(s.dates) if masked[d] <= clear_max_masked]
    scaled = for_resolution(model, pixel_m, model_res)
    return ClearSeries(s, scaled, pixel_m, masked, clear, flags)


__all__ = ["ClearSeries", "read_clear"]
