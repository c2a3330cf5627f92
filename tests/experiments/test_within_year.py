"""Tests for lulcbook.experiments.within_year: simulated single dates of held-out LUCAS points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from lulcbook import legend, viz
from lulcbook.experiments import within_year as WY
from lulcbook.sources import elc10


@pytest.fixture(scope="module")
def lucas(sample_dir: Path) -> pd.DataFrame:
    """1,200 real LUCAS rows drawn across Europe."""
    table = elc10.read_elc10(sample_dir / elc10.SAMPLE_SUBDIR, s1=False)
    return table.sample(1200, random_state=0).reset_index(drop=True)


def test_distance_km_and_scene_centre() -> None:
    points = pd.DataFrame({"lon": [2.3522, -0.1276], "lat": [48.8566, 51.5072]})
    assert WY.distance_km(points, -0.1276, 51.5072) == pytest.approx([343.5, 0.0], abs=1.0)
    x = np.arange(3_400_000.0, 3_410_000.0, 1000.0) + 500
    y = np.arange(3_200_000.0, 3_190_000.0, -1000.0) - 500
    da = xr.DataArray(np.zeros((10, 10)), coords={"y": y, "x": x}, dims=("y", "x"))
    lon, lat = WY.centre_lonlat(da.rio.write_crs("EPSG:3035"))
    from pyproj import Transformer

    expect = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True).transform(
        3_405_000.0, 3_195_000.0
    )
    assert (lon, lat) == pytest.approx(expect)


def test_percentile_states_set_each_points_ndvi(lucas: pd.DataFrame) -> None:
    bands = ["B02", "B03", "B04", "B08"]
    states = WY.percentile_states(lucas, bands, ("p25", "p75"))
    assert list(states) == ["p25", "p75"]
    for p, refl in states.items():
        red, nir = refl[:, 2], refl[:, 3]
        ndvi = (nir - red) / (nir + red)
        want = np.clip(lucas[f"ndvi_{p}"].to_numpy() / 1000.0, -0.9, 0.95)
        inside = (nir > 0.005) & (nir < 0.9)  # the NIR is clipped to a physical range
        assert np.allclose(ndvi[inside], want[inside], atol=1e-6)
        original = elc10.s2_reflectance(lucas)[bands[:3]].to_numpy()
        assert np.array_equal(refl[:, :3], original)  # only the NIR moves
    with pytest.raises(elc10.MissingColumnsError, match="ndvi_p25"):
        WY.percentile_states(lucas.drop(columns="ndvi_p25"), bands, ("p25",))


def test_flip_share_is_the_mean_change_with_a_block_interval() -> None:
    a = np.array([[0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 2]])
    b = np.array([[0, 1, 1, 1, 2, 0], [0, 1, 1, 1, 2, 2]])
    blocks = np.array([1, 1, 2, 2, 3, 3])
    est = WY.flip_share(a, b, blocks, n_boot=200)
    assert est["estimate"] == pytest.approx(2 / 12)
    assert est["n_clusters"] == 3 and est["n_seeds"] == 2 and est["n_points"] == 6
    lo, hi = est["ci95"]
    assert 0.0 <= lo <= est["estimate"] <= hi <= 0.5
    same = WY.flip_share(a, a, blocks, n_boot=50)
    assert same["estimate"] == 0.0 and same["ci95"] == [0.0, 0.0]


def test_out_of_fold_classes_never_predict_a_point_with_a_model_that_saw_it(
    lucas: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int]] = []

    class Memo:
        def __init__(self, n_train: int) -> None:
            self.n_train = n_train

        def predict_vectors(self, refl: np.ndarray, climate: Any = None) -> np.ndarray:
            assert climate is None  # the default variant has no climate input
            p = np.zeros((len(refl), legend.N_CLASSES))
            p[:, self.n_train % legend.N_CLASSES] = 1.0
            return p

    annual = {r.tobytes() for r in WY.spectral.lucas_arrays(lucas, WY.BAND_SETS[WY.BAND_SET])[0]}

    def fake_train(arrays: Any, band_set: str, variant: str, sp: Any, seed: int,
                   climate: Any = None) -> Memo:  # fmt: skip
        assert climate is None
        # every fold's model learns from the annual medians, never from a simulated state
        assert all(r.tobytes() in annual for r in arrays[0])
        calls.append((len(arrays[1]), seed))
        return Memo(len(arrays[1]))

    monkeypatch.setattr(WY, "train_map_model", fake_train)
    folds = np.arange(len(lucas)) % 3
    by = WY.out_of_fold_classes(lucas, {"seed": 0}, folds, [4, 5], states=("p25", "p75"))
    assert set(by) == {(WY.BAND_SET, "spectra")}
    out = by[WY.BAND_SET, "spectra"]
    sizes = {f: int((folds != f).sum()) for f in range(3)}
    assert sorted(calls) == sorted((n, s) for s in (4, 5) for n in sizes.values())
    for f in range(3):  # each point's class comes from the model trained without its fold
        assert (out["p25"][:, folds == f] == sizes[f] % legend.N_CLASSES).all()
    assert out["p25"].shape == (2, len(lucas))


def test_within_year_flips_on_real_points(
    lucas: pd.DataFrame, spectral_params: dict, tmp_path: Path
) -> None:
    r = WY.within_year_flips(lucas, spectral_params, (-3.5, 50.7), n_boot=50, seeds=2, n_folds=3)
    assert r["simulated"] is True and r["seeds"] == [0, 1] and r["n_folds"] == 3
    assert r["n_points"] == len(lucas)
    close = WY.distance_km(lucas, -3.5, 50.7) <= WY.NEAR_KM
    assert r["near"]["n_points"] == int(close.sum())
    assert list(r["pairs"]) == ["p25→p75", "p5→p95"]
    assert set(r["accuracy"]) == set(WY.PERCENTILES)
    for by_subset in r["pairs"].values():
        assert {"all", "grassland", "cropland"} <= set(by_subset) <= set(WY.SUBSETS)
        for e in by_subset.values():
            assert 0.0 <= e["ci95"][0] <= e["estimate"] <= e["ci95"][1] <= 1.0
    table = WY.within_year_table(r)
    assert list(table.index) == ["p25→p75", "p5→p95"] and "all" in table.columns
    frame = WY.within_year_frame(r)
    assert (frame["low"] <= frame["changed share"]).all()
    text = WY.within_year_sentence(r)
    assert text.startswith("Simulated single dates (held-out LUCAS points")
    all_ = r["pairs"]["p25→p75"]["all"]["estimate"]
    assert f"p25→p75 states {all_:.1%}" in text and "the Exeter target is ≤ 10%" in text
    if "near" in r["pairs"]["p25→p75"]:
        blocks = r["pairs"]["p25→p75"]["near"]["n_clusters"]
        assert f"{r['near']['n_points']} points in {blocks} blocks" in text
    viz.save_png(WY.within_year_figure(r), tmp_path / "within.png")
    assert (tmp_path / "within.png").stat().st_size > 1000


def test_within_year_flips_refuses_what_it_cannot_split(
    lucas: pd.DataFrame, spectral_params: dict
) -> None:
    with pytest.raises(ValueError, match="n_folds at least 2"):
        WY.within_year_flips(lucas, spectral_params, (0, 50), n_boot=10, n_folds=1)
    one_block = lucas.assign(x_laea=4_000_000.0, y_laea=3_000_000.0)
    with pytest.raises(ValueError, match="one 200 km block"):
        WY.within_year_flips(one_block, spectral_params, (0, 50), n_boot=10)
    no_pct = lucas.assign(ndvi_p5=np.nan)
    with pytest.raises(ValueError, match="no LUCAS point has every NDVI percentile"):
        WY.within_year_flips(no_pct, spectral_params, (0, 50), n_boot=10)
