"""Checks on the files a page visitor uploads: size, duration, and that they decode. Each
refusal is one ``ConfigError`` line the page shows as a message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from audiodiff.audio.io import info, load
from audiodiff.errors import AudioFileError, ConfigError


@dataclass(frozen=True)
class Limits:
    """What one request may ask for (conf/ui.yaml ``limits``)."""

    max_upload_mb: float = 20.0  # an uploaded file's size on disk
    max_upload_seconds: float = 60.0  # an uploaded recording's duration
    max_seconds: float = 30.0  # a generated clip's duration
    max_clips: int = 8  # clips per request
    max_steps: int = 200  # solver steps per request

    def check(self) -> None:
        for name in self.__dataclass_fields__:
            if not getattr(self, name) > 0:
                raise ConfigError(f"limits.{name} must be > 0, got {getattr(self, name)}")


def read_upload(path: str | Path | None, limits: Limits, what: str) -> tuple[torch.Tensor, int]:
    """(wav [C, N], sample rate) of an uploaded file, or one line naming ``what`` and the
    limit it breaks. ``None`` (nothing uploaded) is an error too."""
    if path is None or str(path) == "":
        raise ConfigError(f"{what}: upload an audio file first")
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ConfigError(f"{what}: the upload {name} is missing; upload it again")
    megabytes = path.stat().st_size / 1e6
    if megabytes > limits.max_upload_mb:
        raise ConfigError(
            f"{what}: {name} is {megabytes:.1f} MB; the limit is {limits.max_upload_mb:g} MB"
        )
    try:
        header = info(path)
        seconds = header.frames / header.samplerate
        if seconds > limits.max_upload_seconds:
            raise ConfigError(
                f"{what}: {name} is {seconds:.1f} s long; the limit is "
                f"{limits.max_upload_seconds:g} s (trim it, or use `audiodiff restore`)"
            )
        wav, sr = load(path, mono=False)
    except AudioFileError as e:
        raise ConfigError(f"{what}: {_plain(e, path)}") from None
    return wav, sr


def _plain(error: AudioFileError, path: Path) -> str:
    """The error with the upload's temporary folder cut from the file name."""
    return str(error).replace(str(path), path.name)
