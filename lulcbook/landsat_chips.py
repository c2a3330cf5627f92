"""Real Landsat-8 OLI chips: TOA reflectance, valid-area crop and translation to 10 m.

:func:`dn_to_toa` converts level-1 digital numbers to top-of-atmosphere reflectance,
:func:`crop_to_valid` cuts a chip to its valid area, and :func:`translate_chip` translates a
30 m chip to 10 m Sentinel-2-like bands (bicubic + HLS, optionally refined by trained
:class:`~lulcbook.models.translate.TranslateUNet` models) on the chip's 10 m grid
(:func:`to_10m_grid`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from lulcbook.bands import DEFAULT_BANDS, normalise_band
from lulcbook.harmonise import OLI_FOR_MSI
from lulcbook.landsat_sim import bicubic_linear
from lulcbook.models.translate import TranslateUNet

OLI_REFLECTANCE_MULT: float = 2.0e-5
OLI_REFLECTANCE_ADD: float = -0.1
"""USGS Landsat 8 level-1 rescaling of OLI digital numbers to TOA reflectance (before the sun
angle correction), ``REFLECTANCE_MULT_BAND_n`` / ``REFLECTANCE_ADD_BAND_n`` of the MTL file;
the same for every OLI band and scene in Collection 1 and 2 (Landsat 8 Data Users Handbook)."""


def dn_to_toa(dn: xr.DataArray, sun_elevation_deg: float) -> xr.DataArray:
    """Convert OLI level-1 digital numbers to TOA reflectance, ``(M·DN + A) / sin(θ_SE)``.

    ``sun_elevation_deg`` comes from the scene's MTL file; where it is unknown, any value
    passed here is an assumption and the result is approximate (say so).
    """
    if not 0 < sun_elevation_deg <= 90:
        raise ValueError(f"sun_elevation_deg must be in (0, 90]; got {sun_elevation_deg}")
    out = (dn * OLI_REFLECTANCE_MULT + OLI_REFLECTANCE_ADD) / math.sin(
        math.radians(sun_elevation_deg)
    )
    out = out.astype("float32")
    out.attrs = {**dn.attrs, "units": "TOA reflectance", "sun_elevation_deg": sun_elevation_deg}
    return out


def to_10m_grid(da: xr.DataArray, data: np.ndarray, factor: int = 3) -> xr.DataArray:
    """Wrap ``(band, factor·y, factor·x)`` data on the ``factor``-times finer grid of ``da``."""

    def fine(c: np.ndarray) -> np.ndarray:
        step = (c[1] - c[0]) if c.size > 1 else 1.0
        sub = (np.arange(factor) - (factor - 1) / 2) * step / factor
        return (c[:, None] + sub[None, :]).ravel()

    out = xr.DataArray(
        data.astype(np.float32),
        dims=("band", "y", "x"),
        coords={"y": fine(da["y"].values), "x": fine(da["x"].values)},
    )
    if da.rio.crs is not None:
        out = out.rio.write_crs(da.rio.crs)
    return out


def translate_chip(
    oli: xr.DataArray,
    unet: TranslateUNet | Sequence[TranslateUNet] | None,
    bands: Sequence[str] = DEFAULT_BANDS,
    satellite: str = "S2A",
    factor: int = 3,
) -> xr.DataArray:
    """Translate a real 30 m OLI chip to 10 m Sentinel-2-like bands.

    Bicubic upsampling + HLS OLI → MSI adjustment; then, if given, the U-Net refinement.

    Args:
        oli: ``(band, y, x)`` reflectance with OLI common band names and a CRS.
        unet: a trained :class:`TranslateUNet`, several (their outputs are averaged) or
            ``None`` for the baseline only.
        bands: the Sentinel-2 bands to produce.
        satellite: Sentinel-2 satellite of the HLS coefficients.
        factor: resolution ratio (30 m / 10 m).

    Returns:
        ``(band, 3y, 3x)`` reflectance on the 10 m grid with MSI band names and the chip's CRS.
    """
    names = [normalise_band(b) for b in bands]
    need = [OLI_FOR_MSI[b] for b in names]
    have = [str(b) for b in oli["band"].values]
    missing = [b for b in need if b not in have]
    if missing:
        raise ValueError(f"Chip lacks OLI band(s) {missing} for {names}; it has {have}")
    lr = oli.sel(band=need).values
    shape = (lr.shape[-2] * factor, lr.shape[-1] * factor)
    base = bicubic_linear(lr, need, shape, names, satellite, factor)
    models = [] if unet is None else [unet] if isinstance(unet, TranslateUNet) else list(unet)
    out = np.mean([m.predict(base) for m in models], axis=0) if models else base
    da = to_10m_grid(oli, out, factor).assign_coords(band=names)
    da.attrs = {
        **oli.attrs,
        "translation": "bicubic + HLS" + (f" + U-Net (x{len(models)})" if models else ""),
    }
    return da


def crop_to_valid(da: xr.DataArray, max_size: int | None = None) -> xr.DataArray:
    """Crop ``(band, y, x)`` to the bounding box of pixels valid in every band.

    With ``max_size`` the box is further cut to the window of at most that many pixels per
    side that holds the most valid pixels.

    Raises:
        ValueError: if no pixel is valid.
    """
    ok = np.isfinite(da.values).all(axis=0)
    if not ok.any():
        raise ValueError(f"No valid pixel in {da.attrs.get('source', da.name)!r}")
    rows, cols = np.flatnonzero(ok.any(axis=1)), np.flatnonzero(ok.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if max_size is not None:
        h, w = min(max_size, r1 - r0), min(max_size, c1 - c0)
        box = ok[r0:r1, c0:c1].astype(np.int64)
        integral = np.pad(box.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        counts = (
            integral[h:, w:] - integral[:-h, w:] - integral[h:, :-w] + integral[:-h, :-w]
        )  # valid pixels of every h × w window, by its upper-left corner
        dr, dc = np.unravel_index(np.argmax(counts), counts.shape)
        r0, c0 = r0 + dr, c0 + dc
        r1, c1 = r0 + h, c0 + w
    return da.isel(y=slice(int(r0), int(r1)), x=slice(int(c0), int(c1)))


__all__ = [
    "OLI_REFLECTANCE_ADD",
    "OLI_REFLECTANCE_MULT",
    "crop_to_valid",
    "dn_to_toa",
    "to_10m_grid",
    "translate_chip",
]
