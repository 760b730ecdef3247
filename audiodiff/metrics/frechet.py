"""Fréchet distance between sets of clips on fixed hand-crafted features.

Features per clip (``clip_features``, D = 54), computed after resampling to 16 kHz so the
numbers do not depend on the file's rate, with a 1024-sample (64 ms) Hann STFT and a 256-sample
(16 ms) hop:
  [0:20]  mean over frames of 20 MFCCs (64 mel bands, 0-8 kHz, dB power, DCT-II ortho)
  [20:40] standard deviation over frames of the same MFCCs
  [40:47] mean over frames of 7 spectral-contrast values (6 octave bands from 100 Hz + rest)
  [47:54] standard deviation over frames of the same spectral contrast
The distance is the Fréchet distance between Gaussians fitted to two sets of such vectors
(Heusel et al. 2017, as in FID/FAD). ``evaluate`` first divides every feature by its standard
deviation over the reference set (``standardize``), so each of the 54 features counts on the
same scale instead of MFCC 0 (loudness, in dB) dominating; FD is then in units of reference
variance. It is biased upward for small sets (it shrinks as the sets
grow), so only compare numbers computed on sets of similar size, e.g. against
``frechet_floor`` of a reference set of the size of the generated set.
"""

from __future__ import annotations

import librosa
import numpy as np
import scipy.linalg
import torch

from audiodiff.audio.io import resample

FEATURE_SR = 16000
N_FFT = 1024
HOP = 256
N_MFCC = 20
N_MELS = 64
CONTRAST_BANDS = 6  # -> 7 contrast values
CONTRAST_FMIN = 100.0  # 100 * 2**6 = 6.4 kHz stays below the 8 kHz Nyquist of 16 kHz audio
FEATURE_DIM = 2 * (N_MFCC + CONTRAST_BANDS + 1)


def clip_features(wav: np.ndarray | torch.Tensor, sr: int) -> np.ndarray:
    """Feature vector of one mono clip (see module docstring for the layout)."""
    # wav: [N] (or [C, N], channels averaged) -> [FEATURE_DIM] float64
    x = torch.as_tensor(wav).detach().float().cpu()
    x = x.reshape(-1, x.shape[-1]).mean(dim=0, keepdim=True)  # [1, N]
    y = resample(x, sr, FEATURE_SR)[0].numpy()  # [N16]
    mag = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, window="hann"))  # [F, T]
    mel = librosa.feature.melspectrogram(
        S=mag**2, sr=FEATURE_SR, n_fft=N_FFT, n_mels=N_MELS, fmin=0.0, fmax=FEATURE_SR / 2
    )  # [N_MELS, T]
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=N_MFCC)  # [20, T]
    contrast = librosa.feature.spectral_contrast(
        S=mag,
        sr=FEATURE_SR,
        n_fft=N_FFT,
        hop_length=HOP,
        n_bands=CONTRAST_BANDS,
        fmin=CONTRAST_FMIN,
    )  # [7, T]
    parts = [mfcc.mean(1), mfcc.std(1), contrast.mean(1), contrast.std(1)]
    return np.concatenate(parts).astype(np.float64)


def _is_singular(cov: np.ndarray, n: int) -> bool:
    # cov: [D, D]; a sample covariance of n <= D vectors has rank <= n - 1 < D
    return n <= cov.shape[0] or np.linalg.matrix_rank(cov, hermitian=True) < cov.shape[0]


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray, eps: float = 1e-6) -> float:
    """||mu_a - mu_b||^2 + Tr(Ca + Cb - 2 sqrt(Ca Cb)) (Heusel et al. 2017).

    Needs at least 2 vectors per set. When a covariance is singular (always when a set has
    n <= D vectors) or sqrtm is not finite, both get eps * mean variance * I added before the
    formula, which keeps sqrtm stable and FD(x, x) = 0. The real part of sqrtm is used and the
    result is clamped at 0 against rounding.
    """
    # feats_a: [n, D], feats_b: [m, D] -> float
    a, b = np.asarray(feats_a, dtype=np.float64), np.asarray(feats_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected [n, D] and [m, D] features, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 vectors per set, got {len(a)} and {len(b)}")
    diff = a.mean(0) - b.mean(0)  # [D]
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))  # [D, D]
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    scale = max(float(np.trace(cov_a) + np.trace(cov_b)) / (2 * len(diff)), 1e-12)
    offset = eps * scale * np.eye(len(diff))
    if _is_singular(cov_a, len(a)) or _is_singular(cov_b, len(b)):
        cov_a, cov_b = cov_a + offset, cov_b + offset
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b)  # [D, D], possibly complex
    if not np.isfinite(covmean).all():  # numerically singular after all: regularise and retry
        cov_a, cov_b = cov_a + offset, cov_b + offset
        covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    covmean = np.real(covmean)
    fd = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean)
    if not np.isfinite(fd):
        raise ValueError("Fréchet distance is not finite (non-finite features?)")
    return max(float(fd), 0.0)


def standardize(feats: np.ndarray, feats_ref: np.ndarray) -> np.ndarray:
    """Divide each feature by its standard deviation over the reference set.

    feats: [n, D], feats_ref: [m, D] -> [n, D]. Features constant over the reference keep
    their scale (divided by 1).
    """
    sd = np.asarray(feats_ref, dtype=np.float64).std(axis=0)  # [D]
    return np.asarray(feats, dtype=np.float64) / np.where(sd > 1e-12, sd, 1.0)


def frechet_floor(feats_ref: np.ndarray) -> float:
    """FD between the even- and odd-indexed halves of a reference set (in sorted-file order).

    A floor for ``frechet_distance`` against this reference at half its size; needs >= 4 clips.
    """
    # feats_ref: [n, D] -> float
    feats = np.asarray(feats_ref, dtype=np.float64)
    return frechet_distance(feats[0::2], feats[1::2])
