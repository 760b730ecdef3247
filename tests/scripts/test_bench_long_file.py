"""scripts/bench_long_file.py: the seam measure finds clicks at the seams and nothing in
stationary noise; the seam positions are the restorer's crossfade centres."""

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("bench_long_file")


def test_clicks_at_the_seams_stand_out(bench):
    rng = np.random.default_rng(0)
    wav = 0.001 * rng.standard_normal(16000 * 30).astype(np.float32)
    seams = bench.seam_positions(wav.size, 16000, 4.0, 0.5, 128)
    for s in seams:
        wav[s : s + 8] += 0.5  # a short click at each crossfade centre
    result = bench.seam_flux(wav, seams)
    assert result["seams"] == len(seams) == 8
    # one frame of the five jumps (~5x); the frames after the click fall: the mean ~1.7x
    assert result["ratio"] > 1.5
    assert result["percentile"] == 100.0


def test_stationary_noise_gives_a_ratio_near_one(bench):
    wav = np.random.default_rng(1).standard_normal(16000 * 30).astype(np.float32)
    result = bench.seam_flux(wav, bench.seam_positions(wav.size, 16000, 4.0, 0.5, 128))
    assert 0.9 < result["ratio"] < 1.1
    assert 1 < result["percentile"] < 99


def test_seam_positions_are_crossfade_centres(bench):
    # chunk 512, overlap 64: starts 0, 448, 896, 1344 and the last at 2000 - 512 = 1488
    assert bench.seam_positions(2000, 128, 4.0, 0.5, 128) == [480, 928, 1376, 1672]
    assert bench.seam_positions(400, 128, 4.0, 0.5, 128) == []  # one chunk, no seam
