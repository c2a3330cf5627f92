"""Tests for lulcbook.models.condnorm."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lulcbook.models.condnorm import (
    N_BIO,
    ClimateScaler,
    ConditionalNorm,
    cond_dim,
    standardise_climate,
)


def _randomise(layer: ConditionalNorm, seed: int = 0) -> None:
    """Give the (zero-initialised) conditioning MLP random weights."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.mlp.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)


@pytest.mark.parametrize(
    ("kind", "spatial", "shape"),
    [
        ("batch", True, (4, 6, 5, 5)),
        ("instance", True, (4, 6, 5, 5)),
        ("group", True, (4, 6, 5, 5)),
        ("layer", True, (4, 6, 5, 5)),
        ("batch", False, (9, 6)),
        ("layer", False, (9, 6)),
        ("none", False, (9, 6)),
    ],
)
def test_shape_and_identity_at_init(kind: str, spatial: bool, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    layer = ConditionalNorm(6, cond_dim=5, kind=kind, spatial=spatial)
    x = torch.randn(shape) * 3 + 1
    cond = torch.randn(shape[0], 5)
    out = layer(x, cond)
    assert out.shape == x.shape
    # at initialisation gamma = 1, beta = 0: output equals the plain normalization
    torch.testing.assert_close(out, layer.norm(x))
    gamma, beta = layer.film(cond)
    torch.testing.assert_close(gamma, torch.ones(shape[0], 6))
    torch.testing.assert_close(beta, torch.zeros(shape[0], 6))


def test_different_climate_changes_output() -> None:
    torch.manual_seed(0)
    layer = ConditionalNorm(4, cond_dim=3, kind="batch", spatial=True)
    _randomise(layer)
    layer.eval()
    x = torch.randn(1, 4, 3, 3).repeat(2, 1, 1, 1)  # two identical images
    cond = torch.tensor([[1.0, -1.0, 0.0], [-1.0, 2.0, 0.0]])
    out = layer(x, cond)
    assert not torch.allclose(out[0], out[1], atol=1e-4)
    # same climate -> same output
    out_same = layer(x, cond[:1].repeat(2, 1))
    torch.testing.assert_close(out_same[0], out_same[1])


def test_node_wise_conditioning_differs_per_node() -> None:
    torch.manual_seed(1)
    layer = ConditionalNorm(5, cond_dim=2, kind="layer", spatial=False)
    _randomise(layer, seed=1)
    x = torch.randn(1, 5).repeat(3, 1)
    cond = torch.tensor([[0.0, 0.0], [0.0, 0.0], [3.0, -2.0]])
    out = layer(x, cond)
    torch.testing.assert_close(out[0], out[1])
    assert not torch.allclose(out[0], out[2], atol=1e-4)


@pytest.mark.parametrize("spatial", [True, False])
def test_reduces_to_batchnorm_for_fixed_climate(spatial: bool) -> None:
    torch.manual_seed(2)
    layer = ConditionalNorm(4, cond_dim=3, kind="batch", spatial=spatial)
    _randomise(layer, seed=2)
    c = torch.tensor([[0.3, -1.2, 1.0]])
    shape = (8, 4, 5, 5) if spatial else (16, 4)
    x = torch.randn(shape) * 2 - 0.5
    cond = c.repeat(shape[0], 1)
    gamma, beta = layer.film(c)
    ref = (nn.BatchNorm2d if spatial else nn.BatchNorm1d)(4, affine=True)
    with torch.no_grad():
        ref.weight.copy_(gamma[0])
        ref.bias.copy_(beta[0])
    # training mode (batch statistics) and eval mode (running statistics) both match
    torch.testing.assert_close(layer(x, cond), ref(x))
    layer.eval()
    ref.eval()
    x2 = torch.randn(shape)
    torch.testing.assert_close(layer(x2, cond), ref(x2))


def test_gradients_reach_the_conditioning_mlp() -> None:
    layer = ConditionalNorm(3, cond_dim=2, kind="batch", spatial=False)
    x = torch.randn(6, 3)
    cond = torch.randn(6, 2)
    (layer(x, cond) * torch.randn(6, 3)).sum().backward()
    grads = [p.grad for p in layer.mlp.parameters()]
    assert all(g is not None for g in grads)
    assert float(grads[-1].abs().sum()) > 0  # last (zero-initialised) bias gets a gradient


def test_bad_inputs_raise() -> None:
    layer = ConditionalNorm(3, cond_dim=2, spatial=False)
    with pytest.raises(ValueError, match="cond=None"):
        layer(torch.randn(4, 3), None)
    with pytest.raises(ValueError, match="shape"):
        layer(torch.randn(4, 3), torch.randn(4, 5))
    with pytest.raises(ValueError, match="rows"):
        layer(torch.randn(4, 3), torch.randn(3, 2))
    with pytest.raises(ValueError, match="NaN"):
        layer(torch.randn(4, 3), torch.tensor([[float("nan"), 0.0]] * 4))
    with pytest.raises(ValueError, match="Unknown normalization kind 'weird'"):
        ConditionalNorm(3, cond_dim=2, kind="weird")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="instance"):
        ConditionalNorm(3, cond_dim=2, kind="instance", spatial=False)


