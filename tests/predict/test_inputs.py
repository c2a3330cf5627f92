"""Tests for lulcbook.predict.inputs: options that do not apply to an input are errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rioxarray  # noqa: F401
import xarray as xr
from predict_helpers import BANDS, SpectralCentroid, local_item, scene_dn, write_scene

from lulcbook import predict


def test_options_that_do_not_apply_are_errors(model: SpectralCentroid, tmp_path: Path) -> None:
    truth, dn = scene_dn(64, 96)
    (tmp_path / "item.json").write_text(json.dumps(local_item(tmp_path, dn, 16)))
    for kw in ({"scale": 1.0}, {"preset": "s2-l2a"}, {"nodata": 0}, {"mask_band": "SCL"}):
        opt = predict.OPTION_NAMES[next(iter(kw))]
        with pytest.raises(ValueError, match=rf"{opt} .* do not apply to a STAC item"):
            predict.predict_scene(tmp_path / "item.json", model, tmp_path / "m.tif", **kw)
    folder = tmp_path / "IMG_DATA"
    folder.mkdir()
    for i, b in enumerate(BANDS):
        write_scene(folder / f"T33UUU_20170216T102101_{b}.tif", dn[i : i + 1], None)
    for kw in ({"mask_band": "SCL"}, {"band_names": list(BANDS)}):
        opt = predict.OPTION_NAMES[next(iter(kw))]
        with pytest.raises(ValueError, match=rf"{opt} .* do not apply to a folder of band files"):
            predict.predict_scene(folder, model, tmp_path / "m.tif", **kw)
    xa = xr.DataArray(dn.astype("float32") / 1e4, dims=("band", "y", "x"),
                      coords={"band": list(BANDS)}).rio.write_crs("EPSG:32633")  # fmt: skip
    with pytest.raises(ValueError, match=r"--scale .* do not apply to an xarray DataArray"):
        predict.predict_scene(xa, model, tmp_path / "m.tif", scale=1e-4)
    assert not (tmp_path / "m.tif").exists()
