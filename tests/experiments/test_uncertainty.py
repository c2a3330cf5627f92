"""Tests for lulcbook.experiments.uncertainty (the calibration study of 06-uncertainty)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lulcbook import legend, viz
from lulcbook import uncertainty as U
from lulcbook.experiments import uncertainty as X


def _overconfident_fold(rng: np.random.Generator, n: int, region: str) -> dict:
    z = rng.normal(0, 1.5, size=(n, 3))
    y = np.array([rng.choice(3, p=p) for p in F.softmax(torch.tensor(z), 1).numpy()])
    zz = torch.tensor(z * 3.0)  # logits three times too sharp
    members = torch.stack([zz, zz + torch.tensor(rng.normal(0, 0.5, size=(n, 3)))])
    half = n // 2
    return {
        "region": region,
        "val_y": y[:half],
        "test_y": y[half:],
        "logits": {
            "single": {"val": zz[None, :half], "test": zz[None, half:]},
            "ensemble": {"val": members[:, :half], "test": members[:, half:]},
        },
    }


def test_calibration_study_fixes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    folds = [_overconfident_fold(rng, 800, "a"), _overconfident_fold(rng, 600, "b")]
    res = X.calibration_study(folds, level=0.9, conformal_method="lac", n_bins=15, n_boot=100)
    single = res["metrics"]["single"]
    assert single["temperature"]["a"] == pytest.approx(3.0, rel=0.2)
    assert single["after_calibration"]["nll"] < single["before_calibration"]["nll"]
    assert single["after_calibration"]["ece"] < single["before_calibration"]["ece"]
    # one temperature does not change the predicted class
    assert single["after_calibration"]["accuracy"] == single["before_calibration"]["accuracy"]
    assert 0.85 <= single["conformal_coverage"] <= 0.95 and single["conformal_level"] == 0.9
    assert res["y"].shape == (700,) and res["probs"]["ensemble"]["after"].shape == (700, 3)
    assert list(res["region"][:2]) == ["a", "a"] and res["region"][-1] == "b"
    lo, hi = single["ece_change_ci95"]
    assert lo <= hi < 0  # the ECE drop exceeds its bootstrap noise
    ens = res["metrics"]["ensemble"]
    assert "auroc_misclassification_mutual_information" in ens
    assert np.all(res["mutual_information"]["ensemble"] >= 0)


def test_calibration_verdicts_follow_the_intervals() -> None:
    rng = np.random.default_rng(0)
    folds = [_overconfident_fold(rng, 800, "a"), _overconfident_fold(rng, 600, "b")]
    res = X.calibration_study(folds, level=0.9, conformal_method="lac", n_bins=15, n_boot=100)
    v = X.calibration_verdicts(res["metrics"])
    assert set(v) == {"single", "ensemble"}
    assert v["single"]["ece"] == "lowers" and v["single"]["nll"] == "lowers"
    assert v["single"]["text"].startswith("single: temperature scaling lowers ECE (")

    def entry(ece: tuple[float, float], ece_ci: list[float], nll_ci: list[float]) -> dict:
        return {
            "before_calibration": {"ece": ece[0], "nll": 1.0},
            "after_calibration": {"ece": ece[1], "nll": 0.9},
            "ece_change_ci95": ece_ci,
            "nll_change_ci95": nll_ci,
        }

    # a lower point estimate whose interval holds 0 is not a gain; an interval above 0 a rise
    w = X.calibration_verdicts(
        {
            "a": entry((0.12, 0.10), [-0.05, 0.01], [-0.2, -0.05]),
            "b": entry((0.1, 0.2), [0.02, 0.2], [0.0, 0.1]),
        }
    )
    assert w["a"]["ece"] == "does not detectably change" and w["a"]["nll"] == "lowers"
    assert "ECE (0.120 → 0.100, change 95 % CI -0.050 to +0.010)" in w["a"]["text"]
    assert w["b"]["ece"] == "raises" and w["b"]["nll"] == "does not detectably change"
    assert X.change_word([-0.0, 0.0]) == "does not detectably change"


def test_member_spread_scores_each_member_as_the_single_network() -> None:
    rng = np.random.default_rng(1)
    folds = [_overconfident_fold(rng, 400, "a"), _overconfident_fold(rng, 300, "b")]
    res = X.calibration_study(folds, level=0.9, conformal_method="lac", n_bins=15, n_boot=20)
    spread = X.member_spread(folds, n_bins=15)
    single = res["metrics"]["single"]
    assert spread["members"] == 2 and len(spread["ece_after"]) == 2
    # member 0 is the single network: the same scores as the study's single rows
    assert spread["ece_before"][0] == pytest.approx(single["before_calibration"]["ece"])
    assert spread["ece_after"][0] == pytest.approx(single["after_calibration"]["ece"])
    assert spread["accuracy"][0] == pytest.approx(single["before_calibration"]["accuracy"])
    assert spread["ece_before"][1] != spread["ece_before"][0]  # the noisier member differs
    assert spread["n_ece_lowered"] == 2  # both members are too sharp; scaling helps both
    text = X.member_spread_sentence(spread)
    assert "the 2 members" in text and "of 2 of 2 members" in text
    short = dict(
        folds[1], logits={"ensemble": {k: v[:1] for k, v in folds[1]["logits"]["ensemble"].items()}}
    )
    with pytest.raises(ValueError, match=r"different sizes: \[1, 2\]"):
        X.member_spread([folds[0], short])


def test_paired_change() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    good = np.where(y[:, None] == np.arange(2), 0.8, 0.2)
    bad = np.full((300, 2), 0.5)
    lo, hi = X.paired_change(
        lambda p, t: float(np.mean(p[np.arange(len(t)), t])), bad, good, y, n_boot=200
    ).ci95
    assert lo == pytest.approx(0.3) and hi == pytest.approx(0.3)  # a constant change of +0.3
    noisy = rng.dirichlet([1, 1], size=300)
    lo, hi = X.paired_change(
        lambda p, t: float(np.mean(p.argmax(1) == t)), noisy, good, y, n_boot=200
    ).ci95
    assert 0.3 < lo < hi < 0.7  # accuracy 0.5 -> 1.0, with sampling noise
    same = X.paired_change(lambda p, t: float(U.entropy(p).mean()), noisy, noisy, y, n_boot=50)
    assert same.ci95 == (0.0, 0.0) and same.estimate == 0.0


@pytest.fixture(scope="module", autouse=True)
def plotting() -> None:
    viz.setup_plotting()  # as notebook.setup does


@pytest.fixture(scope="module")
def study() -> dict:
    rng = np.random.default_rng(0)
    folds = [_overconfident_fold(rng, 200, "a"), _overconfident_fold(rng, 160, "b")]
    for f in folds:  # all three methods, as fold_logits gives them
        f["logits"]["mc_dropout"] = f["logits"]["ensemble"]
    return X.calibration_study(folds, level=0.9, conformal_method="lac", n_bins=10, n_boot=20)


def test_tables_of_the_study(study: dict) -> None:
    auroc = X.auroc_table(study)
    assert list(auroc.index) == list(U.METHODS)
    assert np.isnan(auroc.loc["single", "mutual information"])
    assert (
        auroc.loc["ensemble", "entropy (after)"]
        == (study["metrics"]["ensemble"]["after_calibration"]["auroc_misclassification"])
    )
    conf = X.conformal_table(study)
    assert (conf["conformal_level"] == 0.9).all() and (conf["conformal_method"] == "lac").all()
    fig = X.reliability_figure(study, n_bins=10)
    assert len(fig) == len(U.METHODS)
    folds = [{"region": "a", "n_train": 5, "n_val_selection": 2, "n_val_calibration": 3,
              "test_y": np.zeros(4)}]  # fmt: skip
    assert X.fold_table(folds).iloc[0].to_dict() == {
        "region": "a", "n_train": 5, "n_val_selection": 2, "n_val_calibration": 3, "n_test": 4
    }  # fmt: skip


def _polygons():
    import geopandas as gpd
    from shapely.geometry import box

    # water polygon over the left half of the top rows, woodland over the bottom right
    geoms = [box(0, 60, 50, 100), box(50, 0, 100, 40)]
    labels = [legend.index_of("water"), legend.index_of("woodland")]
    return gpd.GeoDataFrame({"label_index": labels}, geometry=geoms, crs="EPSG:32633")


def test_polygon_sample_census_estimate_and_metrics() -> None:
    from rasterio.transform import from_origin

    class_map = np.full((10, 10), legend.index_of("cropland"), dtype=np.uint8)
    class_map[:4, :5] = legend.index_of("water")
    class_map[6:, 5:] = legend.index_of("woodland")
    class_map[9, 9] = legend.NODATA
    ps = X.polygon_sample(_polygons(), class_map, from_origin(0, 100, 10, 10), 5, seed=0)
    assert len(ps.map_px) == 20 + 19  # nodata left out
    assert ps.truth_ha[legend.index_of("water")] == pytest.approx(0.2)
    assert ps.observed == sorted([legend.index_of("water"), legend.index_of("woodland")])
    assert ps.counts.sum() == 10  # 5 per map class
    # a perfect map inside the polygons: the estimate is the census, the interval has no width
    assert ps.estimate.area[legend.index_of("woodland")] == pytest.approx(0.19)
    assert set(X.area_table(ps).index) == {"water", "woodland"}
    assert X.sample_counts_table(ps.counts).shape == (2, 2)
    area = X.area_metrics(ps, 5, {"water": 1.0}, 3)
    assert list(area)[:6] == ["population", "sample", "unit", "n_per_stratum", "n_sample",
                              "n_population"]  # fmt: skip
    assert area["n_population"] == 39 and area["repeats"] == 3
    assert set(area["classes"]) == {"water", "woodland"}
    assert area["classes"]["water"]["census_truth"] == pytest.approx(0.2)
    assert X.area_figure(ps) is not None


def test_scene_metrics_and_class_table() -> None:
    class_map = np.array([[0, 0], [1, legend.NODATA]], dtype=np.uint8)
    unc = {k: np.array([[0.1, 0.3], [0.5, np.nan]]) for k in U.UNCERTAINTY_KEYS}
    unc["classes"] = class_map
    m = X.scene_metrics(class_map, unc, 4, 1.5, U.UNCERTAINTY_KEYS)
    assert m["mapped_area_ha"] == {legend.KEYS[0]: 0.02, legend.KEYS[1]: 0.01}
    assert m["mean_entropy"] == pytest.approx(0.3) and m["shape"] == [2, 2]
    table = X.class_uncertainty_table(class_map, unc)
    assert table["mean_entropy"].tolist() == pytest.approx([0.2, 0.5])


def test_uncertainty_maps_figure_has_four_panels() -> None:
    import xarray as xr

    rng = np.random.default_rng(0)
    bands = ["B02", "B03", "B04", "B08"]
    scene = xr.DataArray(rng.uniform(0, 0.3, (4, 8, 8)), dims=("band", "y", "x"),
                         coords={"band": bands, "y": np.arange(8.0), "x": np.arange(8.0)})  # fmt: skip
    unc = {"classes": np.zeros((8, 8), np.uint8), "entropy": rng.uniform(0, 1, (8, 8)),
           "mutual_information": rng.uniform(0, 0.2, (8, 8))}  # fmt: skip
    assert len(X.uncertainty_maps_figure(scene, bands, unc)) == 4