def _climate(n: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    clim = rng.normal(100, 30, size=(n, N_BIO))
    clim[:, 11] = rng.normal(700, 150, size=n)  # BIO12 in mm
    return clim


def test_scaler_standardises_on_complete_training_rows() -> None:
    clim = _climate()
    clim[[2, 5]] = np.nan  # two patches without climate
    scaler = ClimateScaler().fit(clim)
    complete = np.delete(clim, [2, 5], axis=0)
    np.testing.assert_allclose(scaler.mean, complete.mean(axis=0))
    z = scaler.transform(complete)
    assert z.shape == (10, cond_dim())
    np.testing.assert_allclose(z[:, :N_BIO].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z[:, :N_BIO].std(axis=0), 1, atol=1e-4)
    # round trip of the state
    again = ClimateScaler.from_dict(scaler.to_dict())
    np.testing.assert_allclose(again.transform(clim), scaler.transform(clim))


def test_missing_climate_rule() -> None:
    clim = _climate()
    scaler = ClimateScaler().fit(clim)
    test = clim[:3].copy()
    test[1] = np.nan  # fully missing vector
    test[2, 4] = np.nan  # one missing variable
    z = scaler.transform(test)
    assert np.isfinite(z).all()
    # fully missing -> training mean (0) and missing flag 1
    np.testing.assert_array_equal(z[1], np.r_[np.zeros(N_BIO), 1.0])
    # partially missing -> that entry at the mean, flagged, the others standardised
    assert z[2, 4] == 0.0 and z[2, -1] == 1.0
    np.testing.assert_allclose(z[2, 0], (test[2, 0] - scaler.mean[0]) / scaler.std[0], rtol=1e-5)
    # complete vector -> flag 0
    assert z[0, -1] == 0.0
    # the missing vector reaches the layer without NaN and gets its own scale/shift
    layer = ConditionalNorm(3, cond_dim=scaler.cond_dim, kind="batch", spatial=False)
    _randomise(layer)
    gamma, _ = layer.film(torch.from_numpy(z))
    assert torch.isfinite(gamma).all()
    mean_vec = torch.zeros(1, scaler.cond_dim)  # the mean climate *without* the flag
    assert not torch.allclose(layer.film(mean_vec)[0], gamma[1:2])


def test_standardise_climate_tensor_and_errors() -> None:
    clim = torch.tensor(_climate(6), dtype=torch.float32)
    clim[0] = float("nan")
    z = standardise_climate(clim)
    assert isinstance(z, torch.Tensor) and z.dtype == torch.float32
    assert z.shape == (6, N_BIO + 1) and bool(torch.isfinite(z).all())
    z_no_flag = standardise_climate(clim.numpy(), indicator=False)
    assert z_no_flag.shape == (6, N_BIO)
    with pytest.raises(ValueError, match="none of the 2 rows"):
        ClimateScaler().fit(np.full((2, N_BIO), np.nan))
    with pytest.raises(ValueError, match="2-D"):
        standardise_climate(np.zeros(N_BIO))
    with pytest.raises(ValueError, match="19 variables"):
        standardise_climate(np.zeros((2, N_BIO)), mean=np.zeros(3), std=np.ones(3))
    with pytest.raises(RuntimeError, match="not fitted"):
        ClimateScaler().transform(np.zeros((1, N_BIO)))
