"""An autoencoder decoder with a mel waist: latents -> normalised log-mel -> Vocos vocoder.

The decoder first maps the latents to the normalised log-mel the vocoder reads, then runs the
vocoder (`vocoder_phase`, mel pseudo-inverse magnitude prior). Trained end to end on
waveforms like any decoder, but it can start from a trained vocoder
(``AutoencoderCodec(init_vocoder=...)``): its waveform losses then reach the latent-to-mel
part almost unchanged, which is a plain regression and learns in minutes on a CPU. Latent
audio models decoded through a mel spectrogram and a vocoder: AudioLDM (Liu et al. 2023).
"""

from __future__ import annotations

from torch import Tensor, nn

from audiodiff.audio.mel import MelRepresentation
from audiodiff.codecs.vocoder import ConvNeXtTrunk, VocosVocoder


class MelWaistDecoder(nn.Module):
    """z [B, latent_dim, T] -> mel [B, n_mels, T] -> wav [B, 1, T * hop]."""

    def __init__(
        self,
        latent_dim: int,
        mel: MelRepresentation,
        dim: int = 128,
        num_layers: int = 4,
        vocoder_dim: int = 128,
        vocoder_layers: int = 6,
        vocoder_phase: str = "increment",
    ) -> None:
        super().__init__()
        self.mel = mel  # settings for the vocoder's prior; no saved state
        self.trunk = ConvNeXtTrunk(latent_dim, dim, num_layers)
        self.proj = nn.Linear(dim, mel.n_mels)
        self.vocoder = VocosVocoder(
            n_mels=mel.n_mels,
            dim=vocoder_dim,
            num_layers=vocoder_layers,
            n_fft=mel.n_fft,
            hop_length=mel.hop_length,
            phase=vocoder_phase,
            magnitude_prior=True,
        )
        self.vocoder.use_mel_prior(mel)

    def to_mel(self, z: Tensor) -> Tensor:
        # z: [B, latent_dim, T] -> normalised log-mel [B, n_mels, T]
        return self.proj(self.trunk(z).transpose(1, 2)).transpose(1, 2)

    def forward(self, z: Tensor) -> Tensor:
        # z: [B, latent_dim, T] -> wav: [B, 1, T * hop]
        return self.vocoder(self.to_mel(z))
