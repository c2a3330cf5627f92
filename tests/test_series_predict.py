"""Time-series prediction on a small real series: Exeter HLS S30 (2021) and S2 L2A (2024) windows."""

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.windows import Window

from lulcbook import cli, haze, legend, predict, series_predict, temporal, zoo

MODEL = "lucas-s2-segments-10m"
HLS_KW = {"preset": "hls", "mask_band": "Fmask", "mask_values": series_predict.HLS_FMASK_INVALID}


def _crop(src_path: Path, dst: Path, size: int = 48) -> Path:
    """Copy a real file's top-left window (keeping band names and date tags)."""
    with rasterio.open(src_path) as src:
        profile = src.profile | {
            "width": size,
            "height": size,
            "transform": src.window_transform(Window(60, 60, size, size)),
        }
        data = src.read(window=Window(60, 60, size, size))
        with rasterio.open(dst, "w", **profile) as out:
            out.write(data)
            out.descriptions = src.descriptions
            out.update_tags(**src.tags())
    return dst


@pytest.fixture(scope="module")
def model() -> predict.TileClassifier:
    info = zoo.get(MODEL)
    return predict.load_classifier(info.weights, info.metadata["model_class"])


@pytest.fixture
def hls_series(sample_dir, tmp_path) -> list[Path]:
    files = sorted((sample_dir / "s2-hls-exeter" / "hls-data").glob("hls_exe_*.tif"))
    (tmp_path / "in").mkdir()
    return [_crop(f, tmp_path / "in" / f.name) for f in files]


def _is_cog(path: Path) -> bool:
    with rasterio.open(path) as src:
        return src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG" and src.profile["tiled"]


def test_predict_series_writes_maps_change_and_items(model, hls_series, tmp_path) -> None:
    out = tmp_path / "out" / "exeter.tif"
    out.parent.mkdir()
    r = series_predict.predict_series(
        hls_series, model, out, period="month", model_resolution_m=10, model_name=MODEL, **HLS_KW
    )
    assert r.dates == ["2021-06-08", "2021-06-13", "2021-06-23", "2021-07-18"]
    assert r.periods == ["2021-06", "2021-07"]
    for lab, path in r.maps.items():
        assert path == tmp_path / "out" / f"exeter_{lab}.tif" and _is_cog(path)
        with rasterio.open(path) as src:
            cls = src.read(1)
            assert src.descriptions == ("class",) and src.nodata == legend.NODATA
            assert src.shape == (48, 48) and src.crs is not None
        assert set(np.unique(cls)) <= set(range(legend.N_CLASSES)) | {legend.NODATA}
        assert (cls != legend.NODATA).mean() > 0.5
        assert r.nodata_share[lab] == pytest.approx((cls == legend.NODATA).mean())
        item = json.loads(r.stac_items[lab].read_text())
        assert item["properties"]["lulcbook:period"] == lab
        assert item["properties"]["start_datetime"].startswith(lab)
        assert {"class", "confidence", "uncertainty"} <= set(item["assets"])
        for asset in item["assets"].values():
            assert (r.stac_items[lab].parent / asset["href"]).exists()
    assert _is_cog(r.change)
    with rasterio.open(r.change) as src:
        change = src.read(1)
        assert src.descriptions == ("change",)
    assert set(np.unique(change)) <= {0, 1, legend.NODATA}
    # the change layer is the change of the written period maps
    with rasterio.open(r.maps["2021-06"]) as a, rasterio.open(r.maps["2021-07"]) as b:
        c0, c1 = a.read(1), b.read(1)
    both = (c0 != legend.NODATA) & (c1 != legend.NODATA)
    assert np.array_equal(change[both] == 1, c0[both] != c1[both])
    item = json.loads(r.stac_items["change"].read_text())
    assert item["assets"]["change"]["href"] == "exeter_change.tif"
    assert item["properties"]["lulcbook:periods"] == r.periods
    band = item["assets"]["change"]["raster:bands"][0]
    assert band["name"] == "change" and band["nodata"] == legend.NODATA
    assert r.change_share["2021-06→2021-07"] <= r.raw_change_share["2021-06→2021-07"]


def test_rio_cogeo_validates(model, hls_series, tmp_path) -> None:
    cogeo = pytest.importorskip("rio_cogeo.cogeo")
    r = series_predict.predict_series(hls_series[:2], model, tmp_path / "m.tif", **HLS_KW)
    assert cogeo.cog_validate(str(r.change))[0]
    assert all(cogeo.cog_validate(str(p))[0] for p in r.maps.values())


