"""Tests for lulcbook.predict and lulcbook.cog: tiling, sources, COG + STAC writing, errors.

Scenes are simulated (typical spectra of four cover types plus noise) and written as
GeoTIFFs with a real CRS and transform; the models are real: a nearest-centroid classifier
fitted on simulated spectra, and a small SegmentClassifier trained for a few steps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401
import torch
import xarray as xr
from predict_helpers import (
    BANDS,
    TYPICAL_SPECTRA,
    SpectralCentroid,
    fitted_centroid,
    scene_dn,
    simulate_scene,
    write_scene,
)
from rasterio.transform import from_origin

from lulcbook import cog, legend, predict


@pytest.fixture(scope="module")
def model() -> SpectralCentroid:
    return fitted_centroid()


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    truth, dn = scene_dn()
    path = tmp_path_factory.mktemp("scene") / "scene.tif"
    write_scene(path, dn, tags={"datetime": "2017-02-16T10:21:01Z"})
    return path, truth


def _truth_index(model: SpectralCentroid, truth: np.ndarray) -> np.ndarray:
    return predict.class_values(model.classes)[truth]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- tiling, bands, scaling, encoding ------------------------------------------------------


@pytest.mark.parametrize(("w", "h", "tile", "overlap"), [(260, 200, 64, 8), (50, 30, 64, 16)])
def test_tiles_cover_the_grid_exactly_once(w: int, h: int, tile: int, overlap: int) -> None:
    tiles = predict.tile_windows(w, h, tile, overlap)
    cover = np.zeros((h, w), int)
    for t in tiles:
        (r0, r1), (c0, c1) = t.core.toranges()
        cover[r0:r1, c0:c1] += 1
        (pr0, pr1), (pc0, pc1) = t.padded.toranges()
        assert pr0 <= r0 and pc0 <= c0 and pr1 >= r1 and pc1 >= c1
        assert pr0 >= 0 and pc0 >= 0 and pr1 <= h and pc1 <= w
        assert pr0 == max(r0 - overlap, 0) and pc1 == min(c1 + overlap, w)
    assert (cover == 1).all()
    with pytest.raises(ValueError, match="tile_size"):
        predict.tile_windows(w, h, 0, 8)
    border = predict.tile_border_mask(w, h, tile, 2)
    rows = [r for r in range(tile, h, tile)]
    assert border.shape == (h, w) and border.any() == bool(rows or w > tile)
    for r in rows:
        assert border[r - 2 : r + 2].all() and not border[r + 3 : r + 5, : tile - 3].any()


def test_match_bands_is_case_insensitive_and_names_missing() -> None:
    assert predict.match_bands(["b02", "B3", "b04", "SCL"], ["B04", "B03", "scl"], "x.tif") == [
        2,
        1,
        3,
    ]
    with pytest.raises(ValueError, match=r"\['B08'\] missing in x.tif"):
        predict.match_bands(["B02", "B03"], ["B02", "B08"], "x.tif")


def test_scaling_presets_and_overrides() -> None:
    assert predict.resolve_scaling("s2-l2a-n0400", None, None, "uint16") == (1e-4, -0.1)
    assert predict.resolve_scaling("landsat-c2-l2", None, None, "uint16") == (2.75e-5, -0.2)
    assert predict.resolve_scaling(None, None, None, "float32") == (1.0, 0.0)
    assert predict.resolve_scaling(None, None, None, "uint16") == (1e-4, 0.0)
    assert predict.resolve_scaling("hls", 2e-4, 0.5, "int16") == (2e-4, 0.5)
    with pytest.raises(ValueError, match="Unknown scaling preset 'nope'"):
        predict.resolve_scaling("nope", None, None, "uint16")


def test_encode_class_confidence_entropy_and_nodata() -> None:
    p = np.zeros((4, 1, 4), np.float32)
    p[2, 0, 0] = 1.0  # certain
    p[:, 0, 1] = 0.25  # uniform
    p[:, 0, 2] = [0.1, 0.6, 0.2, 0.1]
    p[:, 0, 3] = np.nan
    values = np.array([6, 2, 1, 0])
    m, unc = predict.encode(p, np.zeros((1, 4), bool), values)
    assert m.dtype == np.uint8 and m.shape == (2, 1, 4)
    assert m[0].tolist() == [[1, 6, 2, legend.NODATA]]
    assert m[1, 0, 0] == 250 and m[1, 0, 2] == 150 and m[1, 0, 3] == legend.NODATA
    ent = -(np.array([0.1, 0.6, 0.2, 0.1]) * np.log([0.1, 0.6, 0.2, 0.1])).sum() / np.log(4)
    assert unc[0, 0] == pytest.approx(0.0) and unc[0, 1] == pytest.approx(1.0)
    assert unc[0, 2] == pytest.approx(ent, abs=1e-4) and np.isnan(unc[0, 3])


def test_class_values_accepts_keys_names_indices() -> None:
    assert predict.class_values(["water", "Woodland", 1]).tolist() == [6, 2, 1]
    with pytest.raises(ValueError, match="'forest' is not in the legend"):
        predict.class_values(["forest"])


# --- the map products ------------------------------------------------------------------------


def test_predict_scene_writes_cog_uncertainty_and_stac(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    src, truth = scene
    out = tmp_path / "map.tif"
    res = predict.predict_scene(
        src, model, out, tile_size=64, overlap=8, blocksize=128, progress=False,
        model_name="/some/where/m.pt", model_version="3",
    )  # fmt: skip
    assert res.path == out and out.exists() and res.uncertainty_path.exists()
    assert res.confidence_path == tmp_path / "map_confidence.tif" and res.confidence_path.exists()
    assert res.stac_path == tmp_path / "map.json" and res.n_tiles == 20
    assert (tmp_path / "map.qml").exists() and (tmp_path / "map.tif.aux.xml").exists()
    assert _leftovers(tmp_path) == []
    with rasterio.open(out) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.profile["tiled"] and ds.block_shapes == [(128, 128)]
        ovr = ds.overviews(1)  # down to one block
        assert ovr[0] == 2 and max(ds.width, ds.height) / ovr[-1] <= 128
        assert ds.count == 1 and ds.dtypes == ("uint8",)
        assert ds.colorinterp == (rasterio.enums.ColorInterp.palette,)
        assert ds.nodata == legend.NODATA and ds.descriptions == ("class",)
        assert ds.crs.to_epsg() == 32633 and ds.transform == from_origin(330000, 5822040, 10, 10)
        cmap = ds.colormap(1)
        for i, hex_ in enumerate(legend.COLOURS):
            assert "#{:02x}{:02x}{:02x}".format(*cmap[i][:3]) == hex_
        tags = ds.tags()
        assert [e["key"] for e in json.loads(tags["LEGEND"])] == list(legend.KEYS)
        assert tags["CLASSES"].split(",") == list(TYPICAL_SPECTRA)
        assert tags["MODEL_NAME"] == "m.pt" and "/some/where" not in json.dumps(tags)
        cls = ds.read(1)
    with rasterio.open(res.confidence_path) as ds:
        assert ds.count == 1 and ds.dtypes == ("uint8",) and ds.descriptions == ("confidence",)
        assert ds.nodata == legend.NODATA and ds.scales == (cog.CONFIDENCE_SCALE,)
        assert ds.overviews(1) == ovr
        conf = ds.read(1)
    # no data where the input is no data (top-left corner), a map everywhere else
    assert (cls[:20, :30] == legend.NODATA).all() and (conf[:20, :30] == legend.NODATA).all()
    valid = np.ones_like(cls, bool)
    valid[:20, :30] = False
    assert (cls[valid] != legend.NODATA).all() and (conf[valid] <= 250).all()
    assert (cls[valid] == _truth_index(model, truth)[valid]).mean() > 0.99
    counts = np.bincount(cls[valid], minlength=legend.N_CLASSES)
    assert res.class_pixels == {k: int(counts[i]) for i, k in enumerate(legend.KEYS)}
    with rasterio.open(res.uncertainty_path) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and ds.dtypes == ("float32",)
        assert ds.overviews(1) == ovr and ds.descriptions == ("uncertainty",)
        unc = ds.read(1)
    assert np.isnan(unc[:20, :30]).all() and np.isfinite(unc[valid]).all()
    assert ((unc[valid] >= 0) & (unc[valid] <= 1)).all()

    item = json.loads(res.stac_path.read_text())
    assert item["type"] == "Feature" and item["id"] == "map"
    assert item["properties"]["datetime"].startswith("2017-02-16T10:21:01")
    exts = " ".join(item["stac_extensions"])
    assert "projection" in exts and "raster" in exts and "classification" in exts
    assert item["properties"]["proj:code"] == "EPSG:32633"
    assert item["properties"]["proj:shape"] == [200, 260]
    assert item["properties"]["lulcbook:model"] == {"name": "m.pt", "version": "3"}
    assert item["properties"]["license"] == cog.PRODUCT_LICENSE
    assert {"processor", "licensor"} <= {
        r for p in item["properties"]["providers"] for r in p["roles"]
    }
    assert "/some/where" not in json.dumps(item) and str(src.parent) not in json.dumps(item)
    (self_link,) = [lk for lk in item["links"] if lk["rel"] == "self"]
    assert Path(self_link["href"]) == res.stac_path.absolute()
    lon0, lat0, lon1, lat1 = item["bbox"]
    assert 12.4 < lon0 < lon1 < 12.6 and 52.4 < lat0 < lat1 < 52.6
    assert set(item["assets"]) == {"class", "confidence", "uncertainty", "style"}
    for key in cog.PRODUCT_BANDS:
        asset = item["assets"][key]
        assert "cloud-optimized" in asset["type"] and len(asset["raster:bands"]) == 1
        assert asset["raster:bands"][0]["name"] == key
        assert (tmp_path / asset["href"]).exists()
    data = item["assets"]["class"]
    assert data["href"] == "map.tif"
    band = data["raster:bands"][0]
    assert band["nodata"] == 255 and band["data_type"] == "uint8"
    classes = {c["value"]: c for c in band["classification:classes"]}
    assert [classes[i]["name"] for i in range(legend.N_CLASSES)] == list(legend.KEYS)
    assert classes[6]["color_hint"] == legend.COLOURS[6].lstrip("#").upper()
    assert classes[255]["nodata"] is True
    conf_band = item["assets"]["confidence"]["raster:bands"][0]
    assert conf_band["scale"] == pytest.approx(cog.CONFIDENCE_SCALE)
    assert item["assets"]["uncertainty"]["href"] == "map_uncertainty.tif"
    assert item["assets"]["style"]["href"] == "map.qml"


@pytest.mark.parametrize(("tile", "overlap", "workers"), [(48, 0, 1), (40, 12, 1), (64, 8, 2)])
def test_tiled_prediction_is_seamless(
    scene: tuple[Path, np.ndarray],
    model: SpectralCentroid,
    tmp_path: Path,
    tile: int,
    overlap: int,
    workers: int,
) -> None:
    src, _ = scene
    whole = predict.predict_scene(
        src, model, tmp_path / "whole.tif", tile_size=512, blocksize=128, progress=False
    )
    tiled = predict.predict_scene(
        src,
        model,
        tmp_path / "tiled.tif",
        tile_size=tile,
        overlap=overlap,
        blocksize=128,
        workers=workers,
        processes=False,
        progress=False,
    )
    assert whole.n_tiles == 1 and tiled.n_tiles > 1
    a, b = predict.read_map(whole.path), predict.read_map(tiled.path)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])


def test_existing_dask_scheduler(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    src, _ = scene
    local = predict.predict_scene(src, model, tmp_path / "a.tif", tile_size=96, progress=False)
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        remote = predict.predict_scene(
            src, model, tmp_path / "b.tif", tile_size=96, scheduler=cluster.scheduler_address,
            progress=False,
        )  # fmt: skip
    np.testing.assert_array_equal(predict.read_map(local.path)[0], predict.read_map(remote.path)[0])
    assert remote.class_pixels == local.class_pixels


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
    assert (cls == _truth_index(model, truth)).mean() > 0.9
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


def _local_item(folder: Path, dn: np.ndarray, day: int) -> dict:
    """A STAC item whose assets are single-band GeoTIFFs written to ``folder`` (relative hrefs)."""
    import datetime as dt

    import pystac
    from pystac.extensions.projection import ProjectionExtension

    when = dt.datetime(2017, 2, day, 10, 21, 1, tzinfo=dt.UTC)
    props = {"platform": "sentinel-2b", "s2:processing_baseline": "02.04"}
    item = pystac.Item(f"S2B_T33UUU_201702{day:02d}", None, None, when, props)
    for i, b in enumerate(BANDS):
        write_scene(folder / f"{b}_{day}.tif", dn[i : i + 1], None)
        href = f"./{b}_{day}.tif"
        item.add_asset(b, pystac.Asset(href=href, media_type=pystac.MediaType.GEOTIFF))
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    with rasterio.open(folder / f"B02_{day}.tif") as ds:
        proj.epsg, proj.shape, proj.transform = 32633, list(ds.shape), list(ds.transform)[:6]
    return item.to_dict(include_self_link=False)


def test_stac_item_input(model: SpectralCentroid, tmp_path: Path) -> None:
    truth, dn = scene_dn(64, 96)
    (tmp_path / "item.json").write_text(json.dumps(_local_item(tmp_path, dn, 16)))
    out = tmp_path / "maps"
    out.mkdir()
    res = predict.predict_scene(
        tmp_path / "item.json", model, out / "m.tif", tile_size=64, blocksize=128, progress=False
    )
    cls = predict.read_map(res.path)[0]
    valid = cls != legend.NODATA
    assert valid.sum() == 64 * 96 - 20 * 30  # the DN-0 corner is no data
    assert (cls[valid] == _truth_index(model, truth)[valid]).mean() > 0.99
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
        d = _local_item(folder, data, day)
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
    labels = [int(_truth_index(model, truth)[16 * r + 8, 16 * c + 8]) for r, c in cells]
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


# --- errors leave nothing behind ---------------------------------------------------------------


def _bad_input(kind: str, folder: Path) -> tuple[Path, type[Exception], str]:
    _, dn = scene_dn(32, 32)
    if kind == "missing band":
        return (
            write_scene(folder / "three.tif", dn[:3], descriptions=["B02", "B03", "B04"]),
            ValueError,
            r"\['B08'\] missing in .*three.tif",
        )
    if kind == "no crs":
        return write_scene(folder / "nocrs.tif", dn, crs=None), ValueError, "nocrs.tif has no CRS"
    if kind == "unreadable":
        junk = folder / "junk.tif"
        junk.write_bytes(b"this is not a GeoTIFF")
        return junk, ValueError, "junk.tif is not a readable raster"
    return folder / "absent.tif", FileNotFoundError, "absent.tif does not exist"


@pytest.mark.parametrize("kind", ["missing band", "no crs", "unreadable", "missing file"])
def test_bad_inputs_raise_and_leave_outputs_untouched(
    kind: str, model: SpectralCentroid, tmp_path: Path
) -> None:
    src, exc, msg = _bad_input(kind, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    old = out / "map.tif"
    old.write_bytes(b"previous map")
    with pytest.raises(exc, match=msg):
        predict.predict_scene(src, model, old, progress=False)
    assert old.read_bytes() == b"previous map"
    assert sorted(p.name for p in out.iterdir()) == ["map.tif"]


def test_missing_output_folder(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError, match="Output folder .*nowhere does not exist"):
        predict.predict_scene(scene[0], model, tmp_path / "nowhere" / "m.tif", progress=False)
    assert not (tmp_path / "nowhere").exists()


class _FailingModel(SpectralCentroid):
    """Fails on the third tile, as a model might on corrupt data."""

    calls = 0

    def predict_proba(self, tile: np.ndarray, mc_samples: int = 0) -> np.ndarray:
        type(self).calls += 1
        if type(self).calls == 3:
            raise RuntimeError("tile 3 failed")
        return super().predict_proba(tile, mc_samples)


@pytest.mark.parametrize("workers", [1, 2])
def test_error_during_tiling_leaves_no_partial_file(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path, workers: int
) -> None:
    _FailingModel.calls = 0
    failing = _FailingModel(model.bands, model.classes, model.centroids, model.sigma)
    (tmp_path / "map.json").write_text("{}")
    with pytest.raises(RuntimeError, match="tile 3 failed"):
        predict.predict_scene(
            scene[0], failing, tmp_path / "map.tif", tile_size=64, workers=workers,
            processes=False, progress=False,
        )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.json"]
    assert (tmp_path / "map.json").read_text() == "{}"


# --- the real model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def segment_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small SegmentClassifier trained for a few steps on simulated patches (centre labels)."""
    from lulcbook import graphs
    from lulcbook.models import gnn

    torch.manual_seed(0)
    gp = {"segment_size": 24, "compactness": 0.05}
    raw, labels = [], []
    for seed in range(12):
        truth, refl = simulate_scene(32, 32, noise=0.01, seed=100 + seed)
        raw.append(graphs.patch_graph(refl, (16, 16), **gp))
        labels.append(truth[16, 16])
    for g, y in zip(raw, labels, strict=True):
        g.y = torch.tensor([y])
    scaler = graphs.FeatureScaler().fit(raw)
    gs = scaler.transform(raw)
    kwargs = {
        "in_dim": gs[0].num_node_features,
        "hidden": 16,
        "n_classes": 4,
        "depth": 1,
        "dropout": 0.1,
        "norm": "none",
    }
    net = gnn.GNN(**kwargs)
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    batch = graphs.collate(gs)
    for _ in range(60):
        opt.zero_grad()
        logits = net(batch)
        loss = torch.nn.functional.cross_entropy(logits[batch.label_node], batch.y)
        loss.backward()
        opt.step()
    clf = gnn.SegmentClassifier(net, kwargs, list(BANDS), list(TYPICAL_SPECTRA), gp, scaler)
    return clf.save(tmp_path_factory.mktemp("model") / "gnn.pt")


