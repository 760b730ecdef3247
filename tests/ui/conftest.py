"""Tiny models for the UI tests (random weights, written as `audiodiff train` writes them): a
mel model with labels for the Generate tab, a conditional STFT model for the Restore tab;
and a short recording to upload."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from audiodiff.audio.io import save


@pytest.fixture(scope="session")
def ui_models(tmp_path_factory, tiny) -> SimpleNamespace:
    tmp = tmp_path_factory.mktemp("ui_models")
    generator = tiny.model_folder(tmp / "generator", tiny.model_config())
    restorer = tiny.model_folder(
        tmp / "restorer",
        tiny.model_config(representation=tiny.STFT, labels=False, observation=True),
    )
    return SimpleNamespace(generator=generator, restorer=restorer)


@pytest.fixture(scope="session")
def recording(tmp_path_factory) -> Path:
    """1.5 s of a noisy 440 Hz tone at 22.05 kHz (not the models' rate), stereo."""
    sr = 22050
    t = torch.arange(round(1.5 * sr)) / sr
    gen = torch.Generator().manual_seed(0)
    tone = 0.3 * torch.sin(2 * torch.pi * 440 * t)
    wav = torch.stack([tone, tone]) + 0.05 * torch.randn(2, t.numel(), generator=gen)
    return save(tmp_path_factory.mktemp("upload") / "take 1.wav", wav, sr)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def ports():
    """A function giving a free local port."""
    return free_port
