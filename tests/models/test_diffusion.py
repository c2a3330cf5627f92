"""Tests for the climate-conditional diffusion model (schedule, training, DDIM round trip)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lulcbook.models import diffusion as D
from lulcbook.models.semantic_encoder import SemanticEncoder

torch.set_num_threads(1)


def tiny_model(prediction: str = "v", seed: int = 0, **extra: int) -> D.ClimateDiffusion:
    return D.build_diffusion(
        in_channels=4,
        base=8,
        mults=(1, 2),
        climate_dim=5,
        time_dim=16,
        timesteps=200,
        prediction=prediction,
        seed=seed,
        **extra,
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


# --------------------------------------------------------------------------- autoencoder
def tiny_autoencoder(seed: int = 0) -> D.ClimateDiffusion:
    return tiny_model(seed=seed, semantic_dim=6, encoder_base=8, map_channels=3)


def lc_maps(n: int = 4, size: int = 8, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    cls = torch.randint(0, 3, (n, size, size), generator=g)
    return torch.nn.functional.one_hot(cls, 3).permute(0, 3, 1, 2).float()


def test_semantic_encoder_shapes_and_errors() -> None:
    enc = SemanticEncoder(in_channels=4, base=8, mults=(1, 2), latent_dim=7)
    x, _ = batch(3, size=16)
    assert enc(x).shape == (3, 7)
    with pytest.raises(ValueError, match=r"\(B, 4, H, W\)"):
        enc(x[:, :3])
    with pytest.raises(ValueError, match="latent_dim=0"):
        SemanticEncoder(latent_dim=0)


def test_autoencoder_needs_code_and_map() -> None:
    m = tiny_autoencoder()
    x, c = batch(4)
    t = torch.zeros(4, dtype=torch.long)
    sem = m.encode(x)
    assert sem is not None and sem.shape == (4, 6)
    assert m.net(x, t, c, sem, lc_maps()).shape == x.shape
    with pytest.raises(ValueError, match="semantic must be"):
        m.net(x, t, c, None, lc_maps())
    with pytest.raises(ValueError, match="lc_map must be"):
        m.net(x, t, c, sem, lc_maps()[:, :2])
    with pytest.raises(ValueError, match="no semantic conditioning"):
        tiny_model().net(x, t, c, sem)
    assert tiny_model().encode(x) is None


def test_autoencoder_training_updates_encoder_and_its_ema() -> None:
    m = tiny_autoencoder()
    x, c = batch(8)
    assert m.encoder is not None and m.ema_encoder is not None
    before = [p.detach().clone() for p in m.encoder.parameters()]
    seen: list[int] = []
    losses = D.train_diffusion(
        m, x, c, steps=3, batch_size=4, progress=False, lc_map=lc_maps(8), on_step=seen.append
    )
    assert len(losses) == 3 and all(np.isfinite(losses)) and seen == [1, 2, 3]
    moved = sum(
        float((a - b.detach()).abs().sum())
        for a, b in zip(before, m.encoder.parameters(), strict=True)
    )
    assert moved > 0, "the semantic encoder must be trained through the diffusion loss"
    lag = sum(
        float((a - b.detach()).abs().sum())
        for a, b in zip(m.ema_encoder.parameters(), m.encoder.parameters(), strict=True)
    )
    assert lag > 0, "the EMA encoder lags behind the trained encoder"
    with pytest.raises(ValueError, match="lc_map"):
        D.train_diffusion(m, x, c, steps=1, progress=False, lc_map=lc_maps(3))


def test_autoencoder_round_trip_and_edit_keep_the_code() -> None:
    m = tiny_autoencoder()
    randomise_output(m)
    if m.encoder is not None and m.ema_encoder is not None:
        m.ema_encoder.load_state_dict(m.encoder.state_dict())
    x, c = batch(4)
    x = 0.5 * x
    lc = lc_maps()
    back = m.edit(x, c, c, steps=100, guidance=1.0, strength=0.6, lc_map=lc)
    assert float((back - x).pow(2).mean().sqrt()) < 0.1 * float(x.std())
    swapped = m.edit(x, c, c.flip(0), steps=10, strength=0.6, lc_map=lc)
    other_map = m.edit(x, c, c.flip(0), steps=10, strength=0.6, lc_map=lc.flip(1))
    assert not torch.allclose(swapped, m.edit(x, c, c, steps=10, strength=0.6, lc_map=lc))
    assert not torch.allclose(swapped, other_map), "the land-cover map must condition decoding"


def test_autoencoder_save_load(tmp_path) -> None:
    from lulcbook.models.condnorm import ClimateScaler

    config = dict(
        in_channels=4, base=8, mults=[1, 2], climate_dim=5, time_dim=16, timesteps=200,
        semantic_dim=6, encoder_base=8, map_channels=3,
    )  # fmt: skip
    m = D.build_diffusion(**config)
    randomise_output(m)
    x, _ = batch(2)
    path = D.save_diffusion(
        tmp_path / "ae.pt", m, config, D.BandScaler(np.zeros(4), np.ones(4)),
        ClimateScaler(np.zeros(4), np.ones(4)), ["B02", "B03", "B04", "B08"],
    )  # fmt: skip
    m2, *_ = D.load_diffusion(path)
    a, b = m.encode(x), m2.encode(x)
    assert a is not None and b is not None and torch.allclose(a, b)


def test_encoder_width_must_match_denoiser() -> None:
    net = D.ClimateUNet(4, 8, (1, 2), 5, 16, semantic_dim=6)
    with pytest.raises(ValueError, match="semantic_dim=6"):
        D.ClimateDiffusion(
            net, D.make_schedule("cosine", 50), encoder=SemanticEncoder(4, 8, (1,), 5)
        )
