"""EDM preconditioning and loss, checked against their formulas and Gaussian-data truth."""

import math

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from audiodiff.cli.config import config_dir
from audiodiff.diffusion import Denoiser, EDMLoss, drop_labels, edm_scalings, edm_weight

B, C, T = 3, 4, 16


class Recorder(nn.Module):
    """Fake network: records its inputs and returns ``fill`` (or a fixed linear map of x_in)."""

    def __init__(self, fill: float | None = 0.0, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.fill, self.dtype, self.calls = fill, dtype, []

    def forward(self, x_in, noise_level, cond):
        self.calls.append((x_in.clone(), noise_level.clone(), cond))
        out = torch.full_like(x_in, self.fill) if self.fill is not None else x_in.flip(-1) + 1
        return out.to(self.dtype) if self.dtype else out


def _x(dtype=torch.float32) -> torch.Tensor:
    return torch.randn(B, C, T, generator=torch.Generator().manual_seed(0), dtype=dtype)


@pytest.mark.parametrize("sigma", [0.01, 0.5, 1.0, 7.0])
def test_scalings_match_table_1(sigma):
    sd = 0.5
    c_skip, c_out, c_in, c_noise = edm_scalings(torch.tensor(sigma, dtype=torch.float64), sd)
    assert c_skip.item() == pytest.approx(sd**2 / (sigma**2 + sd**2), rel=1e-12)
    assert c_out.item() == pytest.approx(sigma * sd / math.sqrt(sigma**2 + sd**2), rel=1e-12)
    assert c_in.item() == pytest.approx(1 / math.sqrt(sigma**2 + sd**2), rel=1e-12)
    assert c_noise.item() == pytest.approx(math.log(sigma) / 4, abs=1e-12)


def test_scalings_at_sigma_equal_sigma_data():
    c_skip, c_out, c_in, _ = edm_scalings(torch.tensor(2.0, dtype=torch.float64), 2.0)
    assert (c_skip.item(), c_out.item(), c_in.item()) == pytest.approx(
        (0.5, 2 / math.sqrt(2), 1 / (2 * math.sqrt(2)))
    )


@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_denoiser_combines_skip_and_net_output(fill):
    sd, sigmas = 0.5, torch.tensor([0.01, 0.5, 3.0], dtype=torch.float64)
    x = _x(torch.float64)
    d = Denoiser(Recorder(fill), sigma_data=sd)(x, sigmas)
    view = (-1, 1, 1)
    c_skip = (sd**2 / (sigmas**2 + sd**2)).view(view)
    c_out = (sigmas * sd / (sigmas**2 + sd**2).sqrt()).view(view)
    torch.testing.assert_close(d, c_skip * x + c_out * fill, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sd", [0.5, 2.0])
def test_net_sees_c_in_x_and_log_sigma_over_4_only(sd):
    net, x = Recorder(), _x(torch.float64)
    sigmas = torch.tensor([0.1, 1.0, 20.0], dtype=torch.float64)
    cond = {"instrument": torch.tensor([1, 2, 3])}
    Denoiser(net, sigma_data=sd)(x, sigmas, cond)
    ((x_in, noise_level, got_cond),) = net.calls
    torch.testing.assert_close(x_in, x / (sigmas**2 + sd**2).sqrt().view(-1, 1, 1))
    torch.testing.assert_close(noise_level, sigmas.log() / 4)  # the same for every sigma_data
    assert noise_level.shape == (B,) and got_cond == cond and isinstance(got_cond, dict)


def test_denoiser_tends_to_identity_as_sigma_goes_to_zero():
    x = _x(torch.float64)
    den = Denoiser(Recorder(fill=None), sigma_data=1.0)  # a net with non-zero output
    errs = [(den(x, s) - x).abs().max().item() for s in (1e-1, 1e-3, 1e-6)]
    assert errs[0] > 1e-2 and errs[-1] < 1e-5 and errs[0] > errs[1] > errs[2]


@pytest.mark.parametrize(
    "sigma", [0.7, torch.tensor(0.7), torch.tensor([0.7]), torch.full((B,), 0.7)]
)
def test_scalar_and_batched_sigma_give_the_same_result(sigma):
    net, x = Recorder(fill=None), _x()
    d = Denoiser(net, sigma_data=0.5)(x, sigma)
    ref = Denoiser(Recorder(fill=None), sigma_data=0.5)(x, torch.full((B,), 0.7))
    assert d.shape == (B, C, T) and net.calls[0][1].shape == (B,)
    torch.testing.assert_close(d, ref)


def test_denoiser_rejects_sigma_of_the_wrong_batch_size():
    with pytest.raises(ValueError, match="batch"):
        Denoiser(Recorder())(_x(), torch.ones(B + 1))


def test_skip_path_stays_float32_when_the_net_returns_bfloat16():
    x = _x()
    d = Denoiser(Recorder(fill=0.0, dtype=torch.bfloat16), sigma_data=1.0)(x, 0.3)
    assert d.dtype == torch.float32
    torch.testing.assert_close(d, x / (1 + 0.3**2), rtol=1e-6, atol=1e-7)  # bf16 x: ~1e-2 off
    assert Denoiser(Recorder())(_x(torch.float64), 0.3).dtype == torch.float64


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(C, C, 3, padding=1)

    def forward(self, x_in, noise_level, cond):
        return self.conv(x_in)


def test_skip_path_stays_float32_under_autocast():
    net = ConvNet()
    conv = net.conv
    den, x = Denoiser(net, sigma_data=1.0), _x()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d = den(x, 0.3)
        f = conv(x / (1 + 0.3**2) ** 0.5)
    assert f.dtype == torch.bfloat16 and d.dtype == torch.float32
    c_out = 0.3 / (1 + 0.3**2) ** 0.5
    torch.testing.assert_close(d - c_out * f.float(), x / (1 + 0.3**2), rtol=1e-6, atol=1e-6)


# ---- loss ----------------------------------------------------------------------------------

S = 0.5  # data ~ N(0, S^2 I)


def ideal(x, sigma, cond=None, gain: float = 1.0):
    """The exact denoiser E[x0 | x] for Gaussian data N(0, S^2 I): S^2 / (S^2 + sigma^2) x."""
    sigma = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
    return gain * S**2 / (S**2 + sigma**2) * x


def irreducible(sigma: np.ndarray, sd: float) -> np.ndarray:
    """Expected weighted loss of the ideal denoiser at sigma: w(sigma) sigma^2 S^2/(S^2+sigma^2)."""
    return (sigma**2 + sd**2) / (sigma * sd) ** 2 * sigma**2 * S**2 / (S**2 + sigma**2)


def test_edm_weight_formula():
    s = torch.tensor([0.1, 1.0, 10.0])
    torch.testing.assert_close(edm_weight(s, 0.5), (s**2 + 0.25) / (s * 0.5) ** 2)


def test_expected_loss_of_ideal_denoiser_matches_analytic_value():
    loss = EDMLoss(p_mean=-1.2, p_std=1.2, sigma_data=1.0, cond_dropout=0.0)
    torch.manual_seed(0)
    x0 = S * torch.randn(20000, 1, 32, dtype=torch.float64)
    torch.manual_seed(1)
    got = loss(ideal, x0).item()
    torch.manual_seed(1)  # same sigmas and noise: the gap below is not sampling noise
    worse = loss(lambda x, s, c=None: ideal(x, s, gain=1.1), x0).item()
    z, w = np.polynomial.hermite_e.hermegauss(80)  # E over log sigma ~ N(p_mean, p_std^2)
    expected = float(np.sum(w * irreducible(np.exp(-1.2 + 1.2 * z), 1.0)) / np.sum(w))
    assert got == pytest.approx(expected, rel=0.01)
    assert worse > got * 1.01


def test_loss_draws_sigma_from_the_lognormal():
    seen = []
    loss = EDMLoss(p_mean=-0.5, p_std=0.8, sigma_data=1.0)
    torch.manual_seed(0)
    loss(lambda x, s, c=None: seen.append(s) or x, torch.zeros(20000, 1, 2))
    log_s = seen[0].log()
    assert log_s.shape == (20000,)
    assert log_s.mean().item() == pytest.approx(-0.5, abs=0.03)
    assert log_s.std().item() == pytest.approx(0.8, abs=0.03)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_loss_applies_label_dropout(p):
    got = []
    cond = {"pitch": torch.arange(1, 9)}
    EDMLoss(cond_dropout=p)(lambda x, s, c=None: got.append(c) or x, torch.zeros(8, 1, 2), cond)
    assert torch.equal(got[0]["pitch"], cond["pitch"] if p == 0 else torch.zeros(8).long())


def test_validation_loss_at_fixed_sigmas_is_deterministic_and_correct():
    loss = EDMLoss(sigma_data=0.5, cond_dropout=1.0)  # at_sigmas must ignore dropout
    x0 = S * torch.randn(4000, 1, 32, generator=torch.Generator().manual_seed(0))
    sigmas = [0.01, 0.3, 2.0, 40.0]
    seen = []

    def den(x, s, c=None):
        seen.append(c)
        return ideal(x, s)

    cond = {"pitch": torch.ones(4000, dtype=torch.long)}
    a = loss.at_sigmas(den, x0, cond, sigmas, generator=torch.Generator().manual_seed(3))
    b = loss.at_sigmas(den, x0, cond, sigmas, generator=torch.Generator().manual_seed(3))
    assert list(a) == sigmas and all(torch.equal(a[s], b[s]) for s in sigmas)
    assert all(torch.equal(c["pitch"], cond["pitch"]) for c in seen)
    for s in sigmas:
        assert a[s].ndim == 0
        assert a[s].item() == pytest.approx(irreducible(np.array(s), 0.5), rel=0.02)


# ---- label dropout -------------------------------------------------------------------------


def _cond(n: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "instrument": torch.randint(1, 9, (n,), generator=g),
        "pitch": torch.randint(1, 60, (n,), generator=g),
    }


def test_drop_labels_drops_at_rate_p_and_all_labels_together():
    cond = _cond(10000)
    out = drop_labels(cond, 0.3, generator=torch.Generator().manual_seed(1))
    dropped = out["instrument"] == 0
    assert dropped.float().mean().item() == pytest.approx(0.3, abs=0.02)
    assert torch.equal(dropped, out["pitch"] == 0)
    kept = ~dropped
    assert torch.equal(out["pitch"][kept], cond["pitch"][kept])
    assert torch.equal(out["instrument"][kept], cond["instrument"][kept])


def test_drop_labels_edge_cases():
    cond = _cond(100)
    same = drop_labels(cond, 0.0)
    assert same.keys() == cond.keys() and all(torch.equal(same[k], cond[k]) for k in cond)
    assert all((v == 0).all() for v in drop_labels(cond, 1.0).values())
    assert drop_labels(None, 0.5) is None
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(drop_labels(cond, 0.5, g1)["pitch"], drop_labels(cond, 0.5, g2)["pitch"])


def test_edm_config_instantiates_the_loss():
    node = OmegaConf.load(config_dir() / "diffusion" / "edm.yaml")
    cfg = OmegaConf.create({"diffusion": node})
    loss = instantiate(cfg.diffusion.loss)
    assert isinstance(loss, EDMLoss)
    assert (loss.p_mean, loss.p_std, loss.sigma_data, loss.cond_dropout) == (-1.2, 1.2, 1.0, 0.1)
    assert (cfg.diffusion.sigma_min, cfg.diffusion.sigma_max, cfg.diffusion.rho) == (
        0.002,
        80.0,
        7.0,
    )
