"""Tests for lulcbook.experiments.exeter (the Exeter series of 07-maps) on tiny scenes."""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from maps_helpers import scene, veiled

from lulcbook import haze, legend
from lulcbook.experiments import exeter as EX
from lulcbook.experiments import maps as X
from lulcbook.experiments.maps import MapModel
from lulcbook.models import spectral
from lulcbook.sources import elc10


def test_exeter_stability_identical_dates_do_not_change(trained) -> None:
    rng = np.random.default_rng(0)
    base = scene(rng, "2024-06-02")
    cloudy = scene(rng, "2024-06-17", nan_rows=10)
    scenes = [base, cloudy, base.copy().assign_attrs(datetime="2024-08-01T11:00:00Z")]
    stab = EX.exeter_stability(scenes, trained[0], None, clear_max_masked=0.5)
    assert stab.dates == ["2024-06-02", "2024-06-17", "2024-08-01"]
    assert stab.clear == [0, 2] and stab.masked_share["2024-06-17"] == pytest.approx(10 / 12)
    assert set(stab.candidates) == {f"s2-4/{v}, offset {o}" for v in ("none", "augmented")
                                    for o in ("none", "path")}  # fmt: skip
    series_row = EX.product_setting("s2-4") + EX.SERIES_SEGMENTS
    assert series_row in stab.runs["clear"] and series_row in stab.table.index
    assert list(stab.series) == stab.dates and stab.series["2024-06-02"].shape == (12, 16)
    for changes in stab.runs["clear"].values():
        assert changes == {"2024-06-02→2024-08-01": 0.0}
    assert set(stab.clear_intervals) == set(stab.runs["clear"])
    for iv in stab.clear_intervals.values():
        assert list(iv) == ["2024-06-02→2024-08-01"]
        assert iv["2024-06-02→2024-08-01"]["ci95"] == [0.0, 0.0]
    assert len(next(iter(stab.runs["all"].values()))) == 2
    assert EX.product_setting("s2-4") == "s2-4/augmented, offset none"
    assert EX.product_setting("s2-4") in stab.candidates
    comp = EX.exeter_composite(scenes, stab.candidates[EX.product_setting("s2-4")], "m")
    assert comp["june_dates"] == 2 and comp["august_dates"] == 1 and comp["model"] == "m"
    assert EX.exeter_composite(scenes[:2], stab.candidates["s2-4/none, offset none"], "m") == {}


def test_pair_changes_names_each_pair_by_its_dates() -> None:
    a = np.zeros((4, 5), dtype=np.uint8)
    b = a.copy()
    b[0, :] = 4  # 5 of 20 pixels change
    maps = {0: a, 2: b, 3: b}
    dates = ["2024-06-02", "2024-06-17", "2024-08-01", "2024-08-16"]
    assert EX.pair_changes(maps, dates, [(0, 2), (2, 3)]) == {
        "2024-06-02→2024-08-01": 0.25,
        "2024-08-01→2024-08-16": 0.0,
    }
    assert EX.pair_changes([a, b], dates, []) == {}


def test_series_maps_classify_every_date_on_one_segmentation(trained) -> None:
    rng = np.random.default_rng(2)
    model = spectral.SpectralClassifier(**{**trained[0]["s2-4", "augmented"].__dict__,
                                           "segment_size": 9.0})  # fmt: skip
    first = scene(rng, "2024-06-02")
    later = (first * 1.02).assign_attrs(datetime="2024-08-01T11:00:00Z")
    maps = EX.series_maps([first, later], model)
    labels = model.shared_segments(np.stack([first.values, later.values]))
    for m in maps:
        assert m.shape == (12, 16)
        for lab in np.unique(labels):  # one class per shared segment
            assert len(np.unique(m[labels == lab])) == 1


