"""Simple loudness normalisation (RMS level in dBFS with a peak guard)."""

from __future__ import annotations

import torch


def rms_db(wav: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """RMS level in dBFS. wav: [..., N] -> [...]"""
    return 10 * torch.log10(wav.pow(2).mean(dim=-1) + eps)


def normalize_loudness(
    wav: torch.Tensor, target_db: float = -20.0, peak: float = 0.99, silence_db: float = -70.0
) -> torch.Tensor:
    """Scale to ``target_db`` RMS, then down if needed so |wav| <= ``peak``.

    wav: [..., N] -> [..., N]. Near-silent signals (below ``silence_db``) are left as they are.
    This is plain RMS, not ITU-R BS.1770 LUFS (no K-weighting, no gating).
    """
    level = rms_db(wav)
    gain = torch.where(level > silence_db, 10 ** ((target_db - level) / 20), torch.ones_like(level))
    out = wav * gain.unsqueeze(-1)
    max_abs = out.abs().amax(dim=-1, keepdim=True)
    return out * torch.clamp(peak / max_abs.clamp_min(1e-12), max=1.0)
