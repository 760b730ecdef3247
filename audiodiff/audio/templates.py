"""Harmonic templates: what a steady harmonic tone at a MIDI pitch looks like in a
representation, one vector per pitch.

A 1-D U-Net over mel bins (bins as channels) must learn, for every pitch separately, which
channels its harmonics fill; below middle C the harmonics of neighbouring semitones share
mel bins and differ only in how their energy splits between two neighbours. A template puts
that pattern in front of the net: ``model.pitch_templates: [main_pitch]`` feeds the
template of the asked pitch as extra input channels, constant over time (``UNet1d``,
``label_templates``), so the net places harmonics by copying rather than by recall.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from audiodiff.audio.representation import Representation

TEMPLATE_SECONDS = 0.5
TEMPLATE_RMS_DB = -20.0  # the level training clips are normalised to (data.loudness_db)


def harmonic_tone(midi: Tensor, sample_rate: int, seconds: float = TEMPLATE_SECONDS) -> Tensor:
    """Steady tones with every harmonic below 0.95 x Nyquist at amplitude 1/k, each at
    ``TEMPLATE_RMS_DB`` dBFS RMS. midi: [V] float -> wav [V, 1, N]"""
    n = int(round(seconds * sample_rate))
    t = torch.arange(n, dtype=torch.float64) / sample_rate
    f0 = 440.0 * 2.0 ** ((midi.double() - 69.0) / 12.0)  # [V]
    k = torch.arange(1, int(0.95 * sample_rate / 2 / f0.min().clamp_min(20.0)) + 2)  # [K]
    freqs = f0[:, None] * k[None, :]  # [V, K]
    amps = torch.where(freqs < 0.95 * sample_rate / 2, 1.0 / k, 0.0)  # [V, K]
    wav = (amps[:, :, None] * torch.sin(2 * math.pi * freqs[:, :, None] * t)).sum(1)  # [V, N]
    rms = wav.square().mean(1, keepdim=True).sqrt().clamp_min(1e-12)
    wav = wav / rms * 10.0 ** (TEMPLATE_RMS_DB / 20.0)
    return wav.float()[:, None, :]


@torch.no_grad()
def pitch_templates(representation: Representation, values: Sequence[float]) -> Tensor:
    """One template per value: the time-average of the representation of a harmonic tone at
    that MIDI pitch (frames clear of the edges). NaN (no number, the null id) -> zeros.
    values: V floats -> [V, C]"""
    values_t = torch.as_tensor([float(v) for v in values], dtype=torch.float64)
    out = torch.zeros(len(values_t), representation.channels)
    known = values_t.isfinite()
    if known.any():
        wav = harmonic_tone(values_t[known], representation.sample_rate)
        x = representation.encode(wav)  # [V', C, T]
        edge = min(2, max(0, (x.shape[-1] - 1) // 2))
        out[known] = x[..., edge : x.shape[-1] - edge].mean(-1).float()
    return out