def test_seed_spread_first_seed_is_the_shipped_training(sample_dir, spectral_params) -> None:
    lucas = elc10.read_elc10(sample_dir / elc10.SAMPLE_SUBDIR, s1=False, nrows=400)
    sp = {**spectral_params, "segment_size": 36.0}  # 9 px segments at 20 m
    rng = np.random.default_rng(5)
    first = scene(rng, "2024-06-02")
    cloudy = scene(rng, "2024-06-17", nan_rows=10)
    later = (first * rng.uniform(0.7, 1.4, size=first.shape)).astype("float32")
    scenes = [first, cloudy, later.assign_attrs(datetime="2024-08-01T11:00:00Z")]
    models, _ = X.train_map_models(lucas, sp)
    stab = EX.exeter_stability(scenes, models, None, clear_max_masked=0.5)
    spread = EX.seed_spread(lucas, sp, scenes, stab.clear, n_seeds=3)
    assert spread["seeds"] == [0, 1, 2]
    pair = "2024-06-02→2024-08-01"
    product = EX.product_setting("s2-4")
    per_date = spread["segments"]["per-date"][pair]
    series = spread["segments"]["series"][pair]
    assert per_date["changed_share"][0] == pytest.approx(stab.runs["clear"][product][pair])
    iv = stab.clear_intervals[product][pair]  # the same share, with its block interval
    assert iv["changed_share"] == pytest.approx(stab.runs["clear"][product][pair])
    assert iv["ci95"][0] <= iv["changed_share"] <= iv["ci95"][1] and iv["n_blocks"] >= 1
    assert series["changed_share"][0] == pytest.approx(
        stab.runs["clear"][product + EX.SERIES_SEGMENTS][pair]
    )
    for v in (per_date, series):
        assert len(v["changed_share"]) == 3
        assert v["min"] <= v["mean"] <= v["max"] and v["mean"] == pytest.approx(
            np.mean(v["changed_share"])
        )
    table = EX.seed_table(spread)
    assert list(table.index) == [("per-date", pair), ("series", pair)]
    assert list(table.columns) == [0, 1, 2, "mean", "min", "max"]
    with pytest.raises(ValueError, match="n_seeds"):
        EX.seed_spread(lucas, sp, scenes, stab.clear, n_seeds=0)


def test_seed_sentence_counts_the_seeds_that_reach_the_target() -> None:
    pair = "2024-06-02→2024-08-01"
    spread = {
        "seeds": [0, 1, 2],
        "segments": {
            "per-date": {pair: {"changed_share": [0.2, 0.18, 0.22], "mean": 0.2, "min": 0.18,
                                "max": 0.22}},
            "series": {pair: {"changed_share": [0.12, 0.09, 0.1], "mean": 0.1033, "min": 0.09,
                              "max": 0.12}},
        },
    }  # fmt: skip
    text = EX.seed_sentence(spread)
    assert text.startswith("Exeter change between consecutive clear dates")
    assert "seeds 0–2" in text
    assert f"{pair}, per-date superpixels: mean 20.0% (range 18.0%–22.0%; 0 of 3 seeds" in text
    assert "series superpixels: mean 10.3% (range 9.0%–12.0%; 2 of 3 seeds ≤ 10%)" in text


def test_change_ndvi_ties_class_changes_to_ndvi_changes() -> None:
    rng = np.random.default_rng(2)
    before, after = scene(rng, "2024-06-02"), scene(rng, "2024-08-01")
    b4, b8 = list(spectral.BANDS_10M).index("B04"), list(spectral.BANDS_10M).index("B08")
    for da in (before, after):
        da.values[b4], da.values[b8] = 0.05, 0.45  # NDVI 0.8 everywhere
    after.values[b8, :, :4] = 0.1  # harvested: NDVI 0.33 in the first four columns
    grass, crop = legend.KEYS.index("grassland"), legend.KEYS.index("cropland")
    cls_b = np.full((12, 16), grass, np.uint8)
    cls_a = cls_b.copy()
    cls_a[:, :4] = crop
    cls_a[0, -1] = legend.NODATA  # masked: not counted
    table = EX.change_ndvi(before, after, cls_b, cls_a)
    assert list(table) == ["grassland→grassland", "grassland→cropland"]
    moved, kept = table["grassland→cropland"], table["grassland→grassland"]
    assert moved["n"] == 48 and kept["n"] == 16 * 12 - 48 - 1
    assert moved["share"] == pytest.approx(48 / 191)
    assert moved["ndvi_change"] == pytest.approx(0.05 / 0.15 - 0.8, abs=1e-6)
    assert kept["ndvi_change"] == pytest.approx(0.0, abs=1e-6)
    sentence = EX.change_ndvi_sentence(table)
    assert "grassland→cropland 25.1% of pixels, median NDVI change -0.47" in sentence
    assert EX.change_ndvi(before, after, cls_b, cls_a, min_share=0.5).keys() == {
        "grassland→grassland"
    }
    with pytest.raises(ValueError, match="not on one grid"):
        EX.change_ndvi(before, after, cls_b[:-1], cls_a[:-1])


