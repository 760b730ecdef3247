"""scripts/probe_denoiser.py: the fraction of noise a denoiser leaves, against denoisers whose
answer is known."""

from types import SimpleNamespace

import pytest
import torch

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def probe(load_script):
    return load_script("probe_denoiser")


def fake_pipe(denoiser):
    return SimpleNamespace(labels={}, conditioned=False, denoiser=denoiser)


def test_identity_leaves_all_noise_and_oracle_none(probe):
    x0 = torch.randn(4, 8, 64, generator=torch.Generator().manual_seed(1))
    same = fake_pipe(lambda x, sigma, cond: x)
    assert probe.noise_left(same, x0, [{}] * 4, [0.1, 1.0], seed=0) == pytest.approx([1.0, 1.0])
    oracle = fake_pipe(lambda x, sigma, cond: x0)
    assert probe.noise_left(oracle, x0, [{}] * 4, [0.1, 1.0], seed=0) == [0.0, 0.0]


def test_gaussian_mmse_denoiser_leaves_its_known_fraction(probe):
    # x0 ~ N(0, s^2): the best denoiser is x s^2 / (s^2 + sigma^2), which leaves
    # s^2 / (s^2 + sigma^2) of the noise energy
    s = 0.5
    x0 = s * torch.randn(8, 16, 512, generator=torch.Generator().manual_seed(2))
    pipe = fake_pipe(lambda x, sigma, cond: x * s**2 / (s**2 + sigma**2))
    sigmas = [0.1, 0.5, 2.0]
    left = probe.noise_left(pipe, x0, [{}] * 8, sigmas, seed=3)
    assert left == pytest.approx([s**2 / (s**2 + g**2) for g in sigmas], rel=0.03)
