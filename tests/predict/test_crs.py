"""Tests for lulcbook.predict.crs: geographic CRSs are refused, projected ones give metres."""

from __future__ import annotations

from pathlib import Path

import pytest
from predict_helpers import SpectralCentroid, scene_dn, write_scene

from lulcbook import predict


def test_geographic_crs_is_refused(model: SpectralCentroid, tmp_path: Path) -> None:
    _, dn = scene_dn(64, 64)
    src = write_scene(tmp_path / "wgs84.tif", dn, crs="EPSG:4326", res=0.0001)
    with pytest.raises(
        ValueError, match=r"wgs84\.tif is in a geographic CRS \(EPSG:4326.*gdalwarp"
    ):
        predict.predict_scene(src, model, tmp_path / "m.tif", progress=False)
    assert list(tmp_path.iterdir()) == [src]


def test_projected_crs_in_feet_reports_metric_area(model: SpectralCentroid, tmp_path: Path) -> None:
    _, dn = scene_dn(64, 64)
    src = write_scene(
        tmp_path / "ft.tif", dn, crs="EPSG:2263", res=32.8083333
    )  # NY Long Island, US ft
    res = predict.predict_scene(src, model, tmp_path / "m.tif", progress=False)
    assert res.resolution == pytest.approx(10.0, rel=1e-4)
    assert res.area_km2 == pytest.approx(64 * 64 * 100 / 1e6, rel=1e-3)
