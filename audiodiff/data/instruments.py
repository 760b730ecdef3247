"""Procedural instruments for the built-in synthetic dataset (pure numpy/scipy).

Every generator has the signature ``fn(pitch_hz, duration_s, velocity, sr, rng) -> wav``
where ``pitch_hz`` is None for percussion, ``velocity`` is a MIDI velocity (1..127) and
``wav`` is float32 [N], N = round(duration_s * sr), with peak 0.9 * gain(velocity) <= 0.9.

Methods: Karplus & Strong 1983 (plucked string), Jaffe & Smith 1983 (allpass fine tuning),
Chowning 1973 (FM bell), additive synthesis for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import signal

SoundFn = Callable[[float | None, float, int, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Instrument:
    """One entry of ``INSTRUMENTS``; ``description`` is the noun phrase used in captions."""

    name: str
    description: str
    pitched: bool
    fn: SoundFn


def _time(duration_s: float, sr: int) -> np.ndarray:
    return np.arange(max(1, round(duration_s * sr))) / sr  # [N] seconds


def _envelope(t: np.ndarray, attack: float, release: float) -> np.ndarray:
    """Linear attack from 0, flat sustain, linear release to 0 at the last sample. [N]"""
    up = np.clip(t / max(attack, 1e-6), 0.0, 1.0)
    down = np.clip((t[-1] - t) / max(release, 1e-6), 0.0, 1.0)
    return up * down


def _finish(y: np.ndarray, velocity: int, sr: int) -> np.ndarray:
    """Fade the last 10 ms, normalise the peak to 0.9 * gain(velocity), cast to float32."""
    y = np.asarray(y, dtype=np.float64)
    fade = min(len(y), max(1, int(0.01 * sr)))
    y[-fade:] *= np.linspace(1.0, 0.0, fade)
    peak = np.abs(y).max()
    gain = 0.9 * (0.25 + 0.75 * np.clip(velocity, 1, 127) / 127)
    return (y * (gain / peak if peak > 0 else 0.0)).astype(np.float32)


def pluck(
    pitch_hz: float | None, duration_s: float, velocity: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """Karplus-Strong string; the whole loop is one IIR filter so its delay is exactly sr/f.

    Loop: z^-L, averaging lowpass (1 + z^-1)/2 (0.5 samples), first-order Thiran allpass
    (eta + z^-1)/(1 + eta z^-1) (d samples), gain g < 1, with L + 0.5 + d = sr / f.
    """
    assert pitch_hz is not None
    t = _time(duration_s, sr)
    period = sr / pitch_hz
    delay = int(np.floor(period - 0.6))  # keeps d in [0.1, 1.1), the allpass's accurate range
    d = period - 0.5 - delay
    eta = (1.0 - d) / (1.0 + d)
    g = 10.0 ** (-3.0 / (pitch_hz * rng.uniform(1.5, 2.5)))  # T60 of 1.5..2.5 s at f0
    # 1 / (1 - g z^-L (1 + z^-1)/2 (eta + z^-1)/(1 + eta z^-1)) as one B/A pair
    b = np.array([1.0, eta])
    a = np.zeros(delay + 3)
    a[:2] = [1.0, eta]
    a[delay:] -= 0.5 * g * np.array([eta, 1.0 + eta, 1.0])
    # excitation: one period of noise, duller for soft notes (one-pole lowpass)
    bright = 0.15 + 0.85 * velocity / 127
    burst = signal.lfilter([bright], [1.0, bright - 1.0], rng.uniform(-1, 1, delay + 1))
    x = np.zeros(len(t))
    x[: len(burst)] = burst[: len(t)] - burst.mean()
    return _finish(signal.lfilter(b, a, x), velocity, sr)


def bell(
    pitch_hz: float | None, duration_s: float, velocity: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """FM bell: carrier f0, modulator 4 f0 (odd harmonics), decaying index (Chowning 1973)."""
    assert pitch_hz is not None
    t = _time(duration_s, sr)
    # keep the strong sidebands (k <= index + 1) below Nyquist
    index_max = max(0.5, (sr / 2 - pitch_hz) / (4 * pitch_hz) - 1.0)
    index = min(1.0 + 3.0 * velocity / 127, index_max) * np.exp(-t / rng.uniform(0.2, 0.4))
    carrier = 2 * np.pi * pitch_hz * t + rng.uniform(0, 2 * np.pi)
    y = np.sin(carrier + index * np.sin(2 * np.pi * 4 * pitch_hz * t))
    env = np.exp(-t / rng.uniform(0.6, 1.0)) * np.clip(t / 0.002, 0.0, 1.0)
    return _finish(env * y, velocity, sr)


def _additive(
    t: np.ndarray,
    sr: int,
    f0: float,
    ratios: np.ndarray,
    amps: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sum of sines at f0 * ratios [K] with random phases and amplitudes amps [K] or [K, N];
    partials at or above Nyquist are dropped. Returns [N]."""
    keep = f0 * ratios < sr / 2
    phases = rng.uniform(0, 2 * np.pi, len(ratios))[keep, None]  # [K, 1]
    partials = np.sin(2 * np.pi * f0 * ratios[keep, None] * t[None] + phases)  # [K, N]
    amps = np.asarray(amps)[keep]
    return ((amps[:, None] if amps.ndim == 1 else amps) * partials).sum(axis=0)


