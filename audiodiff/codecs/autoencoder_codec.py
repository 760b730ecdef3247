"""``AutoencoderCodec``: an ``AudioAutoencoder`` plus the latent statistics a diffusion model
needs, in the codec interface the training module uses (``reconstruct``, ``fit_stats``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from audiodiff.codecs.autoencoder import (
    AudioAutoencoder,
    LatentRepresentation,
    kl_to_standard_normal,
    latent_stats,
)
from audiodiff.codecs.mel_decoder import MelWaistDecoder
from audiodiff.errors import ConfigError


class AutoencoderCodec(nn.Module):
    """Trains an autoencoder; ``latent_mean``/``latent_std`` (saved buffers) normalise its latents.

    ``reconstruct`` decodes a posterior sample while training and the posterior mean in eval
    mode, so validation and exports are deterministic.
    """

    def __init__(
        self,
        autoencoder: AudioAutoencoder,
        sample_rate: int = 16000,
        init_vocoder: str | None = None,
    ) -> None:
        super().__init__()
        self.autoencoder = autoencoder
        self.sample_rate = sample_rate
        self.register_buffer("latent_mean", torch.zeros(autoencoder.latent_dim))
        self.register_buffer("latent_std", torch.ones(autoencoder.latent_dim))
        if init_vocoder is not None:
            self.start_from_vocoder(init_vocoder)

    def start_from_vocoder(self, path: str) -> None:
        """Copy a trained vocoder export's weights into a ``decoder="mel"`` autoencoder.

        The vocoder must have been trained on the mel settings the decoder's waist uses (and
        be of the same size); anything else is a one-line ``ConfigError``.
        """
        from audiodiff.training.export import load_codec

        decoder = self.autoencoder.decoder
        if not isinstance(decoder, MelWaistDecoder):
            raise ConfigError("init_vocoder needs codec.autoencoder.decoder=mel")
        if not Path(path).exists():
            raise ConfigError(
                f"{path}: vocoder export not found (train it first: audiodiff train "
                "experiment=vocoder_synth, or set codec.init_vocoder=null)"
            )
        vocoder = load_codec(path)
        if not hasattr(vocoder, "vocoder") or not hasattr(vocoder, "mel"):
            raise ConfigError(f"{path}: not a vocoder export")
        if vocoder.mel.config() != decoder.mel.config():
            raise ConfigError(f"{path}: the vocoder was trained on other mel settings")
        if vocoder.vocoder.phase != decoder.vocoder.phase:
            raise ConfigError(
                f"{path}: a phase={vocoder.vocoder.phase} vocoder; the decoder has "
                f"phase={decoder.vocoder.phase} (set codec.autoencoder.vocoder_phase="
                f"{vocoder.vocoder.phase})"
            )
        try:
            decoder.vocoder.load_state_dict(vocoder.vocoder.state_dict())
        except RuntimeError as e:
            first = str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else str(e)
            raise ConfigError(f"{path}: the vocoder does not fit the decoder ({first})") from None

    @property
    def hop_length(self) -> int:
        return self.autoencoder.hop_length

    def encode(self, wav: Tensor) -> Tensor:
        # wav: [B, 1, N] -> z: [B, latent_dim, ceil(N / hop)] (raw, not normalised)
        return self.autoencoder.encode(wav)

    def decode(self, z: Tensor) -> Tensor:
        # z: [B, latent_dim, T] -> wav: [B, 1, T * hop]
        return self.autoencoder.decode(z)

    def reconstruct(self, wav: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """wav: [B, 1, N] -> (wav_hat [B, 1, N], {"kl": KL per latent element} plus, for a
        mel-waist decoder, "waist": L1 of its log-mel to the input's normalised log-mel)."""
        ae = self.autoencoder
        mean, logvar = ae.encode_dist(wav)
        if logvar is None:
            z, kl = mean, mean.new_zeros(())
        else:
            kl = kl_to_standard_normal(mean, logvar)
            z = mean + (0.5 * logvar).exp() * torch.randn_like(mean) if self.training else mean
        if not isinstance(ae.decoder, MelWaistDecoder):
            return ae.decode(z)[..., : wav.shape[-1]], {"kl": kl}
        mel_hat = ae.decoder.to_mel(z)
        with torch.no_grad():
            mel = ae.decoder.mel.encode(wav)  # [B, n_mels, N // hop]
        waist = (mel_hat[..., : mel.shape[-1]] - mel).abs().mean()
        wav_hat = ae.decoder.vocoder(mel_hat)[..., : wav.shape[-1]]
        return wav_hat, {"kl": kl, "waist": waist}

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
