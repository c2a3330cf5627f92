"""Tests for lulcbook.predict.stac: STAC item files and API searches as inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from predict_helpers import BANDS, SpectralCentroid, local_item, scene_dn, truth_index

from lulcbook import legend, predict


def test_stac_item_input(model: SpectralCentroid, tmp_path: Path) -> None:
    truth, dn = scene_dn(64, 96)
    (tmp_path / "item.json").write_text(json.dumps(local_item(tmp_path, dn, 16)))
    out = tmp_path / "maps"
    out.mkdir()
    res = predict.predict_scene(
        tmp_path / "item.json", model, out / "m.tif", tile_size=64, blocksize=128, progress=False
    )
    cls = predict.read_map(res.path)[0]
    valid = cls != legend.NODATA
    assert valid.sum() == 64 * 96 - 20 * 30  # the DN-0 corner is no data
    assert (cls[valid] == truth_index(model, truth)[valid]).mean() > 0.99
    assert json.loads(res.stac_path.read_text())["properties"]["datetime"].startswith("2017-02-16")


def test_stac_search_takes_the_median_of_dates(
    model: SpectralCentroid, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search (answered by two local items) gives the per-pixel median of its dates."""
    import pystac

    from lulcbook.sources import stac

    truth, dn = scene_dn(64, 96)
    bright = np.where(dn > 0, dn + 2000, 0).astype("uint16")  # e.g. haze on the second date
    folder = tmp_path.resolve()
    items = []
    for day, data in ((16, dn), (19, bright), (26, dn)):
        d = local_item(folder, data, day)
        d["assets"] = {k: {**a, "href": str(folder / a["href"])} for k, a in d["assets"].items()}
        items.append(pystac.Item.from_dict(d))
    seen = {}

    def fake_search(**kw: object) -> list:
        seen.update(kw)
        return items

    monkeypatch.setattr(stac, "search", fake_search)
    bbox = [12.48, 52.50, 12.52, 52.53]  # around the scene (330000-330960 E, 5821400-5822040 N)
    src = predict.source_from_stac_search(BANDS, bbox, "2017-02-01/2017-02-28")
    assert seen["datetime"] == "2017-02-01/2017-02-28" and seen["collections"] == ["sentinel-2-l2a"]
    c0 = int(np.argmin(np.abs(src.data.x.values - 330005)))
    r0 = int(np.argmin(np.abs(src.data.y.values - 5822035)))
    assert src.data.x.values[c0] == 330005 and src.data.y.values[r0] == 5822035
    part = src.read(rasterio.windows.Window(c0, r0, 96, 64))
    assert part.shape == (4, 64, 96) and np.isnan(part[:, :20, :30]).all()
    np.testing.assert_allclose(part[:, 20:, 30:], dn[:, 20:, 30:] * 1e-4, atol=1e-6)
    monkeypatch.setattr(stac, "search", lambda **kw: [])
    with pytest.raises(ValueError, match="No sentinel-2-l2a items"):
        predict.source_from_stac_search(BANDS, [0, 0, 1, 1], "2017")


@pytest.mark.parametrize("href", ["./absent_B02.tif", "http://127.0.0.1:9/B02.tif"])
def test_stac_item_with_broken_asset_is_a_named_error(
    model: SpectralCentroid, tmp_path: Path, href: str
) -> None:
    _, dn = scene_dn(64, 96)
    item = local_item(tmp_path, dn, 16)
    item["assets"]["B02"]["href"] = href
    (tmp_path / "item.json").write_text(json.dumps(item))
    msg = r"(Asset B02 of STAC item .*item\.json .*absent_B02\.tif|item\.json.*127\.0\.0\.1:9.*connect)"
    with pytest.raises((ValueError, FileNotFoundError), match=msg):
        predict.predict_scene(tmp_path / "item.json", model, tmp_path / "m.tif", progress=False)
    assert not (tmp_path / "m.tif").exists()


def test_search_items_passes_the_query_and_refuses_an_empty_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lulcbook.sources import stac

    seen: list[dict[str, object]] = []

    def fake_search(**kw: object) -> list[str]:
        seen.append(kw)
        return ["item"]

    monkeypatch.setattr(stac, "search", fake_search)
    assert predict.search_items([1, 2, 3, 4], "2020", "hls", None, 10.0) == ["item"]
    assert seen[-1] == {
        "bbox": [1, 2, 3, 4], "datetime": "2020", "collections": ["hls"], "max_cloud": 10.0,
    }  # fmt: skip
    predict.search_items((1, 2, 3, 4), "2020", url="http://stac.example")
    assert seen[-1]["url"] == "http://stac.example"
    monkeypatch.setattr(stac, "search", lambda **kw: [])
    with pytest.raises(
        ValueError, match=r"No hls items for bbox \[1, 2, 3, 4\] and datetime '2020'"
    ):
        predict.search_items([1, 2, 3, 4], "2020", "hls")
