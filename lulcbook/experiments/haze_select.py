"""Choosing the haze test's thresholds on a series the maps are not judged on.

The default thresholds of :class:`lulcbook.haze.HazeTest` were set on the Exeter Sentinel-2 L2A
series of the sample, where notebook 07-maps also judges the maps. :func:`haze_selection`
chooses them instead on the sample's HLS S30 2021 Exeter series, against its own cloud mask
(Fmask): another year and processing chain, with labels of its own. Notebook 07-maps maps the
Exeter L2A dates with the chosen test; notebook 10-temporal reads the series with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lulcbook import cloudmask, haze
from lulcbook.sources import sample

HAZE_SELECT_GRID: dict[str, tuple[float, ...]] = {
    "blue_rise": (0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.05),
    "red_ratio": (1.0, 1.25, 1.5, 1.75, 2.0, 2.5),
}
"""Thresholds (crossed) among which :func:`haze_selection` chooses."""

SELECTION_SERIES = "HLS S30 2021 (Fmask)"
"""The series :func:`haze_selection` chooses the thresholds on."""


BUDGET_FACTORS: tuple[float, ...] = (0.5, 1.0, 2.0)
"""Budgets :func:`haze_selection` also chooses under, as multiples of the given one."""


@dataclass(frozen=True)
class HazeSelection:
    """Thresholds of the haze test chosen on a series with a cloud mask of its own.

    Attributes:
        points: :func:`lulcbook.haze.operating_points` as a table, with ``default`` and
            ``chosen`` marking the rows of the default test and of the chosen one.
        chosen: the chosen test (the other settings, e.g. the dilation, as the default's).
        default: the default test it is compared with.
        max_false_alarm: the budget of flagged clear pixels it was chosen under.
        by_budget: the test chosen under each budget of :data:`BUDGET_FACTORS`.
        labels: per date, the share of Fmask values strictly between those of two opposite
            neighbours (``interpolated``, :func:`lulcbook.cloudmask.interpolated_share`) and the
            share of pixels whose label is used (``trusted``).
        series: what it was chosen on.
    """

    points: pd.DataFrame
    chosen: haze.HazeTest
    default: haze.HazeTest
    max_false_alarm: float
    by_budget: dict[float, haze.HazeTest] = dataclasses.field(default_factory=dict)
    labels: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    series: str = SELECTION_SERIES


def haze_selection(
    sample_dir: Path,
    test: haze.HazeTest,
    max_false_alarm: float,
    grid: Mapping[str, Sequence[float]] = HAZE_SELECT_GRID,
) -> HazeSelection:
    """Choose the haze test's thresholds on the sample's HLS series against its Fmask.

    The HLS S30 2021 Exeter dates (:func:`lulcbook.sources.sample.read_exeter_hls`) carry a
    cloud mask of another processing chain (Fmask). Among the thresholds of ``grid``, the pair
    that flags most of the Fmask cloud while flagging at most ``max_false_alarm`` of the pixels
    Fmask calls clear (no cloud, adjacency, shadow, cirrus or snow bit, low aerosol) is chosen
    (:func:`lulcbook.haze.select_test`); flags are counted after the widening of ``test``, as
    the test masks them. Nothing of the Sentinel-2 series the maps are judged on enters the
    choice. The sample's Fmask was warped with interpolation, which writes values of other
    bits along every edge, so a pixel's label is used only where its 3 × 3 neighbourhood holds
    one Fmask value (:func:`lulcbook.cloudmask.uniform`). The choice is repeated under the
    budgets of :data:`BUDGET_FACTORS`.

    Raises:
        ValueError: no pair within the budget.
    """
    refl, fmask = sample.read_exeter_hls(sample_dir)
    data = np.stack([np.asarray(a.values) for a in refl])
    bands = [str(b) for b in refl[0].band.values]
    trusted = np.stack([cloudmask.uniform(f) & (f >= 0) for f in fmask])
    clear = cloudmask.fmask_clear(fmask) & trusted
    cloud = cloudmask.fmask_cloud(fmask) & trusted
    radius = test.dilation_px(abs(float(refl[0].rio.resolution()[0])))
    points = haze.operating_points(
        data, bands, clear, cloud, grid["blue_rise"], grid["red_ratio"], dilation_px=radius
    )
    chosen = haze.select_test(points, max_false_alarm, test)
    by_budget = {
        k * max_false_alarm: haze.select_test(points, k * max_false_alarm, test)
        for k in BUDGET_FACTORS
    }
    frame = pd.DataFrame(points)
    for name, t in (("default", test), ("chosen", chosen)):
        frame[name] = np.isclose(frame["blue_rise"], t.blue_rise) & np.isclose(
            frame["red_ratio"], t.red_ratio
        )
    labels = {
        str(a.attrs["datetime"])[:10]: {
            "interpolated": cloudmask.interpolated_share(f),
            "trusted": float(t.mean()),
        }
        for a, f, t in zip(refl, fmask, trusted, strict=True)
    }
    return HazeSelection(frame, chosen, test, max_false_alarm, by_budget, labels)
