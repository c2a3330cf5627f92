"""A multi-temporal test for haze and thin cloud that a single-date mask leaves in a series.

The scene classification (SCL) of Sentinel-2 L2A misses thin cloud and haze: on the Exeter
date 2024-08-01 it calls about 1 % of the pixels cloud or cirrus while whitish veils cover a good
part of the scene, and the map changes class under them (notebook 07-maps). With a series of dates, haze shows itself as a
rise of the blue reflectance against a clearer date of the same place, the idea of the
multi-temporal cloud test of MAJA (Hagolle et al. 2010, *Remote Sensing of Environment* 114).

For each date and pixel, :meth:`HazeTest.flags` takes as reference the *other* date whose blue
(B02) is lowest there, and flags the pixel when

* its blue rose by more than ``blue_rise`` (reflectance), and
* its red (B04) rose by at most ``red_ratio`` times as much as its blue.

Haze and thin cloud scatter the blue at least as strongly as the red; a surface that turns from
green to soil (a harvest, a field drying out) raises the red more than the blue, and the second
condition keeps it. Haze passes: a pixel flagged on more than ``lasting_share`` of the dates
where it is seen (and on at least two) has changed for good (a new roof, a quarry, a field left
bare) and is not flagged on any date; its clearest date is the one before the change. Flagged
pixels are widened by ``dilation_m`` (cloud edges are diffuse, and
the Sentinel-2 bands see a cloud from slightly different angles). The flags are meant to be set
to nodata before classifying (:func:`apply`), on top of the product's own mask (SCL, Fmask).

The test needs at least two dates; the clearest date of a pixel is never flagged, so a series
hazy on every date keeps its haze.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

STAC_PROPERTY: str = "lulcbook:haze_test"
"""STAC item property that records the haze test a series map was made with."""

BLUE, RED = "B02", "B04"
"""The bands the test reads."""


@dataclass(frozen=True)
class HazeTest:
    """Thresholds of the multi-temporal haze test (module docstring).

    The defaults are the thresholds first set by hand on the sample's Sentinel-2 L2A Exeter
    series, where notebook 07-maps also judges them; ``lulcbook series`` runs
    :data:`SERIES_DEFAULT` instead, chosen on another series.

    Attributes:
        blue_rise: smallest rise of blue reflectance (B02) against the reference date that is
            flagged.
        red_ratio: largest rise of red (B04) per unit rise of blue that is still haze.
        dilation_m: flags are widened by this distance (metres; 0 = not at all).
        lasting_share: a pixel flagged on more than this share of its valid dates, and on at
            least two, is a lasting change, not haze, and is not flagged (1 = no such check).
    """

    blue_rise: float = 0.03
    red_ratio: float = 1.5
    dilation_m: float = 40.0
    lasting_share: float = 0.5

    def __post_init__(self) -> None:
        """Refuse thresholds that cannot work."""
        if not self.blue_rise > 0:
            raise ValueError(f"blue_rise must be > 0 (reflectance); got {self.blue_rise}")
        if not self.red_ratio > 0:
            raise ValueError(f"red_ratio must be > 0; got {self.red_ratio}")
        if not self.dilation_m >= 0:
            raise ValueError(f"dilation_m must be >= 0 (metres); got {self.dilation_m}")
        if not 0 < self.lasting_share <= 1:
            raise ValueError(f"lasting_share must be in (0, 1]; got {self.lasting_share}")

    def dilation_px(self, pixel_m: float) -> int:
        """The dilation in whole pixels of ``pixel_m`` metres (rounded).

        Raises:
            ValueError: a pixel size that is not positive.
        """
        if not pixel_m > 0:
            raise ValueError(f"pixel size must be > 0 m; got {pixel_m}")
        return int(round(self.dilation_m / pixel_m))

    def flags(self, data: np.ndarray, bands: Sequence[str], pixel_m: float) -> np.ndarray:
        """Pixels of each date that the test takes for haze or thin cloud.

        Args:
            data: ``(time, band, y, x)`` reflectance; NaN where a date is already masked.
            bands: band names of ``data`` (must hold B02 and B04).
            pixel_m: pixel size in metres (for the dilation).

        Returns:
            ``(time, y, x)`` bool; never set where a date is already NaN.

        Raises:
            ValueError: fewer than two dates, a shape that does not match ``bands``, or B02 or
                B04 missing (named).
        """
        data = np.asarray(data)
        blue, red = _blue_red(data, bands)
        valid = np.isfinite(data).all(axis=1)
        blue_ok = np.where(valid, blue, np.inf)
        radius = self.dilation_px(pixel_m)
        out = np.zeros(valid.shape, dtype=bool)
        for t in range(data.shape[0]):
            blue_ref, red_ref = _clearest_other(blue_ok, red, t)
            hazy = _hazy(blue[t], red[t], blue_ref, red_ref, self.blue_rise, self.red_ratio)
            out[t] = hazy & valid[t] & np.isfinite(blue_ref)
        n_flagged = out.sum(axis=0)
        out &= ~((n_flagged >= 2) & (n_flagged > self.lasting_share * valid.sum(axis=0)))
        if radius:
            for t in range(out.shape[0]):
                out[t] = ndimage.binary_dilation(out[t], _disk(radius)) & valid[t]
        return out

    def record(self, flags: np.ndarray, dates: Sequence[str]) -> dict[str, Any]:
        """The STAC record (:data:`STAC_PROPERTY`): thresholds and flagged share per date."""
        return {
            **dataclasses.asdict(self),
            "flagged_share": {d: float(f.mean()) for d, f in zip(dates, flags, strict=True)},
        }


SERIES_DEFAULT: HazeTest = HazeTest(blue_rise=0.02, red_ratio=1.5)
"""The haze test ``lulcbook series`` runs unless told otherwise (``--no-haze-test``).

