"""Cloud and cloud-shadow masks for Sentinel-2 scenes.

* L2A: the scene classification layer (SCL) of the product, see :func:`lulcbook.cube.mask_scl`
  and :data:`lulcbook.cube.SCL_INVALID` (no data, saturated, cloud shadow, cloud medium/high
  probability, thin cirrus); :func:`scl_mask` returns the same mask as a boolean array.
* L1C: the s2cloudless detector (Zupanc 2017, Sentinel Hub; a LightGBM pixel classifier
  whose model ships in the ``s2cloudless`` package) on the ten bands it was trained on
  (:data:`S2CLOUDLESS_BANDS`, L1C top-of-atmosphere reflectance). The detector is run on a
  coarser grid (block means of ``factor`` × ``factor`` pixels; 60 m for 10 m input, the
  resolution its authors recommend for speed) with the averaging and dilation they give for
  that resolution, and the mask is brought back to the input grid by nearest neighbour.
* Shadows on L1C: s2cloudless does not detect them. :func:`shadow_mask` flags *dark* pixels
  (NIR below ``nir_max``) that lie within ``search_px`` pixels of a cloud and are not water
  (MNDWI ≤ 0); a simple, documented heuristic without sun geometry, which the sample
  granule does not carry.

* HLS v2.0: the Fmask band is a set of bits (HLS user guide v2.0: 0 cirrus, 1 cloud, 2 adjacent
  to cloud or shadow, 3 cloud shadow, 4 snow or ice, 5 water, 6–7 aerosol level: climatology,
  low, moderate, high); :func:`fmask_cloud` and :func:`fmask_clear` read it. A mask warped with
  interpolation has values that mean other bits along every edge (:func:`interpolated_share`
  measures it); :func:`uniform` keeps the pixels whose neighbourhood holds one value.

Masked pixels become NaN (no data) with :func:`apply_mask`, so maps carry them as nodata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import ndimage

from lulcbook.bands import S2_BANDS
from lulcbook.cube import SCL_INVALID

S2CLOUDLESS_BANDS: tuple[str, ...] = tuple(b for b in S2_BANDS if b not in ("B03", "B06", "B07"))
"""Band order the s2cloudless classifier expects (L1C TOA reflectance)."""


@dataclass(frozen=True)
class CloudMask:
    """Boolean masks ``(y, x)`` of one scene and the share of pixels they cover."""

    cloud: np.ndarray
    shadow: np.ndarray
    probability: np.ndarray | None = None

    @property
    def masked(self) -> np.ndarray:
        """Cloud or shadow."""
        result: np.ndarray = self.cloud | self.shadow
        return result

    def shares(self) -> dict[str, float]:
        """Share of pixels that are cloud, shadow, and either."""
        n = max(self.cloud.size, 1)
        return {
            "cloud": float(self.cloud.sum() / n),
            "shadow": float((self.shadow & ~self.cloud).sum() / n),
            "masked": float(self.masked.sum() / n),
        }


def scl_mask(scl: np.ndarray, invalid: Sequence[int] = SCL_INVALID) -> np.ndarray:
    """Pixels whose Sentinel-2 L2A scene class is in ``invalid`` (cloud, shadow, cirrus, …)."""
    return np.isin(np.asarray(scl), list(invalid))


FMASK_CIRRUS, FMASK_CLOUD, FMASK_ADJACENT, FMASK_SHADOW, FMASK_SNOW = (1 << b for b in range(5))
"""HLS v2.0 Fmask bits 0–4: cirrus, cloud, adjacent to cloud or shadow, cloud shadow, snow/ice
(bit 5 is water, bits 6–7 the aerosol level)."""

FMASK_CLOUD_BITS: int = FMASK_CIRRUS | FMASK_CLOUD | FMASK_ADJACENT | FMASK_SHADOW
"""HLS Fmask bits of cirrus, cloud, adjacent to cloud or shadow, and cloud shadow."""


def fmask_values(bits: int) -> tuple[int, ...]:
    """The 8-bit Fmask values with any of ``bits`` set (``mask_values`` of a reader).

    Raises:
        ValueError: ``bits`` outside 1–255.
    """
    if not 0 < bits < 256:
        raise ValueError(f"bits must be a nonzero 8-bit Fmask mask; got {bits}")
    return tuple(v for v in range(256) if v & bits)


def fmask_cloud(fmask: np.ndarray) -> np.ndarray:
    """Pixels whose HLS Fmask has the cloud bit (bit 1) set; nodata (< 0) is not cloud."""
    fmask = np.asarray(fmask).astype(np.int32)
    result: np.ndarray = (fmask >= 0) & ((fmask & FMASK_CLOUD) > 0)
    return result


def fmask_clear(fmask: np.ndarray, max_aerosol: int = 1) -> np.ndarray:
    """Pixels whose HLS Fmask calls them clear: no cirrus, cloud, adjacency, shadow or snow bit.

    Args:
        fmask: Fmask values; nodata (< 0) is not clear.
        max_aerosol: highest aerosol level (bits 6–7: 0 climatology, 1 low, 2 moderate, 3 high)
            still clear; the default leaves out moderate and high aerosol, which is haze.

    Raises:
        ValueError: ``max_aerosol`` outside 0–3.
    """
    if max_aerosol not in (0, 1, 2, 3):
        raise ValueError(f"max_aerosol is an Fmask aerosol level 0-3; got {max_aerosol}")
    fmask = np.asarray(fmask).astype(np.int32)
    no_bits = (fmask & (FMASK_CLOUD_BITS | FMASK_SNOW)) == 0
    result: np.ndarray = (fmask >= 0) & no_bits & (((fmask >> 6) & 0b11) <= max_aerosol)
    return result


def uniform(values: np.ndarray, size: int = 3) -> np.ndarray:
    """Pixels whose ``size`` × ``size`` neighbourhood holds one value (edges repeat the border).

    A mask of codes or bits warped with interpolation (rather than nearest neighbour) gets
    values that mean something else between two classes; inside a uniform neighbourhood
    interpolation leaves the value as it was, so those labels can be trusted.

    Raises:
        ValueError: a ``size`` that is not an odd number ≥ 1, or not a 2-D array.
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"uniform needs a (y, x) array; got shape {values.shape}")
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be an odd number >= 1; got {size}")
    high = ndimage.maximum_filter(values, size, mode="nearest")
    low = ndimage.minimum_filter(values, size, mode="nearest")
    result: np.ndarray = (high == values) & (low == values)
    return result


