"""Posterior sampling against truth: a Gaussian prior has a closed-form posterior.

The prior is AR(1) along time (Sigma_ij = rho^|i-j|), whose exact denoiser is
D(x, sigma) = Sigma (Sigma + sigma^2 I)^-1 x. For a mask the missing part given the observed
part is Gaussian with mean Sigma_mo Sigma_oo^-1 y and covariance
Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om; sampled completions must match both.
"""

from __future__ import annotations

import pytest
import torch

from audiodiff.generation import sample
from audiodiff.restore.operators import Clipped, KnownSamples, LowBand
from audiodiff.restore.posterior import (
    data_consistency,
    reconstruction_guidance,
    tweedie_posterior,
)

D = 24
RHO = 0.9
N = 3000


def ar1_prior() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    i = torch.arange(D, dtype=torch.float64)
    cov = RHO ** (i[:, None] - i[None, :]).abs()
    lam, u = torch.linalg.eigh(cov)
    return cov, lam, u


class GaussianDenoiser:
    """E[x0 | x] for x0 ~ N(0, Sigma), x = x0 + sigma n; x: [B, 1, D]."""

    def __init__(self) -> None:
        _, lam, u = ar1_prior()
        self.lam, self.u = lam.float(), u.float()

    def __call__(self, x, sigma, cond=None):
        s = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, 1)  # [B or 1, 1]
        gain = self.lam / (self.lam + s**2)  # [B or 1, D]
        return (((x[:, 0] @ self.u) * gain) @ self.u.T)[:, None]


def closed_form(observed: torch.Tensor, y: torch.Tensor):
    cov = ar1_prior()[0]
    o, m = observed, ~observed
    gain = cov[m][:, o] @ torch.linalg.inv(cov[o][:, o])
    return gain @ y[o].double(), cov[m][:, m] - gain @ cov[o][:, m]


@pytest.fixture(scope="module")
def problem():
    observed = torch.ones(D, dtype=torch.bool)
    observed[8:17] = False  # a gap of 9 samples
    torch.manual_seed(0)
    cov = ar1_prior()[0]
    x0 = torch.distributions.MultivariateNormal(torch.zeros(D), cov.float()).sample()
    return observed, x0


def completions(wrap, sampler: str = "heun", steps: int = 32) -> torch.Tensor:
    x = sample(
        wrap,
        (N, 1, D),
        sampler=sampler,
        steps=steps,
        sigma_min=0.002,
        sigma_max=80.0,
        generator=torch.Generator().manual_seed(1),
    )
    return x[:, 0].double()


def errors(samples: torch.Tensor, observed: torch.Tensor, y: torch.Tensor):
    mean, cov = closed_form(observed, y)
    missing = samples[:, ~observed]
    mean_err = (missing.mean(0) - mean).abs().max().item()
    cov_err = (torch.cov(missing.T) - cov).norm() / cov.norm()
    return mean_err, cov_err.item()


@pytest.mark.parametrize(("sampler", "steps"), [("heun", 32), ("dpmpp_2m", 40), ("euler", 100)])
def test_tweedie_posterior_samples_the_closed_form_posterior(problem, sampler, steps):
    observed, x0 = problem
    y = (x0 * observed)[None, None].expand(N, 1, D)
    wrap = tweedie_posterior(GaussianDenoiser(), observed.float(), y, cg_iters=D)
    samples = completions(wrap, sampler, steps)
    mean_err, cov_err = errors(samples, observed, x0)
    # standard error of the mean: sqrt(var / N) <= 0.018 here; of the covariance ~ 3 %
    assert mean_err < 0.06, mean_err
    assert cov_err < 0.1, cov_err
    assert torch.allclose(samples[:, observed], x0[observed].double(), atol=1e-3)


def test_without_the_covariance_the_completion_is_biased(problem):
    """cg_iters=0 (x0_hat's observed part set to y, nothing else) is plain replacement: its
    completions do not have the posterior's spread. This is why the covariance is used."""
    observed, x0 = problem
    y = (x0 * observed)[None, None].expand(N, 1, D)
    exact = errors(
        completions(tweedie_posterior(GaussianDenoiser(), observed.float(), y)), observed, x0
    )
    naive = errors(
        completions(tweedie_posterior(GaussianDenoiser(), observed.float(), y, cg_iters=0)),
        observed,
        x0,
    )
    assert naive[1] > 3 * exact[1] and naive[1] > 0.3, (naive, exact)


def test_data_consistency_keeps_the_known_samples_and_fills_the_gap(problem):
    observed, x0 = problem
    y = (x0 * observed)[None, None].expand(N, 1, D)
    known = KnownSamples(y, observed.float())
    samples = completions(data_consistency(GaussianDenoiser(), known))
    assert torch.equal(samples[:, observed].float(), y[:, 0, observed])
    mean, _ = closed_form(observed, x0)
    missing = samples[:, ~observed]
    # biased (x0 replacement ignores how the gap covaries with its edges), but it uses them:
    # measured 0.33 against 0.57 for the prior mean
    assert (missing.mean(0) - mean).abs().mean() < 0.75 * mean.abs().mean()


