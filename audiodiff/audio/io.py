"""Waveform file I/O: soundfile for wav/flac/ogg/mp3, soxr for resampling.

torchaudio is not used: the registry's builds need CUDA libraries and do not import next to
the CPU torch build.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

from audiodiff.errors import (
    AudioFileError,
    CorruptAudioError,
    EmptyAudioError,
    MissingAudioError,
    NonFiniteAudioError,
    OutputExistsError,
    UnsupportedFormatError,
)
from audiodiff.fileio import atomic_path

# extension -> (soundfile format, default subtype used by ``save``)
FORMATS: dict[str, tuple[str, str | None]] = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}
AUDIO_EXTENSIONS = tuple(FORMATS)


def _check_extension(path: Path) -> None:
    if path.suffix.lower() not in FORMATS:
        supported = ", ".join(AUDIO_EXTENSIONS)
        raise UnsupportedFormatError(path, f"'{path.suffix or 'no extension'}'; use {supported}")


def resample(wav: torch.Tensor, orig_sr: int, target_sr: int) -> torch.Tensor:
    """Resample with soxr's high-quality filter.

    wav: [C, N] -> [C, round(N * target_sr / orig_sr)]
    """
    if orig_sr == target_sr:
        return wav
    out = soxr.resample(wav.T.cpu().numpy().astype(np.float32), orig_sr, target_sr, quality="HQ")
    return torch.from_numpy(np.ascontiguousarray(out.T)).to(wav.device)


def info(path: str | Path) -> sf._SoundFileInfo:
    """Header information (rate, frames, channels) without reading samples."""
    path = Path(path)
    if not path.is_file():
        raise MissingAudioError(path)
    _check_extension(path)
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise CorruptAudioError(path, str(e).splitlines()[0]) from None


def load(
    path: str | Path, sample_rate: int | None = None, mono: bool = True
) -> tuple[torch.Tensor, int]:
    """Read an audio file as float32 in [-1, 1].

    Returns (wav [C, N], sr); C is 1 when ``mono`` (channels averaged). When ``sample_rate``
    is given the audio is resampled to it and sr equals it.
    Raises a subclass of ``AudioFileError`` naming the file for every bad-input case.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingAudioError(path)
    _check_extension(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)  # [N, C]
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        raise CorruptAudioError(path, str(e).splitlines()[0] if str(e) else None) from None
    if data.shape[0] == 0:
        raise EmptyAudioError(path)
    if not np.isfinite(data).all():
        raise NonFiniteAudioError(path)
    wav = torch.from_numpy(np.ascontiguousarray(data.T))  # [C, N]
    if mono and wav.shape[0] > 1:
        wav = wav.mean(dim=0, keepdim=True)
    if sample_rate is not None and sample_rate != sr:
        wav = resample(wav, sr, sample_rate)
        sr = sample_rate
    return wav, sr


def save(
    path: str | Path,
    wav: torch.Tensor | np.ndarray,
    sr: int,
    overwrite: bool = False,
    subtype: str | None = None,
) -> Path:
    """Write wav [C, N] (or [N]) atomically: a temporary file in the same folder, then rename.

    Refuses to replace an existing file unless ``overwrite``. Samples outside [-1, 1] are
    clipped by integer subtypes; non-finite samples are refused.
    """
    path = Path(path)
    _check_extension(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    data = wav.detach().cpu().float().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 1:
        data = data[None]
    if data.ndim != 2:
        raise AudioFileError(path, f"expected a [channels, samples] array, got shape {data.shape}")
    if data.shape[1] == 0:
        raise EmptyAudioError(path)
    if not np.isfinite(data).all():
        raise NonFiniteAudioError(path)
    fmt, default_subtype = FORMATS[path.suffix.lower()]
    with atomic_path(path) as tmp:
        sf.write(tmp, data.T, sr, format=fmt, subtype=subtype or default_subtype)
    return path


def find_audio(root: str | Path) -> list[Path]:
    """All audio files under ``root`` (recursive), sorted, hidden files skipped."""
    root = Path(root)
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in FORMATS and p.is_file() and not p.name.startswith(".")
    )
