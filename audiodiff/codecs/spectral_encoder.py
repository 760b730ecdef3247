"""A frame-rate encoder for the waveform autoencoder: log-magnitude STFT -> ConvNeXt -> latents.

The STFT is itself a strided 1-D convolution of the waveform (a fixed Fourier basis, kernel
``n_fft``, stride ``hop``); taking its log-magnitude hands the encoder the spectral envelope
and the partials' positions at once, which a learned strided Snake stack has to discover
first. Everything after it runs at the latent frame rate, so it is cheap on a CPU. The
ConvNeXt trunk is the vocoder's (Siuzdak 2023). Spectrogram-domain encoders for audio codecs:
Langman et al. 2024, "Spectral Codecs".
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from audiodiff.codecs.vocoder import ConvNeXtTrunk


class SpectralEncoder(nn.Module):
    """wav [B, 1, N] (N a multiple of hop) -> [B, out_channels, N // hop].

    Frame t is the centred STFT frame on sample t * hop (zero-padded at the ends), the
    framing the iSTFT decoder and the mel representation use.
    """

    def __init__(
        self,
        out_channels: int,
        hop_length: int,
        n_fft: int | None = None,
        dim: int = 256,
        num_layers: int = 8,
        log_floor: float = 1e-5,
    ) -> None:
        super().__init__()
        self.hop_length = hop_length
        self.n_fft = 4 * hop_length if n_fft is None else n_fft
        self.log_floor = log_floor
        self.trunk = ConvNeXtTrunk(self.n_fft // 2 + 1, dim, num_layers)
        self.proj = nn.Linear(dim, out_channels)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def log_magnitude(self, wav: Tensor) -> Tensor:
        # wav: [B, 1, N] -> [B, n_fft // 2 + 1, N // hop]
        frames = wav.shape[-1] // self.hop_length
        spec = torch.stft(
            wav[:, 0].float(),
            self.n_fft,
            hop_length=self.hop_length,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )[..., :frames]
        return torch.log(spec.abs().clamp_min(self.log_floor))

    def forward(self, wav: Tensor) -> Tensor:
        # wav: [B, 1, N] -> [B, out_channels, N // hop]
        h = self.trunk(self.log_magnitude(wav))
        return self.proj(h.transpose(1, 2)).transpose(1, 2)