def test_a_faded_projection_ramps_linearly_or_eased_from_the_gap():
    y, mask = torch.ones(1, 1, 8), torch.tensor([1.0, 1, 1, 1, 1, 0, 0, 0])
    linear = KnownSamples(y, mask, fade=4).weight[0, 0]
    eased = KnownSamples(y, mask, fade=4, ease=True).weight[0, 0]
    torch.testing.assert_close(linear, torch.tensor([1, 0.75, 0.5, 0.25, 0, 0, 0, 0]))
    u = linear
    torch.testing.assert_close(eased, u * u * (3 - 2 * u))  # smoothstep: flat at both ends
    assert eased[3] < linear[3] and eased[1] > linear[1] and eased[2] == 0.5
    out = KnownSamples(y, mask, fade=4, ease=True).project(torch.zeros(1, 1, 8))
    torch.testing.assert_close(out[0, 0], eased)  # blends y (ones) into the signal (zeros)


def test_data_consistency_below_min_sigma_is_the_plain_estimate():
    y, mask = torch.ones(2, 1, 6), torch.tensor([1.0, 1, 0, 0, 0, 0])
    plain = lambda x, sigma, cond=None: 0.5 * x  # noqa: E731
    wrapped = data_consistency(plain, KnownSamples(y, mask), min_sigma=0.1)
    x = torch.full((2, 1, 6), 4.0)
    held = wrapped(x, 0.1)  # at min_sigma: still projected
    assert torch.equal(held[..., :2], y[..., :2]) and torch.equal(held[..., 2:], 2 * y[..., 2:])
    assert torch.equal(wrapped(x, 0.05), plain(x, 0.05))  # below: left as the net makes it
    rows = wrapped(x, torch.tensor([0.5, 0.05]))  # a sigma per row: decided row by row
    assert torch.equal(rows[0], held[0]) and torch.equal(rows[1], plain(x, 0)[1])


def test_reconstruction_guidance_pulls_toward_the_observation(problem):
    observed, x0 = problem
    y = (x0 * observed)[None, None].expand(256, 1, D)
    known = KnownSamples(y, observed.float())
    kwargs = dict(sampler="heun", steps=24, generator=torch.Generator().manual_seed(2))
    free = sample(GaussianDenoiser(), (256, 1, D), **kwargs)
    guided = sample(
        reconstruction_guidance(GaussianDenoiser(), known, scale=1.0), (256, 1, D), **kwargs
    )
    miss_free = known.residual(free).pow(2).mean().item()
    miss_guided = known.residual(guided).pow(2).mean().item()
    assert miss_guided < 0.1 * miss_free, (miss_guided, miss_free)


def test_clipped_projection_keeps_unclipped_samples_and_the_sign():
    wav = torch.sin(torch.linspace(0, 12, 400))[None, None] * 0.9
    y = wav.clamp(-0.5, 0.5)
    obs = Clipped(y, 0.5)
    guess = torch.zeros_like(wav)
    p = obs.project(guess)
    unclipped = y.abs() < 0.5
    assert torch.equal(p[unclipped], y[unclipped])
    assert (p[~unclipped].abs() >= 0.5).all() and (torch.sign(p) == torch.sign(y))[~unclipped].all()
    assert obs.residual(wav).abs().max() < 1e-6  # the clean signal explains y exactly


def test_low_band_projection_replaces_only_the_low_band():
    torch.manual_seed(0)
    clean, other = torch.randn(2, 1, 1, 1600)
    spectrum = torch.fft.rfft(clean)
    band = torch.fft.rfftfreq(1600, 1 / 16000) < 4000
    y = torch.fft.irfft(spectrum * band, n=1600)
    p = LowBand(y, 4000, 16000).project(other)
    ps, os_ = torch.fft.rfft(p), torch.fft.rfft(other)
    assert torch.allclose(ps[..., band], spectrum[..., band], atol=1e-3)
    assert torch.allclose(ps[..., ~band], os_[..., ~band], atol=1e-3)


def test_observe_wraps_outside_guidance_so_the_observation_keeps_its_batch(problem):
    """With labels, classifier-free guidance runs a batch of 2B; the observation (B rows)
    wraps the guided denoiser, so both fit."""
    observed, x0 = problem
    y = (x0 * observed)[None, None].expand(8, 1, D)
    seen = []

    def conditional(x, sigma, cond):
        seen.append(x.shape[0])
        return GaussianDenoiser()(x, sigma) * (1 + 0.1 * cond["label"].view(-1, 1, 1))

    out = sample(
        conditional,
        (8, 1, D),
        cond={"label": torch.ones(8, dtype=torch.long)},
        cfg_scale=2.0,
        sampler="euler",
        steps=8,
        observe=lambda d: data_consistency(d, KnownSamples(y, observed.float())),
    )
    assert set(seen) == {16} and out.shape == (8, 1, D)
    assert torch.equal(out[:, 0, observed], y[:, 0, observed])
