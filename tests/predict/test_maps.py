"""Tests for lulcbook.predict.maps: agreement with reference polygons and transitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from predict_helpers import SpectralCentroid, truth_index

from lulcbook import legend, predict


def test_agreement_with_polygons_and_transitions(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    src, truth = scene
    res = predict.predict_scene(src, model, tmp_path / "m.tif", blocksize=128, progress=False)
    cells = [(2, 3), (5, 8), (8, 12)]  # 16-px blocks of the simulated layout
    geoms = [
        box(
            330000 + 160 * c + 20,
            5822040 - 160 * (r + 1) + 20,
            330000 + 160 * (c + 1) - 20,
            5822040 - 160 * r - 20,
        )
        for r, c in cells
    ]
    labels = [int(truth_index(model, truth)[16 * r + 8, 16 * c + 8]) for r, c in cells]
    labels[2] = (labels[2] + 1) % legend.N_CLASSES  # one deliberately wrong reference polygon
    gdf = gpd.GeoDataFrame({"label_index": labels}, geometry=geoms, crs="EPSG:32633")
    agree = predict.agreement_with_polygons(res.path, gdf.to_crs("EPSG:4326"))
    assert agree["n_pixels"] == 3 * 12 * 12 and agree["nodata_pixels"] == 0
    assert agree["oa"] == pytest.approx(2 / 3, abs=0.01)
    assert agree["n_polygons"] == 3 and agree["polygon_oa"] == pytest.approx(2 / 3)
    assert agree["per_class"][legend.KEYS[labels[2]]]["recall"] < 0.5 or labels[2] in labels[:2]
    with pytest.raises(ValueError, match="lack column 'cid'"):
        predict.agreement_with_polygons(res.path, gdf, "cid")
    cls = predict.read_map(res.path)[0]
    after = cls.copy()
    after[100:, :] = np.where(after[100:, :] == legend.NODATA, legend.NODATA, 4)
    m = predict.transition_matrix(cls, after)
    assert m.sum() == (cls != legend.NODATA).sum()
    assert np.trace(m) == (cls[:100] != legend.NODATA).sum() + (cls[100:] == 4).sum()
    with pytest.raises(ValueError, match="align them first"):
        predict.transition_matrix(cls, cls[:10])
