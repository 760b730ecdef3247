"""scripts/bench_overhead.py: well-formed JSON (no timing asserted) and the three sampler loops
(ours, k-diffusion, diffusers) it times compute the same final x."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(SCRIPTS))  # the script imports its sibling `benchlib`
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_overhead", SCRIPTS / "bench_overhead.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # the @dataclass in it looks its module up
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPTS))
    return module


def test_main_quick_writes_positive_finite_numbers(bench, tmp_path):
    out = tmp_path / "overhead.json"
    threads = torch.get_num_threads()
    try:
        bench.main(["--quick", "--modes", "free", "--solvers", "euler,unipc", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    result = json.loads(out.read_text())
    assert {"machine", "warmup", "repeats", "rows"} <= result.keys()
    assert [r["solver"] for r in result["rows"]] == ["euler", "unipc"]
    for row in result["rows"]:
        assert row["mode"] == "free" and row["nfe"] == 10 and row["steps"] == 10
        for key in ("ours_us", "k_us", "diffusers_us", "net_ms", "set_timesteps_us"):
            value = row[key]
            assert value is None or (math.isfinite(value) and value > 0), (key, value)
        assert row["ours_us"] is not None
        if row["k_us"] is not None:
            assert row["ours_over_k"] == pytest.approx(row["ours_us"] / row["k_us"])
    assert result["rows"][1]["k_us"] is None  # k-diffusion has no UniPC


@pytest.mark.parametrize("solver", ["euler", "heun", "dpmpp_2m", "unipc"])
@pytest.mark.parametrize("denoiser", ["free", "gaussian"])
def test_loops_agree(bench, solver, denoiser):
    k, diffusers = bench.load_kdiffusion(), bench.load_diffusers()
    if denoiser == "free":
        den = bench.free_denoiser
    else:  # ideal denoiser of N(0, 0.25 I) data: depends on sigma, unlike x / 2

        def den(x, sigma, cond=None):
            return 0.25 / (0.25 + sigma.reshape(-1, 1, 1) ** 2) * x

    x = 80.0 * torch.randn(2, 80, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        loops = bench.loops(solver, 10, den, x, k, diffusers)
        outs = {name: loop.gen(x) for name, loop in loops.items() if loop is not None}
    if len(outs) == 1:
        pytest.skip("no reference peer installed for this solver")
    ours = outs.pop("ours")
    assert torch.isfinite(ours).all()
    for name, theirs in outs.items():
        assert ((ours - theirs).norm() / theirs.norm()).item() < 1e-4, name
