"""Sampler-loop overhead per step: audiodiff's solvers vs k-diffusion's and diffusers' loops.

    python scripts/bench_overhead.py [--modes free,unet] [--solvers euler,heun,dpmpp_2m,unipc]
        [--nfe 20,50] [--device cpu|cuda] [--threads 2] [--repeats 7] [--quick]
        [--out outputs/bench/overhead.json]

Overhead = time of one generation minus N x the time of one call of the network that loop
calls (N counted, not assumed). Each repeat times, for every loop in turn, N bare network
calls and then the loop, so drift hits all loops alike; the median over repeats is reported.
``free``: a near-free denoiser D(x) = x / 2 (loop time ~ overhead); ``unet``: the tiny UNet1d
of conf/model/tiny.yaml behind the EDM Denoiser on [B, 80, T] (the subtraction is noisy when
the network dominates). Every generation includes building its schedule (ours:
``karras_sigmas``, k-diffusion: ``get_sigmas_karras``, diffusers: ``set_timesteps``) and the
documented diffusers loop: scale_model_input, model, step(...).prev_sample. diffusers gets
the model output in its "sample" parametrization through a two-op adapter (its input back to
VE units), whose cost is measured with the network and subtracted; the adapter is
all that differs from a native diffusers model. All loops use the same Karras schedule
(sigma range read from the diffusers scheduler) and noise, so their final x agree.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch
from benchlib import machine, report
from torch import Tensor

from audiodiff.sampling.schedules import karras_sigmas
from audiodiff.sampling.solvers import SAMPLERS

ROOT = Path(__file__).resolve().parents[1]
SIGMA_MIN, SIGMA_MAX = 0.002, 80.0  # schedule of the solvers without a diffusers peer
# solver -> k-diffusion sampler name (None: no peer)
K_NAMES = {"euler": "sample_euler", "heun": "sample_heun", "dpmpp_2m": "sample_dpmpp_2m"}
Gen = Callable[[Tensor], Tensor]  # one whole generation: x at sigma_max [B, C, T] -> x [B, C, T]


def load_kdiffusion() -> ModuleType | None:
    """k_diffusion.sampling via tests/sampling/reference_helpers.py (skips the package init)."""
    name = "_audiodiff_tests_reference_helpers"  # the tests load the helper under this name
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, ROOT / "tests" / "sampling" / "reference_helpers.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].load_kdiffusion_sampling()


def load_diffusers() -> ModuleType | None:
    try:
        import diffusers
    except ImportError:
        return None
    diffusers.utils.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="diffusers.*")
    return diffusers


def make_scheduler(diffusers: ModuleType | None, solver: str):
    """The diffusers scheduler matching ``solver`` (tests/sampling/test_reference_diffusers.py)."""
    if diffusers is None:
        return None
    common = dict(prediction_type="sample", use_karras_sigmas=True)
    if solver == "euler":
        return diffusers.EulerDiscreteScheduler(**common)
    if solver == "dpmpp_2m":
        return diffusers.DPMSolverMultistepScheduler(
            solver_order=2, algorithm_type="dpmsolver++", **common
        )
    if solver == "unipc":
        return diffusers.UniPCMultistepScheduler(
            solver_order=2, solver_type="bh2", predict_x0=True, **common
        )
    return None


def free_denoiser(x: Tensor, sigma: Tensor, cond=None) -> Tensor:
    # x: [B, C, T], sigma: [B] -> x0_hat: [B, C, T]; near-free stand-in for a network
    return x * 0.5


def unet_denoiser(device: str) -> torch.nn.Module:
    """The tiny UNet1d (conf/model/tiny.yaml) behind the EDM Denoiser, 80 channels, eval."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from audiodiff.cli.config import config_dir
    from audiodiff.diffusion.precond import Denoiser

    make_net = instantiate(OmegaConf.load(config_dir() / "model" / "tiny.yaml"))
    return Denoiser(make_net(in_channels=80)).to(device).eval()


