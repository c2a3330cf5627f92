"""Tests for lulcbook.predict.scene: scenes → COG + STAC, seamless tiles, all-or-nothing output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from predict_helpers import (
    BANDS,
    TYPICAL_SPECTRA,
    SpectralCentroid,
    leftovers,
    noisy_centroid,
    random_spectral_model,
    scene_dn,
    simulate_scene,
    truth_index,
    write_scene,
)
from rasterio.transform import from_origin

from lulcbook import cog, legend, predict, product_stac


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
    assert leftovers(tmp_path) == []
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
    assert (cls[valid] == truth_index(model, truth)[valid]).mean() > 0.99
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
    assert item["properties"]["license"] == product_stac.PRODUCT_LICENSE
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


def test_min_confidence_takes_the_class_of_unsure_pixels_only(
    scene: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    """Pixels below the threshold lose their class, keep confidence and uncertainty, and are
    counted; the item records the threshold and the share; the rest is the full map's."""
    src, _ = scene
    model = noisy_centroid()
    kw = {"tile_size": 64, "overlap": 8, "blocksize": 128, "progress": False, "mc_samples": 4}
    full = predict.predict_scene(src, model, tmp_path / "full.tif", **kw)
    cls, conf, unc = predict.read_map(full.path)
    t = float(np.nanquantile(conf, 0.3))  # about 30 % of the mapped pixels below it
    part = predict.predict_scene(src, model, tmp_path / "part.tif", min_confidence=t, **kw)
    cls_p, conf_p, unc_p = predict.read_map(part.path)
    low = (cls != legend.NODATA) & ~predict.reaches(conf, t)
    assert 0.1 < low.sum() / (cls != legend.NODATA).sum() < 0.5
    assert (cls_p[low] == legend.NODATA).all()
    assert (cls_p[~low] == cls[~low]).all()  # nodata stays nodata, the rest keeps its class
    np.testing.assert_array_equal(conf_p, conf)  # confidence kept where the class was taken
    np.testing.assert_array_equal(unc_p, unc)
    assert part.unconfident_pixels == int(low.sum())
    counts = np.bincount(cls_p[cls_p != legend.NODATA], minlength=legend.N_CLASSES)
    assert part.class_pixels == {k: int(counts[i]) for i, k in enumerate(legend.KEYS)}
    props = json.loads(part.stac_path.read_text())["properties"]
    assert props["lulcbook:min_confidence"] == t
    assert props["lulcbook:unconfident_share"] == pytest.approx(
        low.sum() / (cls != legend.NODATA).sum()
    )
    assert "lulcbook:min_confidence" not in json.loads(full.stac_path.read_text())["properties"]
    with rasterio.open(part.path) as ds:  # what gdalinfo shows
        assert float(ds.tags()["MIN_CONFIDENCE"]) == t
    with rasterio.open(full.path) as ds:
        assert "MIN_CONFIDENCE" not in ds.tags()
    with pytest.raises(ValueError, match=r"must lie in \(0, 1\], got -0.5"):
        predict.predict_scene(src, model, tmp_path / "bad.tif", min_confidence=-0.5, **kw)
    assert not (tmp_path / "bad.tif").exists()


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


@pytest.mark.parametrize("mc_samples", [0, 3])
def test_grid_superpixel_maps_do_not_depend_on_the_tiling(
    scene: tuple[Path, np.ndarray], tmp_path: Path, mc_samples: int
) -> None:
    model = random_spectral_model()
    src, _ = scene
    maps = {}
    for tile in (48, 96, 1024):
        res = predict.predict_scene(
            src, model, tmp_path / f"t{tile}.tif", tile_size=tile, overlap=8, blocksize=128,
            mc_samples=mc_samples, progress=False,
        )  # fmt: skip
        maps[tile] = predict.read_map(res.path)
        with rasterio.open(res.path) as ds:  # the margin was raised to the model's context
            assert int(ds.tags()["OVERLAP"]) == model.context_px
    assert len(np.unique(maps[1024][0])) > 2
    for tile in (48, 96):
        for a, b in zip(maps[tile], maps[1024], strict=True):
            np.testing.assert_array_equal(a, b)


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
    assert leftovers(tmp_path) == []


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
        with LocalCluster(
            n_workers=n,
            processes=False,
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
        ) as cluster:
            on_cluster = _mc_map(src, tmp_path / f"c{n}.tif", scheduler=cluster.scheduler_address)
        np.testing.assert_array_equal(first, on_cluster)
    np.testing.assert_array_equal(first, _mc_map(src, tmp_path / "p.tif", workers=2))
    other = _mc_map(src, tmp_path / "d.tif", seed=1)
    assert not np.array_equal(first[2], other[2])  # the draws are random, and seeded
    assert np.isfinite(first[2][first[0] != legend.NODATA]).all()
