"""``lulcbook classify-points`` on a small real excerpt of the LUCAS/ELC10 table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lulcbook import features, legend
from lulcbook.classify_points import classify_points, normalised_entropy
from lulcbook.cli import main
from lulcbook.models.points import PointClassifier, PointEnsemble
from lulcbook.sources import elc10, worldclim

N = 600


@pytest.fixture(scope="module")
def excerpt(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real S2 + S1 rows written to a temporary folder, and a small model trained on others."""
    folder = sample_dir / elc10.SAMPLE_SUBDIR
    tmp = tmp_path_factory.mktemp("points")
    s2 = pd.read_csv(folder / elc10.S2_FILE, skiprows=lambda i: i > 0 and i % 97 != 0)
    s1 = pd.read_csv(folder / elc10.S1_FILE)
    test = s2.iloc[:N]
    test.drop(columns=["LC", "LC_num"]).to_csv(tmp / "s2.csv", index=False)
    s1[s1["POINT_ID"].isin(test["POINT_ID"])].to_csv(tmp / "s1.csv", index=False)
    train = elc10.read_elc10(folder, s1=True, nrows=2000)
    bio = worldclim.read_worldclim21(sample_dir)
    clim, _ = worldclim.sample_climate(bio, train["lon"].values, train["lat"].values)
    names = features.feature_names("s2s1+idx")
    x = features.point_features(train, "s2s1+idx").to_numpy()
    members = [
        PointClassifier(
            {"epochs": 4, "hidden": [32], "variant": "climate_norm", "seed": s}, names
        ).fit(x, train["label_index"].to_numpy(), clim.values)
        for s in (0, 1)
    ]
    PointEnsemble(members).save(tmp / "model.pt")
    return {
        "dir": tmp,
        "s2": tmp / "s2.csv",
        "s1": tmp / "s1.csv",
        "model": tmp / "model.pt",
        "labels": test.assign(key=test["LC"].map(elc10.LC_TO_KEY)),
    }  # type: ignore[dict-item]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lulcbook.cli", "classify-points", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_writes_probabilities_and_uncertainty(excerpt) -> None:
    out = excerpt["dir"] / "out.csv"
    r = cli(
        str(excerpt["s2"]),
        "--s1",
        str(excerpt["s1"]),
        "--model",
        str(excerpt["model"]),
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    pred = pd.read_csv(out)
    assert list(pred.columns) == [
        "POINT_ID",
        "class",
        *[f"p_{k}" for k in legend.KEYS],
        "uncertainty",
    ]
    assert len(pred) == N
    probs = pred[[f"p_{k}" for k in legend.KEYS]].to_numpy()
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-3)
    assert (pred["class"] == np.asarray(legend.KEYS)[probs.argmax(1)]).all()
    assert pred["uncertainty"].between(0, 1).all()
    # a model trained on 2,000 other real points beats the majority class on these
    truth = excerpt["labels"]["key"].to_numpy()
    acc = float((pred["class"].to_numpy() == truth).mean())
    assert acc > max(np.mean(truth == k) for k in legend.KEYS) + 0.1


def test_lonlat_columns_override_point_id(excerpt, tmp_path: Path) -> None:
    s2 = pd.read_csv(excerpt["s2"])
    lon, lat = elc10.laea_to_lonlat(*elc10.point_id_to_laea(s2["POINT_ID"].to_numpy()))
    s2.assign(POINT_ID=np.arange(len(s2)), lon=lon, lat=lat).to_csv(tmp_path / "t.csv", index=False)
    s2.to_csv(tmp_path / "orig.csv", index=False)
    s1 = pd.read_csv(excerpt["s1"])
    s1 = s1.assign(
        POINT_ID=s1["POINT_ID"].map(dict(zip(s2["POINT_ID"], range(len(s2)), strict=True)))
    )
    s1.to_csv(tmp_path / "s1.csv", index=False)
    a = classify_points(
        tmp_path / "t.csv", tmp_path / "a.csv", tmp_path / "s1.csv", excerpt["model"]
    )
    b = classify_points(tmp_path / "orig.csv", tmp_path / "b.csv", excerpt["s1"], excerpt["model"])
    assert a["climate"]["on_valid_cell"] == b["climate"]["on_valid_cell"] == N
    pa, pb = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    np.testing.assert_allclose(pa["uncertainty"], pb["uncertainty"], atol=1e-4)


def test_bad_inputs_one_line_errors(excerpt, tmp_path: Path, capsys) -> None:
    s2 = pd.read_csv(excerpt["s2"])
    model = str(excerpt["model"])
    s2.drop(columns=["nir_median"]).to_csv(tmp_path / "nocol.csv", index=False)
    # through the installed command line once ...
    r = cli(
        str(tmp_path / "nocol.csv"),
        "--s1",
        str(excerpt["s1"]),
        "--model",
        model,
        "--out",
        str(tmp_path / "o.csv"),
    )
    assert r.returncode == 1 and "nir_median" in r.stderr and "nocol.csv" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.csv").exists()

    # ... and in-process for the other cases (same entry point, no interpreter start-up)
    def run(*args: str) -> tuple[int, str]:
        code = main(["classify-points", *args, "--out", str(tmp_path / "o.csv")])
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1
        return code, err

    code, err = run(str(excerpt["s2"]), "--model", model)  # S1 columns needed, no --s1
    assert code == 1 and "asc_vv_median" in err and "--s1" in err
    pd.concat([s2, s2.iloc[:2]]).to_csv(tmp_path / "dup.csv", index=False)
    code, err = run(str(tmp_path / "dup.csv"), "--model", model)
    assert code == 1 and "POINT_ID" in err and "dup.csv" in err
    far = s2.iloc[:1].assign(POINT_ID=99999999)
    far.to_csv(tmp_path / "far.csv", index=False)
    code, err = run(str(tmp_path / "far.csv"), "--model", model)
    assert code == 1 and "outside Europe" in err
    code, err = run(str(tmp_path / "missing.csv"), "--model", model)
    assert code == 2 and "missing.csv" in err
    code, err = run(str(excerpt["s2"]), "--model", "no-such-model")
    assert code == 1 and "no-such-model" in err
    assert not (tmp_path / "o.csv").exists()


def test_normalised_entropy_bounds() -> None:
    p = np.array([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0, 0]])
    np.testing.assert_allclose(normalised_entropy(p), [0, 1, 0.5], atol=1e-6)
