"""Tests for lulcbook.predict.reflectance: implausible reflectance is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from predict_helpers import BANDS, SpectralCentroid, leftovers, scene_dn, write_scene

from lulcbook import predict


def test_reflectance_scaled_twice_or_not_at_all_is_refused(
    model: SpectralCentroid, tmp_path: Path
) -> None:
    _, dn = scene_dn(96, 96)
    dn_file = write_scene(tmp_path / "dn.tif", dn)
    refl_file = write_scene(tmp_path / "refl.tif", (dn / 10000).astype("float32"))
    cases = [
        (dn_file, {"scale": 1.0}, r"dn\.tif does not look like reflectance.*band B0\d: median "
         r"\d{3,}.*not scaled to reflectance"),
        (refl_file, {"preset": "s2-l1c"}, r"refl\.tif .*99th percentile.*scaled twice"),
        (dn_file, {"preset": "s2-l1c-n0400", "offset": -0.5}, r"median -0\.\d+ < -0\.05.*offset"),
    ]  # fmt: skip
    for src, kw, msg in cases:
        with pytest.raises(predict.ImplausibleReflectanceError, match=msg):
            predict.predict_scene(src, model, tmp_path / "m.tif", progress=False, **kw)
        assert not (tmp_path / "m.tif").exists() and leftovers(tmp_path) == []
    with pytest.warns(UserWarning, match="does not look like reflectance"):
        res = predict.predict_scene(
            dn_file, model, tmp_path / "m.tif", progress=False, scale=1.0, allow_implausible=True
        )
    assert res.path.exists()
    # plausible inputs pass: DN with the right preset, float reflectance as it is
    stats = predict.check_reflectance(predict.open_source(refl_file, BANDS))
    assert 0.02 < stats["B04"]["median"] < 0.2 and stats["B08"]["share_above_1_5"] == 0
