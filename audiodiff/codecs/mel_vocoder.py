"""``MelVocoder``: the mel representation and a Vocos vocoder as one trainable codec.

Training reconstructs a waveform from its own normalised log-mel (``MelRepresentation.encode``,
no gradient: the mel is fixed), so the vocoder learns exactly the inverse the diffusion
model's mel outputs need.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from audiodiff.audio.mel import MelRepresentation
from audiodiff.codecs.vocoder import VocosVocoder


class MelVocoder(nn.Module):
    """wav [B, 1, N] -> mel [B, n_mels, N // hop] -> wav_hat [B, 1, (N // hop) * hop].

    The mel has no parameters (its buffers are not saved), so the state dict is the
    vocoder's weights only.
    """

    def __init__(self, mel: MelRepresentation, vocoder: VocosVocoder) -> None:
        super().__init__()
        if mel.n_mels != vocoder.n_mels or mel.hop_length != vocoder.hop_length:
            raise ValueError(
                f"mel ({mel.n_mels} bins, hop {mel.hop_length}) and vocoder "
                f"({vocoder.n_mels} bins, hop {vocoder.hop_length}) must agree"
            )
        self.mel = mel
        self.vocoder = vocoder
        if vocoder.magnitude_prior:
            vocoder.use_mel_prior(mel)

    @property
    def sample_rate(self) -> int:
        return self.mel.sample_rate

    @property
    def hop_length(self) -> int:
        return self.mel.hop_length

    @torch.no_grad()
    def encode(self, wav: Tensor) -> Tensor:
        # wav: [B, 1, N] -> x: [B, n_mels, N // hop]
        return self.mel.encode(wav)

    def decode(self, x: Tensor) -> Tensor:
        # x: [B, n_mels, T] -> wav: [B, 1, T * hop]
        return self.vocoder(x)

    def reconstruct(self, wav: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """wav: [B, 1, N] -> (wav_hat [B, 1, (N // hop) * hop], no aux terms)."""
        return self.decode(self.encode(wav)), {}

    def fit_stats(self, wavs: Iterable[Tensor]) -> None:
        """Nothing to fit: the mel's normalisation is fixed by its config."""

    def export_metadata(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate, "hop_length": self.hop_length}
