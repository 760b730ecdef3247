"""Waveform file I/O: soundfile for wav/flac/ogg/mp3, soxr for resampling.

torchaudio is not used: the registry's builds need CUDA libraries and do not import next to
the CPU torch build.

Reading never trusts a path or a header: the file is opened once, without blocking, and
checked to be a regular file before libsndfile sees it (so a FIFO or a device is never read);
samples are read in blocks, so a header claiming hours of audio costs only the bytes that are
really there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
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
SAMPLE_RATES = (1000, 768_000)  # accepted range in Hz; outside it a header is not audio
MAX_PEAK = 64.0  # |float sample| beyond this (+36 dBFS) is garbage, not headroom
MAX_SAMPLES = 2**30  # per file, all channels (4 GiB as float32): about 3 h of 48 kHz stereo
_BLOCK = 2**18  # frames per read
# what libsndfile and soundfile raise on a malformed stream (LibsndfileError is a RuntimeError)
_READ_ERRORS = (RuntimeError, ValueError, TypeError, OverflowError, MemoryError, OSError)


def _check_extension(path: Path) -> None:
    if path.suffix.lower() not in FORMATS:
        supported = ", ".join(AUDIO_EXTENSIONS)
        raise UnsupportedFormatError(path, f"'{path.suffix or 'no extension'}'; use {supported}")


def _file_kind(mode: int) -> str:
    kinds = [
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _open_regular(path: Path) -> int:
    """A read-only descriptor of ``path``, which must be a regular audio file.

    Opened with O_NONBLOCK (a FIFO does not wait for a writer) and checked with fstat on the
    open descriptor, so what is checked is what is read.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except ValueError:  # an embedded NUL byte
        raise AudioFileError(path, "invalid file name") from None
    except FileNotFoundError:
        detail = "broken symbolic link" if os.path.islink(path) else None
        raise MissingAudioError(path, detail) from None
    except OSError as e:
        detail = "symbolic link loop" if e.errno == errno.ELOOP else e.strerror
        raise AudioFileError(path, detail or type(e).__name__) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise AudioFileError(path, f"{_file_kind(mode)}, not an audio file")
    try:
        _check_extension(path)
    except AudioFileError:
        os.close(fd)
        raise
    os.set_blocking(fd, True)
    return fd


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence what C libraries print on file descriptor 2 (mpg123's "Note: Illegal
    Audio-MPEG-Header ..." lines): an error is reported once, as one line, by the caller."""
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2
        yield
        return
    if sys.stderr is not None:
        sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _detail(error: Exception) -> str:
    """One line about a libsndfile or soundfile error, without its 'Error opening 3:' prefix."""
    if isinstance(error, sf.LibsndfileError):
        text = error.error_string
    elif isinstance(error, MemoryError):
        text = "header asks for more memory than there is"
    else:
        text = str(error) or type(error).__name__
    if "possibly a pipe" in text:  # libsndfile's words when mpg123 finds no MPEG stream
        text = "not a recognised audio stream"
    return text.strip().splitlines()[0].rstrip(".") if text.strip() else type(error).__name__


def _check_header(path: Path, sample_rate: int, channels: int) -> None:
    low, high = SAMPLE_RATES
    if not low <= sample_rate <= high:
        raise UnsupportedFormatError(
            path, f"sample rate {sample_rate} Hz; accepted: {low} to {high} Hz"
        )
    if channels < 1:
        raise CorruptAudioError(path, f"{channels} channels")


def _open_soundfile(path: Path) -> sf.SoundFile:
    """libsndfile on a checked descriptor; it owns (and closes) the descriptor from here on,
    also when it fails to open it."""
    fd = _open_regular(path)
    try:
        f = sf.SoundFile(fd, closefd=True)
    except _READ_ERRORS as e:
        raise CorruptAudioError(path, _detail(e)) from None
    try:
        _check_header(path, f.samplerate, f.channels)
    except AudioFileError:
        f.close()
        raise
    return f


def _read(path: Path) -> tuple[np.ndarray, int]:
    """All samples [N, C] as float32 and the rate, read in blocks until the stream ends."""
    blocks, total = [], 0
    with _quiet_native_stderr(), _open_soundfile(path) as f:
        sr, channels = f.samplerate, f.channels
        try:
            while len(block := f.read(_BLOCK, dtype="float32", always_2d=True)):  # [n, C]
                total += block.size
                if total > MAX_SAMPLES:
                    raise AudioFileError(path, f"more than {MAX_SAMPLES} samples")
                blocks.append(block)
        except _READ_ERRORS as e:
            raise CorruptAudioError(path, _detail(e)) from None
    data = np.concatenate(blocks) if blocks else np.zeros((0, channels), np.float32)
    return data, sr


def resample(wav: torch.Tensor, orig_sr: int, target_sr: int) -> torch.Tensor:
    """Resample with soxr's high-quality filter.

    wav: [C, N] -> [C, round(N * target_sr / orig_sr)]
    """
    if orig_sr == target_sr:
        return wav
    out = soxr.resample(wav.T.cpu().numpy().astype(np.float32), orig_sr, target_sr, quality="HQ")
    return torch.from_numpy(np.ascontiguousarray(out.T)).to(wav.device)


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says; ``frames`` may be more than the file really holds."""

    samplerate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate


def info(path: str | Path) -> AudioInfo:
    """Header information (rate, frames, channels) without reading samples.

    Raises ``AudioFileError`` naming the file for everything ``load`` refuses from the header
    alone: not a regular file, a wrong extension, an unreadable header, a sample rate outside
    ``SAMPLE_RATES``.
    """
    path = Path(path)
    with _quiet_native_stderr(), _open_soundfile(path) as f:
        return AudioInfo(f.samplerate, f.channels, f.frames, f.format, f.subtype)


def load(
    path: str | Path, sample_rate: int | None = None, mono: bool = True
) -> tuple[torch.Tensor, int]:
    """Read an audio file as float32, nominally in [-1, 1].

    Returns (wav [C, N], sr); C is 1 when ``mono`` (channels averaged). When ``sample_rate``
    is given the audio is resampled to it and sr equals it.
    Raises a subclass of ``AudioFileError`` naming the file for every bad-input case: no such
    file, not a regular file (a folder, a FIFO, a device, a symbolic link loop: never opened
    for reading), a wrong extension, a corrupt or truncated stream, zero length, NaN or
    infinite samples, float samples beyond ``MAX_PEAK``, a sample rate outside
    ``SAMPLE_RATES``, more than ``MAX_SAMPLES`` samples.
    """
    path = Path(path)
    data, sr = _read(path)  # [N, C]
    if data.shape[0] == 0:
        raise EmptyAudioError(path)
    if not np.isfinite(data).all():
        raise NonFiniteAudioError(path)
    peak = float(np.abs(data).max())
    if peak > MAX_PEAK:
        raise CorruptAudioError(path, f"samples reach {peak:.3g}, far outside [-1, 1]")
    wav = torch.from_numpy(np.ascontiguousarray(data.T))  # [C, N]
    if mono and wav.shape[0] > 1:
        wav = wav.mean(dim=0, keepdim=True)
    if sample_rate is not None and sample_rate != sr:
        wav = resample(wav, sr, sample_rate)
        sr = sample_rate
        if wav.shape[-1] == 0:
            raise EmptyAudioError(path, f"shorter than one sample at {sample_rate} Hz")
    return wav, sr


def save(
    path: str | Path,
    wav: torch.Tensor | np.ndarray,
    sr: int,
    overwrite: bool = False,
    subtype: str | None = None,
) -> Path:
    """Write wav [C, N] (or [N]) atomically: a temporary file in the same folder, then rename,
    so a failed or interrupted write never leaves a partial file under ``path``.

    Refuses to replace an existing file unless ``overwrite`` (and a folder always). Samples
    outside [-1, 1] are clipped by integer subtypes; non-finite samples are refused.
    """
    path = Path(path)
    _check_extension(path)
    if path.is_dir():
        raise AudioFileError(path, "a folder is in the way")
    if os.path.lexists(path) and not overwrite:
        raise OutputExistsError(path)
    if isinstance(sr, bool) or not isinstance(sr, int | np.integer) or sr <= 0:
        raise AudioFileError(path, f"sample rate must be a positive integer, got {sr!r}")
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
        try:  # bytes: a file name that is not UTF-8 is written as it is
            sf.write(
                os.fsencode(tmp), data.T, int(sr), format=fmt, subtype=subtype or default_subtype
            )
        except (RuntimeError, ValueError, TypeError) as e:
            raise AudioFileError(path, f"cannot write: {_detail(e)}") from None
    return path


def find_audio(root: str | Path) -> list[Path]:
    """Every entry under ``root`` (recursive) with an audio extension, sorted; hidden names
    skipped, symbolic links to folders not followed.

    Entries that are not regular files (a folder named ``x.wav``, a FIFO, a broken or looping
    link) are listed too: ``load`` refuses them by name, so a reader counts them as skipped
    instead of dropping them silently.
    """
    root = Path(root)
    return sorted(
        p for p in root.rglob("*") if p.suffix.lower() in FORMATS and not p.name.startswith(".")
    )
