"""Published Landsat-8 OLI ↔ Sentinel-2 MSI harmonisation: the HLS band-pass adjustment.

The Harmonized Landsat Sentinel-2 (HLS) project adjusts each band linearly (Claverie et al.
2018, *Remote Sensing of Environment* 219:145–161; HLS Product User's Guide v1.4, Skakun et al.
2018; coefficient table at https://hls.gsfc.nasa.gov/algorithms/bandpass-adjustment/). HLS
publishes the regression MSI → OLI (``OLI = slope · MSI + offset``, :data:`HLS_MSI_TO_OLI`); the
OLI → MSI direction (:func:`hls_bandpass`) is its algebraic inverse
``MSI = (OLI − offset) / slope``, the same inversion ESA's sen2like processor applies to
Landsat 8 (``S2L_Sbaf.get_sen2like_coef``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from lulcbook.bands import DEFAULT_BANDS, normalise_band

OLI_BANDS: tuple[str, ...] = ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22")
"""Landsat-8 OLI reflective bands 1–7 by common name."""

OLI_FOR_MSI: dict[str, str] = {
    "B01": "coastal",
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B08": "nir08",
    "B8A": "nir08",
    "B11": "swir16",
    "B12": "swir22",
}
"""The OLI band each MSI band is translated from (HLS band equivalence; B08 added, see below)."""

HLS_MSI_TO_OLI: dict[str, dict[str, tuple[float, float]]] = {
    # (slope, offset) of OLI = slope * MSI + offset, surface reflectance. HLS v1.4 User's Guide
    # (Skakun et al. 2018) bandpass-adjustment table / https://hls.gsfc.nasa.gov/algorithms/
    # bandpass-adjustment/ (Claverie et al. 2018). HLS adjusts B8A, not B08, to OLI band 5.
    "S2A": {
        "B01": (0.9959, -0.0002),
        "B02": (0.9778, -0.0040),
        "B03": (1.0053, -0.0009),
        "B04": (0.9765, 0.0009),
        "B8A": (0.9983, -0.0001),
        "B11": (0.9987, -0.0011),
        "B12": (1.0030, -0.0012),
    },
    "S2B": {
        "B01": (0.9959, -0.0002),
        "B02": (0.9778, -0.0040),
        "B03": (1.0075, -0.0008),
        "B04": (0.9761, 0.0010),
        "B8A": (0.9966, 0.0000),
        "B11": (1.0000, -0.0003),
        "B12": (0.9867, 0.0004),
    },
}
"""Published HLS band-pass adjustment coefficients, MSI → OLI, per Sentinel-2 satellite."""

HLS_APPROXIMATIONS: dict[str, str] = {"B08": "B8A"}
"""MSI bands without a published HLS coefficient and the band whose coefficients stand in.

