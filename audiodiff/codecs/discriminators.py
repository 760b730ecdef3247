"""GAN discriminators for vocoder training: multi-period and multi-resolution.

Multi-period: Kong et al. 2020, "HiFi-GAN", sec. 2.2. Multi-resolution (STFT magnitude):
Jang et al. 2021, "UnivNet", sec. 2.2, as used by Vocos (Siuzdak 2023). Every discriminator
maps ``wav [B, 1, N]`` to (logits, feature maps); a multi-discriminator returns one of each
per sub-discriminator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

LRELU_SLOPE = 0.1


class DiscriminatorOutput(NamedTuple):
    """logits[k]: [B, L_k] of sub-discriminator k; features[k]: its hidden maps, in order."""

    logits: list[Tensor]
    features: list[list[Tensor]]


class PeriodDiscriminator(nn.Module):
    """2-D convs (kernel 5x1, stride 3x1) over the waveform folded into [N / p, p] (HiFi-GAN)."""

    def __init__(self, period: int, channels: Sequence[int] = (32, 128, 512, 1024, 1024)) -> None:
        super().__init__()
        self.period = period
        widths = [1, *channels]
        self.convs = nn.ModuleList()
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            stride = 1 if i == len(channels) - 1 else 3
            self.convs.append(
                weight_norm(nn.Conv2d(c_in, c_out, (5, 1), (stride, 1), padding=(2, 0)))
            )
        self.post = weight_norm(nn.Conv2d(widths[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, wav: Tensor) -> tuple[Tensor, list[Tensor]]:
        # wav: [B, 1, N] -> logits [B, L], features [[B, C_i, H_i, period], ...]
        pad = (-wav.shape[-1]) % self.period
        if pad:
            wav = F.pad(wav, (0, pad), mode="reflect")
        h = wav.reshape(wav.shape[0], 1, -1, self.period)
        features = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), LRELU_SLOPE)
            features.append(h)
        h = self.post(h)
        features.append(h)
        return h.flatten(1), features


class MultiPeriodDiscriminator(nn.Module):
    """One ``PeriodDiscriminator`` per period; HiFi-GAN uses the primes 2, 3, 5, 7, 11."""

    def __init__(
        self,
        periods: Sequence[int] = (2, 3, 5, 7, 11),
        channels: Sequence[int] = (32, 128, 512, 1024, 1024),
    ) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, channels) for p in periods)

    def forward(self, wav: Tensor) -> DiscriminatorOutput:
        # wav: [B, 1, N] -> one (logits, features) per period
        outs = [d(wav) for d in self.discriminators]
        return DiscriminatorOutput([o[0] for o in outs], [o[1] for o in outs])


class ResolutionDiscriminator(nn.Module):
    """2-D convs over one linear STFT magnitude [F, frames] (UnivNet's MRD sub-discriminator).

    The first conv sees a 7 x 5 (frequency x time) patch; the stack then halves frequency at
    every layer and time at every other one, LeakyReLU between, weight norm throughout.
    """

    def __init__(self, n_fft: int, hop_length: int, channels: int = 32, num_layers: int = 5):
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.convs = nn.ModuleList([weight_norm(nn.Conv2d(1, channels, (7, 5), (2, 1), (3, 2)))])
        for i in range(1, num_layers):
            stride = (2, 2) if i % 2 == 1 else (2, 1)
            self.convs.append(weight_norm(nn.Conv2d(channels, channels, (5, 3), stride, (2, 1))))
        self.post = weight_norm(nn.Conv2d(channels, 1, 3, padding=1))

    def magnitude(self, wav: Tensor) -> Tensor:
        # wav: [B, 1, N] -> |STFT| [B, 1, n_fft // 2 + 1, N // hop + 1]
        spec = torch.stft(
            wav[:, 0].float(),
            self.n_fft,
            hop_length=self.hop_length,
            window=self.window,
            center=True,
            return_complex=True,
        )
        return torch.view_as_real(spec).square().sum(-1).clamp_min(1e-9).sqrt().unsqueeze(1)

    def forward(self, wav: Tensor) -> tuple[Tensor, list[Tensor]]:
        # wav: [B, 1, N] -> logits [B, L], features [[B, C, F_i, T_i], ...]
        h = self.magnitude(wav)
        features = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), LRELU_SLOPE)
            features.append(h)
        h = self.post(h)
        features.append(h)
        return h.flatten(1), features


class MultiResolutionDiscriminator(nn.Module):
    """One ``ResolutionDiscriminator`` per (n_fft, hop); the UnivNet / Vocos resolutions."""

    def __init__(
        self,
        resolutions: Sequence[Sequence[int]] = ((512, 128), (1024, 256), (2048, 512)),
        channels: int = 32,
        num_layers: int = 5,
    ) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            ResolutionDiscriminator(n_fft, hop, channels, num_layers) for n_fft, hop in resolutions
        )

    def forward(self, wav: Tensor) -> DiscriminatorOutput:
        # wav: [B, 1, N] -> one (logits, features) per resolution
        outs = [d(wav) for d in self.discriminators]
        return DiscriminatorOutput([o[0] for o in outs], [o[1] for o in outs])


class Discriminators(nn.Module):
    """The multi-period and multi-resolution discriminators side by side; pass None to drop one.

    ``forward`` returns ``{"mpd": DiscriminatorOutput, "mrd": DiscriminatorOutput}`` (only the
    enabled ones) so the training loop can weight them separately (Vocos weights MRD by 0.1).
    """

    def __init__(
        self,
        mpd: MultiPeriodDiscriminator | None = None,
        mrd: MultiResolutionDiscriminator | None = None,
    ) -> None:
        super().__init__()
        if mpd is None and mrd is None:
            raise ValueError("enable at least one of mpd and mrd")
        self.mpd = mpd
        self.mrd = mrd

    def forward(self, wav: Tensor) -> dict[str, DiscriminatorOutput]:
        # wav: [B, 1, N] -> {name: (logits per sub-discriminator, features per sub-discriminator)}
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise ValueError(f"expected wav [B, 1, N], got {tuple(wav.shape)}")
        out = {}
        if self.mpd is not None:
            out["mpd"] = self.mpd(wav)
        if self.mrd is not None:
            out["mrd"] = self.mrd(wav)
        return out
