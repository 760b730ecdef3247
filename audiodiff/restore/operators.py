"""Observations: what a degraded recording tells about the clean one.

Each observation holds the measurement ``y`` and knows, for a candidate clean signal,
``residual`` (y - A(signal), differentiable: reconstruction guidance follows its gradient)
and, where one exists, ``project`` (the nearest signal that agrees with y: data
consistency). They act on whatever tensor the posterior wrapper hands them: a waveform
[B, 1, N] (after the representation's decoder) or the representation itself [B, C, T].
"""

from __future__ import annotations

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
    """

    def __init__(self, y: Tensor, mask: Tensor) -> None:
        # y: [B, C, N]; mask: broadcastable to y, 1 = known
        self.y = y
        self.mask = mask.to(y.dtype).expand_as(y)

    def residual(self, signal: Tensor) -> Tensor:
        return self.mask * (self.y - signal)

    def project(self, signal: Tensor) -> Tensor:
        return self.mask * self.y + (1 - self.mask) * signal


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
