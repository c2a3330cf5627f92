"""Tests of lulcbook.clear_series on the sample's real Exeter series."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook import clear_series, haze, series_predict
from lulcbook.experiments import temporal as TS


@pytest.fixture(scope="module")
def hls(sample_dir):
    """The HLS S30 2021 Exeter files (Fmask) and the shipped four-band model."""
    files, kw = TS.exeter_series(sample_dir / "s2-hls-exeter")[TS.SELECT_SERIES]
    model, _, res = TS.shipped_map_model("lucas-s2-segments-10m")
    return files, kw, model, res


def test_clear_dates_follow_the_series_own_mask(hls) -> None:
    """Masked shares are the own mask's; clear dates and pairs follow the threshold."""
    files, kw, model, res = hls
    cs = clear_series.read_clear(files, kw, model, res, 0.3)
    s = series_predict.read_series(files, list(model.bands), **kw)
    assert cs.series.dates == s.dates == ["2021-06-08", "2021-06-13", "2021-06-23", "2021-07-18"]
    expected = [float(np.isnan(d).any(axis=0).mean()) for d in s.data]
    assert list(cs.masked.values()) == pytest.approx(expected)
    assert cs.clear == [i for i, m in enumerate(expected) if m <= 0.3] == [1, 3]
    assert cs.pairs == [(1, 3)] and cs.pair_label(1, 3) == "2021-06-13→2021-07-18"
    assert cs.flags is None and cs.flagged_share() == {} and cs.hazed() is cs.series
    # 30 m pixels: the 10 m model's segments keep their area (a ninth of the pixels)
    assert cs.pixel_m == pytest.approx(30.0)
    assert cs.model.segment_size == pytest.approx(model.segment_size / 9)
    everything = clear_series.read_clear(files, kw, model, res, 1.0)
    assert everything.clear == [0, 1, 2, 3] and len(everything.pairs) == 3
    assert clear_series.read_clear(files, kw, model, res, 0.0).pairs == []


def test_haze_flags_come_from_the_whole_grid_before_the_crop(hls) -> None:
    """A crop keeps the whole grid's flags (dilation at the crop edge) and its own masked shares."""
    files, kw, model, res = hls
    test = haze.HazeTest(blue_rise=0.01, red_ratio=1.0)
    full = clear_series.read_clear(files, kw, model, res, 0.3, haze_test=test)
    crop = clear_series.read_clear(files, kw, model, res, 0.3, crop=40, haze_test=test)
    assert full.flags is not None and crop.flags is not None
    assert full.flags.any()
    np.testing.assert_array_equal(crop.flags, full.flags[..., :40, :40])
    on_crop = test.flags(crop.series.data, crop.series.bands, crop.pixel_m)
    assert (on_crop != crop.flags).any()  # flags beyond the edge widen into the crop
    assert crop.series.data.shape[2:] == (40, 40)
    own = [float(np.isnan(d).any(axis=0).mean()) for d in crop.series.data]
    assert list(crop.masked.values()) == pytest.approx(own)
    hazed = crop.hazed()
    assert np.isnan(hazed.data).sum() >= np.isnan(crop.series.data).sum()
    assert np.isnan(hazed.data.transpose(1, 0, 2, 3)[:, crop.flags]).all()
    assert set(full.flagged_share()) == set(full.series.dates)


def test_refuses_a_threshold_outside_zero_one(hls) -> None:
    files, kw, model, res = hls
    with pytest.raises(ValueError, match="clear_max_masked must be in"):
        clear_series.read_clear(files, kw, model, res, 1.5)


def test_refuses_a_series_in_degrees_naming_its_file(hls, tmp_path) -> None:
    """Superpixel sizes and the haze test's widening are metric: a geographic series is named."""
    import rasterio
    from rasterio.transform import from_origin

    _, _, model, res = hls
    files = []
    for day in ("2024-06-02", "2024-08-01"):
        path = tmp_path / f"lonlat_{day}.tif"
        profile = {"driver": "GTiff", "width": 8, "height": 8, "count": 4, "dtype": "float32",
                   "crs": "EPSG:4326", "transform": from_origin(-3.5, 50.7, 1e-4, 1e-4)}  # fmt: skip
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.full((4, 8, 8), 0.05, dtype=np.float32))
        files.append(path)
    kw = {"band_names": list(model.bands), "dates": ["2024-06-02", "2024-08-01"]}
    with pytest.raises(ValueError, match=r"lonlat_2024-06-02\.tif is in a geographic CRS"):
        clear_series.read_clear(files, kw, model, res, 0.3)
