"""Tests for lulcbook.experiments.maps (the map study of 07-maps) on tiny models and scenes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (the .rio accessor)
import torch
import xarray as xr

from lulcbook import legend
from lulcbook.experiments import maps as X
from lulcbook.models import spectral
from lulcbook.sources import elc10

SP = {"copies": 1, "hidden": 16, "dropout": 0.1, "epochs": 1, "seed": 0, "segment_size": 0,
      "compactness": 0.05, "segmentation": "grid", "iterations": 3}  # fmt: skip


@pytest.fixture(scope="module")
def trained(sample_dir: Path) -> tuple[dict, dict]:
    torch.set_num_threads(1)
    lucas = elc10.read_elc10(sample_dir / elc10.SAMPLE_SUBDIR, s1=False, nrows=400)
    return X.train_map_models(lucas, SP)


def _scene(rng: np.random.Generator, date: str, nan_rows: int = 0) -> xr.DataArray:
    values = rng.uniform(0.02, 0.3, size=(4, 12, 16)).astype("float32")
    values[:, :nan_rows] = np.nan
    return xr.DataArray(
        values,
        dims=("band", "y", "x"),
        coords={"band": list(spectral.BANDS_10M), "y": np.arange(12.0)[::-1], "x": np.arange(16.0)},
        attrs={"datetime": f"{date}T11:00:00Z"},
    ).rio.write_crs("EPSG:32630")


def test_train_map_models_band_sets_and_variants(trained) -> None:
    models, seconds = trained
    assert set(models) == {("s2-9", "none"), ("s2-9", "augmented"), ("s2-4", "none"),
                           ("s2-4", "augmented"), ("landsat-6", "augmented")}  # fmt: skip
    assert set(seconds) == {f"{k}/{v}" for k, v in models}
    assert list(models["landsat-6", "augmented"].bands) == list(X.BAND_SETS["landsat-6"])
    assert models["s2-4", "augmented"].info["augment"] == "augmented"


def test_with_offset_copies_and_scales_segments(trained) -> None:
    model = trained[0]["s2-4", "none"]
    model = spectral.SpectralClassifier(**{**model.__dict__, "segment_size": 36.0})
    shifted = X.with_offset(model, X.L2A_OFFSETS["path"], 9)
    assert shifted.offset == X.L2A_OFFSETS["path"] and shifted.segment_size == 4.0
    assert model.offset == {} and model.segment_size == 36.0
    assert X.with_offset(model, {}).segment_size == 36.0


def test_exeter_stability_identical_dates_do_not_change(trained) -> None:
    rng = np.random.default_rng(0)
    base = _scene(rng, "2024-06-02")
    cloudy = _scene(rng, "2024-06-17", nan_rows=10)
    scenes = [base, cloudy, base.copy().assign_attrs(datetime="2024-08-01T11:00:00Z")]
    stab = X.exeter_stability(scenes, trained[0], None, clear_max_masked=0.5)
    assert stab.dates == ["2024-06-02", "2024-06-17", "2024-08-01"]
    assert stab.clear == [0, 2] and stab.masked_share["2024-06-17"] == pytest.approx(10 / 12)
    assert set(stab.candidates) == {f"s2-4/{v}, offset {o}" for v in ("none", "augmented")
                                    for o in ("none", "path")}  # fmt: skip
    for changes in stab.runs["clear"].values():
        assert changes == {"2024-06-02→2024-08-01": 0.0}
    assert len(next(iter(stab.runs["all"].values()))) == 2
    assert X.product_setting("s2-4") == "s2-4/augmented, offset none"
    assert X.product_setting("s2-4") in stab.candidates
    comp = X.exeter_composite(scenes, stab.candidates[X.product_setting("s2-4")], "m")
    assert comp["june_dates"] == 2 and comp["august_dates"] == 1 and comp["model"] == "m"
    assert X.exeter_composite(scenes[:2], stab.candidates["s2-4/none, offset none"], "m") == {}


def test_change_ndvi_ties_class_changes_to_ndvi_changes() -> None:
    rng = np.random.default_rng(2)
    before, after = _scene(rng, "2024-06-02"), _scene(rng, "2024-08-01")
    b4, b8 = list(spectral.BANDS_10M).index("B04"), list(spectral.BANDS_10M).index("B08")
    for da in (before, after):
        da.values[b4], da.values[b8] = 0.05, 0.45  # NDVI 0.8 everywhere
    after.values[b8, :, :4] = 0.1  # harvested: NDVI 0.33 in the first four columns
    grass, crop = legend.KEYS.index("grassland"), legend.KEYS.index("cropland")
    cls_b = np.full((12, 16), grass, np.uint8)
    cls_a = cls_b.copy()
    cls_a[:, :4] = crop
    cls_a[0, -1] = legend.NODATA  # masked: not counted
    table = X.change_ndvi(before, after, cls_b, cls_a)
    assert list(table) == ["grassland→grassland", "grassland→cropland"]
    moved, kept = table["grassland→cropland"], table["grassland→grassland"]
    assert moved["n"] == 48 and kept["n"] == 16 * 12 - 48 - 1
    assert moved["share"] == pytest.approx(48 / 191)
    assert moved["ndvi_change"] == pytest.approx(0.05 / 0.15 - 0.8, abs=1e-6)
    assert kept["ndvi_change"] == pytest.approx(0.0, abs=1e-6)
    sentence = X.change_ndvi_sentence(table)
    assert "grassland→cropland 25.1% of pixels, median NDVI change -0.47" in sentence
    assert X.change_ndvi(before, after, cls_b, cls_a, min_share=0.5).keys() == {
        "grassland→grassland"
    }
    with pytest.raises(ValueError, match="not on one grid"):
        X.change_ndvi(before, after, cls_b[:-1], cls_a[:-1])


def _georeferenced(rng: np.random.Generator) -> xr.DataArray:
    """A 12 x 16 scene of 20 m pixels in UTM 30N whose top-left corner is at (500000, 5620000)."""
    da = _scene(rng, "2024-06-02")
    return da.assign_coords(x=500010.0 + 20.0 * np.arange(16), y=5619990.0 - 20.0 * np.arange(12))


def test_lucas_points_in_scene_finds_pixel_of_each_point_inside() -> None:
    from pyproj import Transformer

    scene = _georeferenced(np.random.default_rng(3))
    to_ll = Transformer.from_crs("EPSG:32630", "EPSG:4326", always_xy=True)
    # pixel (row 2, col 5) centre, pixel (row 11, col 0) centre, and one point east of the scene
    lon, lat = to_ll.transform([500110.0, 500010.0, 500400.0], [5619950.0, 5619770.0, 5619950.0])
    lucas = pd.DataFrame({"point_id": [1, 2, 3], "label": ["artificial", "water", "cropland"],
                          "source": ["LUCAS_point"] * 3, "lon": lon, "lat": lat})  # fmt: skip
    pts = X.lucas_points_in_scene(lucas, scene)
    assert pts["point_id"].tolist() == [1, 2]
    assert pts[["row", "col"]].values.tolist() == [[2, 5], [11, 0]]
    maps = {"d1": np.zeros((12, 16), np.uint8), "d2": np.full((12, 16), legend.NODATA, np.uint8)}
    maps["d1"][2, 5] = legend.KEYS.index("grassland")
    out = X.points_mapped(pts, maps)
    assert out[0]["mapped"] == {"d1": "grassland", "d2": "nodata"}
    assert out[1]["label"] == "water" and out[1]["mapped"]["d1"] == legend.KEYS[0]
    assert X.lucas_points_in_scene(lucas.iloc[2:], scene).empty
    with pytest.raises(ValueError, match="no CRS"):
        X.lucas_points_in_scene(lucas, xr.DataArray(np.zeros((1, 2, 2)), dims=("band", "y", "x")))


def test_change_by_texture_puts_changes_where_the_texture_is() -> None:
    # left half: uniform vegetation (no texture); right half: a checkerboard of roofs and lawns
    red = np.full((20, 20), 0.04)
    nir = np.full((20, 20), 0.40)
    checker = (np.add.outer(np.arange(20), np.arange(20)) % 2).astype(bool)
    red[:, 10:] = np.where(checker[:, 10:], 0.04, 0.15)
    nir[:, 10:] = np.where(checker[:, 10:], 0.40, 0.18)
    da = xr.DataArray(np.stack([red, nir]), dims=("band", "y", "x"),
                      coords={"band": ["B04", "B08"]})  # fmt: skip
    before = np.full((20, 20), legend.KEYS.index("grassland"), np.uint8)
    after = before.copy()
    after[:, 12:] = legend.KEYS.index("cropland")  # every change lies in the textured half
    after[0, 0] = legend.NODATA
    out = X.change_by_texture(da, before, after, pixel_m=20.0, n_bins=2)
    assert out["window_px"] == 3
    assert out["q1"]["changed_share"] == 0.0 and out["q2"]["changed_share"] > 0.7
    assert out["q2"]["share_of_changes"] == 1.0
    assert out["q1"]["ndvi_median"] > out["q2"]["ndvi_median"]
    assert out["q1"]["range"][1] <= out["q2"]["range"][0] + 1e-12
    flat = X.change_by_texture(da.isel(x=slice(0, 9)), before[:, :9], after[:, :9], 20.0)
    assert np.isnan(flat["q1"]["changed_share"])  # no texture anywhere: tied bin edges
    assert flat["q4"]["share_of_pixels"] == 1.0 and flat["q4"]["changed_share"] == 0.0
    with pytest.raises(ValueError, match="not one grid"):
        X.change_by_texture(da, before[:5], after, pixel_m=20.0)
    with pytest.raises(ValueError, match="no pixel"):
        X.change_by_texture(da, np.full_like(before, legend.NODATA), after, pixel_m=20.0)


def test_change_by_blue_rise_finds_the_hazy_pixels() -> None:
    rng = np.random.default_rng(5)
    before = _scene(rng, "2024-06-02")
    after = before.copy()
    after.loc[{"band": "B02"}] = after.sel(band="B02") + np.where(np.arange(16) >= 12, 0.05, 0.0)
    cls = np.full((12, 16), legend.KEYS.index("grassland"), np.uint8)
    cls_after = cls.copy()
    cls_after[:, 12:] = legend.KEYS.index("cropland")  # the class changes only under the haze
    out = X.change_by_blue_rise(before, after, cls, cls_after)
    assert out["q4"]["changed_share"] == 1.0 and out["q4"]["range"][1] == pytest.approx(0.05)
    assert out["q1"]["range"] == [0.0, 0.0] and out["q4"]["share_of_changes"] == 1.0
    assert sum(v["share_of_pixels"] for v in out.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not one grid"):
        X.change_by_blue_rise(before, after.isel(x=slice(0, 8)), cls, cls_after)


def test_exeter_scene_sentence_and_lucas_texture() -> None:
    lucas = pd.DataFrame({"label": ["artificial", "artificial", "grassland"],
                          "ndvi_texture_sd": [60.0, 80.0, 30.0]})  # fmt: skip
    assert X.lucas_texture(lucas) == {"artificial": 0.07, "grassland": 0.03}
    shares = {"2024-06-02": {"artificial": 0.004}, "2024-08-01": {"artificial": 0.0}}
    points = [{"point_id": 7, "label": "artificial", "mapped": {"2024-06-02": "grassland"}}]
    bins = {"window_px": 3, "q1": {"changed_share": 0.16, "ndvi_median": 0.86},
            "q2": {"changed_share": 0.24, "ndvi_median": 0.53}}  # fmt: skip
    text = X.exeter_scene_sentence(shares, points, bins)
    assert "blue" not in text
    blue = {"q1": {"changed_share": 0.2, "range": [-0.02, 0.0]},
            "q2": {"changed_share": 0.46, "range": [0.03, 0.2]}}  # fmt: skip
    with_blue = X.exeter_scene_sentence(shares, points, bins, blue)
    assert with_blue.endswith(
        "46.0% change class in the half whose blue (B02) rose most (by +0.030 to +0.200) "
        "against 20.0% in the half whose blue rose least."
    )
    assert text.startswith("Artificial land is 0.4% on 2024-06-02, 0.0% on 2024-08-01")
    assert "point 7 (artificial) is mapped grassland on 2024-06-02" in text
    assert "16.0% of the pixels change class in the smoothest half of NDVI texture" in text
    assert "(median NDVI 0.86) and 24.0% in the most textured (median NDVI 0.53)" in text
    assert "LUCAS" not in X.exeter_scene_sentence(shares, [], {})


def test_exeter_city_gathers_the_checks_of_the_clear_dates() -> None:
    from pyproj import Transformer

    rng = np.random.default_rng(4)
    scenes = [
        _georeferenced(rng).assign_attrs(datetime=f"{d}T11:00:00Z")
        for d in ("2024-06-02", "2024-06-17", "2024-08-01")
    ]
    lon, lat = Transformer.from_crs("EPSG:32630", "EPSG:4326", always_xy=True).transform(
        [500110.0], [5619950.0]
    )
    lucas = pd.DataFrame({"point_id": [9], "label": ["artificial"], "source": ["LUCAS_point"],
                          "lon": lon, "lat": lat, "ndvi_texture_sd": [70.0]})  # fmt: skip
    art, grass = legend.KEYS.index("artificial"), legend.KEYS.index("grassland")
    maps = {
        d: np.full((12, 16), grass, np.uint8) for d in ("2024-06-02", "2024-06-17", "2024-08-01")
    }
    maps["2024-08-01"][:3] = art  # a quarter of the scene turns artificial on the last date
    city = X.exeter_city(lucas, scenes, maps, clear=[0, 2])
    assert city["artificial_share"] == {"2024-06-02": 0.0, "2024-08-01": 0.25}
    assert city["lucas_points"][0]["mapped"] == {
        "2024-06-02": "grassland",
        "2024-08-01": "artificial",
    }
    assert list(city["change_by_texture"]) == ["2024-06-02→2024-08-01"]
    bins = city["change_by_texture"]["2024-06-02→2024-08-01"]
    assert bins["window_px"] == 3
    assert sum(b["share_of_changes"] for k, b in bins.items() if k != "window_px") == pytest.approx(
        1
    )
    assert city["lucas_texture_median"] == {"artificial": 0.07}
    assert set(city["band_medians"]) == {"2024-06-02", "2024-08-01"}
    b02 = np.median(scenes[2].sel(band="B02").values)
    assert city["band_medians"]["2024-08-01"]["B02"] == pytest.approx(b02)
    assert (
        "point 9 (artificial) is mapped grassland on 2024-06-02, artificial on 2024-08-01"
        in city["text"]
    )
    table = X.bins_table(city)
    assert table is not None and len(table) == 8  # four texture bins, four blue-rise bins
    assert X.bins_table({"change_by_texture": {}, "change_by_blue_rise": {}}) is None


def test_ship_checks_report_both_l2a_settings_for_each_card() -> None:
    ben = {f"{b}/augmented, offset {o}": {"majority_agreement": a}
           for b in ("s2-9", "s2-4") for o, a in (("none", 0.4), ("path", 0.7))}  # fmt: skip
    ex = {"s2-4/augmented, offset none": {"p": 0.19}, "s2-4/augmented, offset path": {"p": 0.26}}
    city = {"artificial_share": {"d": 0.004}, "lucas_points": []}
    checks = X.ship_checks("m", {"r": 1}, {"s2-4/augmented": {"r": 2}}, ben, ex, city)
    assert set(checks) == {"m", "m-10m"}
    assert checks["m"]["bigearthnet"]["with l2a_offset"]["majority_agreement"] == 0.7
    assert checks["m-10m"]["exeter"] == {"as is": {"p": 0.19}, "with l2a_offset": {"p": 0.26}}
    assert checks["m-10m"]["brandenburg"] == {"r": 2}
    assert checks["m-10m"]["exeter_scene"]["artificial_share"] == {"d": 0.004}


def test_lausanne_shares_per_offset(trained) -> None:
    chip = np.random.default_rng(1).uniform(0.02, 0.3, size=(6, 9, 9)).astype("float32")
    shares = X.lausanne_shares(chip, trained[0]["landsat-6", "augmented"])
    assert set(shares) == {"offset none", "offset path"}
    for s in shares.values():
        assert sum(s.values()) == pytest.approx(1.0)


def test_polygon_area_matches_census_for_a_perfect_map() -> None:
    ids = np.zeros((20, 20), dtype=np.int64)
    ids[:10, :10], ids[10:, 10:] = 1, 2
    labels = np.array([legend.index_of("woodland"), legend.index_of("water")])
    cls = np.full(ids.shape, legend.index_of("cropland"), dtype=np.uint8)
    cls[ids > 0] = labels[ids[ids > 0] - 1]
    area, census = X.polygon_area(cls, ids, labels, resolution=10.0, n_per_stratum=30, seed=0)
    assert census[legend.index_of("woodland")] == pytest.approx(100 * 1e-4)
    assert area["classes"]["water"]["area"] == pytest.approx(100 * 1e-4)
    table = X.area_table(area, census)
    assert list(table.index) == ["woodland", "water"]


def test_tables_from_runs() -> None:
    runs = {"a": {"per_class": {"water": {"recall": 0.9, "ci95": [0.8, 0.95]}}}}
    assert X.recall_table(runs).loc["a", "water CI"] == "0.80–0.95"
    assert X.recall_summary(runs["a"]) == {"water": (0.9, [0.8, 0.95])}
    agree = {"b": {"majority_agreement": 0.5, "ci95": [0.2, 0.8], "pixel_share": 0.4}}
    assert X.agreement_table(agree).loc["b", "CI"] == "0.20–0.80"


def test_map_verdicts_follow_the_numbers() -> None:
    ref = {"per_class": {"woodland": {"recall": 0.85}, "water": {"recall": 0.9}}}
    ben = {"s2-9/augmented, offset path": {"majority_agreement": 0.6, "ci95": [0.3, 0.8]}}
    verdicts = X.map_verdicts(ref, {"d1→d2": 0.2, "d2→d3": 0.05}, "best", ben,
                              {"offset none": {"woodland": 0.0}, "offset path": {"woodland": 0.2}})  # fmt: skip
    assert [ok for _, ok in verdicts] == [True, False, False, None, True]
    assert "0.200 (MISSES the target <= 0.1)" in verdicts[2][0]
    assert "previous default nan" in verdicts[3][0]
    lines = X.verdict_lines(verdicts).splitlines()
    assert lines[0].startswith("✔ ") and lines[1].startswith("✘ ") and lines[3].startswith("  ")
    assert isinstance(X.recall_table({}), pd.DataFrame)


def test_bigearthnet_runs_every_model_and_offset(trained) -> None:
    rng = np.random.default_rng(2)
    patches = [
        xr.DataArray(
            rng.uniform(0.02, 0.3, size=(9, 8, 8)).astype("float32"),
            dims=("band", "y", "x"),
            coords={"band": list(spectral.BANDS_ALL)},
            attrs={"legend_keys": keys},
        )  # fmt: skip
        for keys in (["woodland"], ["cropland", "water"])
    ]
    runs = X.bigearthnet_runs(trained[0], None, patches)
    assert len(runs) == 8 and X.PREVIOUS not in runs
    for r in runs.values():
        assert 0.0 <= r["majority_agreement"] <= 1.0


def test_brandenburg_variants_rows(trained) -> None:
    rng = np.random.default_rng(3)
    bands = sorted(spectral.BANDS_ALL)
    scene = xr.DataArray(
        rng.uniform(0.02, 0.3, size=(len(bands), 16, 16)).astype("float32"),
        dims=("band", "y", "x"),
        coords={"band": bands, "y": np.arange(16.0)[::-1] * 10, "x": np.arange(16.0) * 10},
    ).rio.write_crs("EPSG:32633")
    ids = np.zeros((16, 16), dtype=np.int64)
    ids[:8], ids[8:] = 1, 2
    labels = np.array([legend.index_of("woodland"), legend.index_of("water")])
    mask = np.zeros((16, 16), dtype=bool)
    mask[:2] = True
    masked = scene.where(~mask)
    cm = X.cloudmask.CloudMask(mask, np.zeros_like(mask))
    bb = X.BrandenburgScene(scene, bands, ids, labels, cm, masked, {})
    runs = X.brandenburg_variants(trained[0], None, bb, n_boot=10)
    assert list(runs) == ["s2-9/none", "s2-9/augmented", "s2-4/none", "s2-4/augmented",
                          "s2-9/augmented, unmasked", "s2-9/augmented, 20 m"]  # fmt: skip
    assert runs["s2-9/augmented, unmasked"]["per_class"]["woodland"]["masked_pixels"] == 0
    assert runs["s2-9/augmented"]["per_class"]["woodland"]["masked_pixels"] == 32
    assert X.coarsen(scene).shape == (len(bands), 8, 8)


def _utm_scene(seed: int, size: int = 48) -> xr.DataArray:
    """A random four-band scene on a 10 m UTM grid."""
    rng = np.random.default_rng(seed)
    return xr.DataArray(
        rng.uniform(0.02, 0.3, size=(4, size, size)).astype("float32"),
        dims=("band", "y", "x"),
        coords={
            "band": list(spectral.BANDS_10M),
            "y": 5e6 - np.arange(float(size)) * 10,
            "x": 4e5 + np.arange(float(size)) * 10,
        },
    ).rio.write_crs("EPSG:32633")


def test_seam_check_compares_tiled_and_untiled_maps(trained) -> None:
    da = _utm_scene(4)
    model = trained[0]["s2-4", "augmented"]  # per-pixel: tiling cannot change a pixel's class
    seams = X.seam_check(da, model, {"tile_size": 24, "overlap": 4, "blocksize": 128}, margin=3)
    assert seams == {
        "agreement_near_borders": 1.0,
        "agreement_elsewhere": 1.0,
        "border_margin_px": 3,
    }


def test_tiling_sensitivity_grid_superpixels_give_identical_maps_slic_does_not(trained) -> None:
    rng = np.random.default_rng(5)
    fields = rng.uniform(0.02, 0.3, size=(4, 8, 8))
    values = np.repeat(np.repeat(fields, 12, axis=1), 12, axis=2)[:, :90, :90]
    da = _utm_scene(5, 90).copy(data=(values + rng.normal(0, 0.01, values.shape)).astype("float32"))
    ids = np.zeros((90, 90), dtype=np.int64)
    ids[:45], ids[45:] = 1, 2
    labels = np.array([legend.index_of("woodland"), legend.index_of("water")])
    base = trained[0]["s2-4", "augmented"]
    grid = spectral.SpectralClassifier(**{**base.__dict__, "segment_size": 16.0})
    slic = spectral.SpectralClassifier(**{**grid.__dict__, "segmentation": "slic"})
    tiling = X.tiling_sensitivity(
        da, {"grid": grid, "slic": slic}, ids, labels, [24, 40], overlap=4, n_boot=10, blocksize=128
    )
    m = grid.context_px
    assert list(tiling) == [
        f"grid, tiles 24 px (margin {m} px)", f"grid, tiles 40 px (margin {m} px)",
        "grid, whole scene", "slic, tiles 24 px (margin 4 px)", "slic, tiles 40 px (margin 4 px)",
        "slic, whole scene",
    ]  # fmt: skip
    assert all(tiling[k]["pixels_differing"] == 0 for k in list(tiling)[:3])
    assert tiling["slic, tiles 24 px (margin 4 px)"]["pixels_differing"] > 0
    table = X.tiling_table(tiling)
    assert list(table["pixels_differing"]) == [r["pixels_differing"] for r in tiling.values()]
    assert X.per_tile_slic(grid).segmentation == "slic"
    text, same = X.tiling_verdict(tiling, "grid")
    assert same  # the shipped model's maps are identical, whatever the other model does
    assert "grid: the 3 tilings give identical maps" in text and "slic: up to" in text
    assert X.tiling_verdict(tiling, "slic")[1] is False
    with pytest.raises(ValueError, match="not in the tiling study"):
        X.tiling_verdict(tiling, "gnn")


def test_verdict_never_prints_a_miss_as_the_target() -> None:
    text, ok = X.verdict(0.94984, 0.95, ">=", "water recall")
    assert not ok and "0.9498 (MISSES" in text
    assert X.verdict(0.8117, 0.8, ">=", "forest")[0].startswith("forest: 0.812 (meets")
