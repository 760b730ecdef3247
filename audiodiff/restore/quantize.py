"""Quantisation to k bits, uniform or after mu-law companding."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from audiodiff.restore.base import Degraded, check_wav
from audiodiff.restore.ranges import Spec, check_range, draw_int


def quantize_uniform(x: Tensor, bits: int) -> Tensor:
    """Mid-tread uniform quantiser with 2^bits levels on [-1, 1), like k-bit PCM:
    q(x) = clamp(round(x / d), -2^(k-1), 2^(k-1) - 1) d with step d = 2^(1-k).

    x: [...] -> [...]
    """
    half = 2 ** (bits - 1)
    return torch.clamp(torch.round(x * half), -half, half - 1) / half


@dataclass
class Quantize:
    """Uniform quantisation to ``bits`` (drawn per call): 2^bits levels with step 2^(1-bits)
    (``quantize_uniform``); samples outside [-1, 1) go to the end levels."""

    bits: Spec = (4, 12)

    def __post_init__(self) -> None:
        self.bits = check_range("Quantize.bits", self.bits, low=1, high=24, integer=True)

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        bits = draw_int(self.bits, generator)
        degraded = quantize_uniform(wav, bits)
        return Degraded(degraded, {"op": "Quantize", "bits": bits, "step": 2.0 ** (1 - bits)})


@dataclass
class MuLaw:
    """mu-law companding, k-bit quantisation of the companded value, expansion (ITU-T G.711's
    continuous mu-law):

        F(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu),  F^-1(y) = sign(y) ((1 + mu)^|y| - 1) / mu

    y = F^-1(q(F(clamp(x, -1, 1)))) with q = ``quantize_uniform``: 2^bits levels, dense near
    zero and sparse near full scale (8 bits, mu = 255: telephone speech, WaveNet's output).
    """

    bits: Spec = 8
    mu: float = 255.0

    def __post_init__(self) -> None:
        self.bits = check_range("MuLaw.bits", self.bits, low=1, high=16, integer=True)
        check_range("MuLaw.mu", self.mu, low=0, low_open=True)

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        bits = draw_int(self.bits, generator)
        x = wav.double().clamp(-1, 1)
        log_mu = math.log1p(self.mu)
        companded = torch.sign(x) * torch.log1p(self.mu * x.abs()) / log_mu
        q = quantize_uniform(companded, bits)
        expanded = torch.sign(q) * torch.expm1(q.abs() * log_mu) / self.mu
        return Degraded(expanded.to(wav.dtype), {"op": "MuLaw", "bits": bits, "mu": self.mu})
