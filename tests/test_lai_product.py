"""LAI products (COGs + STAC item) and the ``lulcbook lai`` command, on a real L2A patch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from lulcbook import lai
from lulcbook.cli import main
from lulcbook.lai_product import flags_path, infer_level, write_lai_product


@pytest.fixture(scope="module")
def patch(sample_dir: Path) -> Path:
    folders = sorted((sample_dir / "bigearthnet-s2" / "patches").glob("S2A_MSIL2A_20170613*"))
    if not folders:
        pytest.skip("BigEarthNet patches not in the sample")
    return folders[0]


def test_level_inference() -> None:
    assert infer_level("/x/S2A_MSIL1C_2017/IMG_DATA") == "L1C"
    assert infer_level("/x/S2B_MSIL2A_20170914T093029_32_39") == "L2A"
    assert infer_level("scene.tif", preset="s2-l2a-n0400") == "L2A"
    assert infer_level("scene.tif") is None


def test_product_on_real_patch(patch: Path, tmp_path: Path) -> None:
    out = tmp_path / "lai.tif"
    s = write_lai_product(patch, out, preset="s2-l2a")
    with rasterio.open(out) as src:
        assert src.descriptions == ("lai", "lai_sigma")
        assert src.dtypes == ("float32", "float32") and np.isnan(src.nodata)
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.overviews(1), "COG without overviews"
        assert src.res == (10.0, 10.0)  # 20 m bands resampled onto the 10 m grid
        v, sig = src.read(1), src.read(2)
    ok = np.isfinite(v)
    assert ok.mean() > 0.99
    net = lai.load_network()
    assert np.all((v[ok] >= net.out_min) & (v[ok] <= net.out_max))
    assert np.all(sig[ok] > 0)
    assert s["lai_mean"] == pytest.approx(float(np.nanmean(v)), rel=1e-5)
    with rasterio.open(flags_path(out)) as src:
        flags = src.read(1)
    assert np.all(flags & lai.FLAG_DEFAULT_ANGLES)
    item = json.loads(out.with_suffix(".json").read_text())
    assert set(item["assets"]) == {"lai", "flags"}
    assert item["assets"]["lai"]["href"] == "lai.tif"
    assert item["properties"]["datetime"].startswith("2017-06-13")
    assert item["properties"]["proj:code"] == "EPSG:32633"


def test_toa_refused_before_writing(patch: Path, tmp_path: Path) -> None:
    out = tmp_path / "lai.tif"
    with pytest.raises(lai.ToaInputError, match="allow-toa"):
        write_lai_product(patch, out, level="L1C", preset="s2-l2a")
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_cli_lai(patch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.tif"
    assert main(["lai", str(patch), "--out", str(out), "--preset", "s2-l2a"]) == 0
    assert "mean LAI" in capsys.readouterr().out
    assert out.exists() and flags_path(out).exists() and out.with_suffix(".json").exists()


def test_cli_lai_refuses_l1c(
    patch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.tif"
    assert main(["lai", str(patch), "--out", str(out), "--level", "L1C"]) == 1
    assert "--allow-toa" in capsys.readouterr().err
    assert not out.exists()
    assert (
        main(
            [
                "lai",
                str(patch),
                "--out",
                str(out),
                "--level",
                "L1C",
                "--allow-toa",
                "--preset",
                "s2-l2a",
            ]
        )
        == 0
    )
    with rasterio.open(flags_path(out)) as src:
        assert np.all(src.read(1) & lai.FLAG_TOA_INPUT)


def test_cli_lai_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lai", str(tmp_path / "missing"), "--out", str(tmp_path / "a.tif")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["lai", str(tmp_path), "--out", str(tmp_path / "no" / "a.tif")]) == 2
