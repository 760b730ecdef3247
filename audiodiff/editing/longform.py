"""Long-form generation in windows of the training context, and seamless loops.

The net is convolutional, so one pass can be longer than the clips it was trained on, but
it has never seen more than its training crop (``data.segment_seconds``) at once. Here a
long clip is built window by window: each window of the context length overlaps the one
before by ``overlap`` seconds and is sampled given those frames, by the inpainting
mechanism (``solve_known``: posterior sampling with the known frames through ``observe``),
crossfaded from the old frames into its own over the overlap (``crossfade``: the fraction
of it), along a smoothstep (flat at both ends). Below ``release_sigma`` the old frames are
no longer imposed, so the net's last steps join the seam in its own way before the
crossfade. On a music model the mel step at the seams was 31% above those inside with a
quarter of the overlap crossfaded linearly, 13% with all of it, 5% with the release as well,
and 2% with the smoothstep (docs/editing.md). The representation is assembled whole and
decoded once, so the decoder sees no seams.

A loop (``loop=True``) adds one window across the wrap point: the clip's tail and head are
its known sides and the frames between them are regenerated, so the end runs on into the
start and the clip repeats without a seam. A loop is a whole number of frames long, and is
decoded with its own end before its start and its start after its end (circular padding),
so a local decoder (STFT, vocoder, autoencoder) joins it exactly; Griffin-Lim's phase,
estimated for the whole clip at once, only nearly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from audiodiff.editing.inpainting import solve_known
from audiodiff.errors import ConfigError
from audiodiff.nn.timing import TIMING_KEYS
from audiodiff.restore.chunking import chunk_starts

# below this sigma a window's kept frames are no longer imposed: the net's last steps finish
# the details across the seam (with a linear crossfade: mel steps at the seams of a music
# model 13% above those inside -> 5%; on the Gaussian prior, eased, the largest step 1.6x
# the median -> 1.3x)
RELEASE_SIGMA = 0.1
WINDOW_SEED = 100_003  # window k of clip i starts from noise seeded seed + i + WINDOW_SEED k


def context_seconds(pipe) -> float:
    """The training crop (``data.segment_seconds``): what the net saw at once."""
    seconds = (pipe.config.get("data") or {}).get("segment_seconds")
    if not seconds:
        raise ConfigError("this model's config has no data.segment_seconds; give context=")
    return float(seconds)


def windows(frames: int, context: int, overlap: int, loop: bool) -> list[Tensor]:
    """The frame indices of each window, in order: ``chunk_starts`` over the clip, then for
    a loop one window across the wrap (indices modulo ``frames``)."""
    # -> [LongTensor [w]]: window k covers frames out[k] of the clip
    width = min(context, frames)
    out = [torch.arange(s, s + width) for s in chunk_starts(frames, width, min(overlap, width - 1))]
    if loop:
        out.append((torch.arange(width) + frames - width // 2) % frames)
    return out


def window_sizes(
    pipe, seconds: float, overlap: float | None, context: float | None, loop: bool,
    crossfade: Any = 1.0, release_sigma: Any = 0.0,
) -> tuple[int, int, int]:  # fmt: skip
    """(clip, window, shared) lengths in frames for ``generate_long``'s options, checked."""

    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    if not (number(release_sigma) and release_sigma >= 0):
        raise ConfigError(f"release_sigma must be a noise level >= 0, got {release_sigma!r}")
    if not (number(crossfade) and 0 < crossfade <= 1):
        raise ConfigError(f"crossfade is a fraction of the overlap in (0, 1], got {crossfade!r}")
    rate = pipe.representation.frame_rate
    context = context_seconds(pipe) if context is None else float(context)
    if not seconds > 0 or not context > 0:
        raise ConfigError(f"need seconds > 0 and context > 0, got {seconds}, {context}")
    frames = max(1, math.ceil(seconds * rate - 1e-6))
    width = max(1, round(context * rate))
    overlap = context / 4 if overlap is None else float(overlap)
    shared = round(overlap * rate)
    if not 0 < shared <= width // 2:
        raise ConfigError(
            f"overlap must be at least one frame and at most half the context ({context} s), "
            f"got {overlap}"
        )
    if loop and min(width, frames) < 4:
        raise ConfigError(f"a loop needs at least 4 frames, got {min(width, frames)}")
    return frames, width, shared