def test_folder_per_date_and_grids(model, sample_dir, tmp_path) -> None:
    """S2 L2A dates come in three CRSs: each is warped onto the grid of the first."""
    files = sorted((sample_dir / "s2-hls-exeter" / "s2-data").glob("exe_*.tif"))[:3]
    root = tmp_path / "dates"
    for f in files:
        (root / f.stem).mkdir(parents=True)
        _crop(f, root / f.stem / f.name, size=40)
    inputs = series_predict.series_inputs([root])
    assert [p.name for p in inputs] == [f.stem for f in files]
    s = series_predict.read_series(
        [next(p.glob("*.tif")) for p in inputs],
        model.bands,
        preset="s2-l2a-n0400",
        mask_band="SCL",
    )
    assert s.data.shape == (3, 4, 40, 40)
    assert s.dates == ["2024-06-02", "2024-06-17", "2024-08-01"]
    assert np.isfinite(s.data[0]).mean() > 0.5
    with pytest.raises(ValueError, match="duplicate dates"):
        series_predict.read_series(
            [next(p.glob("*.tif")) for p in inputs], model.bands, dates=["2024-01-01"] * 3
        )


def test_outputs_never_replace_inputs(model, hls_series) -> None:
    first = hls_series[0].rename(hls_series[0].parent / "hls_2021-06.tif")
    out = first.parent / "hls.tif"  # would write hls_2021-06.tif, the first input
    with pytest.raises(ValueError, match="is an input"):
        series_predict.predict_series([first, *hls_series[1:]], model, out, **HLS_KW)
    assert not (first.parent / "hls_2021-07.tif").exists()
    with pytest.raises(ValueError, match="Unknown period"):
        series_predict.predict_series(hls_series, model, out.with_name("x.tif"), period="week")


def test_stac_series_one_source_per_day(monkeypatch, hls_series, model) -> None:
    from lulcbook.sources import stac

    with rasterio.open(hls_series[1]) as src:
        data = src.read([1, 2, 3, 4]).astype("float32") * 1e-4
        crs, transform = src.crs, src.transform
    ys = transform.f + transform.e * (np.arange(48) + 0.5)
    xs = transform.c + transform.a * (np.arange(48) + 0.5)
    da = xr.DataArray(
        np.stack([data, data]),
        dims=("time", "band", "y", "x"),
        coords={
            "time": np.array(["2021-06-13", "2021-07-18"], dtype="datetime64[ns]"),
            "band": ["B02", "B03", "B04", "B08"],
            "y": ys,
            "x": xs,
        },
    ).rio.write_crs(crs)
    seen = {}

    def search(**kw):
        seen.update(kw)
        return ["item"]

    monkeypatch.setattr(stac, "search", search)
    monkeypatch.setattr(stac, "load", lambda items, bands, **kw: da)
    sources = series_predict.stac_series(model.bands, [-3.6, 50.7, -3.5, 50.8], "2021-06/2021-07")
    assert seen["datetime"] == "2021-06/2021-07"
    assert [s.datetime for s in sources] == ["2021-06-13", "2021-07-18"]
    s = series_predict.read_series(sources, model.bands)
    assert s.data.shape == (2, 4, 48, 48) and np.array_equal(s.data[0], s.data[1])


def test_shared_segments_are_one_segmentation_for_every_date(model, sample_dir) -> None:
    files = sorted((sample_dir / "s2-hls-exeter" / "s2-data").glob("exe_*.tif"))
    s = series_predict.read_series(files, model.bands, preset="s2-l2a-n0400", mask_band="SCL")
    part = series_predict.Series(s.data[..., :96, :96], s.dates, s.bands, s.crs, s.transform,
                                 s.names)  # fmt: skip
    small = series_predict.for_resolution(model, 20.0, 10.0)
    shared = series_predict.series_probabilities(small, part, "shared")
    own = series_predict.series_probabilities(small, part, "per-date")
    labels = small.shared_segments(part.data)
    for t in range(len(s.dates)):
        ok = np.isfinite(shared[t, 0])
        for lab in np.unique(labels[ok])[:20]:  # one probability vector per shared segment
            assert len(np.unique(shared[t, 0][ok & (labels == lab)])) == 1
        assert np.array_equal(ok, np.isfinite(own[t, 0]))  # the same pixels are masked
    assert not np.allclose(np.nan_to_num(shared), np.nan_to_num(own))
    with pytest.raises(ValueError, match="segments must be one of"):
        series_predict.series_probabilities(small, part, "parcels")


