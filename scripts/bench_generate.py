"""Generation speed: real-time factor (seconds of audio per second of compute) per model size,
batch size and fast-path mode, sampling plus decoding; model FLOPs and the fraction of the
device's measured matmul peak that sampling reaches.

    python scripts/bench_generate.py [--sizes tiny,small,base] [--batches 1,64]
        [--modes fp32,bf16,compile,graphs] [--sampler dpmpp_2m] [--steps 20] [--seconds 4]
        [--device cpu|cuda] [--threads N] [--out outputs/bench/generate.json]

Modes are ``audiodiff.fastpath`` settings: fp32 (eager), bf16 (autocast), compile
(torch.compile, default mode, fp32), compile_bf16, graphs (compile mode reduce-overhead =
CUDA graphs, bf16; CUDA only, skipped elsewhere). Untrained weights of the conf/model configs
are used: the cost of a step does not depend on the weights. Fixed warm-up runs (compilation
and graph capture happen there), then the median of repeats. Griffin-Lim (16 iterations)
decodes; "sampling" columns exclude the decoder.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from benchlib import machine, report
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch.utils.flop_counter import FlopCounterMode

from audiodiff.audio.mel import MelRepresentation
from audiodiff.cli.config import config_dir
from audiodiff.diffusion.precond import Denoiser
from audiodiff.fastpath import FastPath, accelerate, set_threads
from audiodiff.generation import sample
from audiodiff.sampling.guidance import classifier_free_guidance
from audiodiff.sampling.solvers import nfe

LABELS = {"instrument": 9, "pitch": 26}
MODES = {
    "fp32": FastPath(),
    "bf16": FastPath(precision="bf16"),
    "compile": FastPath(compile="default"),
    "compile_bf16": FastPath(precision="bf16", compile="default"),
    "graphs": FastPath(precision="bf16", compile="reduce-overhead"),
}


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device: str, dtype: torch.dtype, n: int, repeats: int = 10) -> float:
    """Measured FLOP/s of an n x n x n matmul: the practical peak the model is compared with."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        sync(device)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / min(times)


def forward_flops(denoiser: Denoiser, x: torch.Tensor, cond: dict, cfg_scale: float) -> int:
    """FLOPs of one guided denoiser call (matmuls and convolutions; CFG doubles the batch)."""
    guided = classifier_free_guidance(denoiser, cfg_scale)
    sigma = torch.ones(x.shape[0], device=x.device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        guided(x, sigma, cond)
    return counter.get_total_flops()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,small")
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--modes", default="fp32,bf16")
    parser.add_argument("--sampler", default="dpmpp_2m")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--cfg-scale", type=float, default=2.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--peak-size",
        type=int,
        help="n of the n x n matmul that measures the peak (default 8192 on CUDA, 1024 on CPU;"
        " bf16 matmuls on a CPU without bf16 units take seconds each at 1024)",
    )
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="outputs/bench/generate.json")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    device = args.device

    rep = MelRepresentation().to(device)
    frames = math.ceil(args.seconds * rep.frame_rate)
    big = args.peak_size or (8192 if device == "cuda" else 1024)
    peaks = {"fp32": matmul_peak(device, torch.float32, big)}
    if device == "cuda" or "bf16" in args.modes:
        peaks["bf16"] = matmul_peak(device, torch.bfloat16, big)
    rows, skipped = [], []
    for size in args.sizes.split(","):
        make_net = instantiate(OmegaConf.load(config_dir() / "model" / f"{size}.yaml"))
        denoiser = Denoiser(make_net(in_channels=80, label_sizes=LABELS)).to(device).eval()
        params = sum(p.numel() for p in denoiser.parameters())
        for batch in (int(b) for b in args.batches.split(",")):
            cond = {k: torch.ones(batch, dtype=torch.long, device=device) for k in LABELS}
            x = torch.randn(batch, 80, frames, device=device)
            flops = forward_flops(denoiser, x, cond, args.cfg_scale)
            for mode in args.modes.split(","):
                fast = MODES[mode]
                if fast.compile == "reduce-overhead" and device != "cuda":
                    skipped.append(f"{size}/b{batch}/{mode}: CUDA graphs need a GPU")
                    continue
                torch._dynamo.reset()
                fast_denoiser = accelerate(denoiser, fast, device)

                def sample_once(den=fast_denoiser, cond=cond, batch=batch) -> torch.Tensor:
                    out = sample(
                        den,
                        (batch, 80, frames),
                        cond=cond,
                        sampler=args.sampler,
                        steps=args.steps,
                        cfg_scale=args.cfg_scale,
                        device=device,
                        generator=torch.Generator().manual_seed(0),
                    )
                    sync(device)
                    return out

                for _ in range(args.warmup):
                    sample_once()
                sampling, total = [], []
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    xs = sample_once()
                    t1 = time.perf_counter()
                    rep.decode(xs.float())
                    sync(device)
                    sampling.append(t1 - t0)
                    total.append(time.perf_counter() - t0)
                s_med, t_med = statistics.median(sampling), statistics.median(total)
                evals = nfe(args.sampler, args.steps)
                achieved = flops * evals / s_med
                peak = peaks["bf16" if fast.precision == "bf16" else "fp32"]
                rows.append(
                    {
                        "size": size,
                        "params_m": params / 1e6,
                        "batch": batch,
                        "mode": mode,
                        "nfe": evals,
                        "sampling_seconds": s_med,
                        "total_seconds": t_med,
                        "rtf": batch * args.seconds / t_med,
                        "rtf_sampling": batch * args.seconds / s_med,
                        "gflop_per_forward": flops / 1e9,
                        "tflops_achieved": achieved / 1e12,
                        "fraction_of_peak": achieved / peak,
                    }
                )
                print(f"{size} b{batch} {mode}: {rows[-1]['rtf']:.1f}x real time", flush=True)
    result = {
        **machine(device),
        "sampler": args.sampler,
        "steps": args.steps,
        "audio_seconds": args.seconds,
        "cfg_scale": args.cfg_scale,
        "matmul_peak_tflops": {k: v / 1e12 for k, v in peaks.items()},
        "skipped": skipped,
        "rows": rows,
    }
    title = (
        f"{args.sampler} {args.steps} steps, {args.seconds:g} s clips, CFG {args.cfg_scale:g}, "
        f"{result['device']}, {torch.get_num_threads()} threads; matmul peak "
        + ", ".join(f"{k} {v / 1e12:.2f} TFLOP/s" for k, v in peaks.items())
    )
    table = [
        [
            r["size"],
            str(r["batch"]),
            r["mode"],
            f"{r['gflop_per_forward']:.1f}",
            f"{r['sampling_seconds']:.2f}",
            f"{r['rtf_sampling']:.1f}",
            f"{r['rtf']:.1f}",
            f"{100 * r['fraction_of_peak']:.1f}%",
        ]
        for r in rows
    ]
    columns = ["model", "batch", "mode", "GFLOP/fwd", "sampling s", "x RT sampling", "x RT", "peak"]
    report(result, args.out, title, columns, table)
    for line in skipped:
        print(f"skipped {line}")


if __name__ == "__main__":
    main()
