"""Inpainting and outpainting in time: regenerate spans of a recording, or grow it.

Posterior sampling with restoration's mask operator in representation frames: the frames
outside the spans are known (``KnownSamples`` on the encoded recording) and every x0
estimate is made to agree with them (``data_consistency``; or ``tweedie_posterior`` with
``cg_iters`` > 0, exact for a Gaussian prior), through ``Pipeline.sample``'s ``observe``.
The waveform then keeps the recording outside the spans, crossfaded into each regenerated
span (restore's crossfading ``KnownSamples``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor

from audiodiff.editing.source import check_wav, prepare_source
from audiodiff.errors import ConfigError
from audiodiff.restore.operators import KnownSamples, known_outside
from audiodiff.restore.posterior import data_consistency, tweedie_posterior

Span = tuple[float, float]


def _span(value: Any) -> Span:
    if isinstance(value, str):
        parts = value.split(":")
    elif isinstance(value, Sequence) and len(value) == 2:
        parts = list(value)
    else:
        parts = []
    try:
        start, end = (float(p) for p in parts) if len(parts) == 2 else (None, None)
    except (TypeError, ValueError):
        start = end = None
    if start is None or not 0 <= start < end:
        raise ConfigError(
            f"mask: each span is START:END in seconds with 0 <= START < END, got {value!r}"
        )
    return start, end


def parse_spans(value: Any) -> list[Span]:
    """'START:END', (START, END), or a list of them (seconds) -> [(start, end), ...]."""
    if value is None:
        return []
    if isinstance(value, str):
        return [_span(value)]
    if (
        isinstance(value, Sequence)
        and len(value) == 2
        and not any(isinstance(v, str | Sequence) for v in value)
    ):
        return [_span(value)]  # one (start, end) pair
    if isinstance(value, Sequence):
        return [_span(v) for v in value]
    raise ConfigError(f"mask: expected START:END or a list of them, got {value!r}")


def observe_known(
    x_known: Tensor,
    known: Tensor,
    *,
    cg_iters: int = 0,
    fade: int = 0,
    release_sigma: float = 0.0,
    ease: bool = False,
) -> Callable[[Callable], Callable]:
    """The ``observe`` wrapper that makes x0 estimates agree with ``x_known`` on the frames
    where ``known`` is True: data consistency (crossfaded over ``fade`` frames, along a
    smoothstep with ``ease``; only while sigma >= ``release_sigma``), or with ``cg_iters`` > 0
    the Tweedie posterior update (hard mask, every step)."""
    # x_known: [1 or B, C, T]; known: bool [T]
    mask = known.to(device=x_known.device, dtype=x_known.dtype).view(1, 1, -1)
    if cg_iters > 0:
        return lambda d: tweedie_posterior(d, mask, x_known, cg_iters=cg_iters)
    observation = KnownSamples(x_known, mask, fade=fade, ease=ease)
    return lambda d: data_consistency(d, observation, min_sigma=release_sigma)


def solve_known(
    pipe,
    x_known: Tensor,
    known: Tensor,
    n: int = 1,
    cond=None,
    seed: int = 0,
    *,
    cg_iters: int = 0,
    fade: int = 0,
    strength: float = 1.0,
    release_sigma: float = 0.0,
    ease: bool = False,
    **sampling: Any,
) -> Tensor:
    """x [n, C, T]: the frames where ``known`` [T] is False sampled given the others, which
    end equal to ``x_known`` [1 or n, C, T] (blended into the new frames over ``fade``
    frames). Starts from noise (``strength`` 1) or from ``x_known`` noised to the strength
    (SDEdit). Below ``release_sigma`` the known frames are no longer imposed, so the last
    steps join the new frames to them in the net's own way; they are imposed once more at
    the end. ``ease``: the blend follows a smoothstep instead of a line."""

    def rows(x: Tensor, index: slice) -> Tensor:
        return x if x.shape[0] == 1 else x[index]

    def observe(index: slice):  # the clips ``index`` of this call, drawn in one batch
        return observe_known(
            rows(x_known, index),
            known,
            cg_iters=cg_iters,
            fade=fade,
            release_sigma=release_sigma,
            ease=ease,
        )

    seconds = x_known.shape[-1] / pipe.representation.frame_rate
    x = pipe.sample(
        n, seconds, cond, seed=seed, init=x_known, strength=strength, observe=observe, **sampling
    )
    mask = known.to(device=x.device, dtype=x.dtype).view(1, 1, -1)
    return KnownSamples(x_known.to(x.device), mask, fade=fade, ease=ease).project(x)


def _seconds(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number >= 0:
        raise ConfigError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return number


def check_inpaint(
    spans: Any,
    length: float,
    before: Any = 0.0,
    after: Any = 0.0,
    fade: Any = 0.01,
    margin: Any = 0.03,
    cg_iters: Any = 0,
    strength: Any = 1.0,
) -> dict[str, Any]:
    """``inpaint``'s options checked against a recording of ``length`` seconds, one
    ``ConfigError`` for the first bad one; returns them parsed (spans as [(start, end)])."""
    from audiodiff.editing.variation import check_strength

    spans = parse_spans(spans)
    for start, end in spans:
        if start >= length:
            raise ConfigError(f"mask {start}:{end} starts after the init ends ({length:.3f} s)")
    if isinstance(cg_iters, bool) or not isinstance(cg_iters, int) or cg_iters < 0:
        raise ConfigError(f"cg_iters must be a whole number >= 0, got {cg_iters!r}")
    options = {
        "spans": [(start, min(end, length)) for start, end in spans],
        "before": _seconds("extend_before", before),
        "after": _seconds("extend_after", after),
        "fade": _seconds("fade", fade),
        "margin": _seconds("margin", margin),
        "cg_iters": cg_iters,
        "strength": check_strength(strength),
    }
    if not options["spans"] and not options["before"] and not options["after"]:
        raise ConfigError("nothing to regenerate: give mask=START:END or extend_before/after")
    return options


def inpaint(
    pipe,
    wav: Tensor,
    sample_rate: int,
    spans: Any,
    n: int = 1,
    cond=None,
    seed: int = 0,
    *,
    before: float = 0.0,
    after: float = 0.0,
    fade: float = 0.01,
    margin: float = 0.03,
    cg_iters: int = 0,
    strength: float = 1.0,
    **sampling: Any,
) -> tuple[Tensor, Tensor]:
    """Regenerate ``spans`` (seconds of the recording) and add ``before`` / ``after`` seconds:
    (x [n, C, T], wav [n, 1, N]) at the model's rate, N = the recording's length plus both.

    Frames within ``margin`` seconds of a span are regenerated too (their analysis windows
    reach into it, or into the silence an extension starts as). Outside the spans the output
    is the recording itself, crossfaded over ``fade`` seconds into each span. ``cg_iters`` >
    0 uses the Tweedie posterior instead of data consistency; ``strength`` < 1 starts the
    spans from the recording noised to that strength (SDEdit) instead of noise. ``sampling``
    are ``Pipeline.sample``'s keyword options.
    """
    sr = pipe.sample_rate
    length = check_wav(wav, sample_rate).shape[-1] / sample_rate
    o = check_inpaint(spans, length, before, after, fade, margin, cg_iters, strength)
    pad_before, pad_after = round(o["before"] * sr), round(o["after"] * sr)
    source = prepare_source(pipe, wav, sample_rate, pad_before, pad_after)
    total = source.samples / sr
    spans = [(start + pad_before / sr, end + pad_before / sr) for start, end in o["spans"]]
    if pad_before:
        spans.append((0.0, pad_before / sr))
    if pad_after:
        spans.append((total - pad_after / sr, total))
    frames, rate = source.x.shape[-1], pipe.representation.frame_rate
    known = known_outside(spans, frames, rate, margin=o["margin"], outward=True)
    x = solve_known(
        pipe, source.x, known, n, cond, seed, cg_iters=o["cg_iters"], strength=o["strength"],
        **sampling,
    )  # fmt: skip
    out = pipe.decode(x)[..., : source.samples].float() / source.gain
    kept = known_outside(spans, source.samples, sr).view(1, 1, -1)
    return x, KnownSamples(source.wav, kept, fade=round(o["fade"] * sr)).project(out)


def extend(
    pipe,
    wav: Tensor,
    sample_rate: int,
    before: float = 0.0,
    after: float = 0.0,
    n: int = 1,
    cond=None,
    seed: int = 0,
    **options: Any,
) -> tuple[Tensor, Tensor]:
    """Outpainting: ``before`` / ``after`` seconds generated around the recording, which is
    kept; ``inpaint`` with no spans inside. (x, wav [n, 1, N + (before + after) * rate])."""
    if not (float(before) > 0 or float(after) > 0):
        raise ConfigError(f"extend needs before or after > 0 seconds, got {before}, {after}")
    return inpaint(pipe, wav, sample_rate, [], n, cond, seed, before=before, after=after, **options)