@dataclass
class Loop:
    """One generation and the network call it makes (for the subtraction)."""

    gen: Gen
    call: Callable[[], Tensor]  # one bare network call with representative inputs


def loops(
    solver: str, steps: int, den, x: Tensor, k: ModuleType | None, diffusers: ModuleType | None
) -> dict[str, Loop | None]:
    """The ours / k-diffusion / diffusers generations of ``solver`` with ``steps`` steps."""
    # x: [B, C, T] at sigma_max (the start noise, only used for shapes here)
    device, b = x.device, x.shape[0]
    scheduler = make_scheduler(diffusers, solver)
    smin, smax = SIGMA_MIN, SIGMA_MAX
    if scheduler is not None:  # the diffusers Karras range, so that all three loops agree
        scheduler.set_timesteps(steps, device=device)
        smin, smax = scheduler.sigmas[-2].item(), scheduler.sigmas[0].item()
    sig_b = torch.full((b,), smax, device=device)
    out: dict[str, Loop | None] = {"ours": None, "k": None, "diffusers": None}

    def ours(x: Tensor) -> Tensor:
        sigmas = karras_sigmas(steps, smin, smax, device=device)
        return SAMPLERS[solver](den, x, sigmas)

    out["ours"] = Loop(ours, lambda: den(x, sig_b))
    if k is not None and solver in K_NAMES:
        k_fn = getattr(k, K_NAMES[solver])

        def k_gen(x: Tensor) -> Tensor:
            sigmas = k.get_sigmas_karras(steps, smin, smax, device=device)
            return k_fn(den, x, sigmas, disable=True)

        out["k"] = Loop(k_gen, lambda: den(x, sig_b))
    if scheduler is not None:
        vp = not isinstance(scheduler, diffusers.EulerDiscreteScheduler)  # VP: x / sqrt(1+s^2)

        def model(inp: Tensor, sigma: Tensor) -> Tensor:
            # inp: [B, C, T] (scaled by 1 / sqrt(1 + sigma^2)), sigma: [] -> D: [B, C, T]
            return den(inp * (1 + sigma**2).sqrt(), sigma.expand(inp.shape[0]))

        def d_gen(x: Tensor) -> Tensor:
            scheduler.set_timesteps(steps, device=device)
            sigmas = scheduler.sigmas
            sample = x / (1 + sigmas[0] ** 2).sqrt() if vp else x
            for i, t in enumerate(scheduler.timesteps):
                inp = scheduler.scale_model_input(sample, t)
                out = model(inp, sigmas[i])
                sample = scheduler.step(out, t, sample).prev_sample
            return sample  # sigma = 0: the VP and VE samples coincide

        sig0 = scheduler.sigmas[0]
        out["diffusers"] = Loop(d_gen, lambda: model(x, sig0))
    return out


class Counter:
    """Counts the calls of a denoiser (used once per loop to get N)."""

    def __init__(self, den) -> None:
        self.den, self.calls = den, 0

    def __call__(self, x: Tensor, sigma: Tensor, cond=None) -> Tensor:
        self.calls += 1
        return self.den(x, sigma, cond)


