"""Tests for lulcbook.experiments.maps (the map study of 07-maps) on tiny models and scenes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr

from lulcbook import legend
from lulcbook.experiments import maps as X
from lulcbook.models import spectral


def test_train_map_models_band_sets_and_variants(trained) -> None:
    models, seconds = trained
    assert set(models) == {("s2-9", "none"), ("s2-9", "augmented"), ("s2-9", "climate"),
                           ("s2-4", "none"), ("s2-4", "augmented"), ("landsat-6", "augmented")}  # fmt: skip
    assert set(seconds) == {f"{k}/{v}" for k, v in models}
    assert list(models["landsat-6", "augmented"].bands) == list(X.BAND_SETS["landsat-6"])
    assert models["s2-4", "augmented"].info["augment"] == "augmented"
    climate = models["s2-9", X.SHIPPED["s2-9"]]
    assert climate.uses_climate and climate.climate_field is not None
    assert climate.info["augment"] == "augmented"
    assert not any(m.uses_climate for k, m in models.items() if k[1] != "climate")
    with pytest.raises(ValueError, match="needs the points' climate"):
        X.train_map_model((np.zeros((3, 9)), np.zeros(3, int), None), "s2-9", "climate", {})
    with pytest.raises(ValueError, match="needs the climate_field"):
        X.train_map_models(pd.DataFrame(), {}, np.zeros((0, 19)))


def test_with_offset_copies_and_scales_segments(trained) -> None:
    model = trained[0]["s2-4", "none"]
    model = spectral.SpectralClassifier(**{**model.__dict__, "segment_size": 36.0})
    shifted = X.with_offset(model, X.L2A_OFFSETS["path"], 9)
    assert shifted.offset == X.L2A_OFFSETS["path"] and shifted.segment_size == 4.0
    assert model.offset == {} and model.segment_size == 36.0
    assert X.with_offset(model, {}).segment_size == 36.0


def test_ship_checks_report_both_l2a_settings_for_each_card() -> None:
    ben = {f"{b}/{X.SHIPPED[b]}, offset {o}": {"majority_agreement": a}
           for b in ("s2-9", "s2-4") for o, a in (("none", 0.4), ("path", 0.7))}  # fmt: skip
    ex = {"s2-4/augmented, offset none": {"p": 0.19}, "s2-4/augmented, offset path": {"p": 0.26}}
    city = {"artificial_share": {"d": 0.004}, "lucas_points": []}
    checks = X.ship_checks("m", {"r": 1}, {"s2-4/augmented": {"r": 2}}, ben, ex, city)
    assert set(checks) == {"m", "m-10m"}
    assert checks["m"]["bigearthnet"]["with l2a_offset"]["majority_agreement"] == 0.7
    assert checks["m-10m"]["exeter"] == {"as is": {"p": 0.19}, "with l2a_offset": {"p": 0.26}}
    assert checks["m-10m"]["brandenburg"] == {"r": 2}
    assert checks["m-10m"]["exeter_scene"]["artificial_share"] == {"d": 0.004}
    assert checks["m-10m"]["exeter_seeds"] == "" and "exeter_seeds" not in checks["m"]
    assert checks["m-10m"]["within_year"] == "" and "within_year" not in checks["m"]
    assert checks["m"]["climate"] == "" == checks["m-10m"]["climate"]
    lines = {"s2-9": "nine", "s2-4": "four"}
    told = X.ship_checks("m", {}, {"s2-4/augmented": {}}, ben, ex, city, climate_sentences=lines)
    assert told["m"]["climate"] == "nine" and told["m-10m"]["climate"] == "four"
    seeded = X.ship_checks(
        "m", {}, {"s2-4/augmented": {}}, ben, ex, city, "over seeds 0–4", "simulated dates"
    )
    assert seeded["m-10m"]["exeter_seeds"] == "over seeds 0–4"
    assert seeded["m-10m"]["within_year"] == "simulated dates"
    assert seeded["m-10m"]["exeter_confidence"] == "" and "exeter_confidence" not in seeded["m"]
    sure = X.ship_checks("m", {}, {"s2-4/augmented": {}}, ben, ex, city, confidence="confident")
    assert sure["m-10m"]["exeter_confidence"] == "confident"
    assert sure["m"]["baseline"] == "" and "baseline" not in sure["m-10m"]
    based = X.ship_checks("m", {}, {"s2-4/augmented": {}}, ben, ex, city, baseline="plain GB")
    assert based["m"]["baseline"] == "plain GB"  # the nine-band card's comparison
    ex["s2-4/augmented, offset none" + X.SERIES_SEGMENTS] = {"p": 0.15}
    series = X.ship_checks("m", {"r": 1}, {"s2-4/augmented": {"r": 2}}, ben, ex, city)
    assert series["m-10m"]["exeter"]["as is, series superpixels of `lulcbook series`"] == {
        "p": 0.15
    }


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
    ref = {"per_class": {"woodland": {"recall": 0.85, "ci95": [0.7, 0.95], "n_polygons": 4},
                         "water": {"recall": 0.9}}}  # fmt: skip
    ben = {"s2-9/climate, offset path": {"majority_agreement": 0.6, "ci95": [0.3, 0.8]}}
    verdicts = X.map_verdicts(ref, {"d1→d2": 0.2, "d2→d3": 0.05}, "best", ben,
                              {"offset none": {"woodland": 0.0}, "offset path": {"woodland": 0.2}})  # fmt: skip
    assert [ok for _, ok in verdicts] == [True, False, False, None, True]
    assert "0.200 (MISSES the target <= 0.1)" in verdicts[2][0]
    assert (
        "0.850 [0.700, 0.950], 4 polygons (meets the target >= 0.8; the interval holds"
        in (verdicts[0][0])
    )
    assert verdicts[1][0].endswith("0.900 (MISSES the target >= 0.95)")  # no interval given
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
            coords={
                "band": list(spectral.BANDS_ALL),
                "y": 5_820_000 - np.arange(8.0) * 10,
                "x": 390_000 + np.arange(8.0) * 10,
            },
            attrs={"legend_keys": keys},
        ).rio.write_crs("EPSG:32633")  # fmt: skip
        for keys in (["woodland"], ["cropland", "water"])
    ]
    runs = X.bigearthnet_runs(trained[0], None, patches)
    assert len(runs) == 10 and X.PREVIOUS not in runs and "s2-9/climate, offset path" in runs
    for r in runs.values():
        assert 0.0 <= r["majority_agreement"] <= 1.0


def test_brandenburg_variants_rows(trained) -> None:
    rng = np.random.default_rng(3)
    bands = sorted(spectral.BANDS_ALL)
    scene = xr.DataArray(
        rng.uniform(0.02, 0.3, size=(len(bands), 16, 16)).astype("float32"),
        dims=("band", "y", "x"),
        coords={
            "band": bands,
            "y": 5_820_000 + np.arange(16.0)[::-1] * 10,
            "x": 390_000 + np.arange(16.0) * 10,
        },  # near Berlin (UTM 33N)
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
    assert list(runs) == ["s2-9/none", "s2-9/augmented", "s2-9/climate", "s2-4/none",
                          "s2-4/augmented", "s2-9/climate, unmasked", "s2-9/climate, 20 m"]  # fmt: skip
    assert runs["s2-9/climate, unmasked"]["per_class"]["woodland"]["masked_pixels"] == 0
    assert runs["s2-9/augmented"]["per_class"]["woodland"]["masked_pixels"] == 32
    ben = {f"s2-9/{v}, offset {o}": {"majority_agreement": a, "pixel_share": a / 2}
           for v, a in (("augmented", 0.5), ("climate", 0.75)) for o in X.L2A_OFFSETS}  # fmt: skip
    text = X.climate_reference_sentence(runs, ben)
    wood = [runs[f"s2-9/{v}"]["per_class"]["woodland"]["recall"] for v in ("augmented", "climate")]
    assert text.startswith("Nine-band model without → with the climate input: Brandenburg")
    assert f"woodland recall {wood[0]:.3f} → {wood[1]:.3f}" in text
    assert "BigEarthNet agreement (offset path) 0.50 → 0.75, pixel share 0.25 → 0.38" in text
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


def test_exeter_verdict_judges_the_worst_clear_pair() -> None:
    changes = {"a→b": 0.08, "b→c": 0.12}
    text, ok = X.exeter_verdict(changes, "s", {"b→c": {"ci95": [0.09, 0.15], "n_blocks": 40}})
    assert not ok and text == (
        "Exeter change between consecutive clear dates, worst pair (s): 0.120 [0.090, 0.150], "
        "40 blocks (MISSES the target <= 0.1; the interval holds the target)"
    )
    assert X.exeter_verdict(changes, "s")[0].endswith("0.120 (MISSES the target <= 0.1)")
    assert X.exeter_verdict({"a→b": 0.05}, "s", {})[1] is True
    assert "nan" in X.exeter_verdict({}, "s")[0]