def seams(frames: int, context: int, overlap: int, loop: bool) -> list[int]:
    """Frames t where kept frames meet new ones (between t - 1 and t) in ``generate_long``'s
    plan; a loop's wrap point (between the last frame and frame 0) is not among them."""
    done, out = torch.zeros(frames, dtype=torch.bool), []
    plan = windows(frames, context, overlap, loop)
    for k, index in enumerate(plan):
        known = done[index]
        if loop and k == len(plan) - 1:
            side = max(1, min(overlap, index.numel() // 4))
            known = torch.zeros_like(known)
            known[:side] = known[-side:] = True
        if known.any():
            change = (known[1:] != known[:-1]).nonzero().flatten() + 1
            out += [int(index[j]) for j in change]
        done[index] = True
    return sorted(set(out))


def decode_long(pipe, x: Tensor, seconds: float, loop: bool = False) -> Tensor:
    """x [n, C, T] -> wav [n, 1, N]: round(seconds * rate) samples decoded in one pass; a
    loop all T * hop of them, decoded between copies of its own end and start."""
    if not loop:
        return pipe.decode(x)[..., : round(seconds * pipe.sample_rate)].float()
    frames, hop = x.shape[-1], pipe.representation.hop_length
    pad = min(frames, max(1, math.ceil(0.25 * pipe.representation.frame_rate)))
    wav = pipe.decode(torch.cat([x[..., -pad:], x, x[..., :pad]], dim=-1))
    return wav[..., pad * hop : (pad + frames) * hop].float()


def _timed(pipe, cond: Mapping | None, start: float, total: float) -> dict | None:
    """A timing model's window reads where it sits in the clip (seconds_start, seconds_total)
    unless ``cond`` sets them."""
    if not pipe.timing or any(k in (cond or {}) for k in TIMING_KEYS):
        return None if cond is None else dict(cond)
    return {**(cond or {}), "seconds_start": start, "seconds_total": total}


def generate_long(
    pipe,
    n: int = 1,
    seconds: float = 10.0,
    cond: Mapping[str, Any] | None = None,
    seed: int = 0,
    *,
    overlap: float | None = None,
    loop: bool = False,
    context: float | None = None,
    cg_iters: int = 0,
    crossfade: float = 1.0,
    release_sigma: float = RELEASE_SIGMA,
    ease: bool = True,
    negative_cond: Mapping[str, Any] | None = None,
    **sampling: Any,
) -> Tensor:
    """x: [n, C, ceil(seconds * frame_rate)]: a long clip (or a loop) in windows of
    ``context`` seconds (None: the training crop) overlapping by ``overlap`` seconds (at
    most half the context; None: a quarter of it). A window crossfades from the kept frames
    into its own over the last ``crossfade`` of the overlap (1: all of it), along a
    smoothstep (``ease``; False: a straight line, as measured before it); below
    ``release_sigma`` the kept frames are no longer imposed while sampling (``solve_known``).
    ``cg_iters`` as in ``inpaint``; ``sampling`` are ``Pipeline.sample``'s keyword options."""
    rate = pipe.representation.frame_rate
    frames, width, shared = window_sizes(
        pipe, seconds, overlap, context, loop, crossfade, release_sigma
    )
    x = None
    done = torch.zeros(frames, dtype=torch.bool)
    plan = windows(frames, width, shared, loop)
    for k, index in enumerate(plan):
        known = done[index]
        wrap = loop and k == len(plan) - 1
        if wrap:  # the wrap window keeps its two ends and regenerates what lies between
            side = max(1, min(shared, index.numel() // 4))
            known = torch.zeros_like(known)
            known[:side] = known[-side:] = True
        offset = float(index[0]) / rate
        c, neg = (_timed(pipe, m, offset, seconds) for m in (cond, negative_cond))
        kwargs = dict(seed=seed + WINDOW_SEED * k, negative_cond=neg, **sampling)
        if not known.any():  # nothing to agree with: resampling would only cost
            plain = {k: v for k, v in kwargs.items() if k not in ("resample", "resample_jump")}
            part = pipe.sample(n, index.numel() / rate, c, **plain)
        else:
            fade = max(1, int(crossfade * (side if wrap else shared)))
            part = solve_known(pipe, x[..., index], known, n, c, cg_iters=cg_iters, fade=fade,
                               release_sigma=release_sigma, ease=ease, **kwargs)  # fmt: skip
        if x is None:
            x = part.new_zeros(n, part.shape[1], frames)
        x[..., index] = part
        done[index] = True
    return x