def organ(
    pitch_hz: float | None, duration_s: float, velocity: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """Drawbar organ: harmonics 1, 2, 3, 4, 6, 8 at fixed levels, fast attack, sustained."""
    assert pitch_hz is not None
    t = _time(duration_s, sr)
    ratios = np.array([1.0, 2.0, 3.0, 4.0, 6.0, 8.0])
    levels = np.array([1.0, 0.8, 0.6, 0.5, 0.4, 0.3]) * rng.uniform(0.85, 1.15, 6)
    y = _additive(t, sr, pitch_hz, ratios, levels, rng)
    return _finish(y * _envelope(t, 0.01, 0.05), velocity, sr)


def saw_lead(
    pitch_hz: float | None, duration_s: float, velocity: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """Band-limited sawtooth (1/k harmonics below Nyquist) through a decaying 2-pole lowpass
    applied as per-harmonic gains."""
    assert pitch_hz is not None
    t = _time(duration_s, sr)
    k = np.arange(1, int(sr / 2 / pitch_hz) + 1, dtype=np.float64)  # [K]
    # cutoff starts (2 + 14 v/127) harmonics above f0 and settles at 3 f0
    sweep = (2.0 + 14.0 * velocity / 127) * np.exp(-t / rng.uniform(0.15, 0.35))
    cutoff = pitch_hz * (3.0 + sweep)  # [N] Hz
    gains = 1.0 / np.sqrt(1.0 + (pitch_hz * k[:, None] / cutoff[None]) ** 4)  # [K, N]
    y = _additive(t, sr, pitch_hz, k, gains / k[:, None], rng)
    return _finish(y * _envelope(t, 0.01, 0.08), velocity, sr)


def pad(
    pitch_hz: float | None, duration_s: float, velocity: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """Soft pad: two sines detuned by +- a few cents, a weak 2nd harmonic, slow attack."""
    assert pitch_hz is not None
    t = _time(duration_s, sr)
    cents = rng.uniform(3.0, 7.0)
    ratios = np.array([2 ** (-cents / 1200), 2 ** (cents / 1200), 2.0])
    y = _additive(t, sr, pitch_hz, ratios, np.array([1.0, 1.0, 0.15]), rng)
    return _finish(y * _envelope(t, rng.uniform(0.25, 0.45), 0.3), velocity, sr)


def kick(
    pitch_hz: float | None, duration_s: float, velocity: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """Kick drum: sine swept exponentially ~150 -> 50 Hz plus a short noise click."""
    t = _time(duration_s, sr)
    freq = 50.0 + 100.0 * np.exp(-t / rng.uniform(0.03, 0.06))  # [N] Hz
    body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / rng.uniform(0.2, 0.35))
    click = rng.uniform(-1, 1, len(t)) * np.exp(-t / 0.003) * (0.2 + 0.4 * velocity / 127)
    return _finish(body + click, velocity, sr)


def snare(
    pitch_hz: float | None, duration_s: float, velocity: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """Snare drum: ~180 Hz tone plus band-passed noise, both decaying fast."""
    t = _time(duration_s, sr)
    f = rng.uniform(170, 195)
    tone = (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * 1.7 * f * t)) * np.exp(-t / 0.06)
    sos = signal.butter(2, [1000, min(7000, 0.45 * sr)], btype="bandpass", fs=sr, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(len(t))) * np.exp(-t / rng.uniform(0.1, 0.2))
    return _finish(0.6 * tone + 2.0 * noise, velocity, sr)


def hihat(
    pitch_hz: float | None, duration_s: float, velocity: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """Closed hi-hat: high-passed noise with a short exponential decay."""
    t = _time(duration_s, sr)
    sos = signal.butter(4, min(5000, 0.3 * sr), btype="highpass", fs=sr, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(len(t)))
    return _finish(noise * np.exp(-t / rng.uniform(0.03, 0.07)), velocity, sr)


INSTRUMENTS: dict[str, Instrument] = {
    i.name: i
    for i in [
        Instrument("pluck", "plucked string", True, pluck),
        Instrument("bell", "FM bell", True, bell),
        Instrument("organ", "drawbar organ", True, organ),
        Instrument("saw_lead", "sawtooth lead synth", True, saw_lead),
        Instrument("pad", "warm synth pad", True, pad),
        Instrument("kick", "kick drum", False, kick),
        Instrument("snare", "snare drum", False, snare),
        Instrument("hihat", "hi-hat", False, hihat),
    ]
}
