"""Additive noise at a target SNR on the active signal, and the noise sources it draws from.

A noise source is called as ``source(batch, length, sample_rate, generator)`` and returns
(noise [B, 1, N], JSON-able params); its level does not matter, ``AddNoise`` scales it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

from audiodiff.audio.io import find_audio, load
from audiodiff.errors import AudioFileError, ConfigError
from audiodiff.restore.base import Degraded, check_wav, floats
from audiodiff.restore.ranges import Spec, check_range, draw, draw_choice, draw_int


class NoiseSource(Protocol):
    def __call__(
        self, batch: int, length: int, sample_rate: int, generator: torch.Generator
    ) -> tuple[Tensor, dict[str, Any]]:
        """(noise [batch, 1, length], params)."""


def _unit_rms(x: Tensor) -> Tensor:
    """Each clip scaled to RMS 1 (an all-zero clip stays zero); x: [B, 1, N]."""
    rms = x.pow(2).mean(dim=-1, keepdim=True).sqrt()
    return torch.where(rms > 0, x / rms.clamp_min(1e-30), x)


@dataclass
class ColoredNoise:
    """Gaussian noise with power spectral density S(f) ~ 1 / f^exponent: 0 white, 1 pink,
    2 brown (red). White noise is shaped in the frequency domain by f^(-exponent / 2); the
    DC bin is zeroed for exponent > 0. Each clip of the batch gets its own realisation."""

    exponent: Spec = 0.0

    def __post_init__(self) -> None:
        self.exponent = check_range("ColoredNoise.exponent", self.exponent, low=0, high=4)

    def __call__(
        self, batch: int, length: int, sample_rate: int, generator: torch.Generator
    ) -> tuple[Tensor, dict[str, Any]]:
        exponent = draw(self.exponent, generator)
        white = torch.randn(batch, 1, length, generator=generator)  # [B, 1, N]
        if exponent == 0:
            return white, {"source": "ColoredNoise", "exponent": 0.0}
        freqs = torch.fft.rfftfreq(length)  # cycles per sample
        scale = torch.zeros_like(freqs)
        scale[1:] = freqs[1:] ** (-exponent / 2)
        noise = torch.fft.irfft(torch.fft.rfft(white) * scale, n=length)
        return _unit_rms(noise), {"source": "ColoredNoise", "exponent": exponent}


@dataclass
class MainsHum:
    """Mains hum: a fundamental from ``mains_hz`` (one of them, chosen uniformly) and its
    harmonics below Nyquist, amplitude ``decay^(k - 1)`` for harmonic k, random phases:
    sum_k decay^(k-1) sin(2 pi k f0 t + phi_k). The same hum for every clip of the batch."""

    mains_hz: Sequence[float] = (50.0, 60.0)
    harmonics: int = 10
    decay: Spec = (0.3, 0.8)

    def __post_init__(self) -> None:
        hz = list(self.mains_hz) if isinstance(self.mains_hz, Sequence) else [self.mains_hz]
        if not hz:
            raise ConfigError("MainsHum.mains_hz: name at least one frequency")
        self.mains_hz = tuple(check_range("MainsHum.mains_hz", f, low=1)[0] for f in hz)
        check_range("MainsHum.harmonics", self.harmonics, low=1, integer=True)
        self.harmonics = int(self.harmonics)
        self.decay = check_range("MainsHum.decay", self.decay, low=0, high=1, low_open=True)

    def __call__(
        self, batch: int, length: int, sample_rate: int, generator: torch.Generator
    ) -> tuple[Tensor, dict[str, Any]]:
        f0 = self.mains_hz[draw_choice(len(self.mains_hz), generator)]
        decay = draw(self.decay, generator)
        phases = 2 * math.pi * torch.rand(self.harmonics, generator=generator, dtype=torch.float64)
        k = torch.arange(1, self.harmonics + 1, dtype=torch.float64)
        keep = k * f0 < sample_rate / 2
        if not keep.any():
            raise ConfigError(f"MainsHum: {f0:g} Hz is above Nyquist at {sample_rate} Hz")
        k, phases = k[keep], phases[keep]
        t = torch.arange(length, dtype=torch.float64) / sample_rate
        hum = (decay ** (k - 1))[:, None] * torch.sin(
            2 * math.pi * f0 * k[:, None] * t + phases[:, None]
        )
        hum = hum.sum(dim=0).float().expand(batch, 1, length)  # [B, 1, N]
        return _unit_rms(hum.contiguous()), {
            "source": "MainsHum",
            "mains_hz": f0,
            "harmonics": len(k),
            "decay": decay,
        }


@dataclass
class FolderNoise:
    """The sum of ``clips`` recordings from ``noise_dir`` (drawn without repeats while the
    folder has enough), each looped or cropped to the clip's length from a random offset and
    scaled to RMS 1 first, so that they are equally loud. ``clips=1``: music or any one
    recording; ``clips=[3, 6]``: babble from a folder of speech.

    The folder is read once, on first use, whole (resampled to the operator's rate): keep it
    to minutes of audio. Unreadable and all-silent files are left out (``skipped``); a folder
    with none left is a ``ConfigError``. The same noise for every clip of the batch.
    """

    noise_dir: str
    clips: Spec = 1
    skipped: list[str] = field(default_factory=list, init=False, repr=False)
    _clips: dict[int, list[tuple[str, Tensor]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self.clips = check_range("FolderNoise.clips", self.clips, low=1, integer=True)
        if not isinstance(self.noise_dir, str | Path) or not str(self.noise_dir).strip():
            raise ConfigError(
                "FolderNoise.noise_dir: a folder of recordings (noise_dir=DIR), "
                f"got {self.noise_dir!r}"
            )
        if not Path(self.noise_dir).is_dir():
            raise ConfigError(f"FolderNoise.noise_dir: {self.noise_dir}: folder not found")

    def _load(self, sample_rate: int) -> list[tuple[str, Tensor]]:
        if sample_rate not in self._clips:
            root, loaded = Path(self.noise_dir), []
            for path in find_audio(root):
                try:
                    wav, _ = load(path, sample_rate=sample_rate)  # [1, N]
                except AudioFileError as e:
                    self.skipped.append(str(e))
                    continue
                if not wav.abs().amax() > 0:
                    self.skipped.append(f"{path}: all samples are zero")
                    continue
                loaded.append((path.relative_to(root).as_posix(), wav[0]))
            if not loaded:
                raise ConfigError(f"FolderNoise.noise_dir: {root}: no readable, non-silent audio")
            self._clips[sample_rate] = loaded
        return self._clips[sample_rate]

    def __call__(
        self, batch: int, length: int, sample_rate: int, generator: torch.Generator
    ) -> tuple[Tensor, dict[str, Any]]:
        clips = self._load(sample_rate)
        k = draw_int(self.clips, generator)
        if k <= len(clips):
            picks = torch.randperm(len(clips), generator=generator)[:k].tolist()
        else:
            picks = torch.randint(0, len(clips), (k,), generator=generator).tolist()
        total = torch.zeros(1, 1, length)
        files, offsets = [], []
        for i in picks:
            name, wav = clips[i]  # [L]
            offset = int(torch.randint(0, wav.shape[-1], (), generator=generator).item())
            index = (offset + torch.arange(length)) % wav.shape[-1]  # looped from the offset
            total += _unit_rms(wav[index].view(1, 1, length))
            files.append(name)
            offsets.append(offset)
        noise = total.expand(batch, 1, length).contiguous()  # [B, 1, N]
        return noise, {"source": "FolderNoise", "files": files, "offsets": offsets}


def active_mask(
    wav: Tensor, sample_rate: int, silence_db: float = 40.0, frame_seconds: float = 0.02
) -> Tensor:
    """The samples of the active signal: those in frames (``frame_seconds`` long) whose mean
    square is within ``silence_db`` of the loudest frame of the clip (and not zero).

    wav: [B, 1, N] -> bool [B, 1, N]
    """
    batch, _, n = wav.shape
    size = max(1, round(frame_seconds * sample_rate))
    frames = -(-n // size)
    pad = frames * size - n
    squares = F.pad(wav.double().pow(2), (0, pad)).view(batch, 1, frames, size).sum(dim=-1)
    counts = torch.full((frames,), float(size), dtype=torch.float64)
    counts[-1] = size - pad  # the last frame: only its real samples
    energy = squares / counts  # [B, 1, frames]
    loudest = energy.amax(dim=-1, keepdim=True)
    active = (energy > 0) & (energy >= loudest * 10 ** (-silence_db / 10))
    return active.repeat_interleave(size, dim=-1)[..., :n]


@dataclass
class AddNoise:
    """y = x + g n, with g set so that the SNR on the active signal is ``snr_db``:

        SNR = 10 log10( mean_{t in A} x_t^2 / mean_{t in A} (g n_t)^2 )

    where A (``active_mask``) are the samples of frames no more than ``silence_db`` (40 dB)
    below the clip's loudest frame: near-silent frames (pauses, leading silence) count for
    neither the signal nor the noise power, so a clip with long pauses gets the same noise
    level, relative to its speech or notes, as one without. Where the noise is silent over
    A (a folder clip with a pause there), its power over the whole clip is used; a silent
    clip gets no noise (gain 0).

    The source is one of ``sources`` (chosen uniformly; its name is in the params); the SNR
    is drawn once per call, the gain ``noise_gain`` is per clip.
    """

    sources: Mapping[str, NoiseSource]
    sample_rate: int
    snr_db: Spec = (0.0, 30.0)
    silence_db: float = 40.0
    frame_seconds: float = 0.02

    def __post_init__(self) -> None:
        self.sources = dict(self.sources)
        if not self.sources:
            raise ConfigError("AddNoise.sources: name at least one noise source")
        self.snr_db = check_range("AddNoise.snr_db", self.snr_db, low=-60, high=120)
        check_range("AddNoise.sample_rate", self.sample_rate, low=1, integer=True)
        check_range("AddNoise.silence_db", self.silence_db, low=0, low_open=True)
        check_range("AddNoise.frame_seconds", self.frame_seconds, low=0, low_open=True)

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        names = list(self.sources)
        name = names[draw_choice(len(names), generator)]
        snr_db = draw(self.snr_db, generator)
        noise, source_params = self.sources[name](
            wav.shape[0], wav.shape[-1], self.sample_rate, generator
        )
        noise = noise.double().to(wav.device)
        active = active_mask(wav, self.sample_rate, self.silence_db, self.frame_seconds)
        count = active.sum(dim=-1, keepdim=True).clamp_min(1)
        signal_power = (wav.double().pow(2) * active).sum(dim=-1, keepdim=True) / count
        noise_power = (noise.pow(2) * active).sum(dim=-1, keepdim=True) / count
        noise_power = torch.where(
            noise_power > 0, noise_power, noise.pow(2).mean(dim=-1, keepdim=True)
        )
        ratio = signal_power / (noise_power.clamp_min(1e-300) * 10 ** (snr_db / 10))
        gain = torch.where((signal_power > 0) & (noise_power > 0), ratio.sqrt(), 0.0)
        degraded = (wav.double() + gain * noise).to(wav.dtype)
        return Degraded(
            degraded,
            {
                "op": "AddNoise",
                "source": name,
                "snr_db": snr_db,
                "noise": source_params,
                "noise_gain": floats(gain),
                "active_fraction": floats(active.double().mean(dim=-1)),
            },
        )