def _georeferenced(rng: np.random.Generator) -> xr.DataArray:
    """A 12 x 16 scene of 20 m pixels in UTM 30N whose top-left corner is at (500000, 5620000)."""
    da = scene(rng, "2024-06-02")
    return da.assign_coords(x=500010.0 + 20.0 * np.arange(16), y=5619990.0 - 20.0 * np.arange(12))


def test_lucas_points_in_scene_finds_pixel_of_each_point_inside() -> None:
    from pyproj import Transformer

    scene = _georeferenced(np.random.default_rng(3))
    to_ll = Transformer.from_crs("EPSG:32630", "EPSG:4326", always_xy=True)
    # pixel (row 2, col 5) centre, pixel (row 11, col 0) centre, and one point east of the scene
    lon, lat = to_ll.transform([500110.0, 500010.0, 500400.0], [5619950.0, 5619770.0, 5619950.0])
    lucas = pd.DataFrame({"point_id": [1, 2, 3], "label": ["artificial", "water", "cropland"],
                          "source": ["LUCAS_point"] * 3, "lon": lon, "lat": lat})  # fmt: skip
    pts = EX.lucas_points_in_scene(lucas, scene)
    assert pts["point_id"].tolist() == [1, 2]
    assert pts[["row", "col"]].values.tolist() == [[2, 5], [11, 0]]
    maps = {"d1": np.zeros((12, 16), np.uint8), "d2": np.full((12, 16), legend.NODATA, np.uint8)}
    maps["d1"][2, 5] = legend.KEYS.index("grassland")
    out = EX.points_mapped(pts, maps)
    assert out[0]["mapped"] == {"d1": "grassland", "d2": "nodata"}
    assert out[1]["label"] == "water" and out[1]["mapped"]["d1"] == legend.KEYS[0]
    assert EX.lucas_points_in_scene(lucas.iloc[2:], scene).empty
    with pytest.raises(ValueError, match="no CRS"):
        EX.lucas_points_in_scene(lucas, xr.DataArray(np.zeros((1, 2, 2)), dims=("band", "y", "x")))


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
    out = EX.change_by_texture(da, before, after, pixel_m=20.0, n_bins=2)
    assert out["window_px"] == 3
    assert out["q1"]["changed_share"] == 0.0 and out["q2"]["changed_share"] > 0.7
    assert out["q2"]["share_of_changes"] == 1.0
    assert out["q1"]["ndvi_median"] > out["q2"]["ndvi_median"]
    assert out["q1"]["range"][1] <= out["q2"]["range"][0] + 1e-12
    flat = EX.change_by_texture(da.isel(x=slice(0, 9)), before[:, :9], after[:, :9], 20.0)
    assert np.isnan(flat["q1"]["changed_share"])  # no texture anywhere: tied bin edges
    assert flat["q4"]["share_of_pixels"] == 1.0 and flat["q4"]["changed_share"] == 0.0
    with pytest.raises(ValueError, match="not one grid"):
        EX.change_by_texture(da, before[:5], after, pixel_m=20.0)
    with pytest.raises(ValueError, match="no pixel"):
        EX.change_by_texture(da, np.full_like(before, legend.NODATA), after, pixel_m=20.0)


