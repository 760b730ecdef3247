"""Paired (reference-based) metrics on waveforms, batched over leading dimensions.

All functions take ``est`` and ``ref`` of shape [..., N] (same leading dims) and return [...]
on the inputs' device. When the two lengths differ, both are trimmed to the shorter one
(the tail of the longer signal is ignored). STFTs use a Hann window of length ``n_fft``
built on the input's device, ``center=True`` with zero padding, and no normalisation.
"""

from __future__ import annotations

import functools
import importlib
import math
import warnings
from types import ModuleType

import numpy as np
import torch

from audiodiff.audio.io import resample

EPS = 1e-8
LSD_POWER_FLOOR = 1e-10  # floor on |STFT|^2 before log10 in LSD
MAG_POWER_FLOOR = 1e-7  # floor on |STFT|^2 before sqrt in MR-STFT (as in Parallel WaveGAN)
MRSTFT_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))  # (n_fft, hop)


def _align(est: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Trim both to the shorter length; cast non-float input to float32."""
    # est: [..., Ne], ref: [..., Nr] -> [..., min(Ne, Nr)] each
    est, ref = torch.as_tensor(est), torch.as_tensor(ref)
    if not est.is_floating_point():
        est = est.float()
    if not ref.is_floating_point():
        ref = ref.float()
    n = min(est.shape[-1], ref.shape[-1])
    if n == 0:
        raise ValueError("est and ref must have at least one sample")
    return est[..., :n], ref.to(est.dtype)[..., :n]


def _stft_power(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Power spectrogram |STFT|^2."""
    # x: [..., N] -> [..., n_fft // 2 + 1, frames]
    lead = x.shape[:-1]
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    spec = torch.stft(
        x.reshape(-1, x.shape[-1]),
        n_fft,
        hop_length=hop,
        window=window,
        center=True,
        pad_mode="constant",
        return_complex=True,
    )  # [B, F, T]
    power = spec.real.square() + spec.imag.square()
    return power.reshape(*lead, *power.shape[-2:])


def si_sdr(est: torch.Tensor, ref: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Scale-invariant SDR in dB on zero-mean signals (Le Roux et al. 2019, "SDR - half-baked")."""
    # est, ref: [..., N] -> [...]
    est, ref = _align(est, ref)
    est = est - est.mean(dim=-1, keepdim=True)
    ref = ref - ref.mean(dim=-1, keepdim=True)
    alpha = (est * ref).sum(-1, keepdim=True) / (ref.square().sum(-1, keepdim=True) + eps)
    target = alpha * ref  # [..., N]
    noise = est - target
    return 10 * torch.log10((target.square().sum(-1) + eps) / (noise.square().sum(-1) + eps))


def log_spectral_distance(
    est: torch.Tensor, ref: torch.Tensor, n_fft: int = 2048, hop: int = 512
) -> torch.Tensor:
    """Log-spectral distance (Kuleshov et al. 2017; NU-Wave, Lee & Han 2021).

    LSD = mean_t sqrt(mean_f (log10 P_ref(t, f) - log10 P_est(t, f))^2) with P = |STFT|^2
    floored at 1e-10. Unitless (log10 of power); 0 for identical signals.
    """
    # est, ref: [..., N] -> [...]
    est, ref = _align(est, ref)
    log_est = torch.log10(_stft_power(est, n_fft, hop).clamp_min(LSD_POWER_FLOOR))  # [..., F, T]
    log_ref = torch.log10(_stft_power(ref, n_fft, hop).clamp_min(LSD_POWER_FLOOR))
    return (log_ref - log_est).square().mean(dim=-2).sqrt().mean(dim=-1)


def _mags(est: torch.Tensor, ref: torch.Tensor, n_fft: int, hop: int):
    # est, ref: [..., N] -> [..., F, T] magnitudes each, power floored before sqrt
    mag_est = _stft_power(est, n_fft, hop).clamp_min(MAG_POWER_FLOOR).sqrt()
    mag_ref = _stft_power(ref, n_fft, hop).clamp_min(MAG_POWER_FLOOR).sqrt()
    return mag_est, mag_ref


def _spectral_convergence(mag_est: torch.Tensor, mag_ref: torch.Tensor) -> torch.Tensor:
    # mag_est, mag_ref: [..., F, T] -> [...]
    num = (mag_ref - mag_est).square().sum(dim=(-2, -1)).sqrt()
    return num / (mag_ref.square().sum(dim=(-2, -1)).sqrt() + EPS)


def spectral_convergence(
    est: torch.Tensor, ref: torch.Tensor, n_fft: int = 2048, hop: int = 512
) -> torch.Tensor:
    """|| |S_ref| - |S_est| ||_F / || |S_ref| ||_F (Arik et al. 2019; Yamamoto et al. 2020)."""
    # est, ref: [..., N] -> [...]
    est, ref = _align(est, ref)
    return _spectral_convergence(*_mags(est, ref, n_fft, hop))


def multi_resolution_stft_distance(
    est: torch.Tensor,
    ref: torch.Tensor,
    resolutions: tuple[tuple[int, int], ...] = MRSTFT_RESOLUTIONS,
) -> torch.Tensor:
    """Mean over (n_fft, hop) resolutions of spectral convergence + mean |log|S_ref| - log|S_est||.

    Multi-resolution STFT loss of Parallel WaveGAN (Yamamoto et al. 2020), win_length = n_fft.
    """
    # est, ref: [..., N] -> [...]
    est, ref = _align(est, ref)
    total = torch.zeros(est.shape[:-1], device=est.device, dtype=est.dtype)
    for n_fft, hop in resolutions:
        mag_est, mag_ref = _mags(est, ref, n_fft, hop)  # [..., F, T]
        log_mag = (mag_ref.log() - mag_est.log()).abs().mean(dim=(-2, -1))
        total = total + _spectral_convergence(mag_est, mag_ref) + log_mag
    return total / len(resolutions)


@functools.cache
def _optional(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def optional_metrics_available() -> dict[str, bool]:
    """Which optional metric packages are importable: {"pesq": bool, "stoi": bool}."""
    return {"pesq": _optional("pesq") is not None, "stoi": _optional("pystoi") is not None}


def mono_numpy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    # x: [N] or [C, N] -> its channel mean [N], float32 numpy (also used by metrics.pitch)
    x = torch.as_tensor(x).detach().float().cpu()
    return x.reshape(-1, x.shape[-1]).mean(dim=0).numpy()


def pesq_score(
    est: torch.Tensor | np.ndarray, ref: torch.Tensor | np.ndarray, sr: int
) -> float | None:
    """Wideband PESQ (ITU-T P.862.2) of one clip [N] via the ``pesq`` package, at 16 kHz.

    Resamples to 16 kHz when needed. Returns None when ``pesq`` is not installed, when the
    reference is silent or when PESQ detects no utterance (or fails on a near-silent clip).
    """
    # est, ref: [N] -> float
    pesq = _optional("pesq")
    if pesq is None:
        return None
    est, ref = _align(torch.as_tensor(est), torch.as_tensor(ref))
    est_np, ref_np = mono_numpy(est), mono_numpy(ref)
    if sr != 16000:
        est_np = resample(torch.from_numpy(est_np)[None], sr, 16000)[0].numpy()
        ref_np = resample(torch.from_numpy(ref_np)[None], sr, 16000)[0].numpy()
    if not np.abs(ref_np).max() > 0 or not np.abs(est_np).max() > 0:
        return None
    try:
        score = float(pesq.pesq(16000, ref_np, est_np, "wb"))
    except (pesq.PesqError, ValueError):  # ValueError: NaN inside, on denormal-level input
        return None
    return score if math.isfinite(score) else None


def stoi_score(
    est: torch.Tensor | np.ndarray,
    ref: torch.Tensor | np.ndarray,
    sr: int,
    extended: bool = False,
) -> float | None:
    """STOI (Taal et al. 2011; ESTOI, Jensen & Taal 2016, with ``extended``) of one clip [N]
    via ``pystoi``; None when it is not installed or the clip is too short (or too silent)
    for STOI's 384 ms analysis window."""
    # est, ref: [N] -> float
    pystoi = _optional("pystoi")
    if pystoi is None:
        return None
    est, ref = _align(torch.as_tensor(est), torch.as_tensor(ref))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            score = float(pystoi.stoi(mono_numpy(ref), mono_numpy(est), sr, extended=extended))
        except ValueError:  # numpy's AxisError: fewer than one STFT frame left
            return None
    # pystoi warns and returns 1e-5 when too little non-silent speech is left: no score.
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return None
    return score if math.isfinite(score) else None
