"""How many solver steps, from which sigma, for a conditional restoration model: a sweep on
held-out noisy speech (the clip / noise / SNR rule of ``bench_restore.py``). Prints a table,
writes JSON.

    python scripts/bench_restore_steps.py --ckpt outputs/denoise_speech/run/model --n 10

Each row restores the same clips with one (sampler, steps, sigma_start, sigma_min).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from bench_restore import SR, noisy_clips

from audiodiff.metrics.paired import pesq_score, si_sdr
from audiodiff.pipeline import load as load_model
from audiodiff.restore.restorer import RestoreOptions, restore

# (sampler, steps, sigma_start in units of sigma_data, sigma_min or None = the model's)
GRID = [
    ("euler", 1, 1.5, None),
    ("euler", 1, 3.0, None),
    ("euler", 1, 6.0, None),
    ("euler", 1, 10.0, None),
    ("euler", 2, 6.0, 0.2),
    ("euler", 4, 6.0, 0.2),
    ("euler", 8, 3.0, None),
    ("heun", 2, 6.0, 0.2),
    ("heun", 4, 6.0, 0.1),
    ("dpmpp_2m", 4, 3.0, None),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, default=Path("outputs/denoise_speech/run/model"))
    parser.add_argument("--clean", type=Path, default=Path("data/speech_heldout_voices"))
    parser.add_argument("--music", type=Path, default=Path("data/music_heldout"))
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench/restore_steps.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipe = load_model(args.ckpt, "cpu")
    sigma_data = float(pipe.config["diffusion"]["sigma_data"])
    clips = noisy_clips(args.clean, args.music, args.n)
    rows = []
    print("| sampler | steps | sigma_start | sigma_min | SI-SDR | PESQ-WB | x real time |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for sampler, steps, start, sigma_min in GRID:
        opts = RestoreOptions(task="denoise", sampler=sampler, steps=steps,
                              sigma_start=start * sigma_data, sigma_min=sigma_min)  # fmt: skip
        began = time.perf_counter()
        out = [restore(pipe, noisy, opts) for _, clean, noisy in clips]
        secs = time.perf_counter() - began
        sdr = sum(float(si_sdr(e, c)) for e, (_, c, _) in zip(out, clips, strict=True))
        pesq = [pesq_score(e[0], c[0], SR) for e, (_, c, _) in zip(out, clips, strict=True)]
        pesq = [p for p in pesq if p is not None]
        row = {
            "sampler": sampler,
            "steps": steps,
            "sigma_start": start * sigma_data,
            "sigma_min": sigma_min,
            "si_sdr": round(sdr / len(clips), 2),
            "pesq": round(sum(pesq) / max(1, len(pesq)), 3),
            "rtf": round(sum(c.shape[-1] for _, c, _ in clips) / SR / secs, 1),
        }
        rows.append(row)
        print(" | ".join(["", *map(str, row.values()), ""]).strip(), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"ckpt": str(args.ckpt), "n": args.n, "rows": rows}, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
