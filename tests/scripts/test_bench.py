"""The benchmark scripts run and write well-formed JSON (tiny settings; no timing asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def run(script: str, *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_bench_train(tmp_path):
    out = tmp_path / "train.json"
    run(
        "bench_train.py",
        "--sizes",
        "tiny",
        "--batch",
        "2",
        "--frames",
        "16",
        "--warmup",
        "0",
        "--repeats",
        "1",
        "--out",
        str(out),
    )
    result = json.loads(out.read_text())
    (row,) = result["rows"]
    assert row["size"] == "tiny" and 1 < row["params_m"] < 3 and row["frames_per_s"] > 0


@pytest.mark.parametrize(
    "sampler, nfe",
    # ~8 s each on 2 cores; the solvers' own NFE counts are tested in tests/sampling
    [
        ("euler", 2),
        pytest.param("heun", 3, marks=pytest.mark.slow),
        pytest.param("dpmpp_2m", 2, marks=pytest.mark.slow),
    ],
)
def test_bench_generate(tmp_path, sampler, nfe):
    out = tmp_path / "gen.json"
    run(
        "bench_generate.py",
        *("--sizes", "tiny", "--batches", "1,2", "--modes", "fp32,bf16,graphs"),
        *("--sampler", sampler, "--steps", "2", "--seconds", "0.5"),
        *("--warmup", "0", "--repeats", "1", "--peak-size", "256", "--out", str(out)),
    )
    result = json.loads(out.read_text())
    rows = {(r["batch"], r["mode"]): r for r in result["rows"]}
    assert set(rows) == {(1, "fp32"), (1, "bf16"), (2, "fp32"), (2, "bf16")}  # no graphs on CPU
    assert len(result["skipped"]) == 2 and "CUDA graphs" in result["skipped"][0]
    for r in rows.values():
        # fraction_of_peak divides two timings (the run's FLOP rate by a matmul's), so it is
        # only checked for being computed: on a busy machine either can be the slower one
        assert r["nfe"] == nfe and r["rtf"] > 0 and r["fraction_of_peak"] > 0
    # FLOPs counted per guided call: twice the batch, twice the FLOPs; tiny ~ 2 x 0.14 GFLOP
    assert rows[2, "fp32"]["gflop_per_forward"] == pytest.approx(
        2 * rows[1, "fp32"]["gflop_per_forward"], rel=1e-6
    )
