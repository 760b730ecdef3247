"""Peak-locked phase: per-frame phase advances that keep each spectral peak's bins coherent.

Summing per-bin phase advances over frames (``phase="increment"``) gets each bin's *change*
right but leaves every bin with its own starting phase. A partial spreads over the 3-4 bins
of the window's main lobe, and bins of one lobe with unrelated phases interfere: measured on
speech, even the exact advances of the input's STFT summed from zero give PESQ 1.95 (the
input's own magnitude, 24 clips), where the input phase gives 4.64.

Locking (the "identity phase locking" of Laroche & Dolson 1999, phase-vocoder time
stretching) anchors the bins around each peak to the peak: every frame, each bin is assigned
to the nearest magnitude peak; the peak's phase is advanced from the previous frame and the
other bins take the peak's phase plus an offset. For a Hann-windowed centred frame the bins
of a steady partial's main lobe alternate by pi, so the offset is pi * (k - peak) plus a
learned residual (chirps, onsets and neighbouring partials move it). Peak phases are carried
frame to frame through the bins, so a peak that moves to a neighbouring bin keeps its lobe's
phase instead of jumping to that bin's unrelated running sum.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def peak_owner(magnitude: Tensor) -> Tensor:
    """Index of the magnitude peak each bin belongs to, per frame.

    magnitude: [B, F, T] -> owner: [B, F, T] (long). A peak is a bin at least as loud as the bin
    below and louder than the bin above (beyond the edges counts as -inf, so a frame's loudest
    bin is always a peak); a bin belongs to the nearest peak, the lower one on a tie.
    """
    b, f, t = magnitude.shape
    padded = torch.nn.functional.pad(magnitude, (0, 0, 1, 1), value=-math.inf)
    centre = padded[:, 1:-1]
    peak = (centre >= padded[:, :-2]) & (centre > padded[:, 2:])
    idx = torch.arange(f, device=magnitude.device)[None, :, None].expand(b, f, t)
    below = torch.where(peak, idx, torch.full_like(idx, -1)).cummax(dim=1).values
    above = torch.where(peak, idx, torch.full_like(idx, f)).flip(1).cummin(dim=1).values.flip(1)
    use_below = (below >= 0) & ((above >= f) | (idx - below <= above - idx))
    return torch.where(use_below, below, above)


def locked_phase(advance: Tensor, offset: Tensor, owner: Tensor) -> Tensor:
    """Phase [B, F, T] from per-bin advances, offsets to the owning peak, and the owners.

    advance: [B, F, T] phase advance of each bin from frame t-1 to t (frame 0: from zero);
    offset: [B, F, T] phase of each bin relative to its owning peak (ignored at peaks);
    owner: [B, F, T] from ``peak_owner``.
    Frame t: the running phase of frame t-1 advanced by ``advance`` is read at each bin's owner
    peak, then ``offset`` is added. If every bin is its own peak this is the running sum of
    ``advance`` (the plain increment head).
    """
    if not advance.shape == offset.shape == owner.shape:
        raise ValueError(
            f"advance, offset and owner must match: {advance.shape}, {offset.shape}, {owner.shape}"
        )
    bins = torch.arange(advance.shape[1], device=advance.device)[None, :]
    frames = []
    previous = torch.zeros_like(advance[..., 0])
    for t in range(advance.shape[-1]):
        own = owner[..., t]
        moved = previous + advance[..., t]
        off = torch.where(own == bins, torch.zeros_like(offset[..., t]), offset[..., t])
        previous = torch.remainder(torch.gather(moved, 1, own) + off, 2 * math.pi)
        frames.append(previous)
    return torch.stack(frames, dim=-1)


def lobe_offset(owner: Tensor, residual: Tensor) -> Tensor:
    """pi * (k - owner) + residual: a steady partial's Hann main lobe alternates by pi."""
    bins = torch.arange(owner.shape[1], device=owner.device)[None, :, None]
    return math.pi * (bins - owner).to(residual.dtype) + residual
