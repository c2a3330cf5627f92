"""Neural point classifier: variants, learning on real LUCAS features, safe save/load."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from lulcbook import features
from lulcbook.models.condnorm import ConditionalNorm
from lulcbook.models.points import (
    FeatureScaler,
    PointClassifier,
    PointEnsemble,
    PointMLP,
    load_point_model,
)
from lulcbook.sources import elc10


@pytest.fixture(scope="module")
def real(sample_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1,500 real LUCAS points (first rows of the table) with a climate-like covariate."""
    df = elc10.read_elc10(sample_dir / elc10.SAMPLE_SUBDIR, s1=False, nrows=1500)
    x = features.point_features(df, "s2+idx").to_numpy()
    # lon/lat stand in for a climate vector here: the tests check plumbing, not climate
    clim = np.column_stack([df["lon"], df["lat"], df["lon"] * df["lat"]])
    return x, df["label_index"].to_numpy(), clim


def test_feature_scaler_nan_and_errors() -> None:
    x = np.array([[1.0, np.nan], [3.0, 2.0], [5.0, 4.0]])
    s = FeatureScaler().fit(x)
    z = s.transform(x)
    assert z[0, 1] == 0.0 and np.isfinite(z).all()
    np.testing.assert_allclose(z[:, 0], [-1.2247449, 0, 1.2247449], rtol=1e-5)
    with pytest.raises(ValueError, match="no finite"):
        FeatureScaler().fit(np.array([[1.0, np.nan], [2.0, np.nan]]))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        s.transform(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="not fitted"):
        FeatureScaler().transform(x)


def test_variants_structure_and_climate_dependence() -> None:
    torch.manual_seed(0)
    x, c = torch.randn(16, 5), torch.randn(16, 4)
    norm = PointMLP(5, 8, "climate_norm", cond_dim=4, hidden=[8])
    assert isinstance(norm.norms[0], ConditionalNorm)
    inp = PointMLP(5, 8, "climate_input", cond_dim=4, hidden=[8])
    assert inp.linears[0].in_features == 9
    assert PointMLP(5, 8, "no_climate", hidden=[8]).linears[0].in_features == 5
    # a climate-input model's output changes with the climate
    inp.eval()
    assert not torch.allclose(inp(x, c), inp(x, c.flip(0)))
    with pytest.raises(ValueError, match="needs a climate"):
        norm(x)
    with pytest.raises(ValueError, match="Unknown variant"):
        PointMLP(5, 8, "film")  # type: ignore[arg-type]


def test_learns_real_points_better_than_majority(real) -> None:
    x, y, clim = real
    tr, te = np.arange(0, 1500, 2), np.arange(1, 1500, 2)
    clf = PointClassifier({"epochs": 15, "hidden": [64, 64], "seed": 0})
    clf.fit(x[tr], y[tr])
    acc = float((clf.predict(x[te]) == y[te]).mean())
    majority = float(np.mean(y[te] == np.bincount(y[tr]).argmax()))
    assert acc > majority + 0.15
    assert clf.history[-1] < clf.history[0]
    p = clf.predict_proba(x[te])
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)


def test_seeds_reproducible(real) -> None:
    x, y, clim = real
    cfg = {"epochs": 2, "hidden": [16], "variant": "climate_norm", "seed": 3}
    a = PointClassifier(cfg).fit(x[:300], y[:300], clim[:300]).predict_proba(x[:50], clim[:50])
    b = PointClassifier(cfg).fit(x[:300], y[:300], clim[:300]).predict_proba(x[:50], clim[:50])
    np.testing.assert_array_equal(a, b)


def test_save_load_weights_only_roundtrip(real, tmp_path: Path) -> None:
    x, y, clim = real
    names = features.feature_names("s2+idx")
    clf = PointClassifier({"epochs": 2, "hidden": [16], "variant": "climate_norm"}, names)
    clf.fit(x[:400], y[:400], clim[:400])
    path = clf.save(tmp_path / "m.pt")
    state = torch.load(path, weights_only=True)  # no pickled objects needed
    assert state["feature_names"] == names
    back = load_point_model(path)
    assert isinstance(back, PointClassifier)
    np.testing.assert_allclose(
        back.predict_proba(x[:40], clim[:40]), clf.predict_proba(x[:40], clim[:40]), atol=1e-6
    )
    ens = PointEnsemble([clf, back])
    ens.save(tmp_path / "e.pt")
    ens_back = load_point_model(tmp_path / "e.pt")
    assert isinstance(ens_back, PointEnsemble) and len(ens_back.members) == 2
    np.testing.assert_allclose(
        ens_back.predict_proba(x[:40], clim[:40]), clf.predict_proba(x[:40], clim[:40]), atol=1e-6
    )


def test_bad_inputs(real, tmp_path: Path) -> None:
    x, y, clim = real
    with pytest.raises(ValueError, match="Unknown PointConfig"):
        PointClassifier({"epoch": 3})
    with pytest.raises(ValueError, match="needs climate"):
        PointClassifier({"variant": "climate_input", "epochs": 1}).fit(x[:50], y[:50])
    with pytest.raises(ValueError, match="labels"):
        PointClassifier({"epochs": 1}).fit(x[:50], np.full(50, 9))
    with pytest.raises(RuntimeError, match="not fitted"):
        PointClassifier().predict(x[:5])
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match=r"bad\.pt is not a safe lulcbook point-model file"):
        load_point_model(tmp_path / "bad.pt")
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_point_model(tmp_path / "nope.pt")


class _RunsCode:
    """Unpickling this object would run ``touch MARKER``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_loader_refuses_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    torch.save({"state_dict": {}, "config": _RunsCode(marker)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=r"evil\.pt is not a safe lulcbook point-model file"):
        load_point_model(tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=r"evil\.pt is not a safe"):
        PointClassifier.load(tmp_path / "evil.pt")
    assert not marker.exists()
