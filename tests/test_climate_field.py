"""Tests for lulcbook.climate_field: the climate of every pixel of a map, and maps made with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401  (registers .rio)
import torch
import xarray as xr
from affine import Affine
from predict_helpers import scene_dn, write_scene

from lulcbook import climate_field, legend
from lulcbook.cli import main
from lulcbook.models import spectral
from lulcbook.predict import predict_scene
from lulcbook.sources import worldclim

SPECTRAL = "lulcbook.models.spectral:SpectralClassifier"


@pytest.fixture(scope="module")
def europe(sample_dir: Path) -> climate_field.ClimateField:
    """The sample's real WorldClim 2.1 10' BIO1-19 for Europe."""
    return climate_field.ClimateField.read(sample_dir / climate_field.WORLDCLIM_SUBDIR)


def fine_field() -> climate_field.ClimateField:
    """A SIMULATED climate on a 0.005° grid around the test scene (every BIO a ramp in lon/lat),
    so that pixels of one small scene get different climates."""
    lon = np.arange(12.40, 12.80, 0.005) + 0.0025
    lat = np.arange(52.70, 52.40, -0.005) - 0.0025
    ramp = (lon[None, :] - 12.4) * 50 + (lat[:, None] - 52.4) * 30
    values = np.stack([ramp * (i + 1) for i in range(19)]).astype("float32")
    da = xr.DataArray(values, dims=("bio", "y", "x"),
                      coords={"bio": list(worldclim.BIO_NAMES), "y": lat, "x": lon})  # fmt: skip
    return climate_field.ClimateField(da.rio.write_crs("EPSG:4326"), source="simulated")


def climate_model(seed: int = 0) -> spectral.SpectralClassifier:
    """An untrained four-band model with climate input (deterministic, arbitrary probabilities)."""
    torch.manual_seed(seed)
    n = len(spectral.feature_names(spectral.BANDS_10M))
    net = spectral.SpectralMLP(n + 19, legend.N_CLASSES, hidden=16, dropout=0.2).eval()
    with torch.no_grad():  # make the climate weigh: its inputs matter as much as the spectra
        net.net[0].weight[:, n:] *= 20
    return spectral.SpectralClassifier(
        bands=list(spectral.BANDS_10M), classes=list(legend.KEYS), mean=np.zeros(n),
        std=np.full(n, 0.3), net=net, segment_size=64.0, climate_mean=np.full(19, 10.0),
        climate_std=np.full(19, 5.0),
    )  # fmt: skip


def test_read_refuses_missing_paths_and_incomplete_rasters(
    tmp_path: Path, sample_dir: Path
) -> None:
    with pytest.raises(climate_field.ClimateFieldError, match="does not exist; pass --climate"):
        climate_field.ClimateField.read(tmp_path / "nowhere")
    folder = tmp_path / "some"
    folder.mkdir()
    src = sample_dir / climate_field.WORLDCLIM_SUBDIR
    one = next(p for p in sorted(src.iterdir()) if p.name.endswith("bio_1.tif"))
    (folder / one.name).write_bytes(one.read_bytes())
    with pytest.raises(climate_field.ClimateFieldError, match=r"lacks \['bio2'"):
        climate_field.ClimateField.read(folder)


def test_at_and_layers_look_pixels_up_from_their_coordinates(
    europe: climate_field.ClimateField,
) -> None:
    # Berlin in UTM 33N: the same vector as sample_climate at its longitude/latitude
    x, y = 391_000.0, 5_820_000.0
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True).transform(x, y)
    want, _ = worldclim.sample_climate(europe.bio, [lon], [lat], 25.0)
    got = europe.at("EPSG:32633", np.array([x]), np.array([y]))
    np.testing.assert_allclose(got, want.values)
    assert europe.names == list(worldclim.BIO_NAMES)
    assert 5 < got[0, 0] < 15  # BIO1, mean annual temperature (°C) near Berlin
    transform = Affine(1000.0, 0, x, 0, -1000.0, y)
    layers = europe.layers("EPSG:32633", transform, (30, 40))
    assert layers.shape == (19, 30, 40)
    np.testing.assert_allclose(layers[:, 5, 7], europe.at("EPSG:32633", [x + 7500], [y - 5500])[0])
    assert np.unique(layers[0]).size > 1  # 30 x 40 km spans several 10' cells
    with pytest.raises(climate_field.ClimateFieldError, match="no CRS"):
        europe.at(None, np.zeros(1), np.zeros(1))


def test_attach_gives_a_climate_model_its_raster_and_refuses_one_for_other_models(
    sample_dir: Path,
) -> None:
    from predict_helpers import random_spectral_model

    plain = random_spectral_model()
    assert climate_field.attach(plain) is plain
    with pytest.raises(climate_field.ClimateFieldError, match="has no climate input"):
        climate_field.attach(plain, sample_dir / climate_field.WORLDCLIM_SUBDIR)
    attached = climate_field.attach(climate_model(), sample_dir / climate_field.WORLDCLIM_SUBDIR)
    assert attached.climate_field is not None and attached.uses_climate
    window = Affine(10, 0, 391e3, 0, -10, 5.82e6)
    assert attached.climate_layers("EPSG:32633", window, (4, 5)).shape == (19, 4, 5)
    # without a raster attached, the default one (the sample's) serves
    default = climate_model().climate_layers("EPSG:32633", window, (4, 5))
    np.testing.assert_array_equal(default, attached.climate_layers("EPSG:32633", window, (4, 5)))
    assert climate_field.default_field() is climate_field.default_field()  # read once


def test_the_fingerprint_follows_the_values_grid_and_fill_not_the_path(
    europe: climate_field.ClimateField, sample_dir: Path, tmp_path: Path
) -> None:
    import shutil

    fp = europe.fingerprint
    assert re.fullmatch(r"[0-9a-f]{64}", fp)
    moved = shutil.copytree(sample_dir / climate_field.WORLDCLIM_SUBDIR, tmp_path / "elsewhere")
    again = climate_field.ClimateField.read(moved)
    assert again.fingerprint == fp and again.source != europe.source
    assert again.stac_record() == {"source": "elsewhere", "sha256": fp, "fill_km": 25.0}
    warmer = climate_field.ClimateField(europe.bio + np.float32(0.1), source="warmer")
    assert warmer.fingerprint != fp
    shifted = europe.bio.assign_coords(x=europe.bio["x"] + 0.01)
    assert climate_field.ClimateField(shifted).fingerprint != fp
    assert climate_field.ClimateField(europe.bio, fill_km=10.0).fingerprint != fp
    assert climate_field.ClimateField(europe.bio).fingerprint == fp  # the source is not in it
    assert climate_field.ClimateField(europe.bio).stac_record()["source"] == ""


def test_a_climate_model_without_any_raster_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LULCBOOK_SAMPLE", str(tmp_path / "empty-sample"))
    with pytest.raises(ValueError, match=r"no climate raster attached .*empty-sample.* does not"):
        climate_model().climate_layers("EPSG:32633", Affine(10, 0, 0, 0, -10, 0), (2, 2))
    _, dn = scene_dn(60, 70)
    scene = write_scene(tmp_path / "scene.tif", dn)
    with pytest.raises(ValueError, match="no climate raster attached"):
        predict_scene(scene, climate_model(), tmp_path / "none.tif", progress=False, scale=1e-4)
    assert not (tmp_path / "none.tif").exists()


def test_a_climate_map_does_not_depend_on_the_tiling(tmp_path: Path) -> None:
    _, dn = scene_dn(300, 320)
    scene = write_scene(tmp_path / "scene.tif", dn)  # UTM 33N near 12.5° E, 52.5° N
    field = fine_field()
    model = climate_model().with_climate(field)
    maps = {}
    for tile in (128, 512):
        out = tmp_path / f"map{tile}.tif"
        predict_scene(scene, model, out, tile_size=tile, overlap=16, blocksize=128,
                      progress=False, scale=1e-4)  # fmt: skip
        with rasterio.open(out) as src:
            maps[tile] = src.read(1)
    assert np.array_equal(maps[128], maps[512])
    with rasterio.open(scene) as src:
        layers = field.layers(src.crs, src.transform, (src.height, src.width))
    assert np.unique(layers[0]).size > 20  # the pixels do get different climates
    # another climate everywhere gives another map: the climate is used
    flat = climate_field.ClimateField(field.bio * 0 + 40.0, source="flat")
    predict_scene(scene, climate_model().with_climate(flat), tmp_path / "flat.tif",
                  tile_size=512, overlap=16, blocksize=128, progress=False, scale=1e-4)  # fmt: skip
    with rasterio.open(tmp_path / "flat.tif") as src:
        assert not np.array_equal(src.read(1), maps[512])
    predict_scene(
        scene,
        climate_model(),
        tmp_path / "default.tif",
        tile_size=512,
        overlap=16,
        blocksize=128,
        progress=False,
        scale=1e-4,
    )  # fmt: skip  (the sample's raster)
    assert (tmp_path / "default.tif").exists()


def test_predict_command_takes_climate(
    tmp_path: Path, sample_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, dn = scene_dn(150, 170)
    scene = write_scene(tmp_path / "scene.tif", dn)
    model = climate_model().save(tmp_path / "climate.pt")
    base = ["predict", str(scene), "--model", str(model), "--model-class", SPECTRAL,
            "--tile-size", "64", "--blocksize", "128", "--no-progress", "--workers", "1"]  # fmt: skip
    wc = sample_dir / climate_field.WORLDCLIM_SUBDIR
    assert main([*base, "--out", str(tmp_path / "a.tif"), "--climate", str(wc)]) == 0
    assert main([*base, "--out", str(tmp_path / "b.tif")]) == 0  # the sample's raster by default
    with rasterio.open(tmp_path / "a.tif") as a, rasterio.open(tmp_path / "b.tif") as b:
        assert np.array_equal(a.read(1), b.read(1))
    props = json.loads((tmp_path / "a.json").read_text())["properties"]
    assert props["lulcbook:model"]
    europe = climate_field.ClimateField.read(wc)
    assert props[climate_field.STAC_PROPERTY] == europe.stac_record()
    assert json.loads((tmp_path / "b.json").read_text())["properties"][
        climate_field.STAC_PROPERTY
    ]["sha256"] == europe.fingerprint  # fmt: skip
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "c.tif"), "--climate", str(tmp_path / "no")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"WorldClim path .*no does not exist", err) and "Traceback" not in err
    assert not (tmp_path / "c.tif").exists()


def test_series_gives_a_climate_model_the_climate_of_its_grid() -> None:
    from lulcbook.series_predict import Series, series_probabilities

    _, dn = scene_dn(60, 70)
    data = np.stack([dn, dn]).astype("float32") * 1e-4
    series = Series(data=data, dates=["2021-06-01", "2021-07-01"], bands=list(spectral.BANDS_10M),
                    crs="EPSG:32633", transform=Affine(10, 0, 330000, 0, -10, 5822040),
                    names=["a", "b"])  # fmt: skip
    field = fine_field()
    p = series_probabilities(climate_model().with_climate(field), series, "shared")
    model = climate_model()
    layers = field.layers(series.crs, series.transform, (60, 70))
    want = model.predict_proba(data[0], labels=model.shared_segments(data), climate=layers)
    ok = np.isfinite(want).all(axis=0)
    assert ok.any()
    np.testing.assert_allclose(p[0][:, ok], want[:, ok], atol=1e-6)


def test_a_map_outside_the_climate_raster_is_refused_and_a_partial_one_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    field = fine_field()  # covers 12.40-12.80 °E, 52.40-52.70 °N
    _, dn = scene_dn(150, 170)
    inside = write_scene(tmp_path / "inside.tif", dn)
    assert field.coverage("EPSG:32633", Affine(10, 0, 330000, 0, -10, 5822040), (150, 170)) == 1.0
    far = Affine(10, 0, 330000, 0, -10, 6822040)  # 1,000 km north, in the Baltic
    with pytest.raises(
        climate_field.ClimateFieldError, match=r"far\.tif: no pixel lies on or within 25 km"
    ):
        field.check_covers("EPSG:32633", far, (150, 170), "far.tif")
    edge = Affine(100, 0, 343000, 0, -100, 5830000)  # 100 m pixels, across the field's east edge
    strict = climate_field.ClimateField(field.bio, 0.0, "simulated")  # no nearest-cell fill
    with pytest.warns(UserWarning, match="of the map has no climate in simulated"):
        share = strict.check_covers("EPSG:32633", edge, (150, 170), "edge.tif")
    assert 0 < share < 1
    model = climate_model().with_climate(climate_field.ClimateField(field.bio, 0.0, "tiny"))
    shifted = write_scene(tmp_path / "north.tif", dn)
    import rasterio as rio

    with rio.open(shifted, "r+") as dst:
        dst.transform = far
    with pytest.raises(climate_field.ClimateFieldError, match="north.tif: no pixel"):
        predict_scene(shifted, model, tmp_path / "n.tif", progress=False, scale=1e-4)
    assert not (tmp_path / "n.tif").exists()
    predict_scene(inside, model, tmp_path / "i.tif", progress=False, scale=1e-4)
    assert (tmp_path / "i.tif").exists()


def test_series_items_record_the_climate_raster(
    europe: climate_field.ClimateField, sample_dir: Path, tmp_path: Path
) -> None:
    from lulcbook import series_predict

    files = sorted((sample_dir / "s2-hls-exeter" / "hls-data").glob("hls_exe_*.tif"))[:2]
    r = series_predict.predict_series(
        files, climate_model().with_climate(europe), tmp_path / "s.tif", preset="hls",
        mask_band="Fmask", mask_values=series_predict.HLS_FMASK_INVALID, model_resolution_m=10,
    )  # fmt: skip
    items = [p.with_suffix(".json") for p in [*r.maps.values(), r.change]]
    assert len(items) >= 2
    for item in items:
        props = json.loads(item.read_text())["properties"]
        assert props[climate_field.STAC_PROPERTY] == europe.stac_record()
