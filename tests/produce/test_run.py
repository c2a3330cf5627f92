"""Production runs on a static STAC catalog of a cropped real scene (Brandenburg, Sentinel-2 L1C).

The catalog is built by the test from the offline sample (real band files, cropped); the model
is the nearest-centroid classifier of ``predict_helpers`` (fitted on simulated spectra — the
maps are about the mechanics, not accuracy). One run is killed with SIGKILL after its first
cell and resumed; its files must equal those of an uninterrupted run. The products are then
read the way third-party clients read them: GDAL command-line tools, odc-stac by band name and
stackstac's item preparation.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio

from lulcbook import class_style, cli, io, legend, product_stac
from lulcbook.produce import StaticCatalog, parse_period, produce
from lulcbook.produce.catalog import build_static_catalog, open_catalog

TESTS = Path(__file__).resolve().parents[1]
PERIOD = "2017-02-01/2017-02-28"


def _files(folder: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(folder)): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "run.json"
    }


def _item_minus_run_fields(path: Path) -> dict[str, Any]:
    item = json.loads(path.read_text())
    item["properties"].pop("created")
    item["links"] = [lk for lk in item["links"] if lk["rel"] != "self"]
    return item


def test_run_writes_every_cell_collection_and_mosaics(setup: dict[str, Any]) -> None:
    report, ref = setup["report"], setup["ref"]
    assert len(setup["cells"]) >= 4 and report.count("done") == len(setup["cells"])
    assert not report.failed and report.collection == ref / "collection.json"
    run = json.loads((ref / "run.json").read_text())
    assert [c["status"] for c in run["cells"]] == ["done"] * len(setup["cells"])
    coll = json.loads((ref / "collection.json").read_text())
    hrefs = [lk["href"] for lk in coll["links"] if lk["rel"] == "item"]
    assert len(hrefs) == len(setup["cells"]) and all((ref / h).exists() for h in hrefs)
    assert coll["license"] == product_stac.PRODUCT_LICENSE and coll["providers"]
    assert set(coll["item_assets"]) == {"class", "confidence", "uncertainty", "style"}
    pystac.Collection.from_file(str(ref / "collection.json"))  # readable by pystac
    item = json.loads((ref / hrefs[0]).read_text())
    assert item["properties"]["lulcbook:model"] == {"name": "centroid.json", "version": ""}
    assert item["properties"]["start_datetime"].startswith("2017-02-01")
    assert item["properties"]["license"] == product_stac.PRODUCT_LICENSE
    assert item["properties"]["lulcbook:resampling"] == "nearest"
    (derived,) = [lk for lk in item["links"] if lk["rel"] == "derived_from"]
    source_item = (ref / hrefs[0]).parent / derived["href"]
    assert not Path(derived["href"]).is_absolute() and source_item.exists()
    assert json.loads(source_item.read_text())["id"] == setup["cat"].items[0].id
    (self_link,) = [lk for lk in item["links"] if lk["rel"] == "self"]
    assert Path(self_link["href"]) == (ref / hrefs[0]).resolve()
    # the mosaic holds every cell at its place on the grid
    with rasterio.open(ref / "mosaic_class.vrt") as vrt:
        assert vrt.crs.to_epsg() == 3035 and vrt.nodata == legend.NODATA
        assert vrt.colormap(1)[6][:3] == class_style.colour_table()[6][:3]
        mosaic, t = vrt.read(1), vrt.transform
    for cell in setup["cells"]:
        with rasterio.open(ref / "cells" / cell.id / f"{cell.id}.tif") as src:
            col, row = ~t * (src.transform.c, src.transform.f)
            part = mosaic[round(row) : round(row) + src.height, round(col) : round(col) + src.width]
            np.testing.assert_array_equal(part, src.read(1))
    valid = mosaic != legend.NODATA
    assert 0.2 < valid.mean() < 1.0  # the scene crop covers part of the cells


def test_killed_run_resumes_to_identical_outputs(setup: dict[str, Any]) -> None:
    out = setup["root"] / "killed"
    bbox = ",".join(f"{v:.6f}" for v in setup["bbox"])
    args = [
        sys.executable, "-m", "lulcbook.cli", "produce", "--bbox", bbox, "--datetime", PERIOD,
        "--catalog", str(setup["catalog"]), "--out", str(out), "--cell-km", "1",
        "--model", str(setup["model_file"]), "--model-class", "predict_helpers:SlowCentroid",
        "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(TESTS), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(out.glob("cells/*/*.json")):
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "no cell finished within 60 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = list(out.glob("cells/*/*.json"))
    assert 1 <= len(finished) < len(setup["cells"]), "the run was not interrupted midway"
    assert not (out / "collection.json").exists()
    report = produce(
        setup["cells"], setup["cat"], parse_period(PERIOD), setup["model"], out, progress=False
    )
    assert report.count("skipped") == len(finished)
    assert report.count("done") == len(setup["cells"]) - len(finished)
    assert not list(out.rglob(".lulcbook-scratch-*")), "scratch of the killed run left behind"
    got, want = _files(out), _files(setup["ref"])
    assert sorted(got) == sorted(want)
    for name, path in want.items():
        if path.suffix == ".json" and path.name != "collection.json":
            assert _item_minus_run_fields(got[name]) == _item_minus_run_fields(path), name
        else:
            assert got[name].read_bytes() == path.read_bytes(), name
    again = produce(
        setup["cells"], setup["cat"], parse_period(PERIOD), setup["model"], out, progress=False
    )
    assert again.count("skipped") == len(setup["cells"])  # idempotent: nothing redone


class _BrokenFor:
    """A catalog that returns an item with a missing band file for one cell."""

    def __init__(self, cat: StaticCatalog, cell_id: str, cells: Sequence[Any]) -> None:
        self.cat, self.name = cat, cat.name
        self.bad = next(c for c in cells if c.id == cell_id).bounds_wgs84()

    def search(self, bbox: Sequence[float], period: tuple[datetime, datetime]) -> list[Any]:
        items = self.cat.search(bbox, period)
        if tuple(bbox) == self.bad:
            broken = items[0].clone()
            broken.assets["B04"].href = "/no/such/T33UUU_B04.tif"
            return [broken]
        return items


def test_a_bad_cell_is_reported_not_fatal_and_redone_on_rerun(
    setup: dict[str, Any], tmp_path: Path
) -> None:
    bad_id = setup["cells"][1].id
    cat = _BrokenFor(setup["cat"], bad_id, setup["cells"])
    period = parse_period(PERIOD)
    report = produce(setup["cells"], cat, period, setup["model"], tmp_path, progress=False)  # type: ignore[arg-type]
    (failed,) = report.failed
    assert failed.cell == bad_id and "/no/such/T33UUU_B04.tif" in failed.error
    assert report.count("done") == len(setup["cells"]) - 1
    coll = json.loads((tmp_path / "collection.json").read_text())
    assert len([lk for lk in coll["links"] if lk["rel"] == "item"]) == len(setup["cells"]) - 1
    run = json.loads((tmp_path / "run.json").read_text())
    assert {c["cell"]: c["status"] for c in run["cells"]}[bad_id] == "failed"
    fixed = produce(setup["cells"], setup["cat"], period, setup["model"], tmp_path, progress=False)
    assert fixed.count("done") == 1 and fixed.count("skipped") == len(setup["cells"]) - 1
    name = f"cells/{bad_id}/{bad_id}.tif"
    assert (tmp_path / name).read_bytes() == (setup["ref"] / name).read_bytes()


def test_a_run_is_not_resumed_with_another_model_or_offset(
    setup: dict[str, Any], tmp_path: Path
) -> None:
    from dataclasses import replace

    out = tmp_path / "run"
    shutil.copytree(setup["ref"], out)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    period, spec = parse_period(PERIOD), setup["model"]
    cell = setup["cells"][0].id
    for other in (replace(spec, name="other-model"), replace(spec, version="2"),
                  replace(spec, offset={"B02": 0.04})):  # fmt: skip
        with pytest.raises(ValueError, match=f"cell {cell} in .* was made with .*centroid.json"):
            produce(setup["cells"], setup["cat"], period, other, out, progress=False)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # nothing rewritten
    again = produce(setup["cells"], setup["cat"], period, spec, out, progress=False)
    assert again.count("skipped") == len(setup["cells"])


def test_min_confidence_blanks_unsure_pixels_in_every_cell_and_is_kept_on_resume(
    setup: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lulcbook import predict

    period, spec, cells = parse_period(PERIOD), setup["model"], setup["cells"]
    ref_maps = sorted((setup["ref"] / "cells").glob("*/*[0-9].tif"))
    conf = np.concatenate([predict.read_map(p)[1].ravel() for p in ref_maps])
    t = round(float(np.nanquantile(conf, 0.25)), 3)  # about a quarter of the pixels below
    out = tmp_path / "run"
    report = produce(cells, setup["cat"], period, spec, out, min_confidence=t, progress=False)
    assert report.count("done") == len(cells)
    assert json.loads((out / "run.json").read_text())["min_confidence"] == t
    assert json.loads((setup["ref"] / "run.json").read_text())["min_confidence"] is None
    taken = 0
    for ref_map in ref_maps:
        cls_r, conf_r, _ = predict.read_map(ref_map)
        tif = out / ref_map.relative_to(setup["ref"])
        cls, conf_p, _ = predict.read_map(tif)
        low = (cls_r != legend.NODATA) & ~predict.reaches(conf_r, t)
        assert (cls[low] == legend.NODATA).all() and (cls[~low] == cls_r[~low]).all()
        np.testing.assert_array_equal(conf_p, conf_r)
        props = json.loads(tif.with_suffix(".json").read_text())["properties"]
        assert props["lulcbook:min_confidence"] == t
        assert props["lulcbook:unconfident_share"] == pytest.approx(
            low.sum() / max((cls_r != legend.NODATA).sum(), 1)
        )
        taken += int(low.sum())
    assert taken > 0
    # a resumed run keeps the threshold: the other one, or none, is refused before any work
    for other in (None, t / 2):
        with pytest.raises(ValueError, match=f"min_confidence': {t}}}, this run uses"):
            produce(cells, setup["cat"], period, spec, out, min_confidence=other, progress=False)
    with pytest.raises(ValueError, match="min_confidence': None}, this run uses"):
        produce(cells, setup["cat"], period, spec, setup["ref"], min_confidence=t, progress=False)
    again = produce(cells, setup["cat"], period, spec, out, min_confidence=t, progress=False)
    assert again.count("skipped") == len(cells)
    base = ["produce", "--catalog", str(setup["catalog"]), "--bbox", "12,52,13,53",
            "--datetime", PERIOD, "--out", str(tmp_path / "o")]  # fmt: skip
    capsys.readouterr()
    assert cli.main([*base, "--min-confidence", "1.5"]) == 2
    assert "--min-confidence: a minimum confidence must lie in (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_scratch_of_a_dead_run_in_a_finished_cell_is_removed_on_rerun(
    setup: dict[str, Any], tmp_path: Path
) -> None:
    # SIGKILL between committing a cell and removing its scratch leaves the scratch in a
    # finished cell, which the next run skips; the skip must still sweep it.
    out = tmp_path / "run"
    shutil.copytree(setup["ref"], out)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    cell_dir = out / "cells" / setup["cells"][0].id
    stale = cell_dir / f"{io.SCRATCH_PREFIX}{dead.pid}-abc123"
    (stale / "x").mkdir(parents=True)
    live = cell_dir / f"{io.SCRATCH_PREFIX}{os.getpid()}-def456"
    live.mkdir()
    report = produce(
        setup["cells"], setup["cat"], parse_period(PERIOD), setup["model"], out, progress=False
    )
    assert report.count("skipped") == len(setup["cells"])
    assert not stale.exists()
    assert live.exists()  # a live process's scratch is never touched


def test_command_line_errors_name_the_option(setup: dict[str, Any], tmp_path: Path) -> None:
    base = ["produce", "--catalog", str(setup["catalog"]), "--out", str(tmp_path / "o")]
    assert cli.main([*base, "--bbox", "13,52,12,53", "--datetime", PERIOD]) == 2
    assert cli.main([*base, "--bbox", "12,52,13,53", "--datetime", "2017-03-01/2017-02-01"]) == 2
    assert cli.main([*base, "--bbox", "12,52,13,53", "--datetime", PERIOD, "--model", "nope"]) == 2
    assert not (tmp_path / "o").exists()


def test_l2a_offset_is_applied_in_every_cell_and_recorded(
    setup: dict[str, Any],
    sample_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lulcbook import zoo

    name = "lucas-s2-segments-10m"
    patch = sample_dir / "bigearthnet-s2" / "patches" / "S2A_MSIL2A_20170613T101031_87_48"
    catalog = build_static_catalog([patch], tmp_path / "l2a", collection="sentinel-2-l2a")
    bbox = ",".join(f"{v:.5f}" for v in open_catalog(catalog).items[0].bbox or [])
    base = ["produce", "--catalog", str(catalog), "--bbox", bbox, "--datetime",
            "2017-06-01/2017-06-30", "--cell-km", "1", "--no-progress"]  # fmt: skip
    assert cli.main([*base, "--out", str(tmp_path / "o"), "--model", name, "--l2a-offset"]) == 0
    documented = zoo.get(name).metadata["l2a_offset"]
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["model"] == {"name": name, "version": zoo.get(name).metadata.get("version", ""),
                            "input_offset": documented}  # fmt: skip
    done = [c for c in run["cells"] if c["status"] == "done"]
    assert done
    for c in done:
        props = json.loads(Path(c["item"]).read_text())["properties"]
        assert props["lulcbook:input_offset"] == documented
    capsys.readouterr()
    bad = [*base, "--out", str(tmp_path / "bad"), "--model", str(setup["model_file"]),
           "--model-class", setup["model"].model_class, "--l2a-offset"]  # fmt: skip
    assert cli.main(bad) == 2
    assert "--l2a-offset: model 'centroid.json' documents no l2a_offset" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    # the Brandenburg catalog's items are L1C (sentinel-2-l1c): refused before any cell
    bb = ",".join(f"{v:.5f}" for v in setup["bbox"])
    l1c = ["produce", "--catalog", str(setup["catalog"]), "--bbox", bb, "--datetime", PERIOD,
           "--out", str(tmp_path / "l1c"), "--model", name, "--l2a-offset"]  # fmt: skip
    assert cli.main(l1c) == 2
    err = capsys.readouterr().err
    assert "--l2a-offset: STAC item" in err and "is L1C (collection)" in err
    assert not (tmp_path / "l1c").exists()


def test_bilinear_resampling_is_an_option_nearest_keeps_measured_values(
    setup: dict[str, Any], tmp_path: Path
) -> None:
    from lulcbook.produce.cell import cell_source

    cell, items = setup["cells"][0], setup["cat"].items
    near = cell_source(items, ["B02", "B03", "B04", "B08"], cell)
    bil = cell_source(items, ["B02", "B03", "B04", "B08"], cell, "bilinear")
    window = rasterio.windows.Window(0, 0, cell.width, cell.height)
    a, b = near.read(window), bil.read(window)
    with rasterio.open(items[0].assets["B02"].href) as src:
        measured = set(np.unique(src.read(1) * np.float32(near.parts[0].scale)))
    seen = a[0][np.isfinite(a[0])]
    assert set(np.unique(seen)) <= measured  # every pixel is one measured value
    assert not set(np.unique(b[0][np.isfinite(b[0])])) <= measured  # bilinear mixes them
    with pytest.raises(ValueError, match="resampling must be"):
        produce(setup["cells"][:1], setup["cat"], parse_period(PERIOD), setup["model"],
                tmp_path / "r", resampling="cubic", progress=False)  # fmt: skip


# --- the products as third-party clients read them -------------------------------------------


def _gdal(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed (Debian/Ubuntu: apt-get install gdal-bin)")
    return path


def _a_cell(setup: dict[str, Any]) -> Path:
    cell = setup["cells"][0]
    return setup["ref"] / "cells" / cell.id / f"{cell.id}.tif"


def test_gdalinfo_sees_one_paletted_band_with_class_names(setup: dict[str, Any]) -> None:
    info = json.loads(
        subprocess.run(
            [_gdal("gdalinfo"), "-json", str(_a_cell(setup))], capture_output=True, check=True
        ).stdout
    )
    (band,) = info["bands"]
    assert band["colorInterpretation"] == "Palette" and band["noDataValue"] == legend.NODATA
    assert band["description"] == "class" and band["categories"] == list(legend.KEYS)
    rows = info["rat"]["row"]
    assert [r["f"][1] for r in rows] == list(legend.KEYS)
    assert [f["name"] for f in info["rat"]["fieldDefn"]][:3] == ["value", "class", "description"]
    assert info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"] == "COG"
    style = _a_cell(setup).with_suffix(".qml").read_text()
    assert 'type="paletted"' in style and all(k in style for k in legend.KEYS)


def test_gdalwarp_keeps_nodata(setup: dict[str, Any], tmp_path: Path) -> None:
    src = setup["ref"] / "mosaic_class.vrt"
    dst = tmp_path / "warped.tif"
    subprocess.run(
        [_gdal("gdalwarp"), "-q", "-t_srs", "EPSG:32633", "-tr", "10", "10", str(src), str(dst)],
        check=True,
    )
    with rasterio.open(src) as a, rasterio.open(dst) as b:
        before, after = a.read(1), b.read(1)
        assert b.nodata == legend.NODATA and b.colorinterp[0].name == "palette"
    n_before = int((before != legend.NODATA).sum())
    n_after = int((after != legend.NODATA).sum())
    assert (after == legend.NODATA).sum() > 0.1 * after.size  # fill stays fill
    assert abs(n_after - n_before) < 0.05 * n_before  # same area mapped, in another grid
    share = lambda x: np.bincount(x[x != legend.NODATA], minlength=8)[:8] / (x != 255).sum()  # noqa: E731
    np.testing.assert_allclose(share(after), share(before), atol=0.03)


def test_odc_stac_loads_the_items_by_band_name(setup: dict[str, Any]) -> None:
    import odc.stac

    items = [pystac.Item.from_file(str(p)) for p in sorted(setup["ref"].glob("cells/*/*.json"))]
    ds = odc.stac.load(items, bands=["class", "confidence", "uncertainty"], crs="EPSG:3035",
                       resolution=10, groupby="id")  # fmt: skip
    assert set(ds.data_vars) == {"class", "confidence", "uncertainty"}
    with rasterio.open(setup["ref"] / "mosaic_class.vrt") as vrt:
        mosaic = vrt.read(1)
    # one item per cell, cells do not overlap: the minimum over time skips nodata (255)
    cls = ds["class"].min("time").values
    assert cls.shape == mosaic.shape
    np.testing.assert_array_equal(cls, mosaic)


def test_stackstac_accepts_one_band_per_asset_and_the_epsg(setup: dict[str, Any]) -> None:
    prepare = pytest.importorskip("stackstac.prepare")
    items = [json.loads(p.read_text()) for p in sorted(setup["ref"].glob("cells/*/*.json"))]
    table, spec, ids, _ = prepare.prepare_items(
        items, assets=["class", "confidence", "uncertainty"], rescale=False,
        dtype=np.dtype("float32"),
    )  # fmt: skip
    assert spec.epsg == 3035 and spec.resolutions_xy == (10.0, 10.0)
    assert ids == ["class", "confidence", "uncertainty"] and table.shape == (len(items), 3)


def test_a_climate_model_records_its_raster_and_a_run_is_resumed_only_with_the_same(
    setup: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lulcbook import climate_field, zoo

    field = climate_field.ClimateField.read()  # the default raster
    bbox = ",".join(f"{v:.5f}" for v in setup["bbox"])
    out = tmp_path / "run"
    base = ["produce", "--catalog", str(setup["catalog"]), "--bbox", bbox, "--datetime", PERIOD,
            "--cell-km", "1", "--out", str(out), "--model", zoo.DEFAULT_LULC, "--no-progress"]  # fmt: skip
    assert cli.main(base) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["model"]["climate_sha256"] == field.fingerprint
    done = [c for c in run["cells"] if c["status"] == "done"]
    assert len(done) == len(setup["cells"])
    for c in done:
        props = json.loads(Path(c["item"]).read_text())["properties"]
        assert props["lulcbook:climate"] == {
            "source": climate_field.default_path().name, "sha256": field.fingerprint,
            "fill_km": climate_field.FILL_KM,
        }  # fmt: skip
    # the same raster stored elsewhere resumes: the fingerprint is of the values
    moved = shutil.copytree(climate_field.default_path(), tmp_path / "moved")
    assert cli.main([*base, "--climate", str(moved)]) == 0
    run = json.loads((out / "run.json").read_text())
    assert {c["status"] for c in run["cells"]} == {"skipped"}
    # another raster (BIO1 one degree warmer) is refused before any cell
    warmer = shutil.copytree(moved, tmp_path / "warmer")
    (bio1,) = warmer.glob("*_bio_1.tif")
    with rasterio.open(bio1) as src:
        profile, data = src.profile, src.read(1)
    with rasterio.open(bio1, "w", **profile) as dst:
        dst.write(np.where(data == profile["nodata"], data, data + 1), 1)
    assert climate_field.ClimateField.read(warmer).fingerprint != field.fingerprint
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    capsys.readouterr()
    assert cli.main([*base, "--climate", str(warmer)]) == 2
    err = capsys.readouterr().err
    assert f"cell {setup['cells'][0].id} in {out} was made with" in err
    assert field.fingerprint in err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # nothing rewritten
