"""Vocos-style neural vocoder: normalised log-mel -> STFT magnitude and phase -> iSTFT.

Siuzdak 2023, "Vocos: Closing the gap between time-domain and Fourier-based neural vocoders".
A ConvNeXt trunk (Liu et al. 2022) runs at the frame rate and never upsamples; a linear head
predicts each frame's complex spectrum and the inverse STFT turns it into samples, which is
what makes it fast on CPU.

Two changes to the Vocos head, both switchable:

- ``phase="increment"`` (default): the head predicts each frame's phase *advance* per bin,
  relative to the bin centre's own advance 2 pi k hop / n_fft, and the phase is its running
  sum over frames (the instantaneous-frequency parameterisation of Engel et al. 2019,
  GANSynth). A convolutional trunk is shift-equivariant: on a steady input it outputs the
  same absolute phase every frame, while a steady tone's STFT phase must advance by
  omega * hop per frame, so with ``phase="absolute"`` (Vocos) overlap-add cancels a held
  note to near silence (measured: 0.2-4 % of the input's RMS in the middle of a 3 s tone).
  A constant advance is exactly what a shift-equivariant trunk can output.
- ``phase="locked"``: the increments, plus a third head output per bin, its phase offset to
  the nearest magnitude peak; each frame the bins around a peak take the peak's advanced
  phase plus that offset (``phase_lock``), so the bins of one partial stay coherent. The
  plain running sum leaves every bin its own starting phase, which caps speech near PESQ 2
  even with exact advances.
- ``magnitude_prior=True``: the log-magnitude is predicted as a residual over the clamped
  pseudo-inverse of the mel filter bank applied to the input mel (FreeV, Lv et al. 2024),
  so an untrained head already outputs Griffin-Lim's starting magnitude. Needs the mel
  settings: ``use_mel_prior(mel)`` (``MelVocoder`` calls it).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from audiodiff.audio.mel import MelRepresentation
from audiodiff.audio.spectral import istft
from audiodiff.codecs.phase_lock import lobe_offset, locked_phase, peak_owner

PHASES = ("increment", "absolute", "locked")


class ConvNeXtBlock(nn.Module):
    """Depthwise conv k=7, LayerNorm over channels, Linear-GELU-Linear, layer scale, residual.

    Liu et al. 2022, "A ConvNet for the 2020s", fig. 4 (1-D, without downsampling).
    """

    def __init__(
        self, dim: int, intermediate_dim: int, layer_scale_init: float, kernel_size: int = 7
    ) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale_init))

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, C, T] -> [B, C, T]
        h = self.dwconv(x).transpose(1, 2)  # [B, T, C]
        h = self.pwconv2(F.gelu(self.pwconv1(self.norm(h))))
        return x + (self.gamma * h).transpose(1, 2)


class ConvNeXtTrunk(nn.Module):
    """Conv k=7 embedding, LayerNorm, ``num_layers`` ConvNeXt blocks, LayerNorm.

    x: [B, in_channels, T] -> [B, dim, T] (the layout of the vocoder's trunk, for the other
    frame-rate networks: the spectral encoder, the mel-waist decoder).
    """

    def __init__(self, in_channels: int, dim: int, num_layers: int) -> None:
        super().__init__()
        self.embed = nn.Conv1d(in_channels, dim, kernel_size=7, padding=3)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(dim, 3 * dim, 1.0 / num_layers) for _ in range(num_layers)
        )
        self.final_norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm(self.embed(x).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            h = block(h)
        return self.final_norm(h.transpose(1, 2)).transpose(1, 2)


class VocosVocoder(nn.Module):
    """Normalised log-mel ``x [B, n_mels, T]`` -> waveform ``[B, 1, T * hop_length]``.

    The input is exactly ``MelRepresentation.encode`` output (centred frames, frame t centred
    on sample t * hop, log-mel normalised by its mean/std). The head predicts per frame
    ``n_fft // 2 + 1`` log-magnitudes and as many phase angles; the spectrum
    exp(min(log_mag, max_log_magnitude)) * (cos p + i sin p) is inverted by a centred iSTFT
    cut to T * hop samples, so output frame t is centred on sample t * hop like the input
    frame t (the 'same' padding of Vocos, aligned to this repo's mel framing).
    """

    def __init__(
        self,
        n_mels: int = 80,
        dim: int = 256,
        intermediate_dim: int | None = None,
        num_layers: int = 8,
        n_fft: int = 1024,
        hop_length: int = 256,
        layer_scale_init: float | None = None,
        max_log_magnitude: float = 7.0,
        phase: str = "increment",
        magnitude_prior: bool = False,
    ) -> None:
        super().__init__()
        if n_fft < hop_length:
            raise ValueError(f"n_fft ({n_fft}) must be >= hop_length ({hop_length})")
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
        self.phase = phase
        self.magnitude_prior = magnitude_prior
        intermediate_dim = 3 * dim if intermediate_dim is None else intermediate_dim
        layer_scale_init = 1.0 / num_layers if layer_scale_init is None else layer_scale_init
        self.n_mels = n_mels
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.max_log_magnitude = max_log_magnitude
        self.embed = nn.Conv1d(n_mels, dim, kernel_size=7, padding=3)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(dim, intermediate_dim, layer_scale_init) for _ in range(num_layers)
        )
        self.final_norm = nn.LayerNorm(dim, eps=1e-6)
        # F log-magnitudes then F phases (F = n_fft/2+1), then F peak offsets when locked
        self.head = nn.Linear(dim, (3 if phase == "locked" else 2) * (n_fft // 2 + 1))
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        # bin k's centre frequency advances by 2 pi k hop / n_fft per frame (taken mod 2 pi
        # exactly in integers, so the running sum stays small)
        k = torch.arange(n_fft // 2 + 1)
        advance = 2 * math.pi * ((k * hop_length) % n_fft).double() / n_fft
        self.register_buffer("bin_advance", advance.float()[:, None], persistent=False)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def use_mel_prior(self, mel: MelRepresentation) -> None:
        """Store what the magnitude prior needs from the mel representation the input comes
        from: its filter bank's pseudo-inverse [F, M] and its log/normalisation constants."""
        if mel.n_mels != self.n_mels or mel.n_fft != self.n_fft:
            raise ValueError(
                f"mel ({mel.n_mels} bins, n_fft {mel.n_fft}) does not match the vocoder "
                f"({self.n_mels} bins, n_fft {self.n_fft})"
            )
        self.register_buffer("mel_pinv", mel.filters_pinv.clone(), persistent=False)
        self.mel_norm = (float(mel.mean), float(mel.std), float(mel.log_floor))

    def prior_log_magnitude(self, mel: Tensor) -> Tensor:
        """Normalised log-mel [B, M, T] -> log of the clamped pseudo-inverse magnitude [B, F, T]."""
        if not hasattr(self, "mel_pinv"):
            raise RuntimeError("magnitude_prior=True needs use_mel_prior(mel) before use")
        mean, std, floor = self.mel_norm
        linear = self.mel_pinv @ torch.exp(mel.float() * std + mean)
        return torch.log(linear.clamp_min(floor))

    def trunk(self, x: Tensor) -> Tensor:
        # x: [B, n_mels, T] -> h: [B, T, dim]
        h = self.norm(self.embed(x).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            h = block(h)
        return self.final_norm(h.transpose(1, 2))

    def synthesize(self, log_magnitude: Tensor, phase: Tensor) -> Tensor:
        """Spectrum to waveform, the head's fixed (parameter-free) half.

        log_magnitude, phase: [B, F, T] with F = n_fft // 2 + 1 -> wav: [B, 1, T * hop]
        """
        mag = torch.exp(log_magnitude.clamp(max=self.max_log_magnitude))
        spec = torch.complex(mag * torch.cos(phase), mag * torch.sin(phase))
        length = spec.shape[-1] * self.hop_length
        return istft(spec, self.n_fft, self.hop_length, self.window, length=length).unsqueeze(1)

    def spectrum(self, mel: Tensor) -> tuple[Tensor, Tensor]:
        """mel: [B, n_mels, T] -> (log_magnitude, phase), each [B, n_fft // 2 + 1, T]."""
        if mel.dim() != 3 or mel.shape[1] != self.n_mels:
            raise ValueError(f"expected mel [B, {self.n_mels}, T], got {tuple(mel.shape)}")
        out = self.head(self.trunk(mel)).transpose(1, 2).float()  # [B, 2F or 3F, T]
        log_magnitude, phase, *residual = out.chunk(3 if self.phase == "locked" else 2, dim=1)
        if self.magnitude_prior:
            log_magnitude = log_magnitude + self.prior_log_magnitude(mel)
        if self.phase != "absolute":
            step = torch.remainder(phase + self.bin_advance, 2 * math.pi)
            if self.phase == "increment":
                phase = torch.cumsum(step, dim=-1)
            else:
                owner = peak_owner(log_magnitude.detach())
                phase = locked_phase(step, lobe_offset(owner, residual[0]), owner)
        return log_magnitude, phase

    def forward(self, mel: Tensor) -> Tensor:
        # mel: [B, n_mels, T] -> wav: [B, 1, T * hop_length]
        return self.synthesize(*self.spectrum(mel))

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        return (
            f"n_fft={self.n_fft}, hop_length={self.hop_length}, "
            f"max_log_magnitude={self.max_log_magnitude}, phase={self.phase}, "
            f"magnitude_prior={self.magnitude_prior}"
        )
