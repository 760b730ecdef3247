"""Before / after spectrograms of restored recordings, side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from audiodiff.audio.mel import MelRepresentation
from audiodiff.viz import save_spectrogram_sheet


def save_before_after(
    path: str | Path,
    pairs: Sequence[tuple[Tensor, Tensor]],
    titles: Sequence[str],
    sample_rate: int,
) -> Path:
    """A sheet with one row per recording: its log-mel before and after restoration."""
    # pairs: [(before [1, N], after [1, N])] at sample_rate
    mel = MelRepresentation(sample_rate=sample_rate, f_max=sample_rate / 2)
    images, names = [], []
    with torch.no_grad():
        for (before, after), title in zip(pairs, titles, strict=True):
            images += [mel.encode(before[None].float())[0], mel.encode(after[None].float())[0]]
            names += [f"{title}: input", f"{title}: restored"]
    return save_spectrogram_sheet(path, images, names, frame_rate=mel.frame_rate, ncols=2)
