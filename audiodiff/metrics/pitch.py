"""Pitch statistics of a clip with probabilistic YIN (Mauch & Dixon 2014, via librosa.pyin).

librosa compiles pyin with numba on its first call in a fresh cache (~20 s); later calls cost
a fraction of the clip's duration. The first call in each process runs under a lock that every
process on the machine shares (``compile_pyin_once``), so that two processes never write numba's
cache at once.

pyin reads every clip at about 48 kHz or above (``PYIN_MIN_SR``): a 16 kHz clip is upsampled
3x first, or high notes read an octave down.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path

import librosa
import numpy as np
import scipy.signal
import torch

from audiodiff.metrics.paired import mono_numpy

try:
    import fcntl
except ImportError:  # not POSIX: no lock, as before
    fcntl = None

HIT_CENTS = 50.0  # |cents_off| within this counts as hitting the target pitch
# pyin gives the global YIN minimum this probability when no trough is below threshold.
# librosa's default (0.01) makes the voicing HMM call ~40 % of white-noise frames voiced with
# 2048-sample frames at 16 kHz, because it exceeds the per-bin unvoiced probability; 1e-3 does not
# change the tracks of tones we tested.
NO_TROUGH_PROB = 1e-3
# pyin reads clips at about this rate or above: a clip well below it is upsampled by the
# nearest whole factor (16 kHz 3x, 22.05 and 24 kHz 2x, 44.1 kHz not at all). YIN's
# difference function is taken at whole-sample lags, so a note's trough is only as deep as the
# lag nearest its period allows. At 16 kHz a 1109 Hz note (MIDI 85) has a period of 14.4
# samples: the troughs at 14 and 15 stay shallow, the one at twice the period (28.9 -> 29) is
# nearly exact, and with a little noise pyin's threshold rule takes the octave below for every
# frame, though the clip has no energy there (tests/metrics/test_pitch.py). At 44.1-48 kHz the
# shortest period pyin looks for (2100 Hz) spans 21-23 samples.
PYIN_MIN_SR = 48000


LOCK_FILE = Path(tempfile.gettempdir()) / "audiodiff-numba-cache.lock"
_compiled = False


@contextlib.contextmanager
def machine_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` shared by every process on this machine (flock); none
    where the file cannot be opened or there is no fcntl."""
    try:
        handle = open(path, "a")  # closed in the finally below
    except OSError:
        handle = None
    if handle is None or fcntl is None:
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def compile_pyin_once() -> None:
    """Compile, or load from numba's cache, pyin's kernels under the machine lock, once per
    process.

    numba's on-disk cache is not safe against two processes saving kernels of one function at
    the same time: both read the index, both pick the same free data file, and when one wins
    the index and the other the data, every later process loads the wrong machine code and
    crashes. Seen here: two ``audiodiff evaluate`` started together left every later one
    dying with a segmentation fault in ``librosa.util.localmin`` until that cache file was
    deleted. pyin calls its kernels with the same types whatever the clip, so one call on a
    short tone compiles all of them.
    """
    global _compiled
    if _compiled:
        return
    sr = 16000
    tone = np.sin(2 * np.pi * 220.0 * np.arange(sr // 4) / sr).astype(np.float32)
    with machine_lock(LOCK_FILE):
        librosa.pyin(tone, fmin=60.0, fmax=2000.0, sr=sr, frame_length=1024)
    _compiled = True


def midi_to_hz(midi: float) -> float:
    """Equal-tempered frequency of a MIDI note number (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def cents(f: float, f_ref: float) -> float:
    """Interval from f_ref to f in cents (positive when f is sharp)."""
    return 1200.0 * math.log2(f / f_ref)


def _frame_length(sr: int, fmin: float) -> int:
    """Power of two covering >= 4 periods of fmin (YIN's window is half the frame)."""
    return 2 ** math.ceil(math.log2(4 * sr / fmin))


def pitch_stats(
    wav: np.ndarray | torch.Tensor,
    sr: int,
    target_midi: float | None = None,
    fmin: float = 60.0,
    fmax: float = 2100.0,
) -> dict:
    """Voicing and median f0 of a mono clip, optionally compared with a target MIDI pitch.

    Returns {"voiced_fraction": float, "median_hz": float | None (None if no voiced frame),
    "cents_off": float | None (None without target or voiced frames),
    "hit": bool | None (|cents_off| <= 50)}.
    """
    # wav: [N] (or [1, N]) -> scalars
    y = mono_numpy(wav)  # [N] float32
    fmax = min(fmax, sr / 2)
    up = max(1, round(PYIN_MIN_SR / sr))
    if up > 1:  # whole-sample lags resolve short periods only at a high rate (PYIN_MIN_SR)
        y = scipy.signal.resample_poly(y, up, 1).astype(np.float32)
        sr = sr * up
    compile_pyin_once()
    f0, voiced, _ = librosa.pyin(
        y,
        fmin=fmin,
        fmax=fmax,
        sr=sr,
        frame_length=_frame_length(sr, fmin),
        no_trough_prob=NO_TROUGH_PROB,
    )  # f0, voiced: [frames]
    voiced = voiced & np.isfinite(f0)
    median_hz = float(np.median(f0[voiced])) if voiced.any() else None
    cents_off = hit = None
    if target_midi is not None and median_hz is not None:
        cents_off = cents(median_hz, midi_to_hz(target_midi))
        hit = abs(cents_off) <= HIT_CENTS
    return {
        "voiced_fraction": float(voiced.mean()) if voiced.size else 0.0,
        "median_hz": median_hz,
        "cents_off": cents_off,
        "hit": hit,
    }


def octave_below_db(wav: np.ndarray | torch.Tensor, sr: int, f0: float) -> float:
    """How strongly a clip sounds the octave below ``f0``, read from its spectrum instead of
    pyin: the strongest partial within 50 cents of an odd multiple of f0 / 2 (f0 / 2, 3 f0 / 2,
    ... ; only a waveform that repeats at f0 / 2 has them) over the strongest within 50 cents
    of a multiple of f0, in dB, below 0.9 x Nyquist. A note at f0 gives far below 0 (a clean
    harmonic tone with a little noise: about -40); a note an octave below f0, about 0 or above.
    """
    # wav: [N] (or [1, N]) -> dB
    y = mono_numpy(wav).astype(np.float64)  # [N]
    mag = np.abs(np.fft.rfft(y * np.hanning(len(y))))  # [N // 2 + 1]
    freqs = np.fft.rfftfreq(len(y), 1.0 / sr)
    top = 0.9 * sr / 2

    def strongest(centres: np.ndarray) -> float:
        near = np.zeros(len(freqs), dtype=bool)
        for c in centres[centres < top]:
            near |= (freqs > c * 2 ** (-HIT_CENTS / 1200)) & (freqs < c * 2 ** (HIT_CENTS / 1200))
        return float(mag[near].max()) if near.any() else 0.0

    n = np.arange(1, int(top / (f0 / 2)) + 2)
    below = strongest((2 * n - 1) * f0 / 2)  # odd multiples of f0 / 2
    at = strongest(n * f0)
    return 20.0 * math.log10(max(below, 1e-12) / max(at, 1e-12))


OUTCOMES = ("hit", "octave", "miss", "unvoiced")


def note_fmin(target_midi: float, fmin: float = 60.0) -> float:
    """pyin's floor for a note: ``fmin``, lowered to 0.75 x the note's f0 below 80 Hz."""
    return min(fmin, 0.75 * midi_to_hz(target_midi))


def pitch_outcome(stats: dict) -> str:
    """One of OUTCOMES for ``pitch_stats(..., target_midi=...)``: a hit (within 50 cents), an
    octave error (within 50 cents of the target +- whole octaves), a miss, or no voiced frame."""
    if stats["median_hz"] is None:
        return "unvoiced"
    if stats["hit"]:
        return "hit"
    c = stats["cents_off"]
    octaves = round(c / 1200)
    if octaves != 0 and abs(c - 1200 * octaves) <= HIT_CENTS:
        return "octave"
    return "miss"