def test_change_by_blue_rise_finds_the_hazy_pixels() -> None:
    rng = np.random.default_rng(5)
    before = scene(rng, "2024-06-02")
    after = before.copy()
    after.loc[{"band": "B02"}] = after.sel(band="B02") + np.where(np.arange(16) >= 12, 0.05, 0.0)
    cls = np.full((12, 16), legend.KEYS.index("grassland"), np.uint8)
    cls_after = cls.copy()
    cls_after[:, 12:] = legend.KEYS.index("cropland")  # the class changes only under the haze
    out = EX.change_by_blue_rise(before, after, cls, cls_after)
    assert out["q4"]["changed_share"] == 1.0 and out["q4"]["range"][1] == pytest.approx(0.05)
    assert out["q1"]["range"] == [0.0, 0.0] and out["q4"]["share_of_changes"] == 1.0
    assert out["q4"]["ndvi_change_median"] == pytest.approx(0.0, abs=1e-6)  # blue only
    assert sum(v["share_of_pixels"] for v in out.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not one grid"):
        EX.change_by_blue_rise(before, after.isel(x=slice(0, 8)), cls, cls_after)


def test_change_by_ndvi_change_separates_surface_change_from_flips() -> None:
    rng = np.random.default_rng(6)
    before = scene(rng, "2024-06-02")
    after = before * rng.uniform(0.999, 1.001, before.shape)  # noise: NDVI barely changes
    after.loc[{"band": "B08"}] = xr.where(after.x >= 12, 0.5 * after.sel(band="B08"),
                                          after.sel(band="B08"))  # fmt: skip
    grass, crop = legend.KEYS.index("grassland"), legend.KEYS.index("cropland")
    cls = np.full((12, 16), grass, np.uint8)
    cls_after = cls.copy()
    cls_after[:, 12:] = crop  # the mown quarter changes class ...
    cls_after[0, 0] = crop  # ... and one pixel whose spectra stayed flips
    after[:, 0, 0] = before[:, 0, 0]
    out = EX.change_by_ndvi_change(before, after, cls, cls_after)
    assert out["q1"]["range"][0] == 0.0 and out["q1"]["changed_share"] == pytest.approx(1 / 48)
    assert out["q4"]["changed_share"] == 1.0 and out["q4"]["ndvi_change_median"] < -0.1
    with pytest.raises(ValueError, match="not one grid"):
        EX.change_by_ndvi_change(before, after.isel(x=slice(0, 8)), cls, cls_after)


class _NdviThreshold:
    """A map model for the tests: grassland where NDVI > 0.5, cropland elsewhere."""

    def predict_proba(self, values: np.ndarray) -> np.ndarray:
        red, nir = values[2], values[3]
        grass = (nir - red) / (nir + red) > 0.5
        proba = np.zeros((legend.N_CLASSES, *red.shape))
        proba[legend.KEYS.index("grassland")] = grass
        proba[legend.KEYS.index("cropland")] = ~grass
        proba[:, ~np.isfinite(values).all(axis=0)] = np.nan
        return proba


def _haze_pair() -> tuple[xr.DataArray, xr.DataArray]:
    """A 40 x 40 meadow of 20 m pixels seen clear, then through uniform haze with one mown
    parcel of 4 x 4 pixels; the last row is cloud on the second date."""
    rng = np.random.default_rng(8)
    values = np.empty((4, 40, 40))
    for i, v in enumerate((0.03, 0.06, 0.05, 0.30)):
        values[i] = v + rng.normal(0, 0.002, (40, 40))
    before = xr.DataArray(values, dims=("band", "y", "x"),
                          coords={"band": list(spectral.BANDS_10M)})  # fmt: skip
    after = before + np.array([0.04, 0.03, 0.06, -0.01])[:, None, None]
    after[3, 18:22, 18:22] = 0.08  # mown: NDVI falls
    after[:, -1] = np.nan
    return before, after


def test_haze_bound_removes_haze_and_keeps_field_change() -> None:
    before, after = _haze_pair()
    model = cast(MapModel, _NdviThreshold())
    out = EX.haze_bound(before, after, model, pixel_m=20.0, scales_m=(100.0,))
    assert out["as_is"] == 1.0  # the haze lowers NDVI below the threshold everywhere
    assert out["n_valid_both"] == 39 * 40
    bound = out["by_scale"]["100 m"]
    assert bound["changed_share"] == pytest.approx(16 / (39 * 40))  # only the mown parcel
    assert bound["blue_rise_median"] == pytest.approx(0.04, abs=1e-3)
    assert bound["blue_rise_scene_variance_share"] < 0.2  # blue rose uniformly: noise is local
    with pytest.raises(ValueError, match="same bands on one grid"):
        EX.haze_bound(before, after.isel(x=slice(0, 20)), model, pixel_m=20.0)
    with pytest.raises(ValueError, match="no pixel is valid"):
        EX.haze_bound(before, after * np.nan, model, pixel_m=20.0)


def test_exeter_scene_sentence_and_lucas_texture() -> None:
    lucas = pd.DataFrame({"label": ["artificial", "artificial", "grassland"],
                          "ndvi_texture_sd": [60.0, 80.0, 30.0]})  # fmt: skip
    assert EX.lucas_texture(lucas) == {"artificial": 0.07, "grassland": 0.03}
    shares = {"2024-06-02": {"artificial": 0.004}, "2024-08-01": {"artificial": 0.0}}
    points = [{"point_id": 7, "label": "artificial", "mapped": {"2024-06-02": "grassland"}}]
    bins = {"window_px": 3, "q1": {"changed_share": 0.16, "ndvi_median": 0.86},
            "q2": {"changed_share": 0.24, "ndvi_median": 0.53}}  # fmt: skip
    text = EX.exeter_scene_sentence(shares, points, bins)
    assert "blue" not in text
    blue = {"q1": {"changed_share": 0.2, "range": [-0.02, 0.0]},
            "q2": {"changed_share": 0.46, "range": [0.03, 0.2]}}  # fmt: skip
    with_blue = EX.exeter_scene_sentence(shares, points, bins, blue)
    assert with_blue.endswith(
        "46.0% change class in the half whose blue (B02) rose most (by +0.030 to +0.200) "
        "against 20.0% in the half whose blue rose least."
    )
    blue["q2"]["ndvi_change_median"], blue["q1"]["ndvi_change_median"] = -0.16, 0.02
    haze = {"as_is": 0.187, "by_scale": {"500 m": {"changed_share": 0.184,
            "blue_rise_scene_variance_share": 0.10}}}  # fmt: skip
    by_ndvi = {"q1": {"changed_share": 0.129, "range": [0.0, 0.031]},
               "q2": {"changed_share": 0.377, "range": [0.13, 0.9]}}  # fmt: skip
    last = EX.exeter_scene_sentence(shares, points, bins, blue, haze, by_ndvi)
    assert last.endswith(
        "12.9% change class in the half whose NDVI changed least (by at most 0.031) and 37.7% "
        "in the half whose NDVI changed most (by 0.13 or more)."
    )
    full = EX.exeter_scene_sentence(shares, points, bins, blue, haze)
    assert "(by +0.030 to +0.200, median NDVI change -0.16) against 20.0% in the half" in full
    assert "rose least (median NDVI change +0.02)" in full
    assert full.endswith(
        "(Gaussian σ 500 m; it holds 10% of the variance of the blue rise) leaves 18.4% of the "
        "pixels changing class, against 18.7% as is."
    )
    assert text.startswith("Artificial land is 0.4% on 2024-06-02, 0.0% on 2024-08-01")
    assert "point 7 (artificial) is mapped grassland on 2024-06-02" in text
    assert "16.0% of the pixels change class in the smoothest half of NDVI texture" in text
    assert "(median NDVI 0.86) and 24.0% in the most textured (median NDVI 0.53)" in text
    assert "LUCAS" not in EX.exeter_scene_sentence(shares, [], {})


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
    city = EX.exeter_city(lucas, scenes, maps, clear=[0, 2])
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
    assert city["haze_bound"] == {}  # no model, no bound
    with_model = EX.exeter_city(
        lucas, scenes, maps, [0, 2], cast(MapModel, _NdviThreshold()), series=maps
    )
    assert with_model["change_by_ndvi_change_series"] == with_model["change_by_ndvi_change"]
    assert "on series superpixels, " in with_model["text"]
    assert city["change_by_ndvi_change_series"] == {}
    bound = with_model["haze_bound"]["2024-06-02→2024-08-01"]
    assert set(bound["by_scale"]) == {"500 m", "1000 m"} and bound["n_valid_both"] == 12 * 16
    assert "of the variance of the blue rise) leaves" in with_model["text"]
    haze = EX.haze_table(with_model)
    assert haze is not None and list(haze.index.get_level_values(1)) == ["500 m", "1000 m"]
    assert EX.haze_table(city) is None
    table = EX.bins_table(city)
    assert table is not None and len(table) == 12  # four bins of texture, blue rise, NDVI change
    series_table = EX.bins_table(with_model)
    assert series_table is not None and len(series_table) == 16  # and of the series maps
    frame = EX.ndvi_change_frame(with_model)
    assert list(frame["superpixels"].unique()) == ["per date", "series"] and len(frame) == 8
    assert frame["bin"].iloc[0].startswith("q1 ") and "–" in frame["bin"].iloc[0]
    assert EX.ndvi_change_frame(city)["superpixels"].unique().tolist() == ["per date"]
    assert list(city["change_by_ndvi_change"]) == ["2024-06-02→2024-08-01"]
    assert EX.bins_table({k: {} for k in ("change_by_texture", "change_by_blue_rise",
                                          "change_by_ndvi_change")}) is None  # fmt: skip


def test_ndvi_change_figure_renders(tmp_path) -> None:
    from lulcbook import viz

    bins = {f"q{i}": {"range": [0.1 * i, 0.1 * i + 0.1], "changed_share": 0.05 * i}
            for i in (1, 2)}  # fmt: skip
    city = {
        "change_by_ndvi_change": {"d1→d2": bins},
        "change_by_ndvi_change_series": {"d1→d2": bins},
    }
    path = viz.save_png(EX.ndvi_change_figure(city), tmp_path / "f.png")
    assert path.stat().st_size > 1000


def test_haze_rows_drop_the_veiled_pixels(trained) -> None:
    scenes = veiled(np.random.default_rng(7))
    test = haze.HazeTest(dilation_m=0)
    hazed, flags = EX.hazed_scenes(scenes, test)
    assert flags[2][:, :8].all() and not flags[2][:, 8:].any() and not flags[0].any()
    assert np.isnan(hazed[2].values[:, :, :8]).all() and np.isfinite(scenes[2].values).all()
    stab = EX.exeter_stability(scenes, trained[0], None, 0.5, test)
    product = EX.product_setting("s2-4")
    rows = [product + X.HAZE, product + EX.SERIES_SEGMENTS + X.HAZE]
    assert all(r in stab.runs["clear"] for r in rows)
    assert stab.haze_flagged["2024-08-01"] == pytest.approx(0.5)
    assert stab.haze_flagged["2024-06-02"] == 0.0
    no_haze = EX.exeter_stability(scenes, trained[0], None, 0.5)
    assert no_haze.haze_flagged == {} and rows[0] not in no_haze.runs["clear"]
    pair = "2024-06-02→2024-08-01"
    assert stab.runs["clear"][rows[0]][pair] == 0.0  # what is left did not change at all


def test_seed_spread_with_the_haze_test(sample_dir, spectral_params) -> None:
    lucas = elc10.read_elc10(sample_dir / elc10.SAMPLE_SUBDIR, s1=False, nrows=300)
    sp = {**spectral_params, "segment_size": 36.0}
    scenes = veiled(np.random.default_rng(8))
    models, _ = X.train_map_models(lucas, sp)
    test = haze.HazeTest(dilation_m=0)
    stab = EX.exeter_stability(scenes, models, None, 0.5, test)
    spread = EX.seed_spread(
        lucas, sp, scenes, stab.clear, n_seeds=2,
        haze_tests={X.HAZE: test, ", other test": haze.HazeTest(blue_rise=0.1, dilation_m=0)})  # fmt: skip
    kinds = spread["segments"]
    other = {"per-date, other test", "series, other test"}
    assert set(kinds) == {"per-date", "series", "per-date" + X.HAZE, "series" + X.HAZE} | other
    pair = "2024-06-02→2024-08-01"
    product = EX.product_setting("s2-4")
    assert kinds["series" + X.HAZE][pair]["changed_share"][0] == pytest.approx(
        stab.runs["clear"][product + EX.SERIES_SEGMENTS + X.HAZE][pair]
    )
    assert "series superpixels, haze test: mean" in EX.seed_sentence(spread)
    assert "series superpixels, other test: mean" in EX.seed_sentence(spread)
    # the veil raised the blue by 0.08: a test that needs 0.1 flags nothing
    assert kinds["series, other test"] == kinds["series"]