def test_cli_series(hls_series, tmp_path, capsys) -> None:
    out = tmp_path / "cli.tif"
    values = ",".join(map(str, series_predict.HLS_FMASK_INVALID))
    argv = ["series", *map(str, hls_series), "--out", str(out), "--model", MODEL]
    argv += ["--preset", "hls", "--mask-band", "Fmask", "--mask-values", values]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "wrote 2 period maps (2021-06, 2021-07)" in printed
    assert "; no class: 2021-06: " in printed and "%, 2021-07: " in printed
    assert (tmp_path / "cli_change.tif").exists() and (tmp_path / "cli_2021-07.json").exists()
    assert cli.main(["series", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "missing does not exist" in capsys.readouterr().err
    assert cli.main(["series", "stac", "--out", str(out)]) == 2
    assert cli.main([*argv, "--change-prior", "1.5"]) == 2
    capsys.readouterr()
    props = json.loads((tmp_path / "cli_2021-07.json").read_text())["properties"]
    assert props["lulcbook:change_prior"] == temporal.SERIES_CHANGE_PRIOR  # the default
    assert props["lulcbook:haze_test"]["blue_rise"] == haze.SERIES_DEFAULT.blue_rise
    # eight classes: at 7/8 every transition is as likely as staying
    assert cli.main([*argv, "--change-prior", "0.9", "--out", str(tmp_path / "p.tif")]) == 2
    assert "--change-prior: change_prior 0.9 must lie in (0, 0.875)" in capsys.readouterr().err
    assert not list(tmp_path.glob("p_*"))
    per_date = tmp_path / "per-date.tif"
    assert cli.main([*argv, "--segments", "per-date", "--out", str(per_date)]) == 0
    assert (tmp_path / "per-date_change.tif").exists()
    assert (
        "lulcbook:input_offset"
        not in json.loads((tmp_path / "cli_2021-07.json").read_text())["properties"]
    )


def test_cli_series_l2a_offset_is_applied_and_recorded(hls_series, tmp_path, capsys) -> None:
    values = ",".join(map(str, series_predict.HLS_FMASK_INVALID))
    argv = ["series", *map(str, hls_series), "--model", MODEL, "--preset", "hls",
            "--mask-band", "Fmask", "--mask-values", values]  # fmt: skip
    plain, shifted = tmp_path / "plain.tif", tmp_path / "shifted.tif"
    assert cli.main([*argv, "--out", str(plain)]) == 0
    assert cli.main([*argv, "--out", str(shifted), "--l2a-offset"]) == 0
    documented = zoo.get(MODEL).metadata["l2a_offset"]
    for name in ("shifted_2021-07.json", "shifted_change.json"):
        props = json.loads((tmp_path / name).read_text())["properties"]
        assert props["lulcbook:input_offset"] == documented
    with (
        rasterio.open(tmp_path / "plain_2021-07_confidence.tif") as a,
        rasterio.open(tmp_path / "shifted_2021-07_confidence.tif") as b,
    ):
        assert not np.array_equal(a.read(1), b.read(1))  # the offset moves the probabilities
    model_file = zoo.get(MODEL).weights
    capsys.readouterr()
    other = tmp_path / "copy.pt"
    other.write_bytes(model_file.read_bytes())  # the same weights, but not a shipped model
    bad = [*argv, "--out", str(tmp_path / "bad.tif"), "--model", str(other), "--l2a-offset",
           "--model-class", zoo.get(MODEL).metadata["model_class"]]  # fmt: skip
    assert cli.main(bad) == 2
    assert "--l2a-offset: model 'copy.pt' documents no l2a_offset" in capsys.readouterr().err
    assert not (tmp_path / "bad_2021-07.tif").exists()
    l1c = [*argv[:-6], "--preset", "s2-l1c", "--out", str(tmp_path / "l1c.tif"), "--l2a-offset"]
    assert cli.main(l1c) == 2
    assert "--preset s2-l1c declares L1C" in capsys.readouterr().err
    assert not (tmp_path / "l1c_2021-07.tif").exists()
    # a STAC item of a level-1 product among the inputs, or a search of a level-1 collection
    item = tmp_path / "item.json"
    item.write_text(json.dumps({"type": "Feature", "id": "S2A_MSIL1C_x", "collection": "sentinel-2-l1c", "properties": {}}))  # fmt: skip
    assert cli.main(["series", str(hls_series[0]), str(item), "--preset", "hls",
                     "--out", str(tmp_path / "item.tif"), "--l2a-offset"]) == 2  # fmt: skip
    assert "STAC item 'S2A_MSIL1C_x' in" in capsys.readouterr().err
    search = ["series", "stac", "--bbox=-3.6,50.7,-3.5,50.8", "--datetime", "2021-06/2021-07",
              "--collection", "sentinel-2-l1c", "--out", str(tmp_path / "s.tif"), "--l2a-offset"]  # fmt: skip
    assert cli.main(search) == 2
    assert "--collection sentinel-2-l1c holds L1C" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("item", "s."))) == [
        "item.json"
    ]


