"""Tests for the climate-conditional diffusion model (schedule, training, DDIM round trip)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lulcbook.models import diffusion as D

torch.set_num_threads(1)


def tiny_model(prediction: str = "v", seed: int = 0) -> D.ClimateDiffusion:
    return D.build_diffusion(
        in_channels=4,
        base=8,
        mults=(1, 2),
        climate_dim=5,
        time_dim=16,
        timesteps=200,
        prediction=prediction,
        seed=seed,
    )


def randomise_output(model: D.ClimateDiffusion, seed: int = 1) -> None:
    """Give the zero-initialised last layers random weights so the network is non-trivial."""
    g = torch.Generator().manual_seed(seed)
    for p in model.net.parameters():
        if p.ndim > 1 and float(p.detach().abs().sum()) == 0.0:
            p.data = 0.1 * torch.randn(p.shape, generator=g)
    model.ema.load_state_dict(model.net.state_dict())


def batch(n: int = 6, size: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, size, size, generator=g)
    c = torch.randn(n, 5, generator=g)
    c[:, -1] = 0.0
    return x, c


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_schedule_monotone_with_boundary_values(kind: str) -> None:
    s = D.make_schedule(kind, 1000)
    a = s.alphas_cumprod
    assert s.timesteps == 1000 and a.shape == (1000,)
    assert torch.all(a[1:] < a[:-1]), "alphas_cumprod must strictly decrease"
    assert a[0] > 0.999 and a[0] < 1.0
    assert 0.0 < a[-1] < 1e-3
    assert torch.all((s.betas > 0) & (s.betas < 1))
    assert torch.allclose(a, torch.cumprod(1 - s.betas, 0))


def test_schedule_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="sigmoid"):
        D.make_schedule("sigmoid")


def test_ddim_timesteps_endpoints_and_strength() -> None:
    taus = D.ddim_timesteps(1000, 10)
    assert len(taus) == 11 and taus[0] == 0 and taus[-1] == 999
    assert np.all(np.diff(taus) > 0)
    assert D.ddim_timesteps(1000, 10, strength=0.5)[-1] == 500
    with pytest.raises(ValueError, match="strength"):
        D.ddim_timesteps(1000, 10, strength=1.5)


def test_forward_shape_and_climate_check() -> None:
    m = tiny_model()
    x, c = batch()
    out = m.net(x, torch.zeros(6, dtype=torch.long), c)
    assert out.shape == x.shape
    with pytest.raises(ValueError, match="climate must be"):
        m.net(x, torch.zeros(6, dtype=torch.long), c[:, :3])


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_training_steps_lower_loss_on_fixed_batch(prediction: str) -> None:
    m = tiny_model(prediction)
    x, c = batch()
    opt = torch.optim.Adam(m.net.parameters(), lr=3e-3)

    def fixed_loss() -> torch.Tensor:
        return m.loss(x, c, generator=torch.Generator().manual_seed(7))

    with torch.no_grad():
        before = float(fixed_loss())
    for _ in range(15):
        loss = fixed_loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = float(fixed_loss())
    assert np.isfinite(before) and np.isfinite(after)
    assert after < before


def test_train_diffusion_updates_ema_and_is_seeded() -> None:
    x, c = batch(8)
    runs = []
    for _ in range(2):
        m = tiny_model()
        losses = D.train_diffusion(m, x, c, steps=4, batch_size=4, seed=3, progress=False)
        runs.append(losses)
    assert len(runs[0]) == 4 and all(np.isfinite(runs[0]))
    assert runs[0] == runs[1]
    assert m.ema_updates == 4
    diff = sum(
        float((a - b).detach().abs().sum())
        for a, b in zip(m.ema.parameters(), m.net.parameters(), strict=True)
    )
    assert diff > 0, "EMA weights should lag behind the trained weights"
    with pytest.raises(ValueError, match="climate"):
        D.train_diffusion(m, x, c[:3], steps=1, progress=False)


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_inversion_then_decoding_reconstructs(prediction: str) -> None:
    m = tiny_model(prediction)
    randomise_output(m)
    x, c = batch(4)
    x = 0.5 * x
    errs = {}
    for steps in (5, 100):
        back = m.edit(x, c, c, steps=steps, guidance=1.0, strength=0.6)
        errs[steps] = float((back - x).pow(2).mean().sqrt())
    assert errs[100] < 0.1 * float(x.std())
    assert errs[100] < 0.3 * errs[5], "the DDIM round-trip error must shrink with more steps"
    latent = m.ddim_invert(x, c, steps=20, strength=0.6)
    assert float((latent - x).abs().mean()) > 0.05, "inversion must actually add noise"


def test_edit_depends_on_target_climate_and_guidance() -> None:
    m = tiny_model()
    randomise_output(m)
    x, c = batch(4)
    other = c.flip(0)
    same = m.edit(x, c, c, steps=10, strength=0.5)
    swapped = m.edit(x, c, other, steps=10, strength=0.5)
    guided = m.edit(x, c, other, steps=10, strength=0.5, guidance=3.0)
    assert not torch.allclose(same, swapped)
    assert not torch.allclose(swapped, guided)


def test_sampling_is_seeded() -> None:
    m = tiny_model()
    randomise_output(m)
    _, c = batch(3)
    a = m.sample(c, (4, 8, 8), steps=5, seed=11)
    b = m.sample(c, (4, 8, 8), steps=5, seed=11)
    d = m.sample(c, (4, 8, 8), steps=5, seed=12)
    assert torch.equal(a, b) and not torch.equal(a, d)


def test_null_condition_is_missing_climate() -> None:
    n = D.null_condition(3, 20)
    assert n.shape == (3, 20) and torch.all(n[:, -1] == 1) and torch.all(n[:, :-1] == 0)


def test_band_scaler_and_downsample() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.5, (5, 4, 16, 16)).astype("float32")
    small = D.downsample(x, 8)
    assert small.shape == (5, 4, 8, 8)
    np.testing.assert_allclose(small.mean(), x.mean(), rtol=1e-5)
    with pytest.raises(ValueError, match="does not divide"):
        D.downsample(x, 5)
    s = D.BandScaler().fit(x)
    z = s.transform(x)
    np.testing.assert_allclose(z.mean(dim=(0, 2, 3)).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(s.inverse(z).numpy(), x, atol=1e-6)
    with pytest.raises(ValueError, match="bands"):
        s.transform(x[:, :3])


def test_save_load_roundtrip(tmp_path) -> None:
    from lulcbook.models.condnorm import ClimateScaler

    config = dict(in_channels=4, base=8, mults=[1, 2], climate_dim=5, time_dim=16, timesteps=200)
    m = D.build_diffusion(**config)
    randomise_output(m)
    x, c = batch(2)
    scaler = D.BandScaler(np.zeros(4), np.ones(4))
    cs = ClimateScaler(np.zeros(4), np.ones(4))
    path = D.save_diffusion(tmp_path / "d.pt", m, config, scaler, cs, ["B02", "B03", "B04", "B08"])
    m2, s2, cs2, bands = D.load_diffusion(path)
    assert bands == ["B02", "B03", "B04", "B08"] and cs2.n_bio == 4
    t = torch.zeros(2, dtype=torch.long)
    assert torch.allclose(m.ema(x, t, c), m2.ema(x, t, c))
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        D.load_diffusion(tmp_path / "missing.pt")


def test_eps_sampling_from_pure_noise_stays_bounded() -> None:
    m = tiny_model("eps")
    randomise_output(m)
    _, c = batch(3)
    out = m.sample(c, (4, 8, 8), steps=5, seed=0)
    assert torch.isfinite(out).all()
    assert float(out.abs().max()) <= 1.1 * m.x0_clip
