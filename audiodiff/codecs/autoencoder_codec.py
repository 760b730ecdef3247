"""``AutoencoderCodec``: an ``AudioAutoencoder`` plus the latent statistics a diffusion model
needs, in the codec interface the training module uses (``reconstruct``, ``fit_stats``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from audiodiff.codecs.autoencoder import (
    AudioAutoencoder,
    LatentRepresentation,
    kl_to_standard_normal,
    latent_stats,
)


class AutoencoderCodec(nn.Module):
    """Trains an autoencoder; ``latent_mean``/``latent_std`` (saved buffers) normalise its latents.

    ``reconstruct`` decodes a posterior sample while training and the posterior mean in eval
    mode, so validation and exports are deterministic.
    """

    def __init__(self, autoencoder: AudioAutoencoder, sample_rate: int = 16000) -> None:
        super().__init__()
        self.autoencoder = autoencoder
        self.sample_rate = sample_rate
        self.register_buffer("latent_mean", torch.zeros(autoencoder.latent_dim))
        self.register_buffer("latent_std", torch.ones(autoencoder.latent_dim))

    @property
    def hop_length(self) -> int:
        return self.autoencoder.hop_length

    def encode(self, wav: Tensor) -> Tensor:
        # wav: [B, 1, N] -> z: [B, latent_dim, ceil(N / hop)] (raw, not normalised)
        return self.autoencoder.encode(wav)

    def decode(self, z: Tensor) -> Tensor:
        # z: [B, latent_dim, T] -> wav: [B, 1, T * hop]
        return self.autoencoder.decode(z)

    def reconstruct(self, wav: Tensor) -> tuple[Tensor, Tensor]:
        """wav: [B, 1, N] -> (wav_hat [B, 1, N], KL per latent element, a scalar)."""
        if self.training:
            return self.autoencoder(wav)
        mean, logvar = self.autoencoder.encode_dist(wav)
        kl = mean.new_zeros(()) if logvar is None else kl_to_standard_normal(mean, logvar)
        return self.decode(mean)[..., : wav.shape[-1]], kl

    @torch.no_grad()
    def fit_stats(self, wavs: Iterable[Tensor]) -> None:
        """Per-channel mean/std of the posterior means over ``wavs`` ([B, 1, N] each)."""
        chunks = [self.encode(w).transpose(0, 1).flatten(1) for w in wavs]  # [C, B * T] each
        if not chunks:
            return
        mean, std = latent_stats(torch.cat(chunks, dim=1)[None])  # [1, C, sum B * T]
        self.latent_mean.copy_(mean)
        self.latent_std.copy_(std)

    def export_metadata(self) -> dict[str, Any]:
        return {
            "sample_rate": self.sample_rate,
            "hop_length": self.hop_length,
            "latent_dim": self.autoencoder.latent_dim,
            "latent_mean": self.latent_mean.tolist(),
            "latent_std": self.latent_std.tolist(),
        }

    def latent_representation(self) -> LatentRepresentation:
        """A frozen copy of the autoencoder as a ``LatentRepresentation`` with the fitted stats."""
        autoencoder = copy.deepcopy(self.autoencoder)
        rep = LatentRepresentation(autoencoder, sample_rate=self.sample_rate)
        rep.latent_mean.copy_(self.latent_mean)
        rep.latent_std.copy_(self.latent_std)
        return rep
