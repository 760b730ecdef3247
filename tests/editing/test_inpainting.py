"""Inpainting and outpainting: spans, kept frames and samples, and the closed-form
posterior of a Gaussian prior."""

import pytest
import torch

from audiodiff.editing import inpaint, parse_spans
from audiodiff.errors import ConfigError
from audiodiff.fastpath import FastPath
from audiodiff.restore.operators import known_outside

N = 3000
D = 24  # the analytic prior's frames (conftest)


def test_spans_parse_from_text_pairs_and_lists():
    assert parse_spans("0.5:1") == [(0.5, 1.0)]
    assert parse_spans([0.5, 1]) == [(0.5, 1.0)]
    assert parse_spans(["0:0.2", [1, 1.5]]) == [(0.0, 0.2), (1.0, 1.5)]
    assert parse_spans(None) == []
    for bad in ("1:0.5", "abc", "1:2:3", [1], "-1:2", [[1, 2, 3]]):
        with pytest.raises(ConfigError, match="START:END"):
            parse_spans(bad)


def test_known_outside_in_samples_and_in_frames():
    assert known_outside([(0.25, 0.5)], 8, 8).tolist() == [1, 1, 0, 0, 1, 1, 1, 1]
    # frames: every frame the span touches is unknown, then the margin
    assert known_outside([(0.3, 0.4)], 8, 8, outward=True).tolist() == [1, 1, 0, 0, 1, 1, 1, 1]
    near = known_outside([(0.3, 0.4)], 8, 8, margin=0.125, outward=True)
    assert near.tolist() == [1, 0, 0, 0, 0, 1, 1, 1]


def test_inpainting_keeps_the_known_frames_and_samples(smoke_pipe):
    wav = 0.1 * torch.randn(1, 8000, generator=torch.Generator().manual_seed(0))
    x, out = inpaint(smoke_pipe, wav, 16000, "0.2:0.3", n=2, steps=3, fade=0.005, margin=0.02)
    rate, hop = smoke_pipe.representation.frame_rate, 256
    known = known_outside([(0.2, 0.3)], x.shape[-1], rate, margin=0.02, outward=True)
    encoded = smoke_pipe.representation.encode(torch.nn.functional.pad(wav, (0, -8000 % hop))[None])
    assert torch.equal(x[..., known], encoded[..., known].expand(2, -1, -1))
    assert not torch.equal(x[..., ~known], encoded[..., ~known].expand(2, -1, -1))
    away = known_outside([(0.2 - 0.005, 0.3 + 0.005)], 8000, 16000)  # beyond the crossfades
    assert out.shape == (2, 1, 8000)
    assert torch.equal(out[:, 0, away], wav[:, away].expand(2, -1))
    gap = ~known_outside([(0.2, 0.3)], 8000, 16000)
    assert (out[:, 0, gap] - wav[:, gap]).abs().mean() > 1e-3  # the span was regenerated


@pytest.fixture
def problem(gaussian):
    torch.manual_seed(0)
    cov = gaussian.cov()
    x0 = torch.distributions.MultivariateNormal(torch.zeros(D), cov.float()).sample()
    observed = torch.ones(D, dtype=torch.bool)
    observed[8:17] = False
    gain = cov[~observed][:, observed] @ torch.linalg.inv(cov[observed][:, observed])
    return x0, observed, gain @ x0[observed].double()


def test_inpainting_a_gaussian_samples_its_closed_form_posterior(problem, gaussian):
    """With cg_iters the known frames enter through the Tweedie posterior (exact for a
    Gaussian); the completions' mean is the conditional mean Sigma_mo Sigma_oo^-1 y."""
    x0, observed, mean = problem
    pipe = gaussian.pipeline(batch_size=N)
    out = pipe.inpaint(x0[None], D, [(8 / D, 17 / D)], n=N, margin=0, fade=0, cg_iters=D)
    assert torch.equal(out[:, 0, observed], x0[observed].expand(N, -1))
    # standard error of the mean <= 1 / sqrt(N) = 0.018; measured 0.040
    assert (out[:, 0, ~observed].double().mean(0) - mean).abs().max() < 0.06


