"""Tests for the spechomo reference-cube reader (real files of the offline sample)."""

from __future__ import annotations

import numpy as np
import pytest

from lulcbook.sources import spectra


def test_read_spectra_landsat8(sample_dir):
    da = spectra.read_spectra(sample_dir, "landsat8")
    assert da.dims == ("signature", "image", "band")
    assert da.shape == (1000, 9, 7)
    assert list(da["band"].values) == list(spectra.SENSORS["landsat8"][1])
    assert da["wavelength"].values[0] == pytest.approx(442.98, abs=0.01)
    assert "Bavaria_farmland_LMU_Hyspex_preprocessed" in da["image"].values
    valid = da.values[np.isfinite(da.values)]
    assert 0.0 <= valid.min() and valid.max() < 1.5  # scaled from ×10000
    # nodata (−9999) became NaN for whole spectra only
    nan = np.isnan(da.values)
    assert nan.any()
    assert (nan.any(axis=2) == nan.all(axis=2)).all()


def test_read_spectra_unknown_sensor(sample_dir):
    with pytest.raises(ValueError, match="Unknown sensor 'modis'"):
        spectra.read_spectra(sample_dir, "modis")


def test_read_spectra_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="refcube__Landsat-8"):
        spectra.read_spectra(tmp_path, "landsat8")


def test_read_paired_spectra(sample_dir):
    ds = spectra.read_paired_spectra(sample_dir)
    n = ds.sizes["spectrum"]
    assert ds["source"].shape == (n, 7) and ds["target"].shape == (n, 11)
    assert np.isfinite(ds["source"].values).all() and np.isfinite(ds["target"].values).all()
    assert len(set(ds["scene"].values)) == 9
    assert 8000 < n <= 9000
    # rows are the same surfaces: OLI red and MSI B04 are nearly equal
    red = ds["source"].sel(source_band="red").values
    b04 = ds["target"].sel(target_band="B04").values
    assert np.corrcoef(red, b04)[0, 1] > 0.99