def test_segment_classifier_maps_the_scene(
    segment_classifier: Path, scene: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    clf = predict.load_classifier(segment_classifier)
    assert isinstance(clf, predict.TileClassifier)
    src, truth = scene
    res = predict.predict_scene(
        src,
        clf,
        tmp_path / "gnn.tif",
        tile_size=96,
        overlap=16,
        blocksize=128,
        mc_samples=2,
        progress=False,
    )
    cls, conf, unc = predict.read_map(res.path)
    valid = np.ones_like(cls, bool)
    valid[:20, :30] = False
    assert (cls[~valid] == legend.NODATA).all() and (cls[valid] != legend.NODATA).all()
    assert (cls[valid] == predict.class_values(clf.classes)[truth][valid]).mean() > 0.8
    assert np.nanmin(conf) >= 0.25 and np.nanmax(unc) <= 1.0
    assert json.loads(res.stac_path.read_text())["properties"]["lulcbook:mc_samples"] == 2
    # MC dropout of the real network is seeded per tile: 2 threads give the same map
    again = predict.predict_scene(
        src, clf, tmp_path / "again.tif", tile_size=96, overlap=16, blocksize=128,
        mc_samples=2, workers=2, processes=False, progress=False,
    )  # fmt: skip
    for a, b in zip(predict.read_map(res.path), predict.read_map(again.path), strict=True):
        np.testing.assert_array_equal(a, b)


# --- reproducible MC dropout ------------------------------------------------------------------


def _mc_map(src: Path, out: Path, seed: int = 0, **kw: object) -> np.ndarray:
    from predict_helpers import noisy_centroid

    res = predict.predict_scene(
        src, noisy_centroid(), out, tile_size=64, blocksize=128, mc_samples=4, seed=seed,
        progress=False, **kw,
    )  # fmt: skip
    cls, conf, unc = predict.read_map(res.path)
    return np.stack([cls.astype(np.float32), conf, unc])


@pytest.mark.slow
def test_mc_dropout_is_reproducible_across_runs_and_worker_counts(
    scene: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    """Seeded per tile: the same map in this process, on 1 or 2 dask workers (threads or
    processes) and on a second run; another seed gives another map."""
    from distributed import LocalCluster

    src, _ = scene
    first = _mc_map(src, tmp_path / "a.tif")
    np.testing.assert_array_equal(first, _mc_map(src, tmp_path / "b.tif"))
    for n in (1, 2):
        with LocalCluster(n_workers=n, processes=False, dashboard_address=None) as cluster:
            on_cluster = _mc_map(src, tmp_path / f"c{n}.tif", scheduler=cluster.scheduler_address)
        np.testing.assert_array_equal(first, on_cluster)
    np.testing.assert_array_equal(first, _mc_map(src, tmp_path / "p.tif", workers=2))
    other = _mc_map(src, tmp_path / "d.tif", seed=1)
    assert not np.array_equal(first[2], other[2])  # the draws are random, and seeded
    assert np.isfinite(first[2][first[0] != legend.NODATA]).all()


def test_tile_seed_depends_on_seed_and_position_only() -> None:
    tiles = predict.tile_windows(200, 100, 64, 8)
    seeds = [predict.tile_seed(0, t) for t in tiles]
    assert len(set(seeds)) == len(seeds)
    assert seeds == [predict.tile_seed(0, t) for t in predict.tile_windows(200, 100, 64, 8)]
    assert predict.tile_seed(1, tiles[0]) != seeds[0]
    state = torch.random.get_rng_state()
    with predict.seeded(5):
        a = torch.rand(3)
    with predict.seeded(5):
        b = torch.rand(3)
    assert torch.equal(a, b) and torch.equal(torch.random.get_rng_state(), state)


# --- plausibility of the input ----------------------------------------------------------------


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
        assert not (tmp_path / "m.tif").exists() and _leftovers(tmp_path) == []
    with pytest.warns(UserWarning, match="does not look like reflectance"):
        res = predict.predict_scene(
            dn_file, model, tmp_path / "m.tif", progress=False, scale=1.0, allow_implausible=True
        )
    assert res.path.exists()
    # plausible inputs pass: DN with the right preset, float reflectance as it is
    stats = predict.check_reflectance(predict.open_source(refl_file, BANDS))
    assert 0.02 < stats["B04"]["median"] < 0.2 and stats["B08"]["share_above_1_5"] == 0


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


def test_duplicate_band_names_are_refused(model: SpectralCentroid, tmp_path: Path) -> None:
    _, dn = scene_dn(64, 64)
    src = write_scene(tmp_path / "nodesc.tif", dn, descriptions=None)
    with pytest.raises(
        ValueError, match=r"Duplicate band name\(s\) \['B02'\] given by --band-names"
    ):
        predict.predict_scene(
            src, model, tmp_path / "m.tif", progress=False, band_names=["B02", "b2", "B04", "B08"]
        )
    dup = write_scene(tmp_path / "dup.tif", dn, descriptions=["B02", "B03", "B04", "B04"])
    with pytest.raises(ValueError, match=r"Duplicate band name\(s\) \['B04'\] in the band desc"):
        predict.predict_scene(dup, model, tmp_path / "m.tif", progress=False)


def test_options_that_do_not_apply_are_errors(model: SpectralCentroid, tmp_path: Path) -> None:
    truth, dn = scene_dn(64, 96)
    (tmp_path / "item.json").write_text(json.dumps(_local_item(tmp_path, dn, 16)))
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


# --- outputs: never an input, never each other, all or nothing -------------------------------


def test_outputs_that_are_inputs_or_each_other_are_refused(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    src = tmp_path / "scene.tif"
    src.write_bytes(scene[0].read_bytes())
    before = src.read_bytes()
    with pytest.raises(ValueError, match=r"--out .*scene\.tif is an input"):
        predict.predict_scene(src, model, src, progress=False)
    with pytest.raises(ValueError, match=r"--stac-out .*scene\.tif is an input"):
        predict.predict_scene(src, model, tmp_path / "m.tif", stac_path=src, progress=False)
    with pytest.raises(ValueError, match=r"--stac-out .* same file as uncertainty output"):
        predict.predict_scene(
            src, model, tmp_path / "m.tif", stac_path=tmp_path / "m_uncertainty.tif"
        )
    with pytest.raises(ValueError, match=r"--out .*m\.json must end with \.tif"):
        predict.predict_scene(src, model, tmp_path / "m.json", progress=False)
    (tmp_path / "folder.tif").mkdir()
    with pytest.raises(IsADirectoryError, match=r"folder\.tif is a folder"):
        predict.predict_scene(src, model, tmp_path / "folder.tif", progress=False)
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.tif", "scene.tif"]
    assert list((tmp_path / "folder.tif").iterdir()) == []


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4, 5, 6])
def test_output_set_stays_old_when_any_move_fails(
    scene: tuple[Path, np.ndarray],
    model: SpectralCentroid,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fail_at: int,
) -> None:
    """An old map set exists; the ``fail_at``-th rename while moving the new set into place
    fails: afterwards the old map, uncertainty and item are all still there, unchanged."""
    import os

    old = {n: f"old {n}".encode() for n in ("map.tif", "map_uncertainty.tif", "map.json")}
    for n, b in old.items():
        (tmp_path / n).write_bytes(b)
    calls, real = [0], os.replace

    def replace(a: object, b: object) -> None:
        calls[0] += 1
        if calls[0] == fail_at:
            raise OSError(f"injected failure of rename {fail_at}")
        real(a, b)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="injected"):
        predict.predict_scene(scene[0], model, tmp_path / "map.tif", progress=False)
    assert {n: (tmp_path / n).read_bytes() for n in old} == old
    assert _leftovers(tmp_path) == []


