"""The recording an edit starts from: mono, at the model's rate and training level, encoded."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from audiodiff.audio.loudness import level_gain
from audiodiff.errors import ConfigError


@dataclass
class Source:
    """A recording ready to edit."""

    wav: Tensor  # [1, 1, N] at the model's rate, its own level (what an edit keeps)
    x: Tensor  # [1, C, T] the representation of wav * gain, padded to whole frames
    gain: float  # wav * gain is at the model's training level (data.loudness_db), else 1

    @property
    def samples(self) -> int:
        return self.wav.shape[-1]


def check_wav(wav: Tensor, sample_rate: int) -> Tensor:
    """wav as a tensor [C, N] or [N] of finite floats, N > 0, at a whole positive rate."""
    wav = torch.as_tensor(wav)
    if wav.ndim not in (1, 2) or wav.shape[-1] == 0:
        raise ConfigError(f"init must be [C, N] or [N] with N > 0, got {list(wav.shape)}")
    if not wav.is_floating_point() or not torch.isfinite(wav).all():
        raise ConfigError("init must hold finite float samples")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1:
        raise ConfigError(f"sample_rate must be a positive whole number, got {sample_rate!r}")
    return wav


def prepare_source(pipe, wav: Tensor, sample_rate: int, before: int = 0, after: int = 0) -> Source:
    """wav [C, N] or [N] at ``sample_rate`` -> a ``Source`` (channels averaged, resampled to
    the model's rate, ``before`` / ``after`` zero samples added at the model's rate). Bad input
    is one ``ConfigError``."""
    from audiodiff.audio.io import resample

    wav = check_wav(wav, sample_rate)
    mono = wav.float().reshape(-1, wav.shape[-1]).mean(0, keepdim=True)  # [1, N]
    if sample_rate != pipe.sample_rate:
        mono = resample(mono, sample_rate, pipe.sample_rate)
    target = (pipe.config.get("data") or {}).get("loudness_db")
    gain = 1.0 if target is None else float(level_gain(mono.flatten(), float(target)))
    mono = torch.nn.functional.pad(mono, (before, after))[None]  # [1, 1, N]
    rep = pipe.representation
    hop = rep.hop_length
    padded = torch.nn.functional.pad(mono, (0, -mono.shape[-1] % hop))
    try:
        with torch.no_grad():
            x = rep.encode((padded * gain).to(pipe.device))
    except ValueError as e:  # too short for one analysis window, ...
        raise ConfigError(f"init: {e}") from None
    return Source(wav=mono, x=x, gain=gain)
