"""Pitch statistics with pyin on synthetic tones and noise."""

import math

import numpy as np
import pytest
import torch

from audiodiff.metrics.pitch import cents, midi_to_hz, octave_below_db, pitch_stats

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


def _noisy_tone(f0: float, partials: range, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(SR) / SR
    k = np.asarray(partials, dtype=np.float64)[:, None]  # [K, 1]
    phases = rng.uniform(0, 2 * np.pi, (len(k), 1))
    wav = (0.3 / k * np.sin(2 * np.pi * f0 * k * t + phases)).sum(0)
    return (wav + 0.1 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_high_note_at_16_khz_is_not_read_an_octave_down(seed):
    """MIDI 85 (1109 Hz) has a period of 14.4 samples at 16 kHz. Read at that rate, a little
    noise made pyin take the octave below in every frame (-1199 cents, for both seeds), though
    the clip has no energy there; read at PYIN_MIN_SR it is in tune."""
    f0 = midi_to_hz(85)
    wav = _noisy_tone(f0, range(1, 8), np.random.default_rng(seed))
    stats = pitch_stats(wav, SR, target_midi=85)
    assert abs(stats["cents_off"]) < 20 and stats["hit"] is True


def test_a_true_octave_below_is_still_read_there():
    """Partials at every multiple of f0 / 2 but f0 / 2 itself (as an organ's quint stops add):
    the waveform repeats at f0 / 2, and pyin reads that, upsampled or not."""
    f0 = midi_to_hz(76)
    wav = _noisy_tone(f0 / 2, range(2, 12), np.random.default_rng(0))
    stats = pitch_stats(wav, SR, target_midi=76)
    assert stats["cents_off"] == pytest.approx(-1200, abs=20)


def test_octave_below_db_tells_a_note_from_the_octave_below():
    f0 = midi_to_hz(85)
    rng = np.random.default_rng(0)
    at_f0 = octave_below_db(_noisy_tone(f0, range(1, 8), rng), SR, f0)
    below = octave_below_db(_noisy_tone(f0 / 2, range(1, 14), rng), SR, f0)  # f0 / 2 sounds
    quint = octave_below_db(_noisy_tone(f0 / 2, range(2, 14), rng), SR, f0)  # f0 / 2 silent
    assert at_f0 < -25
    assert below > 0 and quint > -10


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
