"""Clipping at a fraction of each clip's peak: hard (a flat top) and soft (tanh)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from audiodiff.restore.base import Degraded, check_wav, floats, peak
from audiodiff.restore.ranges import Spec, check_range, draw


@dataclass
class HardClip:
    """y = clamp(x, -t, t) with t = level * max|x| (per clip): max|y| is exactly t.

    ``masks["unclipped"]`` marks |x| < t, the samples left untouched (y == x there);
    ``params["threshold"]`` is t per clip (what ``operators.Clipped`` takes as its level).
    """

    level: Spec = (0.1, 0.7)

    def __post_init__(self) -> None:
        self.level = check_range("HardClip.level", self.level, low=0, high=1, low_open=True)

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        level = draw(self.level, generator)
        t = level * peak(wav)  # [B, 1, 1]
        unclipped = wav.abs() < t
        degraded = torch.minimum(torch.maximum(wav, -t), t)
        params = {
            "op": "HardClip",
            "level": level,
            "threshold": floats(t),
            "clipped_fraction": floats((~unclipped).double().mean(dim=-1)),
        }
        return Degraded(degraded, params, {"unclipped": unclipped})


@dataclass
class SoftClip:
    """tanh saturation towards t = level * max|x| (per clip), linear below the knee k:

        y = x                                           for |x| <= k
        y = sign(x) (k + (t - k) tanh((|x| - k) / (t - k)))  for |x| > k,  k = knee * t

    continuous with slope 1 at k; |y| < t. ``knee=0`` is y = t tanh(x / t).
    ``masks["unclipped"]`` marks |x| <= k, the samples left untouched.
    """

    level: Spec = (0.1, 0.7)
    knee: Spec = 0.0

    def __post_init__(self) -> None:
        self.level = check_range("SoftClip.level", self.level, low=0, high=1, low_open=True)
        self.knee = check_range("SoftClip.knee", self.knee, low=0, high=1, high_open=True)

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        level = draw(self.level, generator)
        knee = draw(self.knee, generator)
        t = level * peak(wav)  # [B, 1, 1]
        k = knee * t
        span = (t - k).clamp_min(torch.finfo(wav.dtype).tiny)
        magnitude = wav.abs()
        bent = k + span * torch.tanh((magnitude - k) / span)
        unclipped = magnitude <= k
        degraded = torch.where(unclipped, wav, torch.sign(wav) * bent)
        params = {
            "op": "SoftClip",
            "level": level,
            "knee": knee,
            "threshold": floats(t),
            "clipped_fraction": floats((~unclipped).double().mean(dim=-1)),
        }
        return Degraded(degraded, params, {"unclipped": unclipped})
