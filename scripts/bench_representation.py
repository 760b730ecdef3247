"""Benchmark the mel representation: encode speed, and Griffin-Lim speed vs quality.

    python scripts/bench_representation.py [--clips 16] [--out outputs/bench/representation.json]

Uses held-out clips of the built-in synth set (built under data/synth if missing). Speed is
"x real time": seconds of audio processed per second of compute (median of repeats, after a
warm-up). Quality compares the decoded audio with the original clip.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from benchlib import machine, report
from rich.console import Console

from audiodiff.audio.io import load
from audiodiff.audio.mel import MelRepresentation
from audiodiff.data.records import read_records, split_records
from audiodiff.data.synth import SynthSpec, ensure_synth
from audiodiff.metrics.paired import (
    log_spectral_distance,
    multi_resolution_stft_distance,
    spectral_convergence,
)


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/synth")
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iters", default="0,8,16,32,64")
    parser.add_argument("--out", default="outputs/bench/representation.json")
    args = parser.parse_args()

    root = ensure_synth(args.data, SynthSpec())
    _, val = split_records(read_records(root), root, 0.1)
    wavs = [load(r["path"], sample_rate=16000)[0] for r in val[: args.clips]]
    n = min(w.shape[-1] for w in wavs)
    batch = torch.stack([w[:, :n] for w in wavs])  # [B, 1, N]
    seconds = batch.shape[0] * n / 16000
    rows = []
    rep = MelRepresentation()
    t_enc = timed(lambda: rep.encode(batch), args.repeats)
    x = rep.encode(batch)
    for iters in [int(i) for i in args.iters.split(",")]:
        rep_i = MelRepresentation(griffin_lim_iters=iters)
        t_dec = timed(lambda r=rep_i: r.decode(x), args.repeats)
        y = rep_i.decode(x)[:, 0]
        ref = batch[:, 0, : y.shape[-1]]
        rows.append(
            {
                "griffin_lim_iters": iters,
                "decode_x_realtime": seconds / t_dec,
                "spectral_convergence": spectral_convergence(y, ref, 1024, 256).mean().item(),
                "lsd": log_spectral_distance(y, ref).mean().item(),
                "mr_stft": multi_resolution_stft_distance(y, ref).mean().item(),
            }
        )
    result = {
        **machine(),
        "clips": batch.shape[0],
        "audio_seconds": seconds,
        "encode_x_realtime": seconds / t_enc,
        "griffin_lim": rows,
    }
    Console().print(f"mel encode: {result['encode_x_realtime']:.0f}x real time")
    table = [
        [
            str(r["griffin_lim_iters"]),
            f"{r['decode_x_realtime']:.1f}",
            f"{r['spectral_convergence']:.3f}",
            f"{r['lsd']:.3f}",
            f"{r['mr_stft']:.3f}",
        ]
        for r in rows
    ]
    title = f"mel + Griffin-Lim on {batch.shape[0]} held-out synth clips"
    report(result, args.out, title, ["GL iters", "decode x RT", "SC", "LSD", "MR-STFT"], table)


if __name__ == "__main__":
    main()
