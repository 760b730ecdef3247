"""Amplitude-compressed complex STFT representation: keeps the phase, inverts exactly.

Mel + vocoder invents the phase; restoration (denoising, dereverberation, declipping) needs a
representation that keeps it. This is the one of SGMSE / SGMSE+ (Welker et al. 2022, "Speech
Enhancement with Score-Based Generative Models in the Complex STFT Domain"; Richter et al.
2023, "Speech Enhancement and Dereverberation with Diffusion-based Generative Models"): each
STFT coefficient X is compressed to c * |X|^a * e^{i angle(X)} (a = 0.5, c = 0.15 at n_fft
510, hop 128, Hann window), which brings the heavy-tailed magnitudes of speech to a narrower
range while keeping the map invertible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from audiodiff.audio.representation import Representation

# Analysis/synthesis windows by config name; each satisfies NOLA at hop <= n_fft / 2.
WINDOWS: dict[str, Callable[[int], torch.Tensor]] = {
    "hann": torch.hann_window,
    "sqrt_hann": lambda n: torch.hann_window(n).sqrt(),
}


class StftRepresentation(Representation):
    """x = [Re Y; Im Y] with Y = scale * |X|^alpha * e^{i angle(X)}, X = STFT(wav).

    **Shapes and channel order.** ``encode``: wav [B, 1, N] -> x [B, 2F, T], F = n_fft // 2 + 1,
    T = N // hop_length. Channels ``0 .. F-1`` are the real parts of bins 0 .. F-1 and
    channels ``F .. 2F-1`` the imaginary parts of the same bins (two blocks, not interleaved);
    bin k is at ``k * sample_rate / n_fft`` Hz (``bin_frequencies``). ``to_complex`` /
    ``from_complex`` convert between x and the compressed complex spectrogram Y [B, F, T].

    **Framing and length.** A centred STFT (``torch.stft``, ``center=True``, zero padding of
    n_fft // 2 at both ends) of the first ``T * hop_length`` samples: a waveform whose length
    is not a multiple of the hop is cropped to ``num_frames(N) * hop_length`` samples first, so
    ``encode(wav) == encode(wav[..., :T * hop])`` and ``decode(encode(wav))`` returns that
    crop. Frame t is centred on sample ``t * hop``; the centred frame at sample N (which
    ``torch.stft`` would add) is dropped. ``decode`` is ``torch.istft`` with ``length = T *
    hop``, the exact inverse: the round trip is within float32 rounding (see below; tested at
    1e-5).

    **Compression near zero.** The law ``scale * |X|^alpha`` has an infinite slope at |X| = 0
    for alpha < 1, so below ``|X| = eps`` it continues linearly: Y = scale * X *
    max(|X|, eps)^(alpha - 1). That is the exact law for every |X| >= eps (1e-8 by default,
    ~-160 dB below a full-scale sinusoid's bin), finite gradients everywhere (silence
    included), and ``decompress`` inverts both pieces exactly.

    **Scale of x** (measured with the defaults at 16 kHz; set ``diffusion.sigma_data`` to it):
    std(x) = 0.070 over the built-in synth set (``build_synth``, n = 50, all coefficients of
    all clips pooled; mean 1e-6), and 0.37 / 0.117 / 0.037 on white noise of std 1.0 / 0.1 /
    0.01. It scales as level^alpha (std(x) ~ 0.37 * sigma_noise^0.5 for white noise), so
    unlike the normalised mel it is far from unit variance: sigma_data ~ 0.07 for the synth
    set. Round trip on those clips: max abs error 4e-7 (1.4e-6 on unit-variance noise).
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 510,
        hop_length: int = 128,
        alpha: float = 0.5,
        scale: float = 0.15,
        window: str = "hann",
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        if n_fft < 2 * hop_length:
            raise ValueError(f"n_fft ({n_fft}) must be >= 2 * hop_length ({hop_length})")
        if not (0 < alpha <= 1 and scale > 0 and eps > 0):
            raise ValueError(
                f"need 0 < alpha <= 1, scale > 0, eps > 0; got {alpha=}, {scale=}, {eps=}"
            )
        if window not in WINDOWS:
            raise ValueError(f"window must be one of {sorted(WINDOWS)}, got {window!r}")
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self._hop = hop_length
        self.alpha = alpha
        self.scale = scale
        self.window_name = window
        self.eps = eps
        self.register_buffer("window", WINDOWS[window](n_fft), persistent=False)

    @property
    def n_bins(self) -> int:
        """F: frequency bins of the one-sided STFT."""
        return self.n_fft // 2 + 1

    @property
    def channels(self) -> int:
        return 2 * self.n_bins

    @property
    def hop_length(self) -> int:
        return self._hop

    def config(self) -> dict[str, Any]:
        return {
            "sample_rate": self.sample_rate,
            "n_fft": self.n_fft,
            "hop_length": self._hop,
            "alpha": self.alpha,
            "scale": self.scale,
            "window": self.window_name,
            "eps": self.eps,
        }

    def bin_frequencies(self, device: torch.device | str | None = None) -> torch.Tensor:
        """Centre frequency in Hz of each bin: [F] = k * sample_rate / n_fft, k = 0 .. F-1."""
        return torch.arange(self.n_bins, device=device) * (self.sample_rate / self.n_fft)

    # --- waveform <-> raw complex STFT X ---------------------------------------------------

    def stft(self, wav: torch.Tensor) -> torch.Tensor:
        """Uncompressed STFT of the first T * hop samples.

        wav: [B, 1, N] -> X: [B, F, T] complex, T = N // hop_length
        """
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise ValueError(f"expected wav of shape [B, 1, N], got {tuple(wav.shape)}")
        n_frames = self.num_frames(wav.shape[-1])
        if n_frames < 1:
            raise ValueError(f"need at least hop_length={self._hop} samples, got {wav.shape[-1]}")
        spec = torch.stft(
            wav[:, 0, : n_frames * self._hop].float(),
            self.n_fft,
            hop_length=self._hop,
            window=self.window.to(wav.device),
            center=True,
            pad_mode="constant",
            return_complex=True,
        )  # [B, F, T + 1]
        return spec[..., :n_frames]

    def istft(self, spec: torch.Tensor) -> torch.Tensor:
        """Inverse of ``stft``. spec: [B, F, T] complex -> wav: [B, 1, T * hop_length]"""
        wav = torch.istft(
            spec,
            self.n_fft,
            hop_length=self._hop,
            window=self.window.to(spec.device),
            center=True,
            length=spec.shape[-1] * self._hop,
        )
        return wav.unsqueeze(1)

    # --- amplitude compression X <-> Y -----------------------------------------------------

    def compress(self, spec: torch.Tensor) -> torch.Tensor:
        """Y = scale * |X|^alpha * e^{i angle X} (Richter et al. 2023), linear below eps.

        spec: [..., F, T] complex -> [..., F, T] complex
        """
        # abs() of a complex tensor has gradient sgn(X) = 0 at X = 0, and clamp_min stops it
        # below eps: no NaN at silence.
        return self.scale * spec * spec.abs().clamp_min(self.eps) ** (self.alpha - 1)

    def decompress(self, comp: torch.Tensor) -> torch.Tensor:
        """Exact inverse of ``compress``: X = Z * max(|Z|, eps^alpha)^(1/alpha - 1), Z = Y / scale.

        comp: [..., F, T] complex -> [..., F, T] complex
        """
        z = comp / self.scale
        return z * z.abs().clamp_min(self.eps**self.alpha) ** (1 / self.alpha - 1)

    # --- x <-> compressed complex Y --------------------------------------------------------

    def to_complex(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, 2F, T] (real block, then imaginary block) -> Y: [B, F, T] complex"""
        if x.dim() != 3 or x.shape[1] != self.channels:
            raise ValueError(f"expected x of shape [B, {self.channels}, T], got {tuple(x.shape)}")
        real, imag = x.float().split(self.n_bins, dim=1)
        return torch.complex(real, imag)

    def from_complex(self, comp: torch.Tensor) -> torch.Tensor:
        """Y: [B, F, T] complex -> x: [B, 2F, T] (real block, then imaginary block)"""
        if comp.dim() != 3 or comp.shape[1] != self.n_bins:
            raise ValueError(f"expected Y of shape [B, {self.n_bins}, T], got {tuple(comp.shape)}")
        return torch.cat([comp.real, comp.imag], dim=1)

    # --- the Representation interface ------------------------------------------------------

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: [B, 1, N] -> x: [B, 2 * (n_fft // 2 + 1), N // hop_length]"""
        return self.from_complex(self.compress(self.stft(wav)))

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, 2F, T] -> wav: [B, 1, T * hop_length] (differentiable, for posterior sampling)"""
        return self.istft(self.decompress(self.to_complex(x)))
