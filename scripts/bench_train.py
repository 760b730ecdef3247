"""Training throughput per model size: frames per second through forward + backward + step.

    python scripts/bench_train.py [--sizes tiny,small,base] [--batch 16] [--frames 128]
        [--device cpu|cuda] [--precision 32|bf16] [--out outputs/bench/train.json]

One "frame" is one time step of the representation (a mel frame: 16 ms of audio at the
default settings), so frames/s x hop / sample_rate = seconds of audio trained per second.
Median of repeats after warm-up steps; the EDM loss, AdamW and the real configs in conf/model.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from benchlib import machine, report
from hydra.utils import instantiate
from omegaconf import OmegaConf

from audiodiff.cli.config import config_dir
from audiodiff.diffusion.loss import EDMLoss
from audiodiff.diffusion.precond import Denoiser

LABELS = {"instrument": 9, "pitch": 26}


def bench(size: str, args: argparse.Namespace) -> dict:
    make_net = instantiate(OmegaConf.load(config_dir() / "model" / f"{size}.yaml"))
    net = make_net(in_channels=args.channels, label_sizes=LABELS)
    denoiser = Denoiser(net).to(args.device)
    loss_fn = EDMLoss()
    opt = torch.optim.AdamW(denoiser.parameters(), lr=1e-4)
    x = torch.randn(args.batch, args.channels, args.frames, device=args.device)
    cond = {k: torch.randint(0, n, (args.batch,), device=args.device) for k, n in LABELS.items()}
    dtype = torch.bfloat16 if args.precision == "bf16" else None

    def step() -> None:
        with torch.autocast(args.device, dtype=dtype, enabled=dtype is not None):
            loss = loss_fn(denoiser, x, cond)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if args.device == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {
        "size": size,
        "params_m": sum(p.numel() for p in net.parameters()) / 1e6,
        "step_ms": 1000 * median,
        "frames_per_s": args.batch * args.frames / median,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,small,base")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=128)
    parser.add_argument("--channels", type=int, default=80)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="32", choices=["32", "bf16"])
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="outputs/bench/train.json")
    args = parser.parse_args()
    rows = [bench(size, args) for size in args.sizes.split(",")]
    result = {
        **machine(args.device),
        "batch": args.batch,
        "frames": args.frames,
        "precision": args.precision,
        "rows": rows,
    }
    title = (
        f"training step, batch {args.batch} x {args.frames} frames, {result['device']}, "
        f"{args.precision}"
    )
    table = [
        [r["size"], f"{r['params_m']:.2f}", f"{r['step_ms']:.0f}", f"{r['frames_per_s']:.0f}"]
        for r in rows
    ]
    report(result, args.out, title, ["model", "params (M)", "step (ms)", "frames/s"], table)


if __name__ == "__main__":
    main()
