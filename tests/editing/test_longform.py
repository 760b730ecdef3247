"""Long-form generation in windows and loops: the window plan, lengths, and continuity
across window boundaries and the loop point on the analytic Gaussian prior."""

from types import SimpleNamespace

import pytest
import torch

from audiodiff.editing import generate_long
from audiodiff.editing.longform import WINDOW_SEED, _timed, decode_long, seams, windows
from audiodiff.errors import ConfigError

D = 24  # the analytic prior's frames: its context (conftest)


def test_windows_cover_the_clip_and_a_loop_adds_one_across_the_wrap():
    plan = windows(60, 24, 6, loop=False)
    assert [int(w[0]) for w in plan] == [0, 18, 36] and all(w.numel() == 24 for w in plan)
    assert torch.cat(plan).unique().tolist() == list(range(60))
    wrap = windows(60, 24, 6, loop=True)[-1]
    assert wrap.tolist() == [*range(48, 60), *range(12)]
    assert windows(10, 24, 6, loop=True)[-1].tolist() == [5, 6, 7, 8, 9, 0, 1, 2, 3, 4]


def test_seams_are_where_kept_frames_meet_new_ones():
    assert seams(60, 24, 6, loop=False) == [24, 42]  # windows from 18 and 36 keep 6 frames
    assert seams(60, 24, 6, loop=True) == [6, 24, 42, 54]  # the wrap window: 54 and 6
    assert seams(20, 24, 6, loop=False) == []


def test_a_loop_is_decoded_between_copies_of_its_own_ends(gaussian):
    pipe = gaussian.pipeline()
    x = torch.randn(2, 1, 30)
    assert torch.equal(decode_long(pipe, x, 30 / 24, loop=True), x)  # a local decoder: exact
    assert decode_long(pipe, x, 1.0).shape == (2, 1, 24)  # not a loop: cropped to seconds


def test_long_clips_have_the_asked_length_and_start_as_a_plain_clip(smoke_pipe):
    kwargs = dict(cond={"instrument": "bell"}, steps=2, seed=1)
    long = smoke_pipe.generate_long(2, seconds=1.3, overlap=0.1, **kwargs)
    assert long.shape == (2, 1, round(1.3 * 16000)) and torch.isfinite(long).all()
    looped = smoke_pipe.generate_long(1, seconds=0.4, loop=True, **kwargs)  # under the context
    assert looped.shape == (1, 1, 6400)
    x = generate_long(smoke_pipe, 2, 1.3, overlap=0.1, **kwargs)  # windows of 31 frames
    first = smoke_pipe.sample(2, 31 / 62.5, **kwargs)  # window 0: a plain clip of 31 frames
    assert torch.equal(x[..., :25], first[..., :25])  # up to where window 1 starts


def _steps(x):
    return (x[:, 1:] - x[:, :-1]).abs().mean(0)  # [T - 1] mean |x[t + 1] - x[t]| over clips


def test_a_loop_continues_across_its_wrap_point(gaussian):
    """AR(1) prior: E|x[t+1] - x[t]| = 0.36 inside a clip. Across the loop point of a loop
    it is the same (measured 0.365); without loop=True the ends are independent (1.14)."""
    pipe = gaussian.pipeline()
    loop = generate_long(pipe, 500, 2.5, overlap=0.25, loop=True)[:, 0]
    inside = _steps(loop).median()
    wrap = (loop[:, 0] - loop[:, -1]).abs().mean()
    assert 0.8 * inside < wrap < 1.25 * inside, (wrap, inside)
    free = generate_long(pipe, 500, 2.5, overlap=0.25)[:, 0]
    assert (free[:, 0] - free[:, -1]).abs().mean() > 2.5 * inside


def test_window_boundaries_are_continuous_with_the_tweedie_posterior(gaussian):
    """With cg_iters the overlap enters through the exact Gaussian posterior: no step is
    larger than inside (measured max 0.38 against median 0.36). Plain data consistency,
    imposed to the last step, leaves a seam where the kept frames end (measured 0.58 with
    the eased whole-overlap crossfade, 0.78 with a linear one, 0.74 with crossfade=0.25):
    the reason for cg_iters."""
    pipe = gaussian.pipeline()
    exact = generate_long(pipe, 500, 2.5, overlap=0.25, loop=True, cg_iters=2)[:, 0]
    assert _steps(exact).max() < 1.15 * _steps(exact).median()
    replaced = generate_long(pipe, 500, 2.5, overlap=0.25, loop=True, release_sigma=0)[:, 0]
    assert _steps(replaced).max() > 1.4 * _steps(replaced).median()


