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
