"""scripts/bench_longform.py on the (2-step) smoke model: the JSON has every row and field,
all finite; the boundary statistics find a jump placed at a boundary."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(SCRIPTS))  # the script imports its neighbours, as when it is run
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_longform", SCRIPTS / "bench_longform.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPTS))
    return module


def test_the_report_has_every_row_with_finite_numbers(smoke_run, tmp_path):
    out = tmp_path / "longform.json"
    args = ["--ckpt", str(smoke_run / "model"), "--n", "2", "--seconds", "1.5"]
    args += ["--loop-seconds", "1.0", "--steps", "2", "--cg-iters", "0", "1", "--out", str(out)]
    args += ["--resample", "1", "2", "--resample-jump", "1", "--crossfade", "0.5"]
    args += ["--release-sigma", "0.2"]
    proc = subprocess.run([sys.executable, str(SCRIPTS / "bench_longform.py"), *args],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["settings"]["context"] == 0.5 and result["machine"]["threads"] >= 1
    assert result["settings"]["crossfade_shape"] == "smoothstep"
    where = [(r["clip"], r["cg_iters"], r["resample"], r["where"]) for r in result["rows"]]
    windowed = [
        (clip, cg, r, at)
        for cg in (0, 1)
        for r in (1, 2)
        for clip, at in (("long", "seams"), ("loop", "seams"), ("loop", "loop"))
    ]
    assert where == [("one pass", "-", 1, "seams"), ("one pass", "-", 1, "ends"), *windowed]
    assert {r["crossfade"] for r in result["rows"][2:]} == {0.5}
    assert {r["release_sigma"] for r in result["rows"][2:]} == {0.2}
    for row in result["rows"]:
        for measure in ("flux", "mel"):
            stats = row[measure]
            assert stats["count"] >= 1
            for key in ("boundary", "inside", "ratio", "percentile", "percentile_frames"):
                assert math.isfinite(stats[key]), (row, key)
            assert 0 <= stats["percentile"] <= 100 and 0 <= stats["percentile_frames"] <= 100


def test_boundary_stats_find_a_jump_and_not_a_plain_frame(bench):
    rng = np.random.default_rng(0)
    values = rng.random((4, 400))
    values[:, 199:202] += 3.0  # a jump around the frame pair centred at sample 25600
    jump = bench.boundary_stats(values, [25600], [], hop=128, radius=1)
    assert jump["percentile"] == 100.0 and jump["ratio"] > 3
    plain = bench.boundary_stats(values, [12800], [25600], hop=128, radius=1)
    assert 1 < plain["percentile"] < 99 and 0.7 < plain["ratio"] < 1.3


def test_the_window_null_is_calibrated_where_frames_move_together(bench):
    """On smoothed noise (neighbouring frames correlated, as around an onset), a boundary
    placed at random is not special: its window percentile stays spread over 0-100, while
    the single-frame null calls many of the same placements extreme."""
    rng = np.random.default_rng(1)
    raw = rng.standard_normal((8, 4000))
    kernel = np.ones(9) / 9
    values = np.stack([np.convolve(r, kernel, mode="same") for r in raw]) + 5.0
    extreme_windows = extreme_frames = 0
    trials = 60
    for t in range(trials):
        start = int(rng.integers(40, 160))
        at = [(start + 120 * j) * 128 for j in range(30)]  # 30 boundaries per clip
        stats = bench.boundary_stats(values, at, [], hop=128, radius=2, seed=t)
        extreme_windows += not 5 <= stats["percentile"] <= 95
        extreme_frames += not 5 <= stats["percentile_frames"] <= 95
    assert extreme_windows <= 0.2 * trials, extreme_windows  # 10% expected
    assert extreme_frames >= 0.4 * trials, extreme_frames


def test_the_null_windows_sit_at_the_boundaries_phase_of_the_decoder_grid(bench):
    """A measure with half the decoder's hop alternates with the grid's phase; boundaries
    all on the grid read high against windows at any phase and plain against windows at
    theirs."""
    rng = np.random.default_rng(2)
    values = 10.0 + rng.standard_normal((8, 4000))
    values[:, ::2] += 0.8  # frame pairs centred on the grid (k even, hop 128, grid 256)
    at = [(100 + 120 * j) * 128 + 64 for j in range(30)]  # centres at even k
    anywhere = bench.boundary_stats(values, at, [], hop=128, radius=2)
    on_grid = bench.boundary_stats(values, at, [], hop=128, radius=2, grid=256)
    assert anywhere["percentile"] > 99, anywhere
    assert 5 < on_grid["percentile"] < 95, on_grid
