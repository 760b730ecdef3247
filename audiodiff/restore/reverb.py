"""Reverberation by a synthetic impulse response: the direct path plus a decaying noise tail."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from audiodiff.restore.base import Degraded, check_wav
from audiodiff.restore.ranges import Spec, check_range, draw


def synthetic_rir(
    rt60: float, drr_db: float, sample_rate: int, generator: torch.Generator
) -> Tensor:
    """h[0] = 1 (the direct path), then Gaussian noise under an exponential envelope

        h[n] = a e^(-3 ln(10) n / (rt60 fs)) w[n],  w ~ N(0, 1),  n = 1 .. ceil(rt60 fs)

    whose energy falls by 60 dB in rt60 seconds (Schroeder's RT60), with a set so that the
    direct-to-reverberant energy ratio is ``drr_db``: sum_n h[n]^2 = 10^(-drr_db / 10).

    -> h: [L]
    """
    length = max(2, math.ceil(rt60 * sample_rate) + 1)
    n = torch.arange(1, length, dtype=torch.float64)
    tail = torch.randn(length - 1, generator=generator, dtype=torch.float64)
    tail = tail * torch.exp(-3 * math.log(10) * n / (rt60 * sample_rate))
    tail = tail * math.sqrt(10 ** (-drr_db / 10) / tail.pow(2).sum().item())
    return torch.cat([torch.ones(1, dtype=torch.float64), tail])


@dataclass
class Reverb:
    """y = h * x (FFT convolution, cropped to the input's length) with ``synthetic_rir``:
    the dry signal is kept unchanged as the direct path and the reverberant tail is added at
    ``drr_db`` below it. The same impulse response for the whole batch."""

    rt60: Spec
    sample_rate: int
    drr_db: Spec = (0.0, 10.0)

    def __post_init__(self) -> None:
        self.rt60 = check_range("Reverb.rt60", self.rt60, low=0, high=10, low_open=True)
        self.drr_db = check_range("Reverb.drr_db", self.drr_db, low=-30, high=60)
        check_range("Reverb.sample_rate", self.sample_rate, low=1, integer=True)

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        rt60 = draw(self.rt60, generator)
        drr_db = draw(self.drr_db, generator)
        h = synthetic_rir(rt60, drr_db, self.sample_rate, generator).to(wav.device)
        n = wav.shape[-1]
        size = 1 << (n + h.shape[0] - 2).bit_length()  # >= the full convolution's length
        spectrum = torch.fft.rfft(wav.double(), n=size) * torch.fft.rfft(h, n=size)
        degraded = torch.fft.irfft(spectrum, n=size)[..., :n].to(wav.dtype)
        params = {"op": "Reverb", "rt60": rt60, "drr_db": drr_db, "ir_samples": h.shape[0]}
        return Degraded(degraded, params)