def test_releasing_the_kept_frames_at_low_noise_shrinks_the_seams(gaussian):
    """Data consistency only while sigma >= release_sigma, the whole overlap crossfaded (eased):
    the largest step, at a seam, drops from 0.576 (imposed to the end) to 0.461 (released
    below 0.1, the default) against 0.364 inside (measured): its excess by 55%. With a linear
    crossfade it was 0.782 -> 0.527."""
    pipe = gaussian.pipeline()
    kwargs = dict(overlap=0.25, loop=True, crossfade=1.0)
    torch.manual_seed(0)
    imposed = _steps(generate_long(pipe, 500, 2.5, release_sigma=0, **kwargs)[:, 0])
    torch.manual_seed(0)
    released = _steps(generate_long(pipe, 500, 2.5, **kwargs)[:, 0])
    assert released.max() - released.median() < 0.6 * (imposed.max() - imposed.median())
    assert released.median() < 1.05 * imposed.median()  # inside the windows: the same prior


def test_resampling_shrinks_the_seams_of_data_consistency(gaussian):
    """RePaint's resampling (resample=4 over runs of 4 steps), with a crossfade over a
    quarter of the overlap: the largest step, at a seam, drops from 0.745 to 0.523 against
    0.363 inside (measured): its excess by 58%."""
    pipe = gaussian.pipeline()
    kwargs = dict(overlap=0.25, loop=True, crossfade=0.25, release_sigma=0)
    torch.manual_seed(0)
    plain = _steps(generate_long(pipe, 500, 2.5, **kwargs)[:, 0])
    torch.manual_seed(0)
    again = generate_long(pipe, 500, 2.5, resample=4, resample_jump=4, **kwargs)
    again = _steps(again[:, 0])
    assert again.max() - again.median() < 0.6 * (plain.max() - plain.median())
    assert again.median() < 1.05 * plain.median()  # inside the windows: the same prior


def test_an_eased_crossfade_shrinks_the_seams(gaussian):
    """Imposed to the last step (release_sigma=0), the whole overlap crossfaded: the largest
    step, at a seam, is 0.782 along a straight line and 0.576 along the smoothstep (the
    default) against 0.364 inside (measured): its excess roughly halved."""
    pipe = gaussian.pipeline()
    kwargs = dict(overlap=0.25, loop=True, crossfade=1.0, release_sigma=0)
    torch.manual_seed(0)
    linear = _steps(generate_long(pipe, 500, 2.5, ease=False, **kwargs)[:, 0])
    torch.manual_seed(0)
    eased = _steps(generate_long(pipe, 500, 2.5, **kwargs)[:, 0])
    assert eased.max() - eased.median() < 0.7 * (linear.max() - linear.median())
    assert eased.median() < 1.05 * linear.median()


def test_windows_draw_their_own_noise():
    assert WINDOW_SEED > 10_000  # window k of clip i: seed + i + WINDOW_SEED k, no clash


def test_a_timing_model_window_reads_where_it_sits():
    timed, plain = SimpleNamespace(timing=True), SimpleNamespace(timing=False)
    assert _timed(timed, {"a": 1}, 1.5, 10.0) == {"a": 1, "seconds_start": 1.5,
                                                   "seconds_total": 10.0}  # fmt: skip
    assert _timed(timed, {"seconds_start": 3.0}, 1.5, 10.0) == {"seconds_start": 3.0}
    assert _timed(plain, None, 1.5, 10.0) is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [(dict(seconds=3, overlap=0.6), "at most half the context"),
     (dict(seconds=3, overlap=0.0), "at least one frame"),
     (dict(seconds=0.1, loop=True), "at least 4 frames"),
     (dict(seconds=-1), "seconds > 0"),
     (dict(seconds=3, resample=0), "resample must be a whole number >= 1"),
     (dict(seconds=3, crossfade=0), "crossfade is a fraction of the overlap"),
     (dict(seconds=3, release_sigma=-0.1), "release_sigma must be a noise level"),
     (dict(seconds=3, resample_jump=2.5), "resample_jump must be a whole number")],
)  # fmt: skip
def test_bad_long_form_options_are_one_config_error(gaussian_pipe, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        gaussian_pipe.generate_long(1, **kwargs)


def test_a_model_without_a_training_crop_needs_a_context(gaussian):
    pipe = gaussian.pipeline()
    pipe.config = {**pipe.config, "data": {}}
    with pytest.raises(ConfigError, match="give context="):
        pipe.generate_long(1, seconds=3)
    assert pipe.generate_long(1, seconds=3, context=1.0).shape == (1, 1, 72)
