"""Tests of the raster source's settings."""

from __future__ import annotations

import pytest

from lulcbook.predict import BandRef, RasterSource


def test_resampling_is_bilinear_or_nearest() -> None:
    kw = {"bands": (BandRef("B02", "b02.tif", 1),), "crs": "EPSG:32633",
          "transform": (10.0, 0.0, 0.0, 0.0, -10.0, 0.0), "width": 4, "height": 4}  # fmt: skip
    assert RasterSource(**kw).resampling == "bilinear"
    assert RasterSource(**kw, resampling="nearest").resampling == "nearest"
    with pytest.raises(ValueError, match="resampling must be 'bilinear' or 'nearest'; got 'cubic'"):
        RasterSource(**kw, resampling="cubic")