def test_truncated_raster_is_a_named_error(model: SpectralCentroid, tmp_path: Path) -> None:
    _, dn = scene_dn(256, 256)
    full = tmp_path / "full.tif"  # a COG: its header comes first, the pixel blocks after it
    rasterio.shutil.copy(write_scene(tmp_path / "s.tif", dn), full, driver="COG", BLOCKSIZE=64)
    cut = tmp_path / "cut.tif"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ValueError, match=r"Reading band B0\d from .*cut\.tif failed .*truncated"):
        predict.predict_scene(cut, model, tmp_path / "m.tif", progress=False)
    assert not (tmp_path / "m.tif").exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("href", ["./absent_B02.tif", "http://127.0.0.1:9/B02.tif"])
def test_stac_item_with_broken_asset_is_a_named_error(
    model: SpectralCentroid, tmp_path: Path, href: str
) -> None:
    _, dn = scene_dn(64, 96)
    item = _local_item(tmp_path, dn, 16)
    item["assets"]["B02"]["href"] = href
    (tmp_path / "item.json").write_text(json.dumps(item))
    msg = r"(Asset B02 of STAC item .*item\.json .*absent_B02\.tif|item\.json.*127\.0\.0\.1:9.*connect)"
    with pytest.raises((ValueError, FileNotFoundError), match=msg):
        predict.predict_scene(tmp_path / "item.json", model, tmp_path / "m.tif", progress=False)
    assert not (tmp_path / "m.tif").exists()


