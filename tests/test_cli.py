"""Tests for the ``lulcbook`` command line (``lulcbook predict``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from predict_helpers import fitted_centroid, local_item, noisy_centroid, scene_dn, write_scene

from lulcbook import legend
from lulcbook.cli import main

MODEL_CLASS = "predict_helpers:SpectralCentroid"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A simulated scene (uint16 DN, lower-case band descriptions) and a fitted model file."""
    folder = tmp_path_factory.mktemp("cli")
    _, dn = scene_dn(150, 170)
    return {
        "scene": write_scene(folder / "scene.tif", dn),
        "nodesc": write_scene(folder / "nodesc.tif", dn, descriptions=None),
        "three": write_scene(folder / "three.tif", dn[:3], descriptions=["B02", "B03", "B04"]),
        "model": fitted_centroid().save(folder / "centroid.json"),
    }


def _args(src: Path, model: Path, out: Path, *extra: str) -> list[str]:
    return [
        "predict", str(src), "--model", str(model), "--out", str(out),
        "--model-class", MODEL_CLASS, "--tile-size", "64", "--blocksize", "128", "--no-progress",
        "--workers", "1",
        *extra,
    ]  # fmt: skip


def test_predict_command_writes_the_map(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "map.tif"
    assert main(_args(inputs["scene"], inputs["model"], out, "--datetime", "2017-02-16")) == 0
    assert "wrote" in capsys.readouterr().out
    with rasterio.open(out) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and ds.overviews(1)
        assert ds.colormap(1)[6][:3] == (0x2B, 0x83, 0xBA)
        assert (ds.read(1)[:20, :30] == legend.NODATA).all()
    item = json.loads((tmp_path / "map.json").read_text())
    assert item["properties"]["datetime"].startswith("2017-02-16")
    assert item["properties"]["lulcbook:model"] == {"name": inputs["model"].name, "version": ""}


def test_band_names_option_for_files_without_descriptions(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.tif"
    assert main(_args(inputs["nodesc"], inputs["model"], out)) == 1
    assert "--band-names" in capsys.readouterr().err and not out.exists()
    args = _args(inputs["nodesc"], inputs["model"], out, "--band-names", "b02,b03,b04,b08")
    assert main([*args, "--stac-out", str(tmp_path / "item.json")]) == 0
    assert out.exists() and (tmp_path / "item.json").exists()
    with rasterio.open(out) as ds:
        assert (ds.read(1)[30:, 40:] != legend.NODATA).all()


@pytest.mark.parametrize(
    ("key", "out_name", "message"),
    [
        ("three", "m.tif", "['B08'] missing in"),
    ],
)
def test_errors_exit_1_and_leave_no_file(
    inputs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    out_name: str,
    message: str,
) -> None:
    out = tmp_path / out_name
    assert main(_args(inputs[key], inputs["model"], out)) == 1
    err = capsys.readouterr().err
    assert err.startswith("lulcbook: error:") and message in err
    assert list(tmp_path.iterdir()) == []


def test_missing_output_folder_is_a_usage_error(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(inputs["scene"], inputs["model"], tmp_path / "nowhere" / "m.tif")) == 2
    err = capsys.readouterr().err
    assert err.startswith("lulcbook: error: Output folder") and "nowhere" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        (("--preset", "nope"), r"argument --preset: invalid choice: 'nope'"),
        (("--tile-size", "abc"), r"argument --tile-size: invalid int value: 'abc'"),
        (("--no-such-option",), r"unrecognized arguments: --no-such-option"),
    ],
)
def test_unknown_option_values_are_one_line_usage_errors(
    inputs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    pattern: str,
) -> None:
    with pytest.raises(SystemExit) as info:
        main(_args(inputs["scene"], inputs["model"], tmp_path / "m.tif", *extra))
    assert info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lulcbook: error:")
    assert re.search(pattern, lines[0])


