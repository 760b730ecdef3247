"""The extended solver library against the analytic probability-flow ODE of Gaussian data.

Same harness as ``test_solvers.py`` (style habit 8): data x0 ~ N(0, S^2 I) has the ideal
denoiser D(x, sigma) = S^2 / (S^2 + sigma^2) x and the exact ODE solution x(sigma) =
x(sigma_max) sqrt(S^2 + sigma^2) / sqrt(S^2 + sigma_max^2). Orders are measured at sigma_min
on a Karras schedule without its final step to 0. Stochastic solvers must reproduce the data
distribution N(0, S^2) in mean and variance and be reproducible from a generator seed.
"""

import functools
import inspect
import math

import pytest
import torch

from audiodiff.generation import sample
from audiodiff.sampling import SAMPLERS, SCHEDULES, karras_sigmas, nfe
from audiodiff.sampling import solvers as so

S, SIGMA_MIN, SIGMA_MAX = 0.5, 0.002, 80.0


def ideal(x, sigma, cond=None):
    sigma = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
    return S**2 / (S**2 + sigma**2) * x


def exact(x_max: torch.Tensor, sigma: float) -> torch.Tensor:
    return x_max * math.sqrt(S**2 + sigma**2) / math.sqrt(S**2 + SIGMA_MAX**2)


def _start() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return SIGMA_MAX * torch.randn(4, 16, generator=g, dtype=torch.float64)  # [B, D]


def rel_error(fn, steps: int) -> float:
    """Relative error at sigma_min after `steps` steps (no final step to 0)."""
    sigmas = karras_sigmas(steps + 1, SIGMA_MIN, SIGMA_MAX, dtype=torch.float64)[:-1]
    x = _start()
    out = fn(ideal, x, sigmas)
    ref = exact(x, sigmas[-1].item())
    return ((out - ref).norm() / ref.norm()).item()


COARSE, FINE = (8, 16, 32, 64), (16, 32, 64, 128)
# name: (solver, step counts, lower bound on the empirical order of the finest pair)
ORDERS = {
    "ddim": (so.sample_ddim, COARSE, 0.9),  # 1
    "dpmpp_2s": (so.sample_dpmpp_2s, COARSE, 1.8),  # 2
    "dpmpp_2m_sde(eta=0)": (functools.partial(so.sample_dpmpp_2m_sde, eta=0.0), COARSE, 1.8),
    "dpmpp_3m": (so.sample_dpmpp_3m, COARSE, 2.7),  # 3
    "lms": (so.sample_lms, FINE, 3.5),  # 4, reached slowly: the first three steps are lower order
    # PLMS's equal-step weights on a grid that is not uniform in sigma: order 2 (see below)
    "plms": (so.sample_plms, COARSE, 1.8),
    "unipc(order=1)": (functools.partial(so.sample_unipc, order=1), COARSE, 1.8),  # 2
    "unipc(order=2)": (so.sample_unipc, COARSE, 2.7),  # 3: UniC-p raises the order to p + 1
    "unipc(order=3)": (functools.partial(so.sample_unipc, order=3), FINE, 3.6),  # 4
}


@pytest.fixture(scope="module")
def errors() -> dict[str, list[float]]:
    return {name: [rel_error(fn, n) for n in ns] for name, (fn, ns, _) in ORDERS.items()}


def empirical_orders(err: list[float]) -> list[float]:
    return [math.log2(a / b) for a, b in zip(err[:-1], err[1:], strict=True)]


@pytest.mark.parametrize("name", sorted(ORDERS))
def test_deterministic_solver_converges_at_its_order(name, errors):
    err = errors[name]
    assert all(a > b for a, b in zip(err[:-1], err[1:], strict=True)), err  # monotone in N
    assert empirical_orders(err)[-1] > ORDERS[name][2], empirical_orders(err)


def test_third_order_multistep_beats_2m_at_equal_nfe(errors):
    two_m = [rel_error(so.sample_dpmpp_2m, n) for n in (32, 64)]  # COARSE[2:]
    for name in ("dpmpp_3m", "unipc(order=2)"):
        assert errors[name][2] < two_m[0] / 2 and errors[name][3] < two_m[1] / 4, name


