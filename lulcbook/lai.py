"""Leaf area index from Sentinel-2 surface reflectance: the Sentinel-2 Toolbox network.

The Sentinel-2 Toolbox (SNAP) biophysical processor (Weiss, Baret & Jay 2020, *S2ToolBox
Level 2 products: LAI, FAPAR, FCOVER*, v2.0 ATBD) estimates LAI with a small neural network
trained on PROSAIL + SAIL canopy simulations:

1. inputs: surface reflectance in B03, B04, B05, B06, B07, B8A, B11, B12 and the cosines of
   the view zenith, sun zenith and relative azimuth angles (11 values);
2. min–max normalisation of each input to [-1, 1] with the published training-set ranges;
3. one hidden layer of 5 ``tansig`` (``tanh``) neurons, a linear output neuron;
4. denormalisation of the output from [-1, 1] to the published LAI range.

The coefficients are the published auxiliary numbers of the Sentinel-2A network (auxdata
version ``3_0``), stored with their provenance in ``lulcbook/data/snap_lai_s2a_v3_0.json``
together with 30 of the published test cases, which :func:`compute_lai` reproduces
(``tests/test_lai.py``).

Supported input: **L2A surface reflectance** (0–1). Top-of-atmosphere (L1C) reflectance is
outside the method's domain (the network was trained on canopy reflectance) and is refused
with :class:`ToaInputError` unless ``allow_toa=True`` is passed; the result is then flagged
:data:`FLAG_TOA_INPUT`.

Rules for inputs and outputs, recorded per pixel as bit flags:

* physically impossible reflectance (NaN, < 0 or > 1 in any band) or an angle cosine outside
  [-1, 1] or NaN: output NaN, :data:`FLAG_INVALID_INPUT`;
* a valid input outside the network's training range (the published normalisation min/max,
  i.e. the definition domain's bounding box): output computed, :data:`FLAG_INPUT_OUT_OF_DOMAIN`;
* output below the published output minimum or above the maximum by less than
  :data:`OUTPUT_TOLERANCE`: clamped, :data:`FLAG_OUTPUT_CLAMPED`; by more: NaN,
  :data:`FLAG_OUTPUT_INVALID`. The tolerance is this package's choice (the toolbox's own
  extreme-case file was not among the published numbers used here);
* angles not given: :func:`default_angles` (near-nadir view, noon sun), flagged :data:`FLAG_DEFAULT_ANGLES`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

BANDS: tuple[str, ...] = ("B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12")
"""The reflectance bands the network takes, in order."""
ANGLES: tuple[str, ...] = ("cos_view_zenith", "cos_sun_zenith", "cos_relative_azimuth")
COEFFICIENTS_FILE = "snap_lai_s2a_v3_0.json"

FLAG_INVALID_INPUT = 1
FLAG_INPUT_OUT_OF_DOMAIN = 2
FLAG_OUTPUT_CLAMPED = 4
FLAG_OUTPUT_INVALID = 8
FLAG_DEFAULT_ANGLES = 16
FLAG_TOA_INPUT = 32
FLAG_NAMES: dict[int, str] = {
    FLAG_INVALID_INPUT: "invalid_input",
    FLAG_INPUT_OUT_OF_DOMAIN: "input_out_of_domain",
    FLAG_OUTPUT_CLAMPED: "output_clamped",
    FLAG_OUTPUT_INVALID: "output_invalid",
    FLAG_DEFAULT_ANGLES: "default_angles",
    FLAG_TOA_INPUT: "toa_input",
}
OUTPUT_TOLERANCE = 0.2
"""LAI units beyond the published output range that are clamped rather than rejected."""
DEFAULT_VIEW_ZENITH = 5.0
"""Degrees; the view zenith assumed when the geometry is unknown."""
SUPPORTED_LEVELS: tuple[str, ...] = ("L2A",)
TOA_LEVELS: tuple[str, ...] = ("L1C", "TOA")


class LaiInputError(ValueError):
    """Inputs that cannot be given to the network (wrong bands, shapes or level)."""


class ToaInputError(LaiInputError):
    """Top-of-atmosphere (L1C) reflectance given without ``allow_toa=True``."""


@dataclass(frozen=True)
class LaiNetwork:
    """The published coefficients of the network.

    Attributes:
        in_min, in_max: normalisation range of the 11 inputs.
        w1: (5, 11) hidden-layer weights; b1: (5,) hidden biases.
        w2: (5,) output weights; b2: output bias.
        out_min, out_max: denormalisation range of LAI.
        test_cases: (n, 12) published inputs (11 columns) and expected LAI (last column).
        provenance: source repository, paths and commits.
    """

    in_min: np.ndarray
    in_max: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: float
    out_min: float
    out_max: float
    test_cases: np.ndarray
    provenance: dict[str, Any]


@lru_cache(maxsize=1)
def load_network() -> LaiNetwork:
    """Read the coefficients shipped in ``lulcbook/data`` (cached)."""
    text = resources.files("lulcbook.data").joinpath(COEFFICIENTS_FILE).read_text()
    d = json.loads(text)
    norm = np.asarray(d["normalisation_min_max"], dtype=np.float64)
    net = LaiNetwork(
        in_min=norm[:, 0],
        in_max=norm[:, 1],
        w1=np.asarray(d["layer1_weights"], dtype=np.float64),
        b1=np.asarray(d["layer1_bias"], dtype=np.float64),
        w2=np.asarray(d["layer2_weights"], dtype=np.float64),
        b2=float(d["layer2_bias"]),
        out_min=float(d["denormalisation_min_max"][0]),
        out_max=float(d["denormalisation_min_max"][1]),
        test_cases=np.asarray(d["test_cases"], dtype=np.float64),
        provenance=d["provenance"],
    )
    if net.w1.shape != (5, len(BANDS) + len(ANGLES)) or net.b1.shape != (5,):
        raise ValueError(f"{COEFFICIENTS_FILE}: layer-1 shape {net.w1.shape}, expected (5, 11)")
    return net


def network_output(x: np.ndarray, net: LaiNetwork | None = None) -> np.ndarray:
    """The raw network: (..., 11) inputs to LAI, without any domain rule.

    Args:
        x: inputs in the order of :data:`BANDS` then :data:`ANGLES`.
        net: coefficients (default :func:`load_network`).
    """
    net = net or load_network()
    xn = 2.0 * (x - net.in_min) / (net.in_max - net.in_min) - 1.0
    hidden = np.tanh(xn @ net.w1.T + net.b1)
    y = hidden @ net.w2 + net.b2
    result: np.ndarray = 0.5 * (y + 1.0) * (net.out_max - net.out_min) + net.out_min
    return result


def network_gradient(x: np.ndarray, net: LaiNetwork | None = None) -> np.ndarray:
    """Derivative d LAI / d input for (..., 11) inputs (analytic; used for noise propagation)."""
    net = net or load_network()
    scale = 2.0 / (net.in_max - net.in_min)
    xn = scale * (x - net.in_min) - 1.0
    hidden = np.tanh(xn @ net.w1.T + net.b1)
    dy_dxn = ((1.0 - hidden**2) * net.w2) @ net.w1
    result: np.ndarray = 0.5 * (net.out_max - net.out_min) * dy_dxn * scale
    return result


def solar_zenith_noon(day: date | datetime, latitude: float) -> float:
    """Solar zenith angle (degrees) at local solar noon (Cooper 1969 declination)."""
    doy = day.timetuple().tm_yday
    declination = 23.44 * math.sin(2.0 * math.pi * (284 + doy) / 365.0)
    return abs(latitude - declination)


def default_angles(
    day: date | datetime | None, latitude: float | None
) -> tuple[float, float, float]:
    """Angle cosines when the scene's geometry is unknown.

    View: near nadir, :data:`DEFAULT_VIEW_ZENITH` (exact nadir, cos = 1, lies just outside
    the network's published input range). Sun: zenith at local solar noon from the date and
    latitude, or 40° when either is unknown. Relative azimuth: 90° (cos = 0, the middle of the
    network's range). Results computed with these are flagged :data:`FLAG_DEFAULT_ANGLES`.
    """
    sza = 40.0 if day is None or latitude is None else solar_zenith_noon(day, latitude)
    vza = math.cos(math.radians(DEFAULT_VIEW_ZENITH))
    return vza, math.cos(math.radians(min(sza, 89.0))), 0.0


@dataclass
class LaiResult:
    """LAI, its uncertainty and flags, each shaped like the input's spatial dimensions.

    Attributes:
        lai: LAI (m² m⁻²), NaN where rejected.
        sigma: standard deviation of LAI from the assumed reflectance noise (linear propagation
            through the network), NaN where ``lai`` is NaN.
        flags: bit flags (:data:`FLAG_NAMES`).
    """

    lai: np.ndarray
    sigma: np.ndarray
    flags: np.ndarray

    def flag_counts(self) -> dict[str, int]:
        """Number of pixels with each flag set."""
        return {name: int(((self.flags & bit) != 0).sum()) for bit, name in FLAG_NAMES.items()}


def reflectance_noise(rho: np.ndarray) -> np.ndarray:
    """Assumed 1-sigma surface reflectance uncertainty: ``max(0.005, 0.05 ρ)``.

    A stated assumption of the order of L2A atmospheric-correction errors, not a measured one.
    """
    result: np.ndarray = np.maximum(0.005, 0.05 * np.abs(rho))
    return result


def compute_lai(
    reflectance: np.ndarray,
    angles: tuple[Any, Any, Any] | None = None,
    *,
    level: str = "L2A",
    allow_toa: bool = False,
    day: date | datetime | None = None,
    latitude: float | None = None,
    band_names: tuple[str, ...] | list[str] = BANDS,
) -> LaiResult:
    """LAI for reflectance in the bands :data:`BANDS` (first axis), with the domain rules.

    Args:
        reflectance: (8, ...) surface reflectance (0–1) in the order of ``band_names``.
        angles: (cos view zenith, cos sun zenith, cos relative azimuth), scalars or arrays
            broadcastable to the spatial shape; ``None`` uses :func:`default_angles`.
        level: processing level of the reflectance ("L2A"; "L1C"/"TOA" need ``allow_toa``).
        allow_toa: accept top-of-atmosphere reflectance (outside the method's domain; flagged).
        day: date for the default sun zenith when ``angles`` is ``None``.
        latitude: latitude in degrees for the default sun zenith when ``angles`` is ``None``.
        band_names: names of the rows of ``reflectance``; must equal :data:`BANDS`.

    Raises:
        ToaInputError: for L1C/TOA input without ``allow_toa``.
        LaiInputError: for an unknown level, wrong bands or shapes.
    """
    lvl = level.upper()
    flag0 = 0
    if lvl in TOA_LEVELS:
        if not allow_toa:
            raise ToaInputError(
                f"level {level!r}: the LAI network expects surface (L2A) reflectance; "
                "pass allow_toa=True to run it on top-of-atmosphere reflectance anyway"
            )
        flag0 |= FLAG_TOA_INPUT
    elif lvl not in SUPPORTED_LEVELS:
        raise LaiInputError(f"level {level!r} is not one of {SUPPORTED_LEVELS + TOA_LEVELS}")
    names = tuple(str(b).upper() for b in band_names)
    if names != BANDS:
        raise LaiInputError(f"bands {list(names)} given; the LAI network needs {list(BANDS)}")
    rho = np.asarray(reflectance, dtype=np.float64)
    if rho.shape[0] != len(BANDS):
        raise LaiInputError(
            f"reflectance has {rho.shape[0]} bands on axis 0, expected {len(BANDS)}"
        )
    spatial = rho.shape[1:]
    if angles is None:
        angles = default_angles(day, latitude)
        flag0 |= FLAG_DEFAULT_ANGLES
    try:
        ang = np.stack([np.broadcast_to(np.asarray(a, dtype=np.float64), spatial) for a in angles])
    except ValueError as err:
        raise LaiInputError(f"angles do not broadcast to the image shape {spatial}: {err}") from err
    x = np.moveaxis(np.concatenate([rho, ang], axis=0), 0, -1)  # (..., 11)

    net = load_network()
    flags = np.full(spatial, flag0, dtype=np.uint8)
    bad_rho = np.any(~np.isfinite(rho) | (rho < 0) | (rho > 1), axis=0)
    bad_ang = np.any(~np.isfinite(ang) | (np.abs(ang) > 1), axis=0)
    invalid = bad_rho | bad_ang
    flags[invalid] |= FLAG_INVALID_INPUT
    xs = np.where(invalid[..., None], net.in_min, x)
    out_dom = np.any((xs < net.in_min) | (xs > net.in_max), axis=-1) & ~invalid
    flags[out_dom] |= FLAG_INPUT_OUT_OF_DOMAIN

    lai = network_output(xs, net)
    low, high = lai < net.out_min, lai > net.out_max
    far = (lai < net.out_min - OUTPUT_TOLERANCE) | (lai > net.out_max + OUTPUT_TOLERANCE)
    flags[(low | high) & ~far & ~invalid] |= FLAG_OUTPUT_CLAMPED
    flags[far & ~invalid] |= FLAG_OUTPUT_INVALID
    lai = np.clip(lai, net.out_min, net.out_max)
    lai[far | invalid] = np.nan

    grad = network_gradient(xs, net)[..., : len(BANDS)]
    noise = np.moveaxis(reflectance_noise(np.where(invalid, 0.0, rho)), 0, -1)
    sigma = np.sqrt(np.sum((grad * noise) ** 2, axis=-1))
    sigma[np.isnan(lai)] = np.nan
    return LaiResult(lai=lai, sigma=sigma, flags=flags)
