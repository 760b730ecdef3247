"""Simple loudness normalisation (RMS level in dBFS with a peak guard)."""

from __future__ import annotations

import torch


def rms_db(wav: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """RMS level in dBFS. wav: [..., N] -> [...]"""
    return 10 * torch.log10(wav.pow(2).mean(dim=-1) + eps)


SILENCE_DB = -70.0  # signals quieter than this (RMS dBFS) keep their level


def level_gain(wav: torch.Tensor, target_db: float, silence_db: float = SILENCE_DB) -> torch.Tensor:
    """The gain that brings wav [..., N] to ``target_db`` RMS, [...]; 1 where it is quieter
    than ``silence_db`` (silence is not amplified)."""
    level = rms_db(wav)
    return torch.where(level > silence_db, 10 ** ((target_db - level) / 20), torch.ones_like(level))


def normalize_loudness(
    wav: torch.Tensor, target_db: float = -20.0, peak: float = 0.99, silence_db: float = SILENCE_DB
) -> torch.Tensor:
    """Scale to ``target_db`` RMS, then down if needed so |wav| <= ``peak``.

    wav: [..., N] -> [..., N]. Near-silent signals (below ``silence_db``) are left as they are.
    This is plain RMS, not ITU-R BS.1770 LUFS (no K-weighting, no gating).
    """
    out = wav * level_gain(wav, target_db, silence_db).unsqueeze(-1)
    max_abs = out.abs().amax(dim=-1, keepdim=True)
    return out * torch.clamp(peak / max_abs.clamp_min(1e-12), max=1.0)