def test_dpmpp_3m_step_is_exact_for_quadratic_x0():
    # D(x, sigma) = q(lambda), q quadratic in lambda = -log sigma: the ODE is linear with
    # x(sigma) = (sigma / sigma_0) x_0 + sigma (F(lambda) - F(lambda_0)), F' = e^lambda q; from
    # its third step on, 3M (a quadratic through three x0 values) is exact.
    a, b, c = 0.3, -0.7, 0.2

    def den(x, sigma, cond=None):
        lam = -sigma.log().reshape(-1, *([1] * (x.ndim - 1)))
        return (a + b * lam + c * lam**2).expand_as(x)

    def big_f(lam):
        return math.exp(lam) * (a - b + 2 * c + (b - 2 * c) * lam + c * lam**2)

    sigmas = torch.tensor([3.0, 1.7, 0.9, 0.4, 0.15], dtype=torch.float64)
    seen = []
    out = so.sample_dpmpp_3m(den, _start(), sigmas, callback=seen.append)
    for i in (2, 3):  # steps 2 -> 3 and 3 -> 4, from the solver's own state
        s0, s1 = sigmas[i].item(), sigmas[i + 1].item()
        ref = s1 / s0 * seen[i - 1]["x"] + s1 * (big_f(-math.log(s1)) - big_f(-math.log(s0)))
        torch.testing.assert_close(seen[i]["x"], ref, rtol=1e-12, atol=1e-12)
    assert torch.equal(out, seen[-1]["x"])


def test_plms_is_lms_on_a_uniform_grid():
    # on equal steps in sigma the variable-step LMS weights are PLMS's Adams-Bashforth weights
    x = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    sigmas = torch.linspace(2.0, 0.5, 9, dtype=torch.float64)
    torch.testing.assert_close(
        so.sample_plms(ideal, x, sigmas), so.sample_lms(ideal, x, sigmas), rtol=1e-12, atol=0
    )


