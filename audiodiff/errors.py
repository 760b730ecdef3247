"""Errors that audiodiff raises on purpose.

Every error a user can cause (a bad file, a bad option) is an ``AudioDiffError``; the CLI
prints it as one line and exits with code 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path


class AudioDiffError(Exception):
    """Base class of the errors audiodiff raises for bad input."""


class ConfigError(AudioDiffError):
    """A configuration value or command-line option is wrong."""


class AudioFileError(AudioDiffError):
    """A problem with one audio file; the message starts with the file's path."""

    reason = "cannot be used"

    def __init__(self, path: str | Path, detail: str | None = None) -> None:
        self.path = Path(path)
        self.detail = detail
        message = f"{self.path}: {self.reason}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class MissingAudioError(AudioFileError, FileNotFoundError):
    reason = "no such file"


class UnsupportedFormatError(AudioFileError):
    reason = "unsupported audio format"


class CorruptAudioError(AudioFileError):
    reason = "unreadable or corrupt audio file"


class EmptyAudioError(AudioFileError):
    reason = "audio has zero length"


class NonFiniteAudioError(AudioFileError):
    reason = "audio contains NaN or infinite samples"


class OutputExistsError(AudioFileError, FileExistsError):
    reason = "already exists (pass overwrite=True to replace it)"
