"""Tests for the learned Landsat → Sentinel-2 translators of lulcbook.models.translate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lulcbook import evaluate
from lulcbook.models import translate as T

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_translate_unet_starts_at_identity_and_handles_any_size():
    torch.manual_seed(0)
    net = T.TranslateUNet(bands=4, base=4, depth=2)
    x = np.random.default_rng(4).uniform(0, 0.3, (4, 21, 30)).astype("float32")
    x[0, 0, 0] = np.nan
    y = net.predict(x)
    assert y.shape == x.shape
    assert np.isnan(y[0, 0, 0])
    np.testing.assert_allclose(y[np.isfinite(x)], x[np.isfinite(x)], atol=1e-6)


def test_fit_unet_reduces_error():
    rng = np.random.default_rng(5)
    y = rng.uniform(0.05, 0.3, (8, 2, 16, 16)).astype("float32")
    x = (0.8 * y + 0.02).astype("float32")  # a learnable per-band distortion
    net = T.fit_unet(
        x, y, base=4, depth=1, epochs=30, batch_size=4, lr=1e-2, crop=None, progress=False
    )
    assert evaluate.rmse(net.predict(x), y) < 0.75 * evaluate.rmse(x, y)


def test_fit_spectral_mlp_learns_nonlinear_map():
    rng = np.random.default_rng(6)
    x = rng.uniform(0.0, 0.5, (600, 3)).astype("float32")
    y = np.c_[x[:, 0] ** 2, x[:, 1] * x[:, 2], x[:, 0]].astype("float32")
    ols = T.fit_ols(x, y)
    mlp = T.fit_spectral_mlp(
        x, y, hidden=32, depth=2, epochs=60, batch_size=64, lr=3e-3, progress=False
    )
    assert evaluate.rmse(mlp.predict(x), y) < 0.7 * evaluate.rmse(ols(x), y)
    assert np.isnan(mlp.predict(np.array([[np.nan, 0.1, 0.1]], np.float32))).all()


def test_minibatches_cover_every_sample_once_and_are_seeded():
    batches = list(T.minibatches(10, 4, torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    again = list(T.minibatches(10, 4, torch.Generator().manual_seed(0)))
    assert all(torch.equal(a, b) for a, b in zip(batches, again, strict=True))


def test_optimizer_step_moves_towards_the_minimum():
    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = torch.optim.SGD([w], lr=0.1)
    T.optimizer_step(opt, (w**2).sum())
    assert float(w.detach()) == pytest.approx(0.8)
    T.optimizer_step(opt, (w**2).sum())  # gradients are cleared between steps
    assert float(w.detach()) == pytest.approx(0.64)
