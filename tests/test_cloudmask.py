"""Tests of cloud and shadow masks on the real Brandenburg L1C scene and small arrays."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from lulcbook import cloudmask
from lulcbook.sources import sample

BANDS = sorted(set(cloudmask.S2CLOUDLESS_BANDS) | {"B03"})


@pytest.fixture(scope="module")
def scene(sample_dir) -> xr.DataArray:
    # the top-centre of the scene holds a large cloud over fields (see 07-maps)
    return sample.read_brandenburg(sample_dir, bands=BANDS).isel(
        y=slice(0, 300), x=slice(700, 1100)
    )


def test_s2cloudless_finds_the_real_cloud(scene) -> None:
    m = cloudmask.l1c_mask(scene.values, BANDS, factor=6, threshold=0.6)
    shares = m.shares()
    assert 0.2 < shares["cloud"] < 0.95
    # the cloud is brighter in blue than the clear part of the crop
    blue = scene.sel(band="B02").values
    assert m.probability is not None and np.nanmax(m.probability) <= 1.0
    core = m.probability > 0.6
    assert core.any() and m.cloud[core].mean() > 0.9  # smoothing may drop isolated blocks
    assert np.nanmedian(blue[core]) > np.nanmedian(blue[~m.masked]) + 0.03


def test_clear_dark_surface_is_not_cloud() -> None:
    # clear-sky vegetation (TOA): dark visible, bright NIR, almost no cirrus signal in B10
    toa = {"B01": 0.12, "B02": 0.09, "B03": 0.08, "B04": 0.05, "B05": 0.09, "B08": 0.3,
           "B8A": 0.32, "B09": 0.1, "B10": 0.002, "B11": 0.18, "B12": 0.09}  # fmt: skip
    img = np.stack([np.full((36, 36), toa[b], dtype="float32") for b in BANDS])
    prob = cloudmask.s2cloudless_probability(img, BANDS, factor=6)
    assert prob.shape == (36, 36)
    assert not cloudmask.cloud_from_probability(prob, 0.4, 4, 0).any()


def test_missing_band_is_named() -> None:
    with pytest.raises(ValueError, match="B10"):
        cloudmask.s2cloudless_probability(np.zeros((2, 6, 6)), ["B02", "B04"])


def test_shadow_needs_a_cloud_and_excludes_water() -> None:
    bands = ["B03", "B08", "B11"]
    img = np.zeros((3, 20, 20), dtype="float32")
    img[:] = np.array([0.08, 0.3, 0.2])[:, None, None]  # bright land
    img[:, 10:, :5] = np.array([0.03, 0.05, 0.04])[:, None, None]  # dark land
    img[:, 10:, 15:] = np.array([0.06, 0.02, 0.01])[:, None, None]  # water (MNDWI > 0)
    none = np.zeros((20, 20), dtype=bool)
    assert not cloudmask.shadow_mask(img, bands, none).any()
    cloud = none.copy()
    cloud[:3, :3] = True
    sh = cloudmask.shadow_mask(img, bands, cloud, search_px=30)
    assert sh[10:, :5].all() and not sh[10:, 15:].any() and not sh[:10].any()


def test_scl_mask_and_apply(scene) -> None:
    scl = np.array([[4, 8], [3, 5]])
    np.testing.assert_array_equal(cloudmask.scl_mask(scl), [[False, True], [True, False]])
    mask = np.zeros(scene.shape[1:], dtype=bool)
    mask[:10] = True
    out = cloudmask.apply_mask(scene, mask)
    assert np.isnan(out.values[:, :10]).all() and np.isfinite(out.values[:, 10:]).all()
    assert out.rio.crs == scene.rio.crs
    with pytest.raises(ValueError, match="does not match"):
        cloudmask.apply_mask(scene, mask[:5])


def test_fmask_bits() -> None:
    fmask = np.array([64, 0, 128, 192, 2, 66, 1, 4, 8, 16, 32 + 64, -1])
    assert cloudmask.fmask_cloud(fmask).tolist() == [False] * 4 + [True, True] + [False] * 6
    clear = cloudmask.fmask_clear(fmask)
    assert clear.tolist() == [True, True, False, False] + [False] * 6 + [True, False]
    assert cloudmask.fmask_clear(fmask, max_aerosol=3)[:4].all()  # moderate and high aerosol
    with pytest.raises(ValueError, match="aerosol level 0-3"):
        cloudmask.fmask_clear(fmask, max_aerosol=4)


def test_fmask_values_name_the_bits() -> None:
    """Bits 0-4 in order; the values with a bit set, as a reader's mask values."""
    assert [cloudmask.FMASK_CIRRUS, cloudmask.FMASK_CLOUD, cloudmask.FMASK_ADJACENT,
            cloudmask.FMASK_SHADOW, cloudmask.FMASK_SNOW] == [1, 2, 4, 8, 16]  # fmt: skip
    assert cloudmask.FMASK_CLOUD_BITS == 0b1111
    shadow = cloudmask.fmask_values(cloudmask.FMASK_SHADOW)
    assert len(shadow) == 128 and 8 in shadow and 8 + 64 in shadow and 7 not in shadow
    assert cloudmask.fmask_values(0xFF) == tuple(range(1, 256))
    for bad in (0, 256):
        with pytest.raises(ValueError, match="8-bit Fmask mask"):
            cloudmask.fmask_values(bad)


def test_uniform_and_interpolated_share() -> None:
    codes = np.full((6, 8), 64)
    codes[:, 4:] = 128  # two blocks, as nearest neighbour leaves them
    assert cloudmask.interpolated_share(codes) == 0.0
    uni = cloudmask.uniform(codes)
    assert uni[:, :3].all() and uni[:, 5:].all() and not uni[:, 3:5].any()
    smooth = codes.copy()
    smooth[:, 4] = 96  # a bilinear edge: a value of neither block (and of other bits)
    assert cloudmask.interpolated_share(smooth) == pytest.approx(6 / 48)
    assert cloudmask.uniform(codes, size=1).all()
    with pytest.raises(ValueError, match="odd number"):
        cloudmask.uniform(codes, size=2)
    with pytest.raises(ValueError, match=r"\(y, x\) array"):
        cloudmask.uniform(codes[None])
