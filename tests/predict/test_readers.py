"""Tests for lulcbook.predict.readers: raster files, folders of band files, DataArrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401
import xarray as xr
from predict_helpers import (
    BANDS,
    SpectralCentroid,
    leftovers,
    scene_dn,
    simulate_scene,
    truth_index,
    write_scene,
)
from rasterio.transform import from_origin

from lulcbook import legend, predict


def test_folder_of_band_files_resamples_20m_bands(model: SpectralCentroid, tmp_path: Path) -> None:
    truth, refl = simulate_scene(96, 128, noise=0.005, seed=3)
    dn = np.rint(refl * 10000).astype("uint16")
    granule = tmp_path / "IMG_DATA"
    granule.mkdir()
    for i, b in enumerate(BANDS[:3]):
        write_scene(granule / f"T33UUU_20170216T102101_{b}.tif", dn[i : i + 1], None, nodata=None)
    # B08 at 20 m (block means), as in Sentinel-2 granules; and a distractor without band name
    b08 = dn[3].reshape(48, 2, 64, 2).mean((1, 3)).astype("uint16")[None]
    write_scene(granule / "T33UUU_20170216T102101_B08.tif", b08, None, nodata=None, res=20.0)
    write_scene(granule / "T33UUU_20170216T102101_TCI.tif", dn[:1], None, nodata=None)
    files = predict.band_files(granule)
    assert sorted(files) == ["B02", "B03", "B04", "B08"]
    out = tmp_path / "maps"
    out.mkdir()
    res = predict.predict_scene(
        granule, model, out / "m.tif", tile_size=64, overlap=8, blocksize=128, progress=False
    )
    assert (res.width, res.height, res.resolution) == (128, 96, 10.0)
    cls = predict.read_map(res.path)[0]
    assert (cls == truth_index(model, truth)).mean() > 0.9
    item = json.loads(res.stac_path.read_text())
    assert item["properties"]["datetime"].startswith("2017-02-16T10:21:01")
    with pytest.raises(ValueError, match=r"\['B11'\] missing in .*IMG_DATA"):
        predict.source_from_folder(granule, ["B02", "B11"])


def test_band_names_mask_band_and_array_input(model: SpectralCentroid, tmp_path: Path) -> None:
    truth, dn = scene_dn(64, 80, seed=5)
    scl = np.full((1, 64, 80), 4, "uint16")
    scl[0, 40:, 40:] = 9  # "cloud high probability"
    path = write_scene(tmp_path / "nodesc.tif", np.concatenate([dn, scl]), descriptions=None)
    with pytest.raises(ValueError, match="nodesc.tif has 5 bands without descriptions"):
        predict.source_from_file(path, BANDS)
    with pytest.raises(ValueError, match="3 band names"):
        predict.source_from_file(path, BANDS, band_names=["B02", "B03", "B04"])
    names = ["B02", "B03", "B04", "B08", "SCL"]
    res = predict.predict_scene(
        path,
        model,
        tmp_path / "m.tif",
        tile_size=32,
        blocksize=128,
        progress=False,
        band_names=names,
        mask_band="scl",
        mask_values=[8, 9, 10],
    )
    cls = predict.read_map(res.path)[0]
    assert (cls[40:, 40:] == legend.NODATA).all() and (cls[:20, :30] == legend.NODATA).all()
    assert (cls[25:40, 35:] != legend.NODATA).all()
    # the same scene as an xarray DataArray of reflectance gives the same map outside the mask
    da = predict.source_from_file(path, BANDS, band_names=names)
    arr = da.read(rasterio.windows.Window(0, 0, 80, 64))
    xa = xr.DataArray(arr, dims=("band", "y", "x"), coords={"band": list(BANDS)})
    xa = xa.rio.write_transform(from_origin(330000, 5822040, 10, 10)).rio.write_crs("EPSG:32633")
    res2 = predict.predict_scene(
        xa, model, tmp_path / "a.tif", tile_size=32, blocksize=128, progress=False
    )
    cls2 = predict.read_map(res2.path)[0]
    np.testing.assert_array_equal(cls2[:40], cls[:40])


def test_truncated_raster_is_a_named_error(model: SpectralCentroid, tmp_path: Path) -> None:
    _, dn = scene_dn(256, 256)
    full = tmp_path / "full.tif"  # a COG: its header comes first, the pixel blocks after it
    rasterio.shutil.copy(write_scene(tmp_path / "s.tif", dn), full, driver="COG", BLOCKSIZE=64)
    cut = tmp_path / "cut.tif"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ValueError, match=r"Reading band B0\d from .*cut\.tif failed .*truncated"):
        predict.predict_scene(cut, model, tmp_path / "m.tif", progress=False)
    assert not (tmp_path / "m.tif").exists() and leftovers(tmp_path) == []