def _nonlinear(x, s, c=None):
    return torch.tanh(x) / (1 + s.view(-1, 1, 1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ddim_eta_0_equals_euler_exactly(dtype):
    x = 3.0 * torch.randn(2, 3, 5, dtype=dtype, generator=torch.Generator().manual_seed(1))
    sigmas = karras_sigmas(6, 0.01, 3.0, dtype=dtype)
    assert torch.equal(
        so.sample_ddim(_nonlinear, x, sigmas), so.sample_euler(_nonlinear, x, sigmas)
    )
    assert torch.equal(
        SAMPLERS["ddim"](_nonlinear, x, sigmas), so.sample_euler(_nonlinear, x, sigmas)
    )


def test_eta_1_ddim_is_euler_ancestral_and_churn_0_is_heun():
    x = 3.0 * torch.randn(2, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    sigmas = karras_sigmas(6, 0.01, 3.0, dtype=torch.float64)
    a = so.sample_ddim(_nonlinear, x, sigmas, eta=1.0, generator=torch.Generator().manual_seed(3))
    b = so.sample_euler_ancestral(_nonlinear, x, sigmas, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    edm = so.sample_edm_stochastic(_nonlinear, x, sigmas, s_churn=0.0)
    assert torch.equal(edm, so.sample_heun(_nonlinear, x, sigmas))
    sde = so.sample_dpmpp_2m_sde(_nonlinear, x, sigmas, eta=0.0)
    torch.testing.assert_close(sde, so.sample_dpmpp_2m(_nonlinear, x, sigmas), rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "name, tol",
    [("dpmpp_2s", 5e-3), ("dpmpp_3m", 5e-3), ("lms", 5e-3), ("plms", 5e-3), ("unipc", 5e-3)],
)
def test_full_schedule_to_zero_reaches_the_exact_data_point(name, tol):
    x = _start()
    out = SAMPLERS[name](ideal, x, karras_sigmas(64, dtype=torch.float64))  # 64 steps, to 0
    ref = exact(x, 0.0)
    assert ((out - ref).norm() / ref.norm()).item() < tol


# stochastic solvers: (solver with its stochastic settings, steps to reach N(0, S^2) in 5%)
STOCHASTIC = {
    "euler_ancestral": (so.sample_euler_ancestral, 1024),  # first order in the variance
    "ddim(eta=0.5)": (functools.partial(so.sample_ddim, eta=0.5), 512),
    "dpmpp_2m_sde": (so.sample_dpmpp_2m_sde, 256),
    "edm_stochastic": (so.sample_edm_stochastic, 256),
}


def _draw(fn, steps: int, seed: int, n: int = 20000) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    sigmas = karras_sigmas(steps, SIGMA_MIN, SIGMA_MAX, dtype=torch.float64)
    x = sigmas[0] * torch.randn(n, 1, generator=g, dtype=torch.float64)  # [n, 1] scalars
    return fn(ideal, x, sigmas, generator=g)


@pytest.mark.parametrize("name", sorted(STOCHASTIC))
def test_stochastic_solver_samples_the_data_distribution(name):
    fn, steps = STOCHASTIC[name]
    out = _draw(fn, steps, seed=0)
    assert abs(out.mean().item()) < 0.02
    assert out.var().item() == pytest.approx(S**2, rel=0.05)


@pytest.mark.parametrize("name", sorted(STOCHASTIC))
def test_stochastic_solver_is_reproducible_from_its_generator(name):
    fn = STOCHASTIC[name][0]
    a, b, c = (_draw(fn, 8, seed, n=64) for seed in (5, 5, 6))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    # the noise really comes from the generator: a fixed start with two seeds differs
    sigmas = karras_sigmas(8, dtype=torch.float64)
    x = sigmas[0] * torch.ones(64, 1, dtype=torch.float64)
    y1 = fn(ideal, x, sigmas, generator=torch.Generator().manual_seed(1))
    y2 = fn(ideal, x, sigmas, generator=torch.Generator().manual_seed(2))
    assert not torch.allclose(y1, y2)


FULL = {  # every solver with its extra keyword-only parameters visible
    "ddim": so.sample_ddim,
    "dpmpp_2s": so.sample_dpmpp_2s,
    "dpmpp_3m": so.sample_dpmpp_3m,
    "lms": so.sample_lms,
    "plms": so.sample_plms,
    "unipc": so.sample_unipc,
    "euler_ancestral": so.sample_euler_ancestral,
    "dpmpp_2m_sde": so.sample_dpmpp_2m_sde,
    "edm_stochastic": so.sample_edm_stochastic,
}
RANDOM = {"ddim", "euler_ancestral", "dpmpp_2m_sde", "edm_stochastic"}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_registry_entry_has_the_shared_signature(name):
    params = list(inspect.signature(SAMPLERS[name]).parameters.values())
    assert [p.name for p in params[:3]] == ["denoiser", "x", "sigmas"]
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params[:3])
    for p in params[3:]:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not inspect.Parameter.empty


@pytest.mark.parametrize("name", sorted(FULL))
def test_full_solver_signature_and_registry_entry(name):
    fn = FULL[name]
    params = inspect.signature(fn).parameters
    assert list(params)[:5] == ["denoiser", "x", "sigmas", "cond", "callback"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(params.values())[3:])
    assert ("generator" in params) == (name in RANDOM)
    if name in RANDOM:
        assert params["generator"].default is None
    assert SAMPLERS[name].__name__ == fn.__name__ and SAMPLERS[name].__doc__ == fn.__doc__


EXTRAS = {  # non-default settings that change the code path
    "ddim": dict(eta=0.5),
    "unipc": dict(order=3),
    "euler_ancestral": dict(eta=0.7, s_noise=1.1),
    "dpmpp_2m_sde": dict(eta=0.5),
    "edm_stochastic": dict(s_churn=80.0, s_tmin=0.0, s_tmax=1e3),
}


@pytest.mark.parametrize("name", sorted(FULL))
@pytest.mark.parametrize("steps", [1, 2, 5])
def test_callback_once_per_step_and_nfe_with_extra_settings(name, steps):
    calls, seen = [], []
    cond = {"pitch": torch.tensor([3, 4])}

    def den(x, sigma, c=None):
        assert sigma.shape == (x.shape[0],) and c is cond
        calls.append(1)
        return 0.5 * x

    sigmas = karras_sigmas(steps)
    x = sigmas[0] * torch.randn(2, 3, 7)  # [B, C, T]
    extra = EXTRAS.get(name, {})
    if name in RANDOM:
        extra = dict(extra, generator=torch.Generator().manual_seed(0))
    out = FULL[name](den, x, sigmas, cond=cond, callback=seen.append, **extra)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert [d["i"] for d in seen] == list(range(steps))
    assert [float(d["sigma"]) for d in seen] == sigmas[1:].tolist()
    assert torch.equal(seen[-1]["x"], out)
    assert len(calls) == nfe(name, steps)


def test_unipc_rejects_unknown_orders():
    with pytest.raises(ValueError):
        so.sample_unipc(ideal, _start(), karras_sigmas(4, dtype=torch.float64), order=4)


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_generation_sample_runs_every_solver_and_schedule_by_name(sampler, schedule):
    out = sample(ideal, (2, 1, 8), sampler=sampler, schedule=schedule, steps=4)
    assert out.shape == (2, 1, 8) and out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_generation_sample_reaches_the_data_scale(sampler):
    torch.manual_seed(0)  # stochastic solvers draw their noise from the global generator here
    gen = torch.Generator().manual_seed(0)
    # Euler ancestral is only first order in the variance (0.67 s^2 at 32 steps): give it more
    steps = 256 if sampler == "euler_ancestral" else 32
    out = sample(ideal, (64, 1, 16), sampler=sampler, steps=steps, generator=gen)  # karras
    assert out.var().item() == pytest.approx(S**2, rel=0.3)  # 1024 values; noise is 80^2
