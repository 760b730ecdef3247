"""Generation speed: real-time factor (seconds of audio per second of compute) per sampler,
step count and model size, sampling plus decoding.

    python scripts/bench_generate.py [--sizes tiny,small] [--samplers euler,heun,dpmpp_2m]
        [--steps 10,20,50] [--batch 1] [--seconds 4] [--device cpu|cuda] [--precision 32|bf16]
        [--out outputs/bench/generate.json]

Untrained weights of the conf/model configs are used: the cost of a step does not depend on
the weights. Median of repeats after one warm-up run; Griffin-Lim (16 iterations) decodes.
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

from audiodiff.audio.mel import MelRepresentation
from audiodiff.cli.config import config_dir
from audiodiff.diffusion.precond import Denoiser
from audiodiff.generation import sample
from audiodiff.sampling.solvers import nfe

LABELS = {"instrument": 9, "pitch": 26}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,small")
    parser.add_argument("--samplers", default="euler,heun,dpmpp_2m")
    parser.add_argument("--steps", default="10,20,50")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--cfg-scale", type=float, default=3.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="32", choices=["32", "bf16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="outputs/bench/generate.json")
    args = parser.parse_args()

    rep = MelRepresentation().to(args.device)
    frames = math.ceil(args.seconds * rep.frame_rate)
    cond = {k: torch.ones(args.batch, dtype=torch.long) for k in LABELS}
    dtype = torch.bfloat16 if args.precision == "bf16" else None
    rows = []
    for size in args.sizes.split(","):
        make_net = instantiate(OmegaConf.load(config_dir() / "model" / f"{size}.yaml"))
        denoiser = Denoiser(make_net(in_channels=80, label_sizes=LABELS)).to(args.device).eval()
        for name in args.samplers.split(","):
            for steps in (int(s) for s in args.steps.split(",")):

                def run(name: str = name, steps: int = steps, denoiser=denoiser) -> None:
                    with torch.autocast(args.device, dtype=dtype, enabled=dtype is not None):
                        x = sample(
                            denoiser,
                            (args.batch, 80, frames),
                            cond=cond,
                            sampler=name,
                            steps=steps,
                            cfg_scale=args.cfg_scale,
                            device=args.device,
                            generator=torch.Generator().manual_seed(0),
                        )
                    rep.decode(x.float())
                    if args.device == "cuda":
                        torch.cuda.synchronize()

                run()
                times = []
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    run()
                    times.append(time.perf_counter() - t0)
                median = statistics.median(times)
                rows.append(
                    {
                        "size": size,
                        "sampler": name,
                        "steps": steps,
                        "nfe": nfe(name, steps),
                        "seconds": median,
                        "rtf": args.batch * args.seconds / median,
                    }
                )
    result = {
        **machine(args.device),
        "batch": args.batch,
        "audio_seconds": args.seconds,
        "cfg_scale": args.cfg_scale,
        "precision": args.precision,
        "rows": rows,
    }
    title = (
        f"generation of {args.batch} x {args.seconds:g} s, CFG on, {result['device']}, "
        f"{args.precision}"
    )
    table = [
        [
            r["size"],
            r["sampler"],
            str(r["steps"]),
            str(r["nfe"]),
            f"{r['seconds']:.2f}",
            f"{r['rtf']:.1f}",
        ]
        for r in rows
    ]
    columns = ["model", "sampler", "steps", "NFE", "wall (s)", "x real time"]
    report(result, args.out, title, columns, table)


if __name__ == "__main__":
    main()
