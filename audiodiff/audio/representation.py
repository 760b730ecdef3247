"""The ``Representation`` interface: what the diffusion model sees instead of a waveform.

Three implementations are planned: log-mel + Griffin-Lim (here), log-mel + neural vocoder and
autoencoder latents (``audiodiff.codecs``). The diffusion model only ever sees ``x [B, C, T]``.
"""

from __future__ import annotations

import abc
import hashlib
import json
from typing import Any

import torch
from torch import nn


class Representation(nn.Module, abc.ABC):
    """Maps waveforms to a well-scaled [B, C, T] tensor and back.

    ``encode`` output is roughly zero-mean, unit-variance so one ``sigma_data`` fits.
    Buffers follow ``.to(device)``; encode/decode also work on whatever device the input is on.
    """

    sample_rate: int

    @property
    @abc.abstractmethod
    def channels(self) -> int:
        """C of encode's output."""

    @property
    @abc.abstractmethod
    def hop_length(self) -> int:
        """Waveform samples per frame of encode's output."""

    @property
    def frame_rate(self) -> float:
        """Frames per second of encode's output."""
        return self.sample_rate / self.hop_length

    @abc.abstractmethod
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: [B, 1, N] -> x: [B, C, T] with T = N // hop_length."""

    @abc.abstractmethod
    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, C, T] -> wav: [B, 1, T * hop_length]."""

    @abc.abstractmethod
    def config(self) -> dict[str, Any]:
        """Everything that changes encode's output; keys the feature cache."""

    def num_frames(self, num_samples: int) -> int:
        return num_samples // self.hop_length

    def fingerprint(self) -> str:
        """Short stable hash of ``config()`` (plus the class name)."""
        blob = json.dumps({"class": type(self).__name__, **self.config()}, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]
