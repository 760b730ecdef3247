"""Normalised log-mel spectrogram representation, decoded by fast Griffin-Lim."""

from __future__ import annotations

from typing import Any

import torch

from audiodiff.audio.griffinlim import griffin_lim
from audiodiff.audio.representation import Representation
from audiodiff.audio.spectral import mel_filters, stft
from audiodiff.errors import ConfigError


class MelRepresentation(Representation):
    """x = (log(max(mel(|STFT(wav)|), floor)) - mean) / std, mel bins as channels.

    The defaults (16 kHz, 1024-point FFT, hop 256 = 62.5 frames/s, 80 bins, 0-8 kHz) suit
    the built-in synth set and speech; ``mean``/``std`` put the log-mel of typical material
    near zero mean and unit variance (``audiodiff.data.stats`` measures them for a dataset).
    ``decode`` inverts the mel filter bank by non-negative least squares and recovers phase
    with fast Griffin-Lim; it is the baseline decoder that neural vocoders must beat.
    ``x_max`` (None: no limit) is the largest value of the training data's x: a pipeline
    holds generated samples at or below it before decoding (``Pipeline.decode``). ``decode``
    itself does not, so a real recording louder than the training data round-trips as it is.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 1024,
        hop_length: int = 256,
        n_mels: int = 80,
        f_min: float = 0.0,
        f_max: float | None = None,
        log_floor: float = 1e-5,
        mean: float = -8.5,
        std: float = 3.5,
        griffin_lim_iters: int = 16,
        griffin_lim_momentum: float = 0.99,
        nnls_iters: int = 32,
        seed: int = 0,
        x_max: float | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("sample_rate", sample_rate), ("n_fft", n_fft),
                            ("hop_length", hop_length), ("n_mels", n_mels)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"representation.{name} must be a whole number >= 1, got {value!r}"
                )
        if n_fft < hop_length:
            raise ConfigError(
                f"representation.n_fft ({n_fft}) must be >= hop_length ({hop_length})"
            )
        if n_mels > n_fft // 2 + 1:
            raise ConfigError(
                f"representation.n_mels ({n_mels}) must be <= n_fft // 2 + 1 ({n_fft // 2 + 1})"
            )
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self._hop = hop_length
        self.n_mels = n_mels
        self.f_min = f_min
        self.f_max = sample_rate / 2 if f_max is None else f_max
        self.log_floor = log_floor
        self.mean = mean
        self.std = std
        self.griffin_lim_iters = griffin_lim_iters
        self.griffin_lim_momentum = griffin_lim_momentum
        self.nnls_iters = nnls_iters
        self.seed = seed
        if x_max is not None and (isinstance(x_max, bool) or not isinstance(x_max, int | float)):
            raise ConfigError(f"representation.x_max must be a number or null, got {x_max!r}")
        self.x_max = None if x_max is None else float(x_max)
        fb = mel_filters(sample_rate, n_fft, n_mels, f_min, self.f_max)  # [M, F]
        self.register_buffer("filters", fb, persistent=False)
        self.register_buffer("filters_pinv", torch.linalg.pinv(fb), persistent=False)  # [F, M]
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    @property
    def channels(self) -> int:
        return self.n_mels

    @property
    def hop_length(self) -> int:
        return self._hop

    def config(self) -> dict[str, Any]:
        keys = ("sample_rate", "n_fft", "n_mels", "f_min", "f_max", "log_floor", "mean", "std")
        return {"hop_length": self._hop, **{k: getattr(self, k) for k in keys}}

    def mel_magnitude(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: [B, 1, N] -> mel magnitude [B, M, N // hop] (the last centred frame dropped)."""
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise ValueError(f"expected wav of shape [B, 1, N], got {tuple(wav.shape)}")
        if wav.shape[-1] < self.n_fft // 2 + 1:
            raise ValueError(f"need at least {self.n_fft // 2 + 1} samples, got {wav.shape[-1]}")
        n_frames = wav.shape[-1] // self._hop
        spec = stft(wav[:, 0].float(), self.n_fft, self._hop, self.window)[..., :n_frames]
        return self.filters.to(wav.device) @ spec.abs()

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: [B, 1, N] -> x: [B, n_mels, N // hop_length]"""
        logmel = torch.log(self.mel_magnitude(wav).clamp_min(self.log_floor))
        return (logmel - self.mean) / self.std

    def to_mel_magnitude(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of the normalisation and log. x: [B, M, T] -> mel magnitude [B, M, T]"""
        return torch.exp(x.float() * self.std + self.mean)

    def to_linear_magnitude(self, mel: torch.Tensor) -> torch.Tensor:
        """Non-negative least-squares inverse of the mel filter bank.

        mel: [B, M, T] -> magnitude [B, F, T]. Starts from the clamped pseudo-inverse and
        refines with Lee & Seung (2001) multiplicative updates, which keep it non-negative.
        """
        fb = self.filters.to(mel.device)  # [M, F]
        s = (self.filters_pinv.to(mel.device) @ mel).clamp_min(1e-8)
        fb_t_mel = fb.T @ mel
        fb_t_fb = fb.T @ fb
        for _ in range(self.nnls_iters):
            s = s * fb_t_mel / (fb_t_fb @ s + 1e-10)
        return s

    @torch.no_grad()
    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, n_mels, T] -> wav: [B, 1, T * hop_length]"""
        mag = self.to_linear_magnitude(self.to_mel_magnitude(x))
        mag = torch.cat([mag, mag[..., -1:]], dim=-1)  # restore the dropped centred frame
        gen = torch.Generator().manual_seed(self.seed)
        wav = griffin_lim(
            mag,
            self.n_fft,
            self._hop,
            self.window,
            length=x.shape[-1] * self._hop,
            n_iter=self.griffin_lim_iters,
            momentum=self.griffin_lim_momentum,
            generator=gen,
        )
        return wav.unsqueeze(1)