def interpolated_share(values: np.ndarray) -> float:
    """Share of pixels whose value lies strictly between those of two opposite neighbours.

    Left and right, or above and below. Nearest-neighbour resampling of a mask keeps its values
    in blocks, so such pixels need a region one pixel wide and are rare; bilinear or cubic
    resampling makes them common along every edge between two codes.
    """
    values = np.asarray(values)
    pad = np.pad(values, 1, mode="edge")
    between = np.zeros(values.shape, dtype=bool)
    for a, b in ((pad[1:-1, :-2], pad[1:-1, 2:]), (pad[:-2, 1:-1], pad[2:, 1:-1])):
        between |= (np.minimum(a, b) < values) & (values < np.maximum(a, b))
    return float(between.mean())


def _block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of ``factor`` × ``factor`` blocks of a ``(band, y, x)`` array (edges padded)."""
    b, h, w = image.shape
    ph, pw = -h % factor, -w % factor
    padded = np.pad(image, ((0, 0), (0, ph), (0, pw)), mode="edge")
    shaped = padded.reshape(b, (h + ph) // factor, factor, (w + pw) // factor, factor)
    with np.errstate(invalid="ignore"):
        result: np.ndarray = np.nanmean(shaped, axis=(2, 4))
        return result


def _check_bands(bands: Sequence[str], needed: Sequence[str], what: str) -> list[int]:
    names = [str(b).upper() for b in bands]
    missing = [b for b in needed if b not in names]
    if missing:
        raise ValueError(f"{what} needs bands {missing}, which the scene lacks (has {names})")
    return [names.index(b) for b in needed]


def s2cloudless_probability(image: np.ndarray, bands: Sequence[str], factor: int = 6) -> np.ndarray:
    """Cloud probability of every pixel from s2cloudless, computed on ``factor``-pixel blocks.

    Args:
        image: ``(band, y, x)`` L1C top-of-atmosphere reflectance (NaN = no data).
        bands: the band names of ``image``; must include :data:`S2CLOUDLESS_BANDS`.
        factor: block size of the coarse grid (6 → 60 m for 10 m pixels; 1 = full resolution).

    Returns:
        ``(y, x)`` float32 probability in [0, 1] (NaN where the block had no data).

    Raises:
        ValueError: a missing band, a non-3-D image or a bad factor.
    """
    from s2cloudless.cloud_detector import S2PixelCloudDetector

    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3:
        raise ValueError(f"image must be (band, y, x); got shape {image.shape}")
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    idx = _check_bands(bands, S2CLOUDLESS_BANDS, "s2cloudless")
    coarse = _block_mean(image[idx], factor) if factor > 1 else image[idx]
    nodata = ~np.isfinite(coarse).all(axis=0)
    x = np.nan_to_num(np.moveaxis(coarse, 0, -1), nan=0.0)[None]
    detector = S2PixelCloudDetector(all_bands=False)
    prob = detector.get_cloud_probability_maps(x)[0].astype(np.float32)
    prob[nodata] = np.nan
    h, w = image.shape[1:]
    return np.repeat(np.repeat(prob, factor, axis=0), factor, axis=1)[:h, :w]


def _disk(radius: int) -> np.ndarray:
    r = max(int(radius), 0)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    result: np.ndarray = (xx**2 + yy**2) <= r * r
    return result


def cloud_from_probability(
    prob: np.ndarray, threshold: float = 0.4, average_px: int = 24, dilation_px: int = 12
) -> np.ndarray:
    """Threshold the (smoothed) cloud probability and dilate the result.

    The defaults correspond to the s2cloudless settings for 60 m (average over 4, dilate by
    2 pixels), expressed in 10 m pixels.
    """
    p = np.nan_to_num(np.asarray(prob, dtype=np.float32), nan=0.0)
    if average_px > 1:
        p = ndimage.convolve(
            p, _disk(average_px // 2) / _disk(average_px // 2).sum(), mode="nearest"
        )
    mask = p > threshold
    if dilation_px > 0:
        mask = ndimage.binary_dilation(mask, structure=_disk(dilation_px))
    return mask


def shadow_mask(
    image: np.ndarray,
    bands: Sequence[str],
    cloud: np.ndarray,
    search_px: int = 100,
    nir_max: float = 0.12,
) -> np.ndarray:
    """Dark, non-water pixels near clouds (a potential-shadow heuristic for L1C).

    Args:
        image: ``(band, y, x)`` reflectance with at least B03, B08 and B11.
        bands: band names of ``image``.
        cloud: ``(y, x)`` cloud mask.
        search_px: how far from a cloud a shadow may fall (pixels).
        nir_max: NIR (B08) reflectance below which a pixel counts as dark.
    """
    i3, i8, i11 = _check_bands(bands, ("B03", "B08", "B11"), "shadow_mask")
    green, nir, swir = image[i3], image[i8], image[i11]
    if not cloud.any():
        return np.zeros(cloud.shape, dtype=bool)
    near = ndimage.distance_transform_edt(~cloud) <= search_px
    with np.errstate(invalid="ignore", divide="ignore"):
        mndwi = (green - swir) / (green + swir)
        dark = (nir < nir_max) & ~(mndwi > 0)
    result: np.ndarray = near & dark & ~cloud
    return result


def l1c_mask(
    image: np.ndarray,
    bands: Sequence[str],
    factor: int = 6,
    threshold: float = 0.4,
    average_px: int = 24,
    dilation_px: int = 12,
    shadow_search_px: int = 100,
    shadow_nir_max: float = 0.12,
) -> CloudMask:
    """Cloud (s2cloudless) and shadow (:func:`shadow_mask`) masks of an L1C scene."""
    prob = s2cloudless_probability(image, bands, factor)
    cloud = cloud_from_probability(prob, threshold, average_px, dilation_px)
    shadow = shadow_mask(image, bands, cloud, shadow_search_px, shadow_nir_max)
    return CloudMask(cloud=cloud, shadow=shadow, probability=prob)


def apply_mask(da: xr.DataArray, mask: np.ndarray) -> xr.DataArray:
    """Set masked pixels of a ``(band, y, x)`` DataArray to NaN (keeps CRS and attrs)."""
    if mask.shape != da.shape[-2:]:
        raise ValueError(f"mask shape {mask.shape} does not match the scene {da.shape[-2:]}")
    out = da.where(~xr.DataArray(mask, dims=da.dims[-2:], coords={d: da[d] for d in da.dims[-2:]}))
    out.attrs = dict(da.attrs)
    if da.rio.crs is not None:
        out = out.rio.write_crs(da.rio.crs)
    return out


__all__ = [
    "S2CLOUDLESS_BANDS",
    "CloudMask",
    "apply_mask",
    "FMASK_ADJACENT",
    "FMASK_CIRRUS",
    "FMASK_CLOUD",
    "FMASK_CLOUD_BITS",
    "FMASK_SHADOW",
    "FMASK_SNOW",
    "cloud_from_probability",
    "fmask_clear",
    "fmask_cloud",
    "fmask_values",
    "interpolated_share",
    "l1c_mask",
    "s2cloudless_probability",
    "scl_mask",
    "shadow_mask",
    "uniform",
]