def test_cli_series_haze_test_masks_and_records(sample_dir, tmp_path, capsys) -> None:
    """Real S2 L2A dates: the haze test's flags become nodata and every item records them."""
    files = sorted((sample_dir / "s2-hls-exeter" / "s2-data").glob("exe_*.tif"))
    dates = [f for f in files if "06-02" in f.name or "08-01" in f.name]  # clear, then veiled
    crops = [_crop(f, tmp_path / f.name, size=96) for f in dates]
    argv = ["series", *map(str, crops), "--model", MODEL, "--preset", "s2-l2a-n0400",
            "--mask-band", "SCL", "--period", "date"]  # fmt: skip
    plain, hazed = tmp_path / "plain.tif", tmp_path / "hazed.tif"
    assert cli.main([*argv, "--out", str(plain), "--no-haze-test"]) == 0
    assert cli.main([*argv, "--out", str(hazed), "--haze-test"]) == 0
    props = json.loads((tmp_path / "hazed_2024-08-01.json").read_text())["properties"]
    record = props["lulcbook:haze_test"]
    assert (record["blue_rise"], record["red_ratio"], record["dilation_m"]) == (0.02, 1.5, 40.0)
    default = tmp_path / "default.tif"  # without a flag the test runs, with the same thresholds
    assert cli.main([*argv, "--out", str(default)]) == 0
    props = json.loads((tmp_path / "default_2024-08-01.json").read_text())["properties"]
    assert props["lulcbook:haze_test"] == record
    with (
        rasterio.open(tmp_path / "default_2024-08-01.tif") as a,
        rasterio.open(tmp_path / "hazed_2024-08-01.tif") as b,
    ):
        assert np.array_equal(a.read(1), b.read(1))
    shares = record["flagged_share"]
    assert shares["2024-08-01"] > shares["2024-06-02"] and shares["2024-08-01"] > 0.01
    assert (
        "lulcbook:haze_test"
        in json.loads((tmp_path / "hazed_change.json").read_text())["properties"]
    )
    assert (
        "lulcbook:haze_test"
        not in json.loads((tmp_path / "plain_2024-08-01.json").read_text())["properties"]
    )
    for date in ("2024-06-02", "2024-08-01"):
        with (
            rasterio.open(tmp_path / f"plain_{date}.tif") as a,
            rasterio.open(tmp_path / f"hazed_{date}.tif") as b,
        ):
            extra = (b.read(1) == legend.NODATA).sum() - (a.read(1) == legend.NODATA).sum()
            assert extra == pytest.approx(shares[date] * a.width * a.height, abs=0.5)
    capsys.readouterr()
    one = ["series", str(crops[0]), "--model", MODEL, "--preset", "s2-l2a-n0400",
           "--out", str(tmp_path / "one.tif"), "--haze-test"]  # fmt: skip
    assert cli.main(one) == 2
    assert "--haze-test compares dates; the series has 1" in capsys.readouterr().err
    assert not (tmp_path / "one_2024-06.tif").exists()
    assert cli.main(one[:-1]) == 0  # not asked for: one date goes without, with a warning
    assert "warning: no haze test: it compares dates; the series has 1" in capsys.readouterr().err
    props = json.loads((tmp_path / "one_2024-06.json").read_text())["properties"]
    assert "lulcbook:haze_test" not in props
    both = [*argv, "--out", str(tmp_path / "both.tif"), "--no-haze-test", "--haze-thresholds", "0.02,1.5"]  # fmt: skip
    assert cli.main(both) == 2
    assert (
        "--haze-thresholds sets the haze test that --no-haze-test turns off"
        in capsys.readouterr().err
    )
    # other thresholds: a lower blue rise flags more, and the items record the pair used
    lower = tmp_path / "lower.tif"
    assert cli.main([*argv, "--out", str(lower), "--haze-thresholds", "0.01,1.5"]) == 0
    rec = json.loads((tmp_path / "lower_2024-08-01.json").read_text())["properties"]
    rec = rec["lulcbook:haze_test"]
    assert (rec["blue_rise"], rec["red_ratio"]) == (0.01, 1.5)
    assert rec["flagged_share"]["2024-08-01"] > shares["2024-08-01"]
    for bad, why in (("0.02", "takes BLUE_RISE,RED_RATIO; got 1"), ("0.02,-1", "red_ratio must")):
        capsys.readouterr()
        out = tmp_path / "bad.tif"
        assert cli.main([*argv, "--out", str(out), "--haze-thresholds", bad]) == 2
        assert why in capsys.readouterr().err
        assert not list(tmp_path.glob("bad*"))


def test_hls_fmask_invalid_are_cloud_adjacency_and_shadow() -> None:
    """Values with bit 1, 2 or 3 set; cirrus (bit 0), snow, water and aerosol alone are kept."""
    invalid = set(series_predict.HLS_FMASK_INVALID)
    assert {2, 4, 8, 2 + 64, 8 + 128} <= invalid
    assert not {0, 1, 16, 32, 64, 128, 1 + 16 + 32 + 192} & invalid
    assert len(invalid) == 256 - 32  # the 32 values with none of the three bits
