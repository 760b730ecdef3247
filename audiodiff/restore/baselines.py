"""Classical single-channel denoisers: the baselines a diffusion restorer must beat.

Every function maps a noisy waveform ``wav: [B, 1, N]`` (torch, any float dtype, any device)
at ``sample_rate`` to an estimate of the clean one, ``[B, 1, N]`` float32 on the same device;
batch items are processed independently and the result is deterministic. The STFT is a
centred Hann STFT with zero padding; ``n_fft`` defaults to the largest power of two <= 32 ms
(512 at 16 kHz, 1024 at 44.1/48 kHz) and ``hop_length`` to n_fft / 4 (128 at 16 kHz).

The noise spectrum is estimated from the clip itself: the mean over its quietest frames
(``quiet_fraction`` of the frames with the least energy, the frames that touch the padding
excluded). That needs the clip to contain some pauses (speech, notes with rests); on a clip
with sound everywhere it over-estimates the noise where the sound is steadiest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np
import torch
from torch import Tensor


def _frame_sizes(sample_rate: int, n_fft: int | None, hop_length: int | None) -> tuple[int, int]:
    """Defaults: n_fft = the largest power of two <= 32 ms, hop = n_fft / 4."""
    if n_fft is None:
        n_fft = 2 ** ((sample_rate * 32 // 1000).bit_length() - 1)
    return n_fft, hop_length or n_fft // 4


def _check(wav: Tensor) -> None:
    if wav.dim() != 3 or wav.shape[1] != 1:
        raise ValueError(f"expected wav of shape [B, 1, N], got {tuple(wav.shape)}")
    if wav.shape[-1] < 1:
        raise ValueError("wav must have at least one sample")


def _stft(wav: Tensor, n_fft: int, hop: int) -> Tensor:
    # wav: [B, 1, N] -> spec: [B, F, N // hop + 1] complex
    return torch.stft(
        wav[:, 0].float(),
        n_fft,
        hop_length=hop,
        window=torch.hann_window(n_fft, device=wav.device),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )


def _istft(spec: Tensor, n_fft: int, hop: int, length: int) -> Tensor:
    # spec: [B, F, T] complex -> wav: [B, 1, length]
    window = torch.hann_window(n_fft, device=spec.device)
    return torch.istft(spec, n_fft, hop_length=hop, window=window, center=True, length=length)[
        :, None
    ]


def quiet_frame_noise_estimate(
    spec_power: Tensor, num_samples: int, hop_length: int, n_fft: int, quiet_fraction: float = 0.1
) -> Tensor:
    """Mean of ``spec_power`` over the ``quiet_fraction`` of frames with the least total energy.

    spec_power: [B, F, T] (|Y|^p for any p) -> noise estimate [B, F, 1]. Frames whose window
    reaches into the STFT's zero padding are not candidates (unless no other frame exists).
    """
    n_frames = spec_power.shape[-1]
    centres = torch.arange(n_frames, device=spec_power.device) * hop_length
    inside = (centres - n_fft // 2 >= 0) & (centres + n_fft // 2 <= num_samples)  # [T]
    if not inside.any():
        inside = torch.ones_like(inside)
    energy = spec_power.sum(dim=1).masked_fill(~inside, math.inf)  # [B, T]
    k = max(1, math.ceil(quiet_fraction * int(inside.sum())))
    idx = energy.topk(k, dim=-1, largest=False).indices  # [B, k]
    quiet = spec_power.gather(-1, idx[:, None, :].expand(-1, spec_power.shape[1], -1))
    return quiet.mean(dim=-1, keepdim=True)


def _noise_level(
    spec: Tensor,
    num_samples: int,
    noise: Tensor | None,
    n_fft: int,
    hop: int,
    quiet_fraction: float,
    power: int,
) -> Tensor:
    """E|N(f)|^power: over all frames of ``noise`` when given, else over the quietest frames.

    spec: [B, F, T] complex STFT of the noisy clip; noise: [B or 1, 1, M] or None -> [B, F, 1]
    """
    if noise is None:
        level = spec.abs() ** power
        return quiet_frame_noise_estimate(level, num_samples, hop, n_fft, quiet_fraction)
    _check(noise)
    if noise.shape[0] not in (1, spec.shape[0]):
        raise ValueError(f"noise batch {noise.shape[0]} does not match wav batch {spec.shape[0]}")
    level = _stft(noise, n_fft, hop).abs() ** power
    estimate = quiet_frame_noise_estimate(level, noise.shape[-1], hop, n_fft, quiet_fraction=1.0)
    return estimate.expand(spec.shape[0], -1, -1)


def spectral_subtraction(
    wav: Tensor,
    sample_rate: int,
    *,
    n_fft: int | None = None,
    hop_length: int | None = None,
    over_subtraction: float = 1.5,
    floor: float = 0.05,
    quiet_fraction: float = 0.1,
    noise: Tensor | None = None,
) -> Tensor:
    """Magnitude spectral subtraction (Boll 1979) with over-subtraction and a spectral floor
    (Berouti et al. 1979); the noisy phase is kept.

    wav: [B, 1, N] -> [B, 1, N]. The noise magnitude mu(f) is the mean |Y| over the quietest
    frames (``quiet_frame_noise_estimate``), or the mean |N| of ``noise`` [B or 1, 1, M], a
    noise-only recording (an oracle estimate, where the benchmark knows its noise).
    """
    _check(wav)
    n_fft, hop = _frame_sizes(sample_rate, n_fft, hop_length)
    spec = _stft(wav, n_fft, hop)  # [B, F, T]
    mag = spec.abs()
    mu = _noise_level(spec, wav.shape[-1], noise, n_fft, hop, quiet_fraction, 1)  # [B, F, 1]
    # |S| = |Y| - alpha * mu where that exceeds beta * mu, else beta * mu (Berouti et al. 1979)
    clean_mag = torch.maximum(mag - over_subtraction * mu, floor * mu)
    gain = (clean_mag / mag.clamp_min(1e-12)).clamp_max(1.0)  # the floor never amplifies
    return _istft(gain * spec, n_fft, hop, wav.shape[-1])


def wiener_decision_directed(
    wav: Tensor,
    sample_rate: int,
    *,
    n_fft: int | None = None,
    hop_length: int | None = None,
    alpha: float = 0.98,
    xi_min_db: float = -25.0,
    quiet_fraction: float = 0.1,
    noise: Tensor | None = None,
) -> Tensor:
    """Wiener filter with the decision-directed a priori SNR (Ephraim & Malah 1984, eq. 51).

    wav: [B, 1, N] -> [B, 1, N]. The noise PSD lambda(f) is the mean |Y|^2 over the quietest
    frames, or the mean |N|^2 of ``noise`` [B or 1, 1, M] when given; the a priori SNR is
    floored at ``xi_min_db`` (Cappe 1994), which limits musical noise.
    """
    _check(wav)
    n_fft, hop = _frame_sizes(sample_rate, n_fft, hop_length)
    spec = _stft(wav, n_fft, hop)  # [B, F, T]
    power = spec.real.square() + spec.imag.square()
    lam = _noise_level(spec, wav.shape[-1], noise, n_fft, hop, quiet_fraction, 2)
    lam = lam.clamp_min(1e-12)  # [B, F, 1]
    gamma = power / lam  # a posteriori SNR |Y|^2 / lambda, [B, F, T]
    xi_min = 10.0 ** (xi_min_db / 10)
    prev = torch.ones_like(lam[..., 0])  # |S_{t-1}|^2 / lambda; 1 before the first frame
    gains = []
    for t in range(spec.shape[-1]):
        ml = (gamma[..., t] - 1).clamp_min(0)  # maximum-likelihood SNR estimate
        # xi_t = alpha |S_{t-1}|^2 / lambda + (1 - alpha) max(gamma_t - 1, 0)   (E&M eq. 51)
        xi = (alpha * prev + (1 - alpha) * ml).clamp_min(xi_min)
        gain = xi / (1 + xi)  # Wiener gain G = xi / (1 + xi)
        prev = gain.square() * gamma[..., t]  # |G Y_t|^2 / lambda
        gains.append(gain)
    return _istft(torch.stack(gains, dim=-1) * spec, n_fft, hop, wav.shape[-1])


def quiet_blocks(clip: np.ndarray, block: int, quiet_fraction: float = 0.1) -> np.ndarray:
    """The ``quiet_fraction`` of non-overlapping ``block``-sample blocks of least energy, in
    time order and joined: a noise-only clip for ``noisereduce``. clip: [N] -> [k * block]"""
    n_blocks = len(clip) // block
    if n_blocks < 1:
        return clip
    blocks = clip[: n_blocks * block].reshape(n_blocks, block)
    k = max(1, math.ceil(quiet_fraction * n_blocks))
    return blocks[np.sort(np.argsort(np.square(blocks).sum(1), kind="stable")[:k])].reshape(-1)


def noisereduce_denoise(
    wav: Tensor,
    sample_rate: int,
    *,
    stationary: bool = True,
    n_fft: int | None = None,
    hop_length: int | None = None,
    quiet_fraction: float = 0.1,
    noise: Tensor | None = None,
) -> Tensor:
    """Spectral gating by the ``noisereduce`` package (Sainburg et al. 2020), stationary or
    non-stationary; an optional baseline, not a dependency of audiodiff.

    wav: [B, 1, N] -> [B, 1, N]. Each clip is denoised on its own, on the CPU. The stationary
    gate gets ``noise`` [B or 1, 1, M] as its noise clip (``y_noise``) when given, else the
    clip's quietest blocks (without any it takes its statistics from the whole clip and gates
    away most of a clip with pauses); the non-stationary gate ignores ``noise`` and runs on
    noisereduce's defaults (a 2 s running estimate).
    """
    try:
        import noisereduce
    except ImportError as e:
        raise ImportError(
            "the noisereduce baseline needs the optional `noisereduce` package:"
            " pip install noisereduce"
        ) from e
    _check(wav)
    n_fft, hop = _frame_sizes(sample_rate, n_fft, hop_length)
    clips = wav[:, 0].detach().float().cpu().numpy()  # [B, N]
    if noise is not None:
        _check(noise)
        if noise.shape[0] not in (1, len(clips)):
            raise ValueError(f"noise batch {noise.shape[0]} does not match wav batch {len(clips)}")
        noise_clips = noise[:, 0].detach().float().cpu().numpy()  # [B or 1, M]
    out = []
    for i, clip in enumerate(clips):
        if not stationary:
            y_noise = None
        elif noise is not None:
            y_noise = noise_clips[i % len(noise_clips)]
        else:
            y_noise = quiet_blocks(clip, n_fft, quiet_fraction)
        y = noisereduce.reduce_noise(
            y=clip,
            sr=sample_rate,
            stationary=stationary,
            y_noise=y_noise,
            n_fft=n_fft,
            hop_length=hop,
        )
        y = torch.from_numpy(np.asarray(y, dtype=np.float32))[: clip.shape[-1]]
        out.append(torch.nn.functional.pad(y, (0, clip.shape[-1] - y.shape[-1])))
    return torch.stack(out)[:, None].to(wav.device)


# The benchmark's baselines by name: f(wav [B, 1, N], sample_rate) -> [B, 1, N].
BASELINES: dict[str, Callable[[Tensor, int], Tensor]] = {
    "spectral_subtraction": spectral_subtraction,
    "wiener_dd": wiener_decision_directed,
    "noisereduce_stationary": partial(noisereduce_denoise, stationary=True),
    "noisereduce_nonstationary": partial(noisereduce_denoise, stationary=False),
}