Its thresholds are those chosen on the sample's HLS S30 2021 Exeter series against its Fmask
(:func:`select_test`: the pair of the grid that flags the most Fmask cloud while flagging at most
1 % of the Fmask-clear pixels; ``maps.json`` → ``exeter.haze.selection.chosen``), not on the
Sentinel-2 L2A series the maps are judged on. Notebook 10-temporal repeats the choice and says
whether it still gives this pair.
"""


def _blue_red(data: np.ndarray, bands: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Blue and red ``(time, y, x)`` of ``(time, band, y, x)`` data, as float64.

    Raises:
        ValueError: fewer than two dates, a shape that does not match ``bands``, or B02 or B04
            missing (named).
    """
    if data.ndim != 4 or data.shape[1] != len(bands):
        raise ValueError(
            f"data must be (time, {len(bands)} bands, y, x) for bands {list(bands)}; "
            f"got {data.shape}"
        )
    missing = [b for b in (BLUE, RED) if b not in bands]
    if missing:
        raise ValueError(f"the haze test reads {BLUE} and {RED}; {missing} not in {list(bands)}")
    if data.shape[0] < 2:
        raise ValueError(f"the haze test compares dates; got {data.shape[0]} date(s)")
    blue = data[:, list(bands).index(BLUE)].astype(np.float64)
    red = data[:, list(bands).index(RED)].astype(np.float64)
    return blue, red


def _hazy(
    blue: np.ndarray,
    red: np.ndarray,
    blue_ref: np.ndarray,
    red_ref: np.ndarray,
    blue_rise: float,
    red_ratio: float,
) -> np.ndarray:
    """The two conditions of the test against a reference (False where either is NaN)."""
    with np.errstate(invalid="ignore"):
        rise = blue - blue_ref
        hazy: np.ndarray = (rise > blue_rise) & (red - red_ref <= red_ratio * rise)
    return hazy