def test_data_consistency_inpainting_uses_the_known_frames(problem, gaussian):
    """The default (x0 replacement on the known frames) is biased but pulled by them:
    measured 0.80 mean error against 1.47 for the prior mean (0)."""
    x0, observed, mean = problem
    pipe = gaussian.pipeline(batch_size=N)
    out = pipe.inpaint(x0[None], D, [(8 / D, 17 / D)], n=N, margin=0, fade=0)
    assert torch.equal(out[:, 0, observed], x0[observed].expand(N, -1))
    error = (out[:, 0, ~observed].double().mean(0) - mean).abs().mean()
    assert error < 0.7 * mean.abs().mean(), error


def test_resampling_solves_each_run_of_steps_again_and_pulls_closer(problem, gaussian):
    """RePaint's resampling: resample=K costs K times the denoiser calls; resample=1 is the
    plain solve. Its completions' mean moves toward the closed-form conditional mean: mean
    error 0.320 -> 0.265 with K=4 (measured; the prior mean's is 0.572)."""
    x0, observed, mean = problem
    pipe = gaussian.pipeline(batch_size=N)
    kwargs = dict(n=N, margin=0, fade=0)
    pipe.denoiser.calls = 0
    plain = pipe.inpaint(x0[None], D, [(8 / D, 17 / D)], **kwargs)
    calls, pipe.denoiser.calls = pipe.denoiser.calls, 0
    again = pipe.inpaint(x0[None], D, [(8 / D, 17 / D)], resample=4, resample_jump=4, **kwargs)
    assert pipe.denoiser.calls == 4 * calls
    one = pipe.inpaint(x0[None], D, [(8 / D, 17 / D)], resample=1, **kwargs)
    assert torch.equal(one, plain)
    assert torch.equal(again[:, 0, observed], x0[observed].expand(N, -1))
    errors = [(o[:, 0, ~observed].double().mean(0) - mean).abs().mean() for o in (plain, again)]
    assert errors[1] < 0.9 * errors[0], errors


def test_clips_do_not_depend_on_the_batch_they_were_drawn_in(problem, gaussian):
    x0, _, _ = problem
    kwargs = dict(n=5, margin=0, fade=0, cg_iters=2, seed=3)
    big = gaussian.pipeline(batch_size=64).inpaint(x0[None], D, "0.3:0.6", **kwargs)
    small = gaussian.pipeline(batch_size=64).set_fast(FastPath(batch_size=2))
    torch.testing.assert_close(small.inpaint(x0[None], D, "0.3:0.6", **kwargs), big)


def test_extend_grows_the_clip_and_keeps_the_recording(smoke_pipe):
    wav = 0.1 * torch.randn(1, 8000, generator=torch.Generator().manual_seed(4))
    out = smoke_pipe.extend(wav, 16000, before=0.25, after=0.5, steps=3, fade=0.01)
    assert out.shape == (1, 1, 4000 + 8000 + 8000)
    middle = out[0, 0, 4000 + 160 : 12000 - 160]  # the recording, away from the crossfades
    assert torch.equal(middle, wav[0, 160:-160])
    assert out[0, 0, :4000].abs().mean() > 1e-4 and out[0, 0, 12000:].abs().mean() > 1e-4
    with pytest.raises(ConfigError, match="before or after > 0"):
        smoke_pipe.extend(wav, 16000)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [(dict(spans="2:3"), "starts after the init ends"),
     (dict(spans=[], before=-1), "extend_before must be a number of seconds >= 0"),
     (dict(spans=[]), "nothing to regenerate"),
     (dict(spans="0:0.5", fade="x"), "fade must be"),
     (dict(spans="0:0.5", cg_iters=-1), "cg_iters must be"),
     (dict(spans="0:0.5", strength=2), "strength must be")],
)  # fmt: skip
def test_bad_inpainting_options_are_one_config_error(gaussian_pipe, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        gaussian_pipe.inpaint(torch.zeros(24), 24, **kwargs)