def count_calls(solver: str, steps: int, den, x: Tensor, k, diffusers) -> dict[str, int]:
    counter = Counter(den)
    counts = {}
    for name, loop in loops(solver, steps, counter, x, k, diffusers).items():
        if loop is not None:
            counter.calls = 0
            loop.gen(x)
            counts[name] = counter.calls
    return counts


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(fn: Callable[[], object], device: torch.device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def measure(solver: str, nfe: int, den, x: Tensor, k, diffusers, warmup: int, repeats: int) -> dict:
    """Median per-step overhead (us) of each loop, the median network call time (ms) and the
    time of one diffusers ``set_timesteps`` (us, included in diffusers' overhead)."""
    steps = (nfe + 1) // 2 if solver == "heun" else nfe  # heun: 2 steps - 1 evaluations
    counts = count_calls(solver, steps, den, x, k, diffusers)
    active = {n: lp for n, lp in loops(solver, steps, den, x, k, diffusers).items() if lp}
    over: dict[str, list[float]] = {n: [] for n in active}
    net: list[float] = []
    for rep in range(warmup + repeats):
        for name, loop in active.items():  # interleaved: drift hits every loop alike
            n = counts[name]
            t_net = _timed(lambda loop=loop, n=n: [loop.call() for _ in range(n)], x.device)
            t_loop = _timed(lambda loop=loop: loop.gen(x), x.device)
            if rep >= warmup:
                over[name].append((t_loop - t_net) / steps * 1e6)
                if name == "ours":
                    net.append(t_net / n * 1e3)
    row = dict(solver=solver, steps=steps, nfe=counts["ours"], net_ms=statistics.median(net))
    row["set_timesteps_us"] = None  # per generation, part of diffusers' overhead
    scheduler = make_scheduler(diffusers, solver)
    if scheduler is not None:
        set_t = lambda: scheduler.set_timesteps(steps, device=x.device)  # noqa: E731
        times = [_timed(set_t, x.device) for _ in range(max(repeats, 3))]
        row["set_timesteps_us"] = statistics.median(times) * 1e6
    for name in ("ours", "k", "diffusers"):
        row[f"{name}_us"] = statistics.median(over[name]) if name in over else None
    for name in ("k", "diffusers"):
        theirs = row[f"{name}_us"]
        row[f"ours_over_{name}"] = row["ours_us"] / theirs if theirs else None
    return row


def _fmt(v: float | None, spec: str) -> str:
    return "n/a" if v is None or not math.isfinite(v) else format(v, spec)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="free,unet", help="free (x / 2) and/or unet (tiny)")
    parser.add_argument("--solvers", default="euler,heun,dpmpp_2m,unipc")
    parser.add_argument("--nfe", default="20,50")
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--frames", default="63,250")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="one small size, 10 NFE, 3 repeats")
    parser.add_argument("--out", default="outputs/bench/overhead.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.nfe, args.batches, args.frames, args.warmup, args.repeats = "10", "1", "16", 1, 3
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    k, diffusers = load_kdiffusion(), load_diffusers()
    if k is None:
        print("k-diffusion not installed: its column is skipped")
    if diffusers is None:
        print("diffusers not installed: its column is skipped")
    sizes = [
        (b, t) for b in map(int, args.batches.split(",")) for t in map(int, args.frames.split(","))
    ]
    rows, table = [], []
    for mode in args.modes.split(","):
        den = free_denoiser if mode == "free" else unet_denoiser(args.device)
        for b, t in sizes:
            x = SIGMA_MAX * torch.randn(b, 80, t, generator=torch.Generator().manual_seed(0))
            x = x.to(device)
            for solver in args.solvers.split(","):
                for nfe in map(int, args.nfe.split(",")):
                    with torch.no_grad():
                        row = measure(solver, nfe, den, x, k, diffusers, args.warmup, args.repeats)
                    row = dict(mode=mode, batch=b, frames=t, **row)
                    rows.append(row)
                    table.append(
                        [mode, f"{b}x{t}", solver, str(row["nfe"]), _fmt(row["net_ms"], ".3f")]
                        + [_fmt(row[f"{n}_us"], ".0f") for n in ("ours", "k", "diffusers")]
                        + [_fmt(row[f"ours_over_{n}"], ".2f") for n in ("k", "diffusers")]
                        + [_fmt(row["set_timesteps_us"], ".0f")]
                    )
    result = dict(machine=machine(args.device), warmup=args.warmup, repeats=args.repeats, rows=rows)
    columns = ["mode", "shape", "solver", "NFE", "net ms", "ours us", "k us", "diff us"]
    columns += ["ours/k", "ours/diff", "set_t us"]
    report(result, args.out, "Sampler loop overhead per step (median)", columns, table)
    return result


if __name__ == "__main__":
    main()