def test_unreachable_scheduler_fails_fast(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    import socket
    import time

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(ConnectionError, match=rf"--scheduler tcp://127\.0\.0\.1:{port}"):
        predict.predict_scene(
            scene[0], model, tmp_path / "m.tif", scheduler=f"tcp://127.0.0.1:{port}"
        )
    assert time.perf_counter() - t0 < 10
    assert list(tmp_path.iterdir()) == []


def test_corrupt_model_file_is_a_named_error(tmp_path: Path) -> None:
    bad = tmp_path / "gnn.pt"
    bad.write_bytes(b"PK\x03\x04 not really a checkpoint")
    with pytest.raises(ValueError, match=r"Model .*gnn\.pt cannot be loaded as"):
        predict.load_classifier(bad)


def test_outputs_may_not_replace_an_input_by_any_name(
    scene: tuple[Path, np.ndarray], model: SpectralCentroid, tmp_path: Path
) -> None:
    """Band files of a folder, the uncertainty companion, symbolic and hard links."""
    import os

    _, dn = scene_dn(64, 64)
    folder = tmp_path / "IMG_DATA"
    folder.mkdir()
    for i, b in enumerate(BANDS):
        write_scene(folder / f"T33UUU_20170216T102101_{b}.tif", dn[i : i + 1], None)
    band = folder / "T33UUU_20170216T102101_B04.tif"
    with pytest.raises(ValueError, match=r"--out .*_B04\.tif is an input"):
        predict.predict_scene(folder, model, band, progress=False)
    src = write_scene(tmp_path / "x_uncertainty.tif", dn)
    with pytest.raises(ValueError, match=r"uncertainty output .*x_uncertainty\.tif is an input"):
        predict.predict_scene(src, model, tmp_path / "x.tif", progress=False)
    (tmp_path / "link.tif").symlink_to(src)
    os.link(src, tmp_path / "hard.tif")
    for name in ("link.tif", "hard.tif"):
        with pytest.raises(ValueError, match=rf"--out .*{name} is an input"):
            predict.predict_scene(src, model, tmp_path / name, progress=False)
    assert src.read_bytes() == (tmp_path / "hard.tif").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "IMG_DATA", "hard.tif", "link.tif", "x_uncertainty.tif",
    ]  # fmt: skip