HLS keeps the broad NIR band B08 unadjusted and harmonises the narrow NIR band B8A with OLI
band 5; translating OLI band 5 to B08 with the B8A coefficients is an approximation of this
project (B08 is broader, 785–900 nm, than B8A and OLI band 5)."""


def hls_coefficients(
    satellite: str = "S2A", direction: str = "oli_to_msi", bands: Sequence[str] | None = None
) -> dict[str, tuple[float, float]]:
    """Per-band ``(slope, intercept)`` of the HLS band-pass adjustment.

    Args:
        satellite: ``"S2A"`` or ``"S2B"``.
        direction: ``"msi_to_oli"`` (the published regression) or ``"oli_to_msi"`` (its inverse
            ``slope' = 1/slope``, ``intercept' = −offset/slope``).
        bands: MSI bands (default: all of :data:`OLI_FOR_MSI`); B08 uses the B8A coefficients
            (:data:`HLS_APPROXIMATIONS`).

    Raises:
        ValueError: for an unknown satellite, direction or a band without an OLI equivalent.
    """
    if satellite not in HLS_MSI_TO_OLI:
        raise ValueError(
            f"Unknown satellite {satellite!r}; expected one of {sorted(HLS_MSI_TO_OLI)}"
        )
    if direction not in {"msi_to_oli", "oli_to_msi"}:
        raise ValueError(f"Unknown direction {direction!r}; expected 'msi_to_oli' or 'oli_to_msi'")
    table = HLS_MSI_TO_OLI[satellite]
    out: dict[str, tuple[float, float]] = {}
    for b in bands if bands is not None else OLI_FOR_MSI:
        name = normalise_band(b)
        key = HLS_APPROXIMATIONS.get(name, name)
        if key not in table:
            raise ValueError(
                f"Band {name!r} has no HLS band-pass coefficient; expected one of {sorted(OLI_FOR_MSI)}"
            )
        slope, offset = table[key]
        out[name] = (slope, offset) if direction == "msi_to_oli" else (1.0 / slope, -offset / slope)
    return out


def _linear(x: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray, axis: int) -> np.ndarray:
    """``x * slope + intercept`` per band along ``axis``, as float32."""
    shape = [1] * x.ndim
    shape[axis] = -1
    out: np.ndarray = (x * slopes.reshape(shape) + intercepts.reshape(shape)).astype(np.float32)
    return out


def hls_bandpass_array(
    oli: np.ndarray,
    oli_bands: Sequence[str],
    bands: Sequence[str] = DEFAULT_BANDS,
    satellite: str = "S2A",
    axis: int = 0,
) -> np.ndarray:
    """Array form of :func:`hls_bandpass`: ``oli`` has its bands (``oli_bands``) along ``axis``.

    Raises:
        ValueError: if an OLI band needed for ``bands`` is missing or the axis length differs.
    """
    oli = np.asarray(oli, dtype=np.float32)
    oli_bands = [str(b) for b in oli_bands]
    if oli.shape[axis] != len(oli_bands):
        raise ValueError(
            f"Axis {axis} has {oli.shape[axis]} bands but {len(oli_bands)} names {oli_bands}"
        )
    coef = hls_coefficients(satellite, "oli_to_msi", bands)
    need = [OLI_FOR_MSI[b] for b in coef]
    missing = [b for b in need if b not in oli_bands]
    if missing:
        raise ValueError(
            f"OLI band(s) {sorted(set(missing))} needed for {list(coef)} missing; have {oli_bands}"
        )
    x = np.take(oli, [oli_bands.index(b) for b in need], axis=axis)
    slopes = np.array([c[0] for c in coef.values()], dtype=np.float32)
    intercepts = np.array([c[1] for c in coef.values()], dtype=np.float32)
    return _linear(x, slopes, intercepts, axis)


def hls_bandpass(
    oli: xr.DataArray, bands: Sequence[str] = DEFAULT_BANDS, satellite: str = "S2A"
) -> xr.DataArray:
    """Translate OLI reflectance to Sentinel-2 MSI bands with the HLS band-pass adjustment.

    Args:
        oli: reflectance with a ``band`` dim of OLI common names (:data:`OLI_BANDS`).
        bands: the MSI bands wanted (each needs its OLI equivalent in ``oli``).
        satellite: the Sentinel-2 satellite whose coefficients are used.

    Returns:
        The same array with a ``band`` coordinate of MSI names, float32.
    """
    if "band" not in oli.dims:
        raise ValueError(f"oli needs a 'band' dimension; it has {oli.dims}")
    axis = oli.dims.index("band")
    names = [normalise_band(b) for b in bands]
    data = hls_bandpass_array(
        oli.values, [str(b) for b in oli["band"].values], names, satellite, axis
    )
    out = xr.DataArray(
        data, dims=oli.dims, coords={k: v for k, v in oli.coords.items() if "band" not in v.dims}
    )
    out = out.assign_coords(band=names)
    out.attrs = {
        **oli.attrs,
        "translation": f"HLS band-pass adjustment OLI→{satellite} (Claverie et al. 2018)",
    }
    return out


def hls_msi_to_oli_array(
    msi: np.ndarray, msi_bands: Sequence[str], satellite: str = "S2A", axis: int = 0
) -> tuple[np.ndarray, list[str]]:
    """Apply the published HLS regression MSI → OLI; returns the array and its OLI band names."""
    names = [normalise_band(b) for b in msi_bands]
    coef = hls_coefficients(satellite, "msi_to_oli", names)
    slopes = np.array([coef[b][0] for b in names], dtype=np.float32)
    intercepts = np.array([coef[b][1] for b in names], dtype=np.float32)
    return _linear(np.asarray(msi, np.float32), slopes, intercepts, axis), [
        OLI_FOR_MSI[b] for b in names
    ]


__all__ = [
    "HLS_APPROXIMATIONS",
    "HLS_MSI_TO_OLI",
    "OLI_BANDS",
    "OLI_FOR_MSI",
    "hls_bandpass",
    "hls_bandpass_array",
    "hls_coefficients",
    "hls_msi_to_oli_array",
]
