"""Tests for lulcbook.experiments.translate: the translation study of notebook 05-translate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from lulcbook import harmonise, legend
from lulcbook.experiments import translate as X

BANDS = ["B02", "B03", "B04", "B08"]
MSI = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]


@pytest.fixture(autouse=True)
def _one_thread_and_no_open_figures(one_torch_thread: None) -> Iterator[None]:
    """One torch thread (tiny models), and the figures a test made are closed after it."""
    yield
    plt.close("all")


class Threshold:
    """Woodland where the mean reflectance of a pixel is below 0.2, water elsewhere."""

    classes = ["woodland", "water"]

    def predict_proba(self, tile: np.ndarray) -> np.ndarray:
        dark = (np.nanmean(tile, axis=0) < 0.2).astype(np.float32)
        proba = np.stack([dark, 1 - dark])
        proba[:, ~np.isfinite(tile).all(axis=0)] = np.nan
        return proba


def _pairs(n_per_scene: int = 30) -> xr.Dataset:
    """Paired spectra whose MSI bands are the exact HLS translation of the OLI bands."""
    rng = np.random.default_rng(0)
    n = 3 * n_per_scene
    oli = rng.uniform(0.02, 0.5, (n, len(harmonise.OLI_BANDS))).astype(np.float32)
    common = [b for b in MSI if b in harmonise.OLI_FOR_MSI]
    msi = rng.uniform(0.02, 0.5, (n, len(MSI))).astype(np.float32)
    hls = harmonise.hls_bandpass_array(oli, harmonise.OLI_BANDS, common, axis=1)
    msi[:, [MSI.index(b) for b in common]] = hls
    return xr.Dataset(
        {
            "source": (("spectrum", "source_band"), oli),
            "target": (("spectrum", "target_band"), msi),
            "scene": ("spectrum", np.repeat(["s1", "s2", "s3"], n_per_scene)),
        },
        coords={"source_band": list(harmonise.OLI_BANDS), "target_band": MSI},
    )


MLP = {"hidden": 4, "depth": 1, "epochs": 1, "batch_size": 64, "seed": 0, "progress": False}


def _patches() -> xr.Dataset:
    """Four 12 × 12 patches of two regions: dark left half, bright right half."""
    s2 = np.full((4, 4, 12, 12), 0.1, np.float32)
    s2[..., 6:] = 0.4
    return xr.Dataset(
        {
            "reflectance": (("patch", "band", "y", "x"), s2),
            "label": (
                "patch",
                np.array([legend.index_of("woodland")] * 2 + [legend.index_of("water")] * 2),
            ),
            "split": ("patch", np.array(["train", "val", "train", "val"])),
            "point_y": ("patch", np.array([3, 3, 3, 3])),
            "point_x": ("patch", np.array([2, 2, 9, 9])),
            "region": ("patch", np.array(["a", "b", "a", "b"])),
        },
        coords={"band": BANDS},
    )


@pytest.fixture(scope="module")
def simulated() -> dict:
    s2 = _patches()["reflectance"].values
    return X.spatial_leave_region_out(
        s2, ["a", "b", "a", "b"], BANDS, base=4, depth=1, epochs=1, crop=None, progress=False
    )


def test_leave_one_group_out_never_sees_its_group():
    x = np.zeros((6, 1), np.float32)
    y = np.array([[1.0], [1.0], [2.0], [2.0], [6.0], [6.0]], np.float32)
    groups = ["a", "a", "b", "b", "c", "c"]

    def fit(xt, yt):
        m = yt.mean()
        return lambda z: np.full((len(z), 1), m, np.float32)

    out = X.leave_one_group_out(x, y, groups, fit, progress=False)
    np.testing.assert_allclose(out[:, 0], [4, 4, 3.5, 3.5, 1.5, 1.5])


def test_map_agreement():
    ref = np.zeros((3, 4, 4), np.uint8)
    ref[1] = 2
    same = X.map_agreement(ref, ref.copy(), points=(np.array([1, 1, 1]), np.array([2, 2, 2])))
    assert same["pixel"]["oa"] == 1.0 and same["patch"]["oa"] == 1.0
    other = ref.copy()
    other[2] = 2
    other[0, 0, 0] = legend.NODATA  # ignored
    res = X.map_agreement(ref, other)
    assert res["patch"]["oa"] == pytest.approx(31 / 47)  # 15 + 16 + 0 of 47 valid
    with pytest.raises(ValueError, match="differ in shape"):
        X.map_agreement(ref, ref[:2])


def test_hls_coefficient_table_flags_the_b08_approximation() -> None:
    table, block = X.hls_coefficient_table("S2A")
    assert table.loc["B08", "coefficients"] == "of B8A (approximation)"
    assert table.loc["B04", "coefficients"] == "published"
    assert table.loc["B02", "published slope"] == 0.9778
    assert block["msi_to_oli"]["B02"] == (0.9778, -0.004)
    assert block["approximations"] == {"B08": "B8A"}


def test_compare_spectral_scores_out_of_scene() -> None:
    res = X.compare_spectral(_pairs(), "S2A", MLP)
    assert res.bands == ["B01", "B02", "B03", "B04", "B08", "B8A", "B11", "B12"]
    assert list(res.methods) == ["hls_linear", "ols_linear", "mlp"]
    assert res.methods["hls_linear"]["rmse"] == pytest.approx(0.0, abs=1e-6)  # exact by design
    assert res.methods["ols_linear"]["rmse"] < 1e-4  # a linear map is learnable
    assert res.methods["mlp"]["psnr"] is None and res.n_spectra == 90
    assert list(res.red_edge) == ["ols_linear", "mlp"]
    assert res.red_edge["mlp"]["rmse"] > 0.05  # red edge is random: not predictable
    assert res.per_scene.shape == (3, 3)
    table = X.metric_table(res.methods)
    assert list(table.columns) == ["rmse", "mae", "sam"] and list(table.index) == list(res.methods)
    per_band = X.per_band_table(res.methods)
    assert list(per_band.index) == res.bands
    assert X.per_band_figure(per_band).axes[0].get_ylabel() == "RMSE (reflectance)"


def test_compare_spectral_4band() -> None:
    res = X.compare_spectral_4band(_pairs(), "S2A", MLP)
    assert set(res["hls_linear"]["per_band"]) == set(BANDS)
    assert res["hls_linear"]["rmse"] == pytest.approx(0.0, abs=1e-6)


def test_spatial_scores_and_figures(simulated: dict) -> None:
    ds = _patches()
    s2, regions = ds["reflectance"].values, ds["region"].values.astype(str)
    assert simulated["landsat_sim"].shape == (4, 4, 4, 4)
    assert len(simulated["models"]) == 2
    scores = X.spatial_scores(simulated, s2, regions, BANDS)
    assert list(scores) == list(X.SPATIAL_METHODS)
    assert set(scores["unet"]["per_region"]) == {"a", "b"}
    assert "per_band" not in scores["unet"]["per_region"]["a"]
    table = X.per_region_table(scores)
    assert table.shape == (2, 6)
    fig = X.simulated_examples_figure(s2, simulated, regions, BANDS, 3)
    assert len(fig.axes) >= 8  # two regions × four panels


def test_simulation_summary() -> None:
    s = X.simulation_summary(0.3, 3)
    assert s["simulated"] is True
    assert s["psf_sigma_m"] == pytest.approx(X.psf_sigma(0.3, 30.0) * 10)


def test_land_cover_consistency(simulated: dict) -> None:
    ds = _patches()
    cons = X.land_cover_consistency(Threshold(), ds, simulated, None)
    assert cons.idx.tolist() == [0, 1, 2, 3]
    assert set(cons.maps) == {"sentinel2", "bicubic_linear", "unet"}
    assert cons.maps["sentinel2"][0, 0, 0] == legend.index_of("woodland")
    assert cons.label_accuracy["sentinel2"]["oa"] == 1.0
    assert cons.label_accuracy["sentinel2"]["n"] == 2  # the validation split only
    assert cons.metrics["n_patches"] == 4
    assert set(cons.agreement) == {"spatial/bicubic_linear", "spatial/unet"}
    table = X.agreement_table(cons.agreement)
    assert list(table.columns) == ["pixel OA", "pixel macro-F1", "patch OA", "patch macro-F1"]
    assert X.label_accuracy_table(cons.label_accuracy).loc["sentinel2", "OA"] == 1.0
    assert X.consistency_figure(cons, ds["region"].values.astype(str)) is not None
    two = X.land_cover_consistency(Threshold(), ds, simulated, 2)
    assert two.idx.tolist() == [0, 3]


def _chip(value: float, size: int = 4) -> xr.DataArray:
    da = xr.DataArray(
        np.full((4, size, size), value, np.float32),
        dims=("band", "y", "x"),
        coords={
            "band": ["blue", "green", "red", "nir08"],
            "y": 5822025.0 - 30 * np.arange(size),
            "x": 330015.0 + 30 * np.arange(size),
        },
        attrs={"units": "reflectance"},
    )
    return da.rio.write_crs("EPSG:32633")


def test_chips_translate_classify_and_summarise(simulated: dict) -> None:
    chips = {"lausanne": _chip(0.1), "poppendorf": _chip(0.4)}
    translated = X.translate_chips(chips, simulated["models"], BANDS, "S2A", 3)
    assert translated["lausanne"]["unet"].shape == (4, 12, 12)
    maps, block = X.chip_summary(Threshold(), chips, translated, 45.0)
    assert block["lausanne"]["class_fraction"]["bicubic_linear"] == {"woodland": 1.0}
    assert block["poppendorf"]["class_fraction"]["bicubic_linear"] == {"water": 1.0}
    assert block["poppendorf"]["assumed_sun_elevation_deg"] == 45.0
    assert block["lausanne"]["validated"] is False
    assert block["lausanne"]["shape_10m"] == [12, 12]
    assert X.chips_rgb_figure(chips, translated, BANDS, "S2A", 3) is not None
    assert X.chips_landcover_figure(maps) is not None


def test_read_chips_from_the_sample(sample_dir: Path) -> None:
    chips = X.read_chips(sample_dir, 50.0, 16)
    assert set(chips) == {"lausanne", "poppendorf"}
    for da in chips.values():
        assert max(da.sizes["y"], da.sizes["x"]) <= 16
    assert float(chips["poppendorf"].max()) < 2.0  # reflectance, not digital numbers


def _method(rmse: float, sam: float = 1.0, psnr: float = 30.0, ssim: float = 0.9) -> dict:
    return {
        "rmse": rmse,
        "mae": rmse,
        "sam": sam,
        "psnr": psnr,
        "ssim": ssim,
        "per_band": {"B02": {}},
    }


def test_key_numbers_verdicts_follow_the_numbers() -> None:
    agree = {"pixel": {"oa": 0.9}, "patch": {"oa": 0.8, "macro_f1": 0.7}}
    metrics = {
        "methods": {
            "spectral/hls_linear": _method(0.02),
            "spectral/ols_linear": _method(0.01),
            "spectral/mlp": _method(0.011),
            "spatial/bicubic_linear": _method(0.03),
            "spatial/unet": _method(0.02),
        },
        "consistency": {"spatial/bicubic_linear": agree, "spatial/unet": agree},
    }
    lines = X.key_numbers(metrics)
    assert lines[0].startswith("spectral, 1 bands, unseen scenes: RMSE HLS 0.0200")
    assert lines[1].endswith("(improves)")  # learned linear vs HLS
    assert lines[2].endswith("(does not improve)")  # MLP vs learned linear
    assert lines[4].endswith("(improves)")  # U-Net vs bicubic
    assert "patch macro-F1 0.700" in lines[-1]
