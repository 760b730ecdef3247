"""Fast Griffin-Lim phase reconstruction in torch.

Perraudin, Balazs & Sondergaard 2013, "A fast Griffin-Lim algorithm" (FGLA): Griffin & Lim's
projections (1984) with a momentum term alpha on the consistent spectrogram.
"""

from __future__ import annotations

import torch

from audiodiff.audio.spectral import istft, stft


def griffin_lim(
    magnitude: torch.Tensor,
    n_fft: int,
    hop: int,
    window: torch.Tensor,
    length: int,
    n_iter: int = 32,
    momentum: float = 0.99,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Waveform whose STFT magnitude approximates ``magnitude``.

    magnitude: [B, n_fft // 2 + 1, T] (non-negative) -> wav: [B, length]
    Phase starts random (from ``generator``, so results are reproducible) and each iteration
    is c_n = P_C(P_A(t_{n-1})); t_n = c_n + momentum * (c_n - c_{n-1})  (FGLA, eq. 5).
    """
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    # one random phase shared by every item, so an item's result does not depend on its batch
    phase = torch.rand(magnitude.shape[1:], generator=generator).to(magnitude.device)
    t = magnitude * torch.exp(2j * torch.pi * phase)
    prev = torch.zeros_like(t)
    for _ in range(n_iter):
        # P_A: impose the target magnitude; P_C: project onto consistent spectrograms.
        target = magnitude * torch.exp(1j * torch.angle(t))
        c = stft(istft(target, n_fft, hop, window, length), n_fft, hop, window)
        t = c + momentum * (c - prev)
        prev = c
    return istft(magnitude * torch.exp(1j * torch.angle(t)), n_fft, hop, window, length)
