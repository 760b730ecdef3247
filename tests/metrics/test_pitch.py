"""Pitch statistics with pyin on synthetic tones and noise."""

import math

import numpy as np
import pytest
import torch

from audiodiff.metrics.pitch import cents, midi_to_hz, pitch_stats

SR = 16000


def _harmonic(f0: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return sum(0.3 / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 6)).astype(np.float32)


def test_midi_and_cents_helpers():
    assert midi_to_hz(69) == pytest.approx(440.0)
    assert midi_to_hz(81) == pytest.approx(880.0)
    assert midi_to_hz(60) == pytest.approx(261.6256, abs=1e-3)
    assert cents(880.0, 440.0) == pytest.approx(1200.0)
    assert cents(440.0, midi_to_hz(72)) == pytest.approx(-300.0)


def test_harmonic_tone_hits_its_midi_target():
    stats = pitch_stats(_harmonic(440.0), SR, target_midi=69)
    assert stats["voiced_fraction"] > 0.9
    assert abs(cents(stats["median_hz"], 440.0)) < 10
    assert abs(stats["cents_off"]) < 10
    assert stats["hit"] is True


def test_wrong_target_reports_three_semitones_and_miss():
    wav = torch.from_numpy(_harmonic(440.0))[None]  # [1, N] tensor input
    stats = pitch_stats(wav, SR, target_midi=72)
    assert stats["cents_off"] == pytest.approx(-300.0, abs=10)
    assert stats["hit"] is False


def test_no_target_gives_none_fields():
    stats = pitch_stats(_harmonic(196.0), SR)
    assert stats["median_hz"] == pytest.approx(196.0, rel=0.01)
    assert stats["cents_off"] is None and stats["hit"] is None


def test_white_noise_is_mostly_unvoiced():
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.3
    stats = pitch_stats(noise, SR, target_midi=69)
    assert stats["voiced_fraction"] < 0.1
    if stats["median_hz"] is None:
        assert stats["cents_off"] is None and stats["hit"] is None
    assert math.isfinite(stats["voiced_fraction"])


def test_the_first_pyin_of_a_process_runs_under_the_machine_lock(monkeypatch, tmp_path):
    """numba's cache is written by the first pyin call; that call, and only that one, holds
    an exclusive flock that every process on the machine shares."""
    import fcntl

    import librosa

    from audiodiff.metrics import pitch

    events = []
    real_flock, real_pyin = fcntl.flock, librosa.pyin

    def flock(handle, op):
        events.append({fcntl.LOCK_EX: "lock", fcntl.LOCK_UN: "unlock"}[op])
        real_flock(handle, op)

    def pyin(*args, **kwargs):
        events.append("pyin")
        return real_pyin(*args, **kwargs)

    monkeypatch.setattr(fcntl, "flock", flock)
    monkeypatch.setattr(librosa, "pyin", pyin)
    monkeypatch.setattr(pitch, "_compiled", False)
    monkeypatch.setattr(pitch, "LOCK_FILE", tmp_path / "numba.lock")
    sr = 16000
    tone = np.sin(2 * np.pi * 440.0 * np.arange(sr // 2) / sr).astype(np.float32)
    first = pitch.pitch_stats(tone, sr, target_midi=69)
    second = pitch.pitch_stats(tone, sr, target_midi=69)
    assert events == ["lock", "pyin", "unlock", "pyin", "pyin"]
    assert first == second and first["hit"] and (tmp_path / "numba.lock").exists()
