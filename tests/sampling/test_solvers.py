"""Solvers against the analytic probability-flow ODE of Gaussian data (style habit 8).

Data x0 ~ N(0, S^2 I): the ideal denoiser is D(x, sigma) = S^2 / (S^2 + sigma^2) x and the
ODE dx/dsigma = (x - D) / sigma has the exact solution x(sigma) = x(sigma_max)
sqrt(S^2 + sigma^2) / sqrt(S^2 + sigma_max^2). Convergence is measured at sigma_min, i.e. on
a Karras schedule WITHOUT its final step to 0: that last jump is one first-order step whose
error does not shrink with N, so leaving it out keeps the empirical orders clean.
"""

import inspect
import math

import pytest
import torch
from omegaconf import OmegaConf

from audiodiff.cli.config import config_dir
from audiodiff.sampling import SAMPLERS, SCHEDULES, karras_sigmas, nfe, sampler_options
from audiodiff.sampling.solvers import sample_dpmpp_2m, sample_euler

S, SIGMA_MIN, SIGMA_MAX = 0.5, 0.002, 80.0
NS = (8, 16, 32, 64)
MIN_ORDER = {"euler": 0.8, "heun": 1.7, "dpmpp_2m": 1.6}


def ideal(x, sigma, cond=None):
    sigma = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
    return S**2 / (S**2 + sigma**2) * x


def exact(x_max: torch.Tensor, sigma: float) -> torch.Tensor:
    return x_max * math.sqrt(S**2 + sigma**2) / math.sqrt(S**2 + SIGMA_MAX**2)


def _start() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return SIGMA_MAX * torch.randn(4, 16, generator=g, dtype=torch.float64)  # [B, D]


def rel_error(name: str, steps: int) -> float:
    """Relative error at sigma_min after `steps` steps (no final step to 0)."""
    sigmas = karras_sigmas(steps + 1, SIGMA_MIN, SIGMA_MAX, dtype=torch.float64)[:-1]
    x = _start()
    out = SAMPLERS[name](ideal, x, sigmas)
    ref = exact(x, sigmas[-1].item())
    return ((out - ref).norm() / ref.norm()).item()


@pytest.fixture(scope="module")
def errors() -> dict[str, list[float]]:
    return {name: [rel_error(name, n) for n in NS] for name in SAMPLERS}


@pytest.mark.parametrize("name", sorted(MIN_ORDER))
def test_solver_converges_at_its_order(name, errors):
    err = errors[name]
    assert all(a > b for a, b in zip(err[:-1], err[1:], strict=True)), err  # monotone in N
    orders = [math.log2(a / b) for a, b in zip(err[:-1], err[1:], strict=True)]
    assert min(orders[-2:]) > MIN_ORDER[name], orders  # the two finest pairs


def test_second_order_solvers_beat_euler_at_equal_nfe(errors):
    # without the step to 0 every step of euler / dpmpp_2m costs 1 evaluation, of heun 2
    for i, n in enumerate(NS[1:], start=1):
        assert errors["dpmpp_2m"][i] < errors["euler"][i] / 2, n
    for i in range(1, len(NS) - 1):  # heun with N >= 16 steps vs euler with 2N steps
        assert errors["heun"][i] < errors["euler"][i + 1], NS[i]


@pytest.mark.parametrize("name, tol", [("euler", 0.06), ("heun", 5e-3), ("dpmpp_2m", 5e-3)])
def test_full_schedule_to_zero_reaches_the_exact_data_point(name, tol):
    x = _start()
    out = SAMPLERS[name](ideal, x, karras_sigmas(64, dtype=torch.float64))  # 64 steps, to 0
    ref = exact(x, 0.0)
    assert ((out - ref).norm() / ref.norm()).item() < tol


