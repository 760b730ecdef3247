"""Observations: what a degraded recording tells about the clean one.

Each observation holds the measurement ``y`` and knows, for a candidate clean signal,
``residual`` (y - A(signal), differentiable: reconstruction guidance follows its gradient)
and, where one exists, ``project`` (the nearest signal that agrees with y: data
consistency). They act on whatever tensor the posterior wrapper hands them: a waveform
[B, 1, N] (after the representation's decoder) or the representation itself [B, C, T].
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol

import torch
from torch import Tensor


class Observation(Protocol):
    def residual(self, signal: Tensor) -> Tensor:
        """y - A(signal), shaped like y (zero where nothing is observed)."""

    def project(self, signal: Tensor) -> Tensor:
        """The signal closest to ``signal`` that agrees with the observation."""


class KnownSamples:
    """y = m * x: the samples (or representation entries) where ``mask`` is 1 are known.

    Gaps in a waveform (mask 0 inside the gaps), the known low band of a spectrogram (mask
    over frequency channels), the kept frames of an edit. ``mask`` broadcasts against y.
    With ``fade`` > 0, ``project`` crossfades: within ``fade`` samples of a gap the known
    samples blend linearly into the signal, so the edges of a filled gap do not click; with
    ``ease``, along the smoothstep 3u^2 - 2u^3 instead (flat at both ends).
    """

    def __init__(self, y: Tensor, mask: Tensor, fade: int = 0, ease: bool = False) -> None:
        # y: [B, C, N]; mask: broadcastable to y, 1 = known
        self.y = y
        self.mask = mask.to(y.dtype).expand_as(y)
        self.weight = self.mask if fade <= 0 else _faded(self.mask, fade)
        if ease:
            self.weight = self.weight * self.weight * (3 - 2 * self.weight)

    def residual(self, signal: Tensor) -> Tensor:
        return self.mask * (self.y - signal)

    def project(self, signal: Tensor) -> Tensor:
        return self.weight * self.y + (1 - self.weight) * signal


def known_outside(
    spans: Iterable[tuple[float, float]],
    length: int,
    rate: float,
    *,
    margin: float = 0.0,
    outward: bool = False,
) -> Tensor:
    """bool [length]: False inside each span [start, end) of seconds, True elsewhere: the
    mask of a ``KnownSamples``. ``rate`` entries a second along the last axis: samples
    (``rate`` = sample rate) or representation frames (``rate`` = frame rate). Span edges are
    rounded to the nearest entry, or with ``outward`` widened to every entry the span
    touches (a frame covering part of a span is unknown), and ``margin`` seconds more.
    """
    known = torch.ones(length, dtype=torch.bool)
    for start, end in spans:
        a, b = (float(start) - margin) * rate, (float(end) + margin) * rate
        a, b = (math.floor(a + 1e-9), math.ceil(b - 1e-9)) if outward else (round(a), round(b))
        known[max(0, a) : max(0, min(length, b))] = False
    return known


def _faded(mask: Tensor, fade: int) -> Tensor:
    """mask with linear ramps from 0 at a gap's edge to 1 ``fade`` samples into the known part."""
    # mask: [B, C, N] of 0/1 -> [B, C, N] in [0, 1]
    gap = (1 - mask).flatten(0, 1)[:, None]  # [B*C, 1, N]
    near, reach = gap.clone(), torch.zeros_like(gap)
    for _ in range(fade):  # reach counts the distances 1..fade at which a gap is found
        near = torch.nn.functional.max_pool1d(near, 3, stride=1, padding=1)
        reach = reach + near
    weight = (1 - reach / fade).clamp(0, 1).view_as(mask)
    return torch.minimum(weight, mask)


class Clipped:
    """y = clip(x, -level, level): samples with |y| < level are known exactly; a clipped
    sample only tells that |x| >= level, with the sign of y."""

    def __init__(self, y: Tensor, level: float | Tensor, tolerance: float = 1e-4) -> None:
        # y: [B, 1, N]; level: scalar or [B, 1, 1]
        self.y = y
        self.level = torch.as_tensor(level, dtype=y.dtype, device=y.device)
        self.clipped = (y.abs() >= self.level - tolerance).to(y.dtype)  # 1 where clipped

    def residual(self, signal: Tensor) -> Tensor:
        return self.y - signal.clamp(-self.level, self.level)

    def project(self, signal: Tensor) -> Tensor:
        # unclipped: the observed sample; clipped: at least the level, on the observed side
        beyond = torch.sign(self.y) * torch.maximum(signal * torch.sign(self.y), self.level)
        return self.clipped * beyond + (1 - self.clipped) * self.y


class LowBand:
    """y = low-pass(x): the spectrum below ``cutoff_hz`` is known (bandwidth extension)."""

    def __init__(self, y: Tensor, cutoff_hz: float, sample_rate: int) -> None:
        # y: [B, 1, N]
        self.y = y
        n = y.shape[-1]
        freqs = torch.fft.rfftfreq(n, d=1.0 / sample_rate).to(y.device)
        self.band = (freqs < cutoff_hz).to(y.dtype)  # [N // 2 + 1], 1 = known
        self.y_low = torch.fft.rfft(y) * self.band

    def residual(self, signal: Tensor) -> Tensor:
        return torch.fft.irfft(self.y_low - torch.fft.rfft(signal) * self.band, n=self.y.shape[-1])

    def project(self, signal: Tensor) -> Tensor:
        spectrum = torch.fft.rfft(signal)
        merged = self.band * self.y_low + (1 - self.band) * spectrum
        return torch.fft.irfft(merged, n=signal.shape[-1])
