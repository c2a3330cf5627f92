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
condition keeps it. Flagged pixels are widened by ``dilation_m`` (cloud edges are diffuse, and
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

    Attributes:
        blue_rise: smallest rise of blue reflectance (B02) against the reference date that is
            flagged.
        red_ratio: largest rise of red (B04) per unit rise of blue that is still haze.
        dilation_m: flags are widened by this distance (metres; 0 = not at all).
    """

    blue_rise: float = 0.03
    red_ratio: float = 1.5
    dilation_m: float = 40.0

    def __post_init__(self) -> None:
        """Refuse thresholds that cannot work."""
        if not self.blue_rise > 0:
            raise ValueError(f"blue_rise must be > 0 (reflectance); got {self.blue_rise}")
        if not self.red_ratio > 0:
            raise ValueError(f"red_ratio must be > 0; got {self.red_ratio}")
        if not self.dilation_m >= 0:
            raise ValueError(f"dilation_m must be >= 0 (metres); got {self.dilation_m}")

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
        if data.ndim != 4 or data.shape[1] != len(bands):
            raise ValueError(
                f"data must be (time, {len(bands)} bands, y, x) for bands {list(bands)}; "
                f"got {data.shape}"
            )
        missing = [b for b in (BLUE, RED) if b not in bands]
        if missing:
            raise ValueError(
                f"the haze test reads {BLUE} and {RED}; {missing} not in {list(bands)}"
            )
        if data.shape[0] < 2:
            raise ValueError(f"the haze test compares dates; got {data.shape[0]} date(s)")
        blue = data[:, list(bands).index(BLUE)].astype(np.float64)
        red = data[:, list(bands).index(RED)].astype(np.float64)
        valid = np.isfinite(data).all(axis=1)
        blue_ok = np.where(valid, blue, np.inf)
        radius = self.dilation_px(pixel_m)
        out = np.zeros(valid.shape, dtype=bool)
        for t in range(data.shape[0]):
            blue_ref, red_ref = _clearest_other(blue_ok, red, t)
            with np.errstate(invalid="ignore"):
                rise = blue[t] - blue_ref
                hazy = (rise > self.blue_rise) & (red[t] - red_ref <= self.red_ratio * rise)
            hazy &= valid[t] & np.isfinite(blue_ref)
            if radius:
                hazy = ndimage.binary_dilation(hazy, _disk(radius)) & valid[t]
            out[t] = hazy
        return out

    def record(self, flags: np.ndarray, dates: Sequence[str]) -> dict[str, Any]:
        """The STAC record (:data:`STAC_PROPERTY`): thresholds and flagged share per date."""
        return {
            **dataclasses.asdict(self),
            "flagged_share": {d: float(f.mean()) for d, f in zip(dates, flags, strict=True)},
        }


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
    data = np.asarray(data, dtype=np.float64)
    blue, red = data[:, list(bands).index(BLUE)], data[:, list(bands).index(RED)]
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
