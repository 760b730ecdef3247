"""Variation (SDEdit): the strength curve, its ends (round trip, plain generation) and its
checks."""

import pytest
import torch

from audiodiff.editing import strength_sigma, strength_steps
from audiodiff.errors import ConfigError
from audiodiff.sampling import karras_sigmas


def test_strength_reads_the_karras_curve():
    sigmas = karras_sigmas(11, 0.002, 80.0, 7.0, dtype=torch.float64)
    for i in range(11):
        s = 1 - i / 10
        assert strength_sigma(s, 0.002, 80.0, 7.0) == pytest.approx(float(sigmas[i]), rel=1e-9)
    assert strength_sigma(1.0, 0.002, 80.0, 7.0) == 80.0
    assert [strength_steps(20, s) for s in (1.0, 0.5, 0.26, 0.01, 0.0)] == [20, 10, 6, 1, 1]


def test_strength_zero_is_the_round_trip_with_no_solver_call(gaussian_pipe, smoke_pipe):
    wav = 0.1 * torch.randn(1, 24)
    assert torch.equal(gaussian_pipe.vary(wav, 24, 0.0, n=2), wav.expand(2, 1, 24))
    assert gaussian_pipe.denoiser.calls == 0
    wav = 0.1 * torch.randn(1, 8100, generator=torch.Generator().manual_seed(0))
    out = smoke_pipe.vary(wav, 16000, strength=0.0)
    padded = torch.nn.functional.pad(wav, (0, -8100 % 256))[None]
    expected = smoke_pipe.decode(smoke_pipe.representation.encode(padded))[..., :8100]
    assert out.shape == (1, 1, 8100) and torch.equal(out, expected)


def test_strength_one_is_plain_generation_with_the_same_seed(smoke_pipe):
    wav = 0.1 * torch.randn(2, 8000, generator=torch.Generator().manual_seed(1))  # stereo
    kwargs = dict(cond={"instrument": "bell"}, steps=3, seed=5)
    varied = smoke_pipe.vary(wav, 16000, 1.0, n=2, **kwargs)
    plain = smoke_pipe.generate(2, seconds=0.5, **kwargs)
    torch.testing.assert_close(varied, plain, rtol=0, atol=1e-6)


def test_strength_sets_the_start_and_the_steps(gaussian_pipe):
    init = torch.randn(1, 24, generator=torch.Generator().manual_seed(2))
    distances = []
    for strength in (0.2, 0.5, 0.9):
        gaussian_pipe.denoiser.calls = 0
        out = gaussian_pipe.vary(init, 24, strength, n=64, sampler="heun", steps=10)
        steps = strength_steps(10, strength)
        assert gaussian_pipe.denoiser.calls == 2 * steps - 1  # Heun: 2 per step, 1 at the end
        distances.append((out[:, 0] - init).pow(2).mean().item())
    assert distances[0] < distances[1] < distances[2], distances  # stronger edits move further


def test_resampled_input_gives_a_clip_at_the_model_rate(smoke_pipe):
    wav = 0.1 * torch.randn(11025)  # 0.5 s at 22.05 kHz, [N]
    assert smoke_pipe.vary(wav, 22050, 0.3, steps=2).shape == (1, 1, 8000)


@pytest.mark.parametrize("strength", [-0.1, 1.5, "abc", True, None])
def test_a_bad_strength_is_one_config_error(gaussian_pipe, strength):
    with pytest.raises(ConfigError, match=r"strength must be a number in \[0, 1\]"):
        gaussian_pipe.vary(torch.zeros(24), 24, strength)


@pytest.mark.parametrize(
    ("wav", "rate", "match"),
    [(torch.zeros(0), 24, "N > 0"), (torch.zeros(1, 1, 24), 24, r"\[C, N\]"),
     (torch.full((24,), float("nan")), 24, "finite"), (torch.zeros(24), 0, "sample_rate")],
)  # fmt: skip
def test_a_bad_init_is_one_config_error(gaussian_pipe, wav, rate, match):
    with pytest.raises(ConfigError, match=match):
        gaussian_pipe.vary(wav, rate, 0.5)


def test_too_short_an_init_for_the_representation(smoke_pipe):
    with pytest.raises(ConfigError, match="init: need at least"):
        smoke_pipe.vary(torch.zeros(100), 16000, 0.5)