def _clearest_other(blue_ok: np.ndarray, red: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Blue and red of each pixel's reference: the date other than ``t`` with the lowest blue.

    ``blue_ok`` is ``(time, y, x)`` blue with ``inf`` where a date may not be a reference; a
    pixel without any reference gets ``inf`` blue.
    """
    others = [s for s in range(blue_ok.shape[0]) if s != t]
    ref = np.argmin(blue_ok[others], axis=0)[None]
    blue_ref = np.take_along_axis(blue_ok[others], ref, 0)[0]
    red_ref = np.take_along_axis(red[others], ref, 0)[0]
    return blue_ref, red_ref


def _disk(radius: int) -> np.ndarray:
    """A disk-shaped structuring element of ``radius`` pixels."""
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    disk: np.ndarray = x * x + y * y <= radius * radius
    return disk


def apply(data: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """A copy of ``(time, band, y, x)`` ``data`` with every band NaN where ``flags`` is set.

    Raises:
        ValueError: ``flags`` not of shape ``(time, y, x)`` of ``data``.
    """
    data = np.asarray(data)
    flags = np.asarray(flags, dtype=bool)
    if flags.shape != (data.shape[0], *data.shape[2:]):
        raise ValueError(f"flags {flags.shape} do not match data {data.shape}")
    out = np.array(data, dtype=np.float32, copy=True)
    out[np.broadcast_to(flags[:, None], out.shape)] = np.nan
    return out


def cloud_ratios(
    data: np.ndarray,
    scl: np.ndarray,
    bands: Sequence[str],
    classes: Mapping[str, Sequence[int]],
    test: HazeTest,
    clear: Sequence[int] = (4, 5),
    quantiles: Sequence[float] = (0.5, 0.9, 0.95),
) -> dict[str, dict[str, float]]:
    """How the two conditions of ``test`` treat the clouds that the SCL does flag.

    Evidence for the thresholds: if haze behaves like the thin cloud the SCL finds, its blue
    rises by more than ``blue_rise`` and its red by about as much as its blue. Each pixel of a
    class in ``classes`` is compared with the other date whose blue is lowest among those where
    the SCL calls the pixel clear (``clear``: vegetation, not vegetated).

    Args:
        data: ``(time, band, y, x)`` reflectance, *not* masked.
        scl: ``(time, y, x)`` scene classes on the same grid.
        bands: band names of ``data``.
        classes: ``{name: SCL classes}`` to describe.
        test: the thresholds (no dilation is applied).
        clear: SCL classes that a reference date must have.
        quantiles: quantiles of the red-per-blue rise reported.

    Returns:
        ``{name: {"n": pixels with a clear reference, "risen": share whose blue rose by more
        than blue_rise, "q50"...: quantiles of the red rise per blue rise among those,
        "within": share of those at most red_ratio, "flagged": share flagged by both}}``;
        classes without pixels are left out.
    """
    blue, red = _blue_red(np.asarray(data), bands)
    ok = np.isin(scl, list(clear)) & np.isfinite(blue) & np.isfinite(red)
    blue_ok = np.where(ok, blue, np.inf)
    rises: dict[str, list[np.ndarray]] = {name: [] for name in classes}
    ratios: dict[str, list[np.ndarray]] = {name: [] for name in classes}
    for t in range(data.shape[0]):
        blue_ref, red_ref = _clearest_other(blue_ok, red, t)
        with np.errstate(invalid="ignore"):
            rise = blue[t] - blue_ref
        has_ref = np.isfinite(rise)
        for name, values in classes.items():
            sel = has_ref & np.isin(scl[t], list(values))
            rises[name].append(rise[sel])
            risen = sel & (rise > test.blue_rise)
            ratios[name].append((red[t] - red_ref)[risen] / rise[risen])
    out: dict[str, dict[str, float]] = {}
    for name in classes:
        rise_all, r = np.concatenate(rises[name]), np.concatenate(ratios[name])
        if not r.size:
            continue
        within = float(np.mean(r <= test.red_ratio))
        risen = r.size / rise_all.size
        out[name] = (
            {"n": float(rise_all.size), "risen": risen}
            | {f"q{round(q * 100)}": float(np.quantile(r, q)) for q in quantiles}
            | {"within": within, "flagged": risen * within}
        )
    return out


def operating_points(
    data: np.ndarray,
    bands: Sequence[str],
    clear: np.ndarray,
    cloud: np.ndarray,
    blue_rises: Sequence[float],
    red_ratios: Sequence[float],
    dilation_px: int = 0,
) -> list[dict[str, float]]:
    """False alarms on clear pixels and detections of cloud, for each pair of thresholds.

    For choosing the thresholds on a series with a cloud mask of its own (e.g. the Fmask of
    HLS) rather than on the series the maps are judged on. Each pixel of a date is compared
    with the other date whose blue is lowest among those its mask calls clear, and the flags
    are widened by ``dilation_px`` as :meth:`HazeTest.flags` widens them (its check for
    lasting change is left out: it concerns few pixels and no threshold chosen here).

    Args:
        data: ``(time, band, y, x)`` reflectance, *not* masked (NaN only at nodata).
        bands: band names of ``data`` (must hold B02 and B04).
        clear: ``(time, y, x)`` pixels the mask calls clear.
        cloud: ``(time, y, x)`` pixels the mask calls cloud.
        blue_rises: values of ``blue_rise`` to try.
        red_ratios: values of ``red_ratio`` to try (crossed with ``blue_rises``).
        dilation_px: radius of the widening (pixels; 0 = none).

    Returns:
        One row per pair: ``blue_rise``, ``red_ratio``, ``false_alarm`` (share of the clear
        pixels flagged), ``detection`` (share of the cloud pixels flagged), and the numbers of
        clear and cloud pixels with a clear reference (``n_clear``, ``n_cloud``).

    Raises:
        ValueError: masks not of shape ``(time, y, x)`` of ``data``, or no clear or no cloud
            pixel with a clear reference.
    """
    data = np.asarray(data)
    blue, red = _blue_red(data, bands)
    clear, cloud = np.asarray(clear, dtype=bool), np.asarray(cloud, dtype=bool)
    if clear.shape != blue.shape or cloud.shape != blue.shape:
        raise ValueError(f"masks {clear.shape}, {cloud.shape} do not match data {data.shape}")
    finite = np.isfinite(blue) & np.isfinite(red)
    blue_ok = np.where(clear & finite, blue, np.inf)
    refs = [_clearest_other(blue_ok, red, t) for t in range(blue.shape[0])]
    has_ref = np.stack([np.isfinite(b) for b, _ in refs]) & finite
    n_clear, n_cloud = int((clear & has_ref).sum()), int((cloud & has_ref).sum())
    if not n_clear or not n_cloud:
        raise ValueError(
            f"operating points need clear and cloud pixels with a clear reference date; "
            f"got {n_clear} clear and {n_cloud} cloud"
        )
    rows = []
    for rise in blue_rises:
        for ratio in red_ratios:
            hazy = np.stack(
                [_hazy(blue[t], red[t], b, r, rise, ratio) for t, (b, r) in enumerate(refs)]
            )
            if dilation_px:
                hazy = ndimage.binary_dilation(hazy, _disk(dilation_px)[None])
            rows.append(
                {
                    "blue_rise": float(rise),
                    "red_ratio": float(ratio),
                    "false_alarm": float((hazy & clear & has_ref).sum() / n_clear),
                    "detection": float((hazy & cloud & has_ref).sum() / n_cloud),
                    "n_clear": float(n_clear),
                    "n_cloud": float(n_cloud),
                }
            )
    return rows


def select_test(
    points: Sequence[Mapping[str, float]], max_false_alarm: float, base: HazeTest
) -> HazeTest:
    """``base`` with the thresholds of :func:`operating_points` that detect most cloud.

    The other settings of ``base`` (e.g. the dilation) are kept. The budget is the largest
    share of clear pixels flagged; ties go to fewer false alarms, then to higher thresholds.

    Raises:
        ValueError: a budget outside (0, 1), or no pair within it (the lowest false alarm named).
    """
    if not 0 < max_false_alarm < 1:
        raise ValueError(f"max_false_alarm must be in (0, 1); got {max_false_alarm}")
    within = [p for p in points if p["false_alarm"] <= max_false_alarm]
    if not within:
        lowest = min((p["false_alarm"] for p in points), default=float("nan"))
        raise ValueError(
            f"no thresholds flag at most {max_false_alarm:.2%} of the clear pixels; "
            f"the lowest false alarm is {lowest:.2%}"
        )
    best = max(
        within,
        key=lambda p: (p["detection"], -p["false_alarm"], p["blue_rise"], p["red_ratio"]),
    )
    return dataclasses.replace(base, blue_rise=best["blue_rise"], red_ratio=best["red_ratio"])