def test_euler_equals_ddim():
    # DDIM with x0-prediction (Song et al. 2021, eq. 12, eta = 0, VE form):
    # x' = x0_hat + sigma' (x - x0_hat) / sigma
    def den(x, s, c=None):
        return torch.tanh(x) / (1 + s.view(-1, 1, 1))

    x = 3.0 * torch.randn(2, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    sigmas = karras_sigmas(6, 0.01, 3.0, dtype=torch.float64)
    ref = x
    for s, s_next in zip(sigmas[:-1], sigmas[1:], strict=True):
        x0 = den(ref, s * torch.ones(2, dtype=torch.float64))
        ref = x0 + s_next * (ref - x0) / s
    torch.testing.assert_close(sample_euler(den, x, sigmas), ref)


def test_dpmpp_2m_last_step_to_zero_returns_the_denoised_value():
    x, sigmas = _start(), torch.tensor([SIGMA_MAX, 1.0, 0.0], dtype=torch.float64)
    seen = []
    out = sample_dpmpp_2m(ideal, x, sigmas, callback=seen.append)
    torch.testing.assert_close(out, seen[-1]["denoised"], rtol=0, atol=0)
    torch.testing.assert_close(out, ideal(seen[0]["x"], 1.0))


def test_karras_schedule():
    s = karras_sigmas(5, 0.1, 10.0, rho=7.0)
    assert s.shape == (6,) and s.dtype == torch.float32 and s[-1] == 0
    assert s[0].item() == pytest.approx(10.0) and s[-2].item() == pytest.approx(0.1)
    assert (s[:-1] > s[1:]).all()
    mid = (10.0 ** (1 / 7) + 0.5 * (0.1 ** (1 / 7) - 10.0 ** (1 / 7))) ** 7  # eq. 5, i = 2
    assert s[2].item() == pytest.approx(mid, rel=1e-6)
    torch.testing.assert_close(karras_sigmas(1), torch.tensor([80.0, 0.0]))
    assert SCHEDULES["karras"] is karras_sigmas
    with pytest.raises(ValueError):
        karras_sigmas(0)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_shared_signature(name):
    # denoiser, x, sigmas positional; cond, callback and any options keyword-only with defaults
    params = list(inspect.signature(SAMPLERS[name]).parameters.values())
    assert [p.name for p in params[:5]] == ["denoiser", "x", "sigmas", "cond", "callback"]
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params[:3])
    for p in params[3:]:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not inspect.Parameter.empty
    assert params[3].default is None and params[4].default is None


def test_sampler_options_lists_the_extras():
    assert sampler_options("euler") == {}
    assert sampler_options("ddim") == {"eta": 0.0}
    assert sampler_options("unipc") == {"order": 2}
    assert set(sampler_options("edm_stochastic")) == {"s_churn", "s_tmin", "s_tmax", "s_noise"}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@pytest.mark.parametrize("steps", [1, 2, 5])
def test_callback_once_per_step_nfe_and_shapes(name, steps):
    calls, seen = [], []
    cond = {"pitch": torch.tensor([3, 4])}

    def den(x, sigma, c=None):
        assert sigma.shape == (x.shape[0],) and c is cond
        calls.append(x.shape)
        return 0.5 * x

    sigmas = karras_sigmas(steps)
    x = sigmas[0] * torch.randn(2, 3, 7)  # [B, C, T]
    out = SAMPLERS[name](den, x, sigmas, cond=cond, callback=seen.append)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert [d["i"] for d in seen] == list(range(steps))
    assert [float(d["sigma"]) for d in seen] == sigmas[1:].tolist()
    assert all(d["x"].shape == d["denoised"].shape == x.shape for d in seen)
    assert torch.equal(seen[-1]["x"], out)
    assert len(calls) == nfe(name, steps)


def test_nfe_values():
    assert [nfe("euler", 10), nfe("heun", 10), nfe("dpmpp_2m", 10)] == [10, 19, 10]
    with pytest.raises(KeyError):
        nfe("ddpm", 10)


@pytest.mark.parametrize("name", sorted(p.stem for p in (config_dir() / "sampler").glob("*.yaml")))
def test_sampler_configs(name):
    cfg = OmegaConf.load(config_dir() / "sampler" / f"{name}.yaml")
    assert cfg.name in SAMPLERS and cfg.schedule in SCHEDULES
    assert isinstance(cfg.steps, int) and cfg.steps > 0 and cfg.rho == 7.0
    assert set(cfg.options) <= set(sampler_options(cfg.name))  # every option is one it takes
