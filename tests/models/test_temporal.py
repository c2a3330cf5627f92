import numpy as np
import pytest
import torch

from lulcbook.models.temporal import LTAE, day_encoding, fit_temporal


def _series(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two classes that differ only in *when* they are green (summer vs spring peak)."""
    rng = np.random.default_rng(seed)
    doy = np.arange(10, 360, 25)
    y = rng.integers(0, 2, n)
    peak = np.where(y == 0, 200, 110)[:, None]
    x = np.exp(-(((doy[None] - peak) / 40.0) ** 2)) + rng.normal(0, 0.05, (n, len(doy)))
    mask = rng.random(x.shape) > 0.4  # 40 % of the dates cloudy
    mask[:, 0] = True
    return np.where(mask, x, np.nan).astype(np.float32), doy, mask, np.where(y == 0, 4, 1)


def test_day_encoding_is_cyclic() -> None:
    e = day_encoding(torch.tensor([1.0, 365.25 + 1.0, 183.0]), 8)
    assert e.shape == (3, 8)
    assert torch.allclose(e[0], e[1], atol=1e-5)
    assert not torch.allclose(e[0], e[2], atol=1e-2)
    with pytest.raises(ValueError, match="even"):
        day_encoding(torch.tensor([1.0]), 7)


def test_masked_dates_do_not_change_the_output() -> None:
    torch.manual_seed(0)
    net = LTAE(1, 3).eval()
    x = torch.randn(4, 6, 1)
    doy = torch.arange(6) * 30.0
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[:, 2] = False
    x2 = x.clone()
    x2[:, 2] = 1e3  # garbage where masked
    assert torch.allclose(net(x, doy, mask), net(x2, doy, mask), atol=1e-5)
    attn = net.attention(x, doy, mask)
    assert torch.allclose(attn[:, :, 2], torch.zeros(4, 4))
    assert torch.allclose(attn.sum(-1), torch.ones(4, 4), atol=1e-5)


def test_fit_temporal_learns_phenology_with_missing_dates() -> None:
    x, doy, mask, y = _series(300, 0)
    model = fit_temporal(x, doy, mask, y, seed=0, epochs=60)
    xt, _, mt, yt = _series(300, 1)
    pred = model.predict(xt, doy, mt)
    assert model.classes == [1, 4]
    assert (pred == yt).mean() > 0.9
    proba = model.predict_proba(xt, doy, mt)
    assert proba.shape == (300, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
    # a series without any clear date gets no class
    mt[0] = False
    assert model.predict(xt, doy, mt)[0] == 255


def test_fit_temporal_is_seeded_and_checks_inputs() -> None:
    x, doy, mask, y = _series(60, 0)
    a = fit_temporal(x, doy, mask, y, seed=3, epochs=3).predict_proba(x, doy, mask)
    b = fit_temporal(x, doy, mask, y, seed=3, epochs=3).predict_proba(x, doy, mask)
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="differ in length"):
        fit_temporal(x, doy, mask, y[:-1])
    mask[5] = False
    with pytest.raises(ValueError, match="1 training series have no clear date"):
        fit_temporal(x, doy, mask, y)
