"""STFT helpers and the mel filter bank, in torch (runs wherever the tensors are)."""

from __future__ import annotations

import functools

import numpy as np
import torch


@functools.lru_cache(maxsize=16)
def _mel_filters_np(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float
) -> np.ndarray:
    import librosa  # slow import; only needed once per filter bank

    # Slaney-style mel scale and area normalisation (librosa defaults).
    return librosa.filters.mel(
        sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max
    ).astype(np.float32)


def mel_filters(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0, f_max: float | None = None
) -> torch.Tensor:
    """Mel filter bank [n_mels, n_fft // 2 + 1] from librosa."""
    f_max = sample_rate / 2 if f_max is None else f_max
    return torch.from_numpy(_mel_filters_np(sample_rate, n_fft, n_mels, f_min, f_max).copy())


def stft(wav: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    """Centred complex STFT with reflect padding.

    wav: [B, N] -> spec: [B, n_fft // 2 + 1, N // hop + 1] complex
    """
    return torch.stft(
        wav,
        n_fft,
        hop_length=hop,
        window=window.to(wav.device),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )


def istft(
    spec: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, length: int
) -> torch.Tensor:
    """Inverse of ``stft``. spec: [B, F, T] complex -> wav: [B, length]"""
    return torch.istft(
        spec, n_fft, hop_length=hop, window=window.to(spec.device), center=True, length=length
    )