def test_console_script(inputs: dict[str, Path], tmp_path: Path) -> None:
    """The installed ``lulcbook`` script, as a user would run it."""
    script = Path(sys.executable).parent / "lulcbook"
    if not script.exists():
        pytest.fail(f"console script {script} missing: pip install -e . again")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    out = tmp_path / "map.tif"
    args = [
        *_args(inputs["scene"], inputs["model"], out, "--preset", "s2-l1c"),
        "--workers",
        "2",
        "--threads",
    ]
    done = subprocess.run([str(script), *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    with rasterio.open(out) as ds:
        cls = ds.read(1)
    assert set(np.unique(cls)) <= {0, 1, 2, 6, legend.NODATA}
    assert (cls != legend.NODATA).sum() == 150 * 170 - 20 * 30
    assert "wrote" in done.stdout and (tmp_path / "map.json").exists()


# --- every failure: one line, the right exit status, nothing written --------------------------


def _fails(args: list[str], capsys: pytest.CaptureFixture[str], status: int, pattern: str) -> str:
    assert main(args) == status
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("lulcbook: error:"), err
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def work(inputs: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """A private copy of the scene (tests may try to overwrite it) and the model."""
    scene = tmp_path / "scene.tif"
    scene.write_bytes(inputs["scene"].read_bytes())
    return {"scene": scene, "model": inputs["model"], "dir": tmp_path}


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_out_equal_to_the_input_is_refused(
    work: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before = work["scene"].read_bytes()
    _fails(_args(work["scene"], work["model"], work["scene"]), capsys, 2,
           r"--out .*scene\.tif is an input")  # fmt: skip
    assert work["scene"].read_bytes() == before and _files(work["dir"]) == ["scene.tif"]


@pytest.mark.parametrize(
    ("extra", "out_name", "pattern"),
    [
        ((), "map.json", r"--out .*map\.json must end with \.tif"),
        (("--stac-out", "{dir}/m_uncertainty.tif"), "m.tif",
         r"--stac-out .*m_uncertainty\.tif is the same file as uncertainty output"),
        (("--stac-out", "{dir}/scene.tif"), "m.tif", r"--stac-out .*scene\.tif is an input"),
        (("--stac-out", "{model}"), "m.tif", r"--stac-out .*centroid\.json is an input"),
        (("--stac-out", "{dir}/scene.tif/item.json"), "m.tif",
         r"Output folder .*scene\.tif does not exist \(for --stac-out item\.json\)"),
        (("--datetime", "16/02/2017"), "m.tif", r"--datetime '16/02/2017' is not an ISO 8601"),
        (("--bbox", "12,52,13,53"), "m.tif", r"--bbox only apply to INPUT 'stac'"),
        (("--mask-values", "8,9"), "m.tif", r"--mask-values \(mask_values\) needs --mask-band"),
        (("--tile-size", "0"), "m.tif", r"--tile-size must be >= 1, got 0"),
        (("--min-confidence", "0"), "m.tif", r"--min-confidence: .* must lie in \(0, 1\], got 0"),
        (("--min-confidence", "1.2"), "m.tif", r"--min-confidence: .*got 1\.2"),
        (("--min-confidence", "nan"), "m.tif", r"--min-confidence: .*got nan"),
    ],
)  # fmt: skip
def test_wrong_command_lines_exit_2_before_any_work(
    work: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: tuple[str, ...],
    out_name: str,
    pattern: str,
) -> None:
    from lulcbook import predict

    def no_work(*a: object, **k: object) -> None:
        raise AssertionError("the model was loaded before the command line was checked")

    monkeypatch.setattr(predict, "load_classifier", no_work)
    fmt = {"dir": str(work["dir"]), "model": str(work["model"])}
    args = _args(work["scene"], work["model"], work["dir"] / out_name,
                 *(e.format(**fmt) for e in extra))  # fmt: skip
    _fails(args, capsys, 2, pattern)
    assert _files(work["dir"]) == ["scene.tif"]


def test_out_an_existing_folder_leaves_nothing_behind(
    work: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    (work["dir"] / "sub").mkdir()
    _fails(_args(work["scene"], work["model"], work["dir"] / "sub"), capsys, 2,
           r"--out .*sub must end with \.tif")  # fmt: skip
    (work["dir"] / "sub.tif").mkdir()
    _fails(_args(work["scene"], work["model"], work["dir"] / "sub.tif"), capsys, 2,
           r"--out .*sub\.tif is a folder")  # fmt: skip
    assert _files(work["dir"]) == ["scene.tif", "sub", "sub.tif"]
    assert not any((work["dir"] / "sub.tif").iterdir())


def test_duplicate_band_names_are_an_error(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(inputs["nodesc"], inputs["model"], tmp_path / "m.tif",
                 "--band-names", "b02,b03,b02,b08")  # fmt: skip
    _fails(args, capsys, 1, r"Duplicate band name\(s\) \['B02'\] given by --band-names")
    assert _files(tmp_path) == []


def test_options_ignored_by_the_input_kind_are_errors(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "IMG_DATA"
    folder.mkdir()
    with rasterio.open(inputs["scene"]) as ds:
        dn = ds.read()
    for i, b in enumerate(("B02", "B03", "B04", "B08")):
        write_scene(folder / f"T33UUU_20170216T102101_{b}.tif", dn[i : i + 1], None)
    out = tmp_path / "m.tif"
    _fails(_args(folder, inputs["model"], out, "--mask-band", "SCL"), capsys, 2,
           r"--mask-band \(mask_band\) do not apply to a folder of band files")  # fmt: skip
    item = {"type": "Feature", "stac_version": "1.0.0", "id": "x", "geometry": None,
            "properties": {"datetime": "2017-02-16T10:21:01Z"}, "links": [], "assets": {}}  # fmt: skip
    (tmp_path / "item.json").write_text(json.dumps(item))
    for opt, value in (("--scale", "1"), ("--preset", "s2-l1c"), ("--nodata", "0")):
        _fails(_args(tmp_path / "item.json", inputs["model"], out, opt, value), capsys, 2,
               rf"{opt} \(\w+\) do not apply to a STAC item")  # fmt: skip
    assert not out.exists()


@pytest.mark.parametrize(
    ("make", "extra", "pattern"),
    [
        ("dn", ("--scale", "1"), r"dn\.tif does not look like reflectance.*not scaled"),
        ("refl", ("--preset", "s2-l1c"), r"refl\.tif does not look like .*scaled twice"),
        ("wgs84", (), r"wgs84\.tif is in a geographic CRS \(EPSG:4326"),
        ("cut", (), r"Reading band B0\d from .*cut\.tif failed"),
    ],
)
def test_bad_data_exit_1_with_one_line(
    inputs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: str,
    extra: tuple[str, ...],
    pattern: str,
) -> None:
    with rasterio.open(inputs["scene"]) as ds:
        dn = ds.read()
    src = tmp_path / f"{make}.tif"
    if make == "dn":
        write_scene(src, dn)
    elif make == "refl":
        write_scene(src, (dn / 10000).astype("float32"))
    elif make == "wgs84":
        write_scene(src, dn, crs="EPSG:4326", res=0.0001)
    else:
        rasterio.shutil.copy(write_scene(tmp_path / "full.tif", dn), tmp_path / "cog.tif",
                             driver="COG", BLOCKSIZE=64)  # fmt: skip
        data = (tmp_path / "cog.tif").read_bytes()
        src.write_bytes(data[: len(data) * 2 // 3])
        (tmp_path / "full.tif").unlink()
        (tmp_path / "cog.tif").unlink()
    _fails(_args(src, inputs["model"], tmp_path / "m.tif", *extra), capsys, 1, pattern)
    assert _files(tmp_path) == [src.name]


def test_allow_implausible_turns_the_error_into_a_warning(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.tif"
    args = _args(inputs["scene"], inputs["model"], out, "--scale", "1", "--allow-implausible")
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.startswith("lulcbook: warning:") and "does not look like reflectance" in err
    assert out.exists()


def test_corrupt_model_and_unreachable_scheduler(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket
    import time

    bad = tmp_path / "gnn.pt"
    bad.write_bytes(b"\x80\x02 truncated")
    args = _args(inputs["scene"], bad, tmp_path / "m.tif")
    args[args.index("--model-class") + 1] = "lulcbook.models.gnn:SegmentClassifier"
    _fails(args, capsys, 1, r"Model .*gnn\.pt cannot be loaded as lulcbook\.models\.gnn")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    args = _args(inputs["scene"], inputs["model"], tmp_path / "m.tif",
                 "--scheduler", f"tcp://127.0.0.1:{port}")  # fmt: skip
    _fails(args, capsys, 1, rf"--scheduler tcp://127\.0\.0\.1:{port}: no dask scheduler")
    assert time.perf_counter() - t0 < 10
    assert _files(tmp_path) == ["gnn.pt"]


def test_debug_shows_the_traceback(inputs: dict[str, Path], tmp_path: Path) -> None:
    args = _args(inputs["three"], inputs["model"], tmp_path / "m.tif", "--debug")
    with pytest.raises(ValueError, match=r"\['B08'\] missing in"):
        main(args)
    with pytest.raises(ValueError, match=r"\['B08'\] missing in"):
        main(["--debug", *args[:-1]])


def test_seed_option_makes_mc_maps_reproducible(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = noisy_centroid().save(tmp_path / "noisy.json")

    def run(name: str, seed: str) -> np.ndarray:
        args = _args(inputs["scene"], model, tmp_path / name, "--mc-samples", "3",
                     "--seed", seed, "--model-class", "predict_helpers:NoisyCentroid")  # fmt: skip
        assert main(args) == 0
        with (
            rasterio.open(tmp_path / name) as ds,
            rasterio.open(tmp_path / name.replace(".tif", "_confidence.tif")) as conf,
        ):
            return np.concatenate([ds.read(), conf.read()])  # class, confidence

    a, b, c = run("a.tif", "7"), run("b.tif", "7"), run("c.tif", "8")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[1], c[1])
    item = json.loads((tmp_path / "a.json").read_text())
    assert item["properties"]["lulcbook:seed"] == 7


def test_model_defaults_to_the_shipped_model(
    inputs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lulcbook import zoo

    asked: list[str] = []

    def get(name: str) -> zoo.ModelInfo:
        asked.append(name)
        return zoo.ModelInfo(name, inputs["model"], inputs["model"].with_suffix(".md"), {})

    monkeypatch.setattr(zoo, "get", get)
    args = _args(inputs["scene"], inputs["model"], tmp_path / "m.tif")
    del args[args.index("--model") : args.index("--model") + 2]
    assert main(args) == 0 and asked == [zoo.DEFAULT_LULC]
    item = json.loads((tmp_path / "m.json").read_text())
    assert item["properties"]["lulcbook:model"] == {"name": inputs["model"].name, "version": ""}

    # a shipped model by name
    args[args.index("--out") + 1] = str(tmp_path / "k.tif")
    assert main([*args, "--model", "some-model"]) == 0 and asked[-1] == "some-model"

    def missing(name: str) -> zoo.ModelInfo:
        raise KeyError(f"No shipped model {name!r}")

    monkeypatch.setattr(zoo, "get", missing)
    args[args.index("--out") + 1] = str(tmp_path / "n.tif")
    _fails(args, capsys, 2, r"shipped model .* is not available.*give --model")


def test_broken_stac_asset_is_one_line(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with rasterio.open(inputs["scene"]) as ds:
        dn = ds.read()
    item = local_item(tmp_path, dn, 16)
    item["assets"]["B03"]["href"] = "http://127.0.0.1:9/B03.tif"
    (tmp_path / "item.json").write_text(json.dumps(item))
    _fails(_args(tmp_path / "item.json", inputs["model"], tmp_path / "m.tif"), capsys, 1,
           r"Reading .*item\.json failed .*B03=http://127\.0\.0\.1:9/B03\.tif")  # fmt: skip
    assert not (tmp_path / "m.tif").exists()


def test_sigterm_mid_run_keeps_the_old_outputs(inputs: dict[str, Path], tmp_path: Path) -> None:
    """SIGTERM while tiles are predicted: exit 143, the old set intact, no scratch left."""
    import signal
    import time

    old = {n: f"old {n}".encode() for n in ("m.tif", "m_uncertainty.tif", "m.json")}
    for n, b in old.items():
        (tmp_path / n).write_bytes(b)
    args = _args(inputs["scene"], inputs["model"], tmp_path / "m.tif")
    args[args.index("--model-class") + 1] = "predict_helpers:SlowCentroid"
    code = f"import sys; from lulcbook.cli import main; sys.exit(main({args!r}))"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".lulcbook-scratch-*/map.tif")):
        assert proc.poll() is None and time.monotonic() < deadline, "the run never started"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old


def test_l2a_offset_applies_the_shipped_models_documented_offset(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lulcbook import zoo

    name = "lucas-s2-segments-10m"
    base = ["predict", str(inputs["scene"]), "--model", name, "--tile-size", "64",
            "--blocksize", "128", "--no-progress", "--workers", "1"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "plain.tif")]) == 0
    assert main([*base, "--out", str(tmp_path / "shifted.tif"), "--l2a-offset"]) == 0
    plain = json.loads((tmp_path / "plain.json").read_text())["properties"]
    shifted = json.loads((tmp_path / "shifted.json").read_text())["properties"]
    assert "lulcbook:input_offset" not in plain
    assert shifted["lulcbook:input_offset"] == zoo.get(name).metadata["l2a_offset"]
    assert shifted["lulcbook:model"]["name"] == name
    with (
        rasterio.open(tmp_path / "plain_confidence.tif") as a,
        rasterio.open(tmp_path / "shifted_confidence.tif") as b,
    ):
        assert not np.array_equal(a.read(1), b.read(1))  # the offset moves the probabilities
    # a model file that is not shipped documents no offset
    out = tmp_path / "bad.tif"
    _fails(_args(inputs["scene"], inputs["model"], out, "--l2a-offset"), capsys, 2,
           r"--l2a-offset: model 'centroid.json' documents no l2a_offset")  # fmt: skip
    assert not out.exists()
    # an input declared L1C
    _fails([*base, "--out", str(out), "--l2a-offset", "--preset", "s2-l1c"], capsys, 2,
           r"--l2a-offset: --preset s2-l1c declares L1C top-of-atmosphere input")  # fmt: skip
    assert not out.exists()


def test_l2a_offset_is_refused_for_level1_stac_inputs(
    sample_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = sample_dir / "stac-fixtures" / "extracted_featurecollections"
    features = json.loads(
        (recorded / "earthsearch_v1_cql2_filter_cloudcover_mixed_s2__resp2.json").read_text()
    )["features"]
    l1c = next(f for f in features if f["properties"].get("s2:product_type") == "S2MSI1C")
    item = tmp_path / "l1c.json"
    item.write_text(json.dumps(l1c))
    out = tmp_path / "map.tif"
    _fails(["predict", str(item), "--out", str(out), "--l2a-offset"], capsys, 2,
           rf"--l2a-offset: STAC item '{l1c['id']}' in .*l1c.json is L1C \(s2:product_type\)")  # fmt: skip
    search = ["predict", "stac", "--bbox", "12,52,13,53", "--datetime", "2017-02-16",
              "--out", str(out), "--l2a-offset"]  # fmt: skip
    _fails([*search, "--collection", "sentinel-2-l1c"], capsys, 2,
           r"--l2a-offset: --collection sentinel-2-l1c holds L1C")  # fmt: skip
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["l1c.json"]
