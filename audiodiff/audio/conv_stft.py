"""STFT and inverse STFT as convolutions with the windowed DFT basis: ops that export to ONNX.

``torch.istft`` has no ONNX form and onnxruntime has no ISTFT kernel. Written out, a centred
inverse STFT is an inverse real DFT per frame, a window, overlap-add and a division by the
summed squared window (the least-squares inverse of Griffin & Lim 1984, eq. 6, which
``torch.istft`` computes). The first three are one transposed convolution whose kernels are
the windowed inverse-DFT basis functions, with stride hop; the envelope is a second one
over ones. ``ConvSTFT`` is the forward transform the same way (a strided convolution with
the windowed DFT basis), for Griffin-Lim's projections. Both do O(n_fft^2) work per frame
against the FFT's O(n_fft log n_fft), so the torch code paths keep ``torch.stft`` /
``torch.istft``; ``audiodiff.export`` switches these in for the graphs it writes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NOLA_FLOOR = 1e-11  # torch.istft's threshold on the window envelope


def _angles(n_fft: int) -> Tensor:
    """2 pi k n / n_fft for the one-sided bins k and the samples n, [F, n_fft] float64;
    k n is reduced mod n_fft in integers first, so large products lose nothing."""
    k = torch.arange(n_fft // 2 + 1)[:, None]
    n = torch.arange(n_fft)[None, :]
    return 2 * math.pi * ((k * n) % n_fft).double() / n_fft


class ConvISTFT(nn.Module):
    """``torch.istft(spec, n_fft, hop_length, window, center=True, length=...)`` with
    ``spec = real + i imag``, as a transposed convolution (module doc).

    real, imag: [B, F, T] with F = n_fft // 2 + 1 -> wav: [B, length]; ``length`` None is
    T * hop_length, the convention of every decoder here (frame t centred on sample
    t * hop). As ``torch.istft`` (an inverse real FFT), the imaginary parts of the DC and,
    for even n_fft, Nyquist bins are ignored; samples where the window envelope is below
    ``NOLA_FLOOR`` are not divided (``torch.istft`` refuses such windows).
    """

    def __init__(self, n_fft: int, hop_length: int, window: Tensor) -> None:
        super().__init__()
        if window.shape != (n_fft,):
            raise ValueError(f"window must have n_fft={n_fft} samples, got {list(window.shape)}")
        self.n_fft = n_fft
        self.hop_length = hop_length
        angle = _angles(n_fft)  # [F, N]
        bins = angle.shape[0]
        weight = torch.full((bins, 1), 2.0, dtype=torch.float64)  # each bin and its mirror
        weight[0] = 1.0
        if n_fft % 2 == 0:
            weight[-1] = 1.0  # Nyquist has no mirror
        w = window.detach().double().cpu()
        real = weight * angle.cos() * w / n_fft
        imag = -weight * angle.sin() * w / n_fft
        basis = torch.cat([real, imag])[:, None, :]  # [2F, 1, N]
        self.register_buffer("basis", basis.float(), persistent=False)
        self.register_buffer("window_sq", w.square().float().view(1, 1, -1), persistent=False)

    def forward(self, real: Tensor, imag: Tensor, length: int | None = None) -> Tensor:
        # real, imag: [B, F, T] -> wav: [B, length]
        frames = real.shape[-1]
        start = self.n_fft // 2
        frames_ola = F.conv_transpose1d(
            torch.cat([real, imag], dim=1), self.basis.to(real.dtype), stride=self.hop_length
        )  # [B, 1, (T - 1) hop + n_fft]
        ones = torch.ones_like(real[:1, :1])  # [1, 1, T]
        envelope = F.conv_transpose1d(ones, self.window_sq.to(real.dtype), stride=self.hop_length)
        if length is None:  # then the shortfall is static, even for a symbolic T
            length = frames * self.hop_length
            short = self.hop_length - (self.n_fft - start)
        else:
            short = length - (frames_ola.shape[-1] - start)
        if isinstance(short, int) and short > 0:  # as torch.istft: zeros at the end
            frames_ola = F.pad(frames_ola, (0, short))
            envelope = F.pad(envelope, (0, short), value=1.0)
        y = frames_ola[..., start : start + length]
        envelope = envelope[..., start : start + length]
        y = y / torch.where(envelope > NOLA_FLOOR, envelope, torch.ones_like(envelope))
        return y[:, 0]


class ConvSTFT(nn.Module):
    """``torch.stft(wav, n_fft, hop_length, window=window, center=True, pad_mode=pad_mode,
    return_complex=True)`` as (real, imag), by a strided convolution with the windowed DFT
    basis (module doc).

    wav: [B, N] -> real, imag: [B, n_fft // 2 + 1, N // hop_length + 1]; reflect padding
    (``audiodiff.audio.spectral.stft``'s) needs N > n_fft // 2.
    """

    def __init__(
        self, n_fft: int, hop_length: int, window: Tensor, pad_mode: str = "reflect"
    ) -> None:
        super().__init__()
        if window.shape != (n_fft,):
            raise ValueError(f"window must have n_fft={n_fft} samples, got {list(window.shape)}")
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.pad_mode = pad_mode
        angle = _angles(n_fft)
        w = window.detach().double().cpu()
        basis = torch.cat([angle.cos() * w, -angle.sin() * w])[:, None, :]  # [2F, 1, N]
        self.register_buffer("basis", basis.float(), persistent=False)

    def forward(self, wav: Tensor) -> tuple[Tensor, Tensor]:
        # wav: [B, N] -> real, imag: [B, F, N // hop + 1]
        pad = self.n_fft // 2
        x = F.pad(wav[:, None], (pad, pad), mode=self.pad_mode)
        out = F.conv1d(x, self.basis.to(wav.dtype), stride=self.hop_length)  # [B, 2F, T]
        bins = self.n_fft // 2 + 1
        return out[:, :bins], out[:, bins:]
