"""scripts/bench_formulations.py: the onset, loudness-distance and pitch-target measures, and
the pitch outcome classes they feed (pyin itself is tested in tests/metrics/test_pitch.py)."""

import numpy as np
import pytest
import torch

from audiodiff.metrics.pitch import pitch_outcome

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("bench_formulations")


@pytest.mark.parametrize("start", [0.0, 0.3, 1.1])
def test_onset_is_where_the_note_starts(bench, start):
    sr = 16000
    t = np.arange(2 * sr) / sr
    wav = (
        0.5 * np.sin(2 * np.pi * 440 * t) * (t >= start) * np.exp(-2 * np.clip(t - start, 0, None))
    )
    wav = wav + 1e-4 * np.random.default_rng(0).standard_normal(t.size)  # a noise floor
    assert bench.onset_seconds(wav.astype(np.float32), sr) == pytest.approx(start, abs=0.02)


def test_wasserstein1_is_the_shift_between_distributions(bench):
    a = np.random.default_rng(1).normal(-20, 3, 500)
    assert bench.wasserstein1(a, a) == 0.0
    assert bench.wasserstein1(a + 4.0, a) == pytest.approx(4.0)
    wide = np.random.default_rng(2).normal(-20, 10, 5000)
    assert bench.wasserstein1(wide, np.random.default_rng(3).normal(-20, 3, 5000)) > 4


def test_pitch_targets_are_notes_only(bench):
    assert bench.pitch_target({"kind": "note", "main_pitch": "61"}) == 61
    assert bench.pitch_target({"kind": "chord", "main_pitch": "61"}) is None
    assert bench.pitch_target({"kind": "drums", "main_pitch": ""}) is None
    assert bench.pitch_target({"instrument": "bell", "pitch": "60"}) == 60  # the synth set
    assert bench.pitch_target({"pitch": "60", "caption": "A soft bell in middle C"}) == 60
    assert bench.pitch_target({"pitch": "57", "caption": "Something plucked in A3"}) == 57
    assert bench.pitch_target({"pitch": "60", "caption": "A quiet bell"}) is None  # partial


@pytest.mark.parametrize(
    "stats, outcome",
    [
        ({"median_hz": None, "hit": None, "cents_off": None}, "unvoiced"),
        ({"median_hz": 440.0, "hit": True, "cents_off": 10.0}, "hit"),
        ({"median_hz": 880.0, "hit": False, "cents_off": 1190.0}, "octave"),
        ({"median_hz": 220.0, "hit": False, "cents_off": -2420.0}, "octave"),
        ({"median_hz": 466.0, "hit": False, "cents_off": 100.0}, "miss"),
        ({"median_hz": 600.0, "hit": False, "cents_off": 1300.0}, "miss"),
    ],
)
def test_pitch_outcome(stats, outcome):
    assert pitch_outcome(stats) == outcome


def test_draw_summary_counts_each_draw_any_draw_and_the_preferred_one(bench):
    hits = np.array([[1, 0, 0, 1], [0, 0, 1, 1], [0, 0, 0, 1]], dtype=bool)  # 3 draws, 4 rows
    prefs = np.array([[0.0, -1, -3, -9], [-1, -2, -1, -9], [-2, -3, -2, -np.inf]])
    out = bench.draw_summary(hits, prefs)
    assert out["draws"] == 3
    assert out["pitch_hit_per_draw"] == [0.5, 0.5, 0.25]
    assert out["pitch_hit_any_draw"] == 0.75  # row 1 is never hit
    # preferred draws 0, 0, 1, 0 (a tie goes to the first): hits 1, 0, 1, 1
    assert out["pitch_hit_reranked"] == 0.75
    assert "pitch_hit_reranked" not in bench.draw_summary(hits)


def test_decode_clamped_holds_the_representation_below_the_clamp(bench):
    class Pipe:
        def decode(self, x):  # [B, C, T] -> [B, 1, T * 4]: the largest value, repeated
            return x.amax(dim=1, keepdim=True).repeat_interleave(4, dim=-1).double()

    x = torch.tensor([[[0.5, 5.0], [1.0, -3.0]]])  # [1, 2, 2]
    kept = bench.decode_clamped(Pipe(), x, None, 6)
    held = bench.decode_clamped(Pipe(), x, 3.0, 6)
    assert kept.dtype == torch.float32 and kept.shape == held.shape == (1, 1, 6)
    assert kept.max() == 5.0 and held.max() == 3.0
    assert held[0, 0, :4].tolist() == [1.0] * 4  # values under the clamp are untouched


def test_roughness_over_real_is_one_for_real_clips_and_grows_with_left_noise(bench):
    from audiodiff.audio.mel import MelRepresentation

    class Pipe:
        representation = MelRepresentation(sample_rate=16000, n_mels=32, mean=-5.6, std=2.9)
        sample_rate, device = 16000, "cpu"

    t = np.arange(16000) / 16000
    real = [(0.3 * np.sin(2 * np.pi * f * t) * np.exp(-3 * t)).astype(np.float32)
            for f in (220.0, 330.0)]  # fmt: skip
    x = Pipe.representation.encode(bench.as_batch(real))
    assert bench.roughness_over_real(Pipe(), x, real) == pytest.approx(1.0)
    noisy = x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    assert bench.roughness_over_real(Pipe(), noisy, real) > 3


def test_octave_beyond_real_counts_only_notes_the_real_clip_reads_right(bench):
    real = [{"outcome": "hit"}, {"outcome": "octave"}, {"outcome": "hit"}, {}, {"outcome": "hit"}]
    gen = [{"outcome": "octave"}, {"outcome": "octave"}, {"outcome": "hit"}, {},
           {"outcome": "miss"}]  # fmt: skip
    got = bench.octave_beyond_real(real, gen)
    assert got == {"octave_beyond_real": 1, "octave_beyond_real_rate": 1 / 3, "real_read_right": 3}
    assert bench.octave_beyond_real([{}], [{}])["octave_beyond_real_rate"] == 0.0
