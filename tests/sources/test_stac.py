"""STAC search/load tests, offline: recorded API responses (VCR cassettes) and real items.

Searches replay the cassettes in ``stac-fixtures/pystac_client_cassettes`` (read in
place) and must send the recorded request body; pixel reads are redirected to tiny
GeoTIFFs written here on the items' real CRS and pixel grids.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import vcr
from pyproj import Transformer
from pystac_client.exceptions import APIError
from rasterio.transform import from_origin

from lulcbook.sources import stac

POINT = {"type": "Point", "coordinates": [-105.1019, 40.1672]}  # recorded same-day search


# --------------------------------------------------------------------------- fixtures


def _json_body(r1, r2) -> None:
    """VCR matcher: the JSON request bodies must be equal (key order ignored)."""

    def parse(r):
        body = r.body
        if body in (None, b"", ""):
            return None
        return json.loads(body.decode() if isinstance(body, bytes) else body)

    assert parse(r1) == parse(r2), f"request body {parse(r1)} != recorded {parse(r2)}"


@pytest.fixture(scope="module")
def fixtures(sample_dir: Path) -> Path:
    return sample_dir / "stac-fixtures"


@pytest.fixture(scope="module")
def replay(fixtures: Path):
    """Replay a cassette by name; no request may go to the network."""
    v = vcr.VCR(
        cassette_library_dir=str(fixtures / "pystac_client_cassettes"),
        record_mode="none",
        match_on=["method", "scheme", "host", "port", "path", "query", "json_body"],
    )
    v.register_matcher("json_body", _json_body)
    return v.use_cassette


def _item(fixtures: Path, name: str) -> pystac.Item:
    return pystac.Item.from_file(str(fixtures / "odc_stac_items" / name))


def _fc_items(fixtures: Path, name: str) -> dict[str, pystac.Item]:
    fc = json.loads((fixtures / "extracted_featurecollections" / name).read_text())
    return {f["id"]: pystac.Item.from_dict(f) for f in fc["features"]}


@pytest.fixture(scope="module")
def same_day(fixtures: Path) -> dict[str, pystac.Item]:
    return _fc_items(fixtures, "earthsearch_v1_s2l2a+landsat-c2-l2_same_day_point__resp0.json")


PC_S2 = "S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531"


# --------------------------------------------------------------------------- search


def test_search_same_day_s2_landsat_pair(replay) -> None:
    with replay("earthsearch_v1_s2l2a+landsat-c2-l2_same_day_point.yaml"):
        items = stac.search(
            intersects=POINT, datetime="2023-10-08", collections=[stac.S2_L2A, stac.LANDSAT_C2_L2]
        )
    assert [it.id for it in items] == [
        "S2A_13TDE_20231008_0_L2A",
        "LC08_L2SP_033032_20231008_02_T1",
    ]
    assert [it.collection_id for it in items] == [stac.S2_L2A, stac.LANDSAT_C2_L2]


def test_search_cql2_cloud_cover_pages(replay) -> None:
    with replay("earthsearch_v1_cql2_filter_cloudcover_mixed_s2.yaml"):
        # two recorded pages of 10; the server let 5 items at 41–57 % through
        with pytest.warns(UserWarning, match=r"5 items above the cloud limit of 40.*24MUV"):
            items = stac.search(collections=None, max_cloud=40, max_items=20)
    ids = [it.id for it in items]
    assert len(ids) == 15 and len(set(ids)) == 15
    assert ids[0] == "S1A_IW_GRDH_1SSH_20250731T135702_20250731T135722_060328_077F7E"
    assert ids[-1] == "S2B_24MXV_20250731_0_L1C"
    clouds = [it.properties.get("eo:cloud_cover") for it in items]
    assert all(c <= 40 for c in clouds if c is not None) and clouds.count(None) == 3
    assert sum(it.collection_id == stac.S2_L2A for it in items) == 4


def test_search_sends_the_recorded_body(replay) -> None:
    # the same cloud limit as a `query` is a different request: not in the cassette
    with replay("earthsearch_v1_cql2_filter_cloudcover_mixed_s2.yaml"):
        with pytest.raises(APIError, match=r"(?s)no recorded interaction matches.*'query'"):
            stac.search(collections=None, max_cloud=40, cloud_filter="query", max_items=20)


def test_search_planetary_computer_netherlands(replay, fixtures: Path) -> None:
    aoi = json.loads((fixtures / "pystac_client_cassettes" / "netherlands_aoi.json").read_text())
    with replay("pc_landsat-8-c2-l2_search_netherlands.yaml"):
        items = stac.search(
            intersects=aoi,
            collections="landsat-8-c2-l2",
            url=stac.PLANETARY_COMPUTER,
            max_items=250,
        )
    ids = [it.id for it in items]
    assert len(ids) == 250 and ids[0] == "LC08_L2SP_197023_20220324_02_T1"
    assert all(i.startswith("LC08_L2S") for i in ids)
    assert stac.resolve_asset_key(items[0], "B04") == "SR_B4"  # via eo:bands common name


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"bbox": [5, 50, 6, 51], "intersects": POINT}, "either bbox or intersects"),
        ({"bbox": [5, 50, 6]}, "bbox must be"),
        ({"max_cloud": 140}, "percentage"),
        ({"max_cloud": 10, "cloud_filter": "sql"}, "Unknown cloud_filter"),
    ],
)
def test_search_bad_input(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        stac.search(**kwargs)


# --------------------------------------------------------------------------- band names


def test_resolve_asset_keys(fixtures: Path, same_day) -> None:
    es_s2, es_ls = same_day["S2A_13TDE_20231008_0_L2A"], same_day["LC08_L2SP_033032_20231008_02_T1"]
    pc_s2 = _item(fixtures, f"{PC_S2}.json")
    assert [stac.resolve_asset_key(es_s2, b) for b in ["B02", "b3", "B8A", "nir", "scl"]] == [
        "blue",
        "green",
        "nir08",
        "nir",
        "scl",
    ]
    assert [stac.resolve_asset_key(pc_s2, b) for b in ["blue", "B8A", "swir16"]] == [
        "B02",
        "B8A",
        "B11",
    ]
    assert [stac.resolve_asset_key(es_ls, b) for b in ["B04", "nir", "B8A", "lwir11"]] == [
        "red",
        "nir08",
        "nir08",
        "lwir11",
    ]
    usgs = _item(fixtures, "LC08_L2SR_081119_20200101_20200823_02_T2.json")
    # STAC 0.9 item: asset eo:bands are indices into the item's eo:bands
    assert stac.resolve_asset_key(usgs, "red") == "SR_B4.TIF"


def test_resolve_asset_key_errors_name_band_and_item(same_day) -> None:
    es_s2, es_ls = same_day["S2A_13TDE_20231008_0_L2A"], same_day["LC08_L2SP_033032_20231008_02_T1"]
    with pytest.raises(ValueError, match=r"'B99'.*'S2A_13TDE_20231008_0_L2A'"):
        stac.resolve_asset_key(es_s2, "B99")
    with pytest.raises(ValueError, match=r"'B08'.*LC08_L2SP_033032.*no broad NIR"):
        stac.resolve_asset_key(es_ls, "B08")


# --------------------------------------------------------------------------- scaling


def test_scaling_sentinel2_baselines(fixtures: Path) -> None:
    pc = _item(fixtures, f"{PC_S2}.json")  # baseline 02.12, no raster scale
    assert pc.properties["s2:processing_baseline"] == "02.12"
    assert stac.reflectance_scaling(pc, "B02") == (1e-4, 0.0)
    pc_ext = _item(fixtures, f"{PC_S2}_raster_ext.json")  # raster:bands without scale
    assert stac.reflectance_scaling(pc_ext, "B8A") == (1e-4, 0.0)
    assert stac.reflectance_scaling(pc_ext, "SCL") == (1.0, 0.0)
    # the same real item as if processed with baseline 04.00: −1000 offset
    new = pc.clone()
    new.properties["s2:processing_baseline"] = "04.00"
    assert stac.reflectance_scaling(new, "B02") == (1e-4, -0.1)
    new.properties.pop("s2:processing_baseline")
    new.properties["processing:version"] = "05.10"
    assert stac.reflectance_scaling(new, "B02") == (1e-4, -0.1)
    # Earth Search v0: baseline only in the product id (..._N0214_...)
    es0 = _item(fixtures, "S2A_28QCH_20200714_0_L2A.json")
    assert stac.processing_baseline(es0) == pytest.approx(2.14)
    assert stac.reflectance_scaling(es0, "B04") == (1e-4, 0.0)


def test_scaling_sentinel2_without_baseline_is_an_error(fixtures: Path) -> None:
    it = _item(fixtures, f"{PC_S2}.json").clone()
    for k in ("s2:processing_baseline", "s2:product_uri", "s2:granule_id"):
        it.properties.pop(k, None)
    with pytest.raises(ValueError, match=f"{PC_S2}.*processing baseline"):
        stac.reflectance_scaling(it, "B02")


def test_scaling_from_raster_extension(fixtures: Path, same_day) -> None:
    es_s2 = same_day["S2A_13TDE_20231008_0_L2A"]
    # Earth Search applied the −1000 already (boa_offset_applied): no second offset
    assert es_s2.properties["earthsearch:boa_offset_applied"] is True
    assert stac.reflectance_scaling(es_s2, "red") == (1e-4, 0.0)
    raw = es_s2.clone()
    raw.properties.pop("earthsearch:boa_offset_applied")
    assert stac.reflectance_scaling(raw, "red") == (1e-4, -0.1)  # raster:bands as listed
    c1 = _fc_items(fixtures, "earthsearch_v1_cql2_filter_cloudcover_mixed_s2__resp1.json")
    assert stac.reflectance_scaling(c1["S2B_T20EPT_20250731T131905_L2A"], "blue") == (1e-4, -0.1)
    es_ls = same_day["LC08_L2SP_033032_20231008_02_T1"]
    assert stac.reflectance_scaling(es_ls, "nir08") == (2.75e-5, -0.2)
    assert stac.reflectance_scaling(es_ls, "lwir11") == (0.00341802, 149.0)


def test_scaling_landsat_usgs_items(fixtures: Path) -> None:
    l8 = _item(fixtures, "LC08_L2SP_028030_20200114_20200824_02_T1_SR.json")
    le7 = _item(fixtures, "LE07_L2SP_044033_20210329_20210424_02_T1_SR.json")
    l8sr = _item(fixtures, "LC08_L2SR_081119_20200101_20200823_02_T2.json")
    assert stac.reflectance_scaling(l8, "blue") == (2.75e-5, -0.2)
    assert stac.reflectance_scaling(le7, "swir22") == (2.75e-5, -0.2)
    assert stac.reflectance_scaling(l8sr, "SR_B5.TIF") == (2.75e-5, -0.2)
    assert stac.reflectance_scaling(l8, "qa_pixel") == (1.0, 0.0)


def test_scaling_bad_input(fixtures: Path) -> None:
    l8 = _item(fixtures, "LC08_L2SP_028030_20200114_20200824_02_T1_SR.json")
    with pytest.raises(KeyError, match="no asset 'B02'"):
        stac.reflectance_scaling(l8, "B02")
    ga = _item(fixtures, "ga_ls8c_ard_3-1-0_088080_2020-05-25_final.stac-item.json")
    with pytest.raises(ValueError, match="No reflectance scaling known.*nbart_red"):
        stac.reflectance_scaling(ga, "nbart_red")


# --------------------------------------------------------------------------- pixel loads


def _write(path: Path, data: np.ndarray, crs: str, x0: float, y0: float, res: float) -> str:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype.name,
        crs=crs,
        transform=from_origin(x0, y0, res, res),
        nodata=0,
    ) as dst:
        dst.write(data, 1)
    return str(path)


def test_load_pc_item_reads_exact_pixels(fixtures: Path, tmp_path: Path) -> None:
    item = _item(fixtures, f"{PC_S2}_raster_ext.json")
    _, _, x0, _, _, y0 = item.assets["B02"].extra_fields["proj:transform"][:6]
    rng = np.random.default_rng(0)
    dn = {b: rng.integers(1, 10000, (40, 40)).astype("uint16") for b in ("B02", "B08")}
    dn["B02"][0, 0] = 0  # nodata
    href_map = {
        item.assets[b].href: _write(tmp_path / f"{b}.tif", dn[b], "EPSG:32606", x0, y0, 10.0)
        for b in dn
    }
    da = stac.load([item], ["blue", "B08"], x=(x0, x0 + 300), y=(y0 - 200, y0), href_map=href_map)
    assert da.dims == ("time", "band", "y", "x") and da.shape == (1, 2, 20, 30)
    assert list(da.band.values) == ["blue", "B08"] and da.dtype == np.float32
    assert da.rio.crs.to_epsg() == 32606 and str(da.id.values[0]) == PC_S2
    np.testing.assert_allclose(da.sel(band="B08")[0].values, dn["B08"][:20, :30] * 1e-4, rtol=1e-6)
    assert np.isnan(da.sel(band="blue")[0, 0, 0])
    np.testing.assert_allclose(da.sel(band="blue")[0, 5, 7], dn["B02"][5, 7] * 1e-4, rtol=1e-6)


@pytest.fixture
def same_day_local(same_day, tmp_path: Path):
    """Local rasters for red/nir of the S2 + Landsat pair, around the searched point."""
    s2, ls = same_day["S2A_13TDE_20231008_0_L2A"], same_day["LC08_L2SP_033032_20231008_02_T1"]
    x, y = Transformer.from_crs(4326, 32613, always_xy=True).transform(*POINT["coordinates"])
    x0, y0 = 30 * np.floor(x / 30) - 300, 30 * np.floor(y / 30) + 300  # on both grids
    href_map = {}
    for key, value in (("red", 1500), ("nir", 3200)):
        d = np.full((60, 60), value, dtype="uint16")
        d[:3, :3] = 0  # nodata block in the north-west corner (one 30 m pixel)
        href_map[s2.assets[key].href] = _write(
            tmp_path / f"s2_{key}.tif", d, "EPSG:32613", x0, y0, 10.0
        )
    for key, value in (("red", 12000), ("nir08", 20000)):
        d = np.full((20, 20), value, dtype="uint16")
        href_map[ls.assets[key].href] = _write(
            tmp_path / f"ls_{key}.tif", d, "EPSG:32613", x0, y0, 30.0
        )
    return [s2, ls], href_map, (x0, y0)


def test_load_s2_and_landsat_same_day(same_day_local) -> None:
    items, href_map, (x0, y0) = same_day_local
    da = stac.load(
        items,
        ["red", "nir"],
        crs="EPSG:32613",
        resolution=30,
        x=(x0, x0 + 300),
        y=(y0 - 300, y0),
        href_map=href_map,
    )
    assert da.shape == (2, 2, 10, 10) and da.rio.crs.to_epsg() == 32613
    # sorted by time: Landsat 17:37 UTC before Sentinel-2 18:02 UTC
    assert list(da.id.values) == ["LC08_L2SP_033032_20231008_02_T1", "S2A_13TDE_20231008_0_L2A"]
    ls, s2 = da.isel(time=0), da.isel(time=1)
    np.testing.assert_allclose(ls.sel(band="red"), 12000 * 2.75e-5 - 0.2, rtol=1e-5)
    np.testing.assert_allclose(ls.sel(band="nir"), 20000 * 2.75e-5 - 0.2, rtol=1e-5)
    assert np.isnan(s2.sel(band="red")[0, 0]) and int(s2.isnull().sum()) == 2
    np.testing.assert_allclose(s2.sel(band="nir")[5, 5], 0.32, rtol=1e-5)  # offset pre-applied


def test_load_solar_day_mosaic(same_day_local) -> None:
    items, href_map, (x0, y0) = same_day_local
    da = stac.load(
        items,
        ["red"],
        crs="EPSG:32613",
        resolution=30,
        x=(x0, x0 + 90),
        y=(y0 - 90, y0),
        href_map=href_map,
        groupby="solar_day",
    )
    assert da.sizes["time"] == 1 and "LC08_L2SP_033032" in str(da.id.values[0])
    # first valid wins: Landsat (earlier) everywhere, no NaN left
    assert not da.isnull().any()
    np.testing.assert_allclose(da.values, 12000 * 2.75e-5 - 0.2, rtol=1e-5)


def test_load_bad_input(same_day) -> None:
    items = list(same_day.values())
    with pytest.raises(ValueError, match=r"'B08'.*LC08_L2SP_033032"):
        stac.load(items, ["B04", "B08"], crs="EPSG:32613", resolution=30)
    with pytest.raises(ValueError, match="No STAC items"):
        stac.load([], ["B04"])
    with pytest.raises(ValueError, match="requested twice"):
        stac.load(items, ["B04", "b4"])
    with pytest.raises(ValueError, match="Unknown groupby"):
        stac.load(items, ["B04"], groupby="week")


def test_redirect_hrefs(same_day) -> None:
    s2 = same_day["S2A_13TDE_20231008_0_L2A"]
    out = stac.redirect_hrefs(s2, {s2.assets["red"].href: "/tmp/red.tif"})
    assert out.assets["red"].href == "/tmp/red.tif"
    assert out.assets["blue"].href == s2.assets["blue"].href
    assert s2.assets["red"].href.startswith("https://")  # original untouched
    upper = stac.redirect_hrefs(s2, lambda h: h.replace("https://", "file:///"))
    assert upper.assets["nir"].href.startswith("file:///")
