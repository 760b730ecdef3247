"""Long-form and loop boundaries: can the window seams and the loop point be heard?

    python scripts/bench_longform.py --ckpt outputs/demo/run/model --cond instrument=pad

For one model, ``--n`` long-form clips (``generate_long``: windows of the training context,
each sampled given the overlap it shares with the one before) and ``--n`` loops, for each
``--cg-iters`` (0: data consistency on the kept frames; > 0: the Tweedie posterior). Two
frame-to-frame changes of the decoded audio are measured: spectral flux
(``bench_long_file.spectral_flux``: the rise in log magnitude) and mel distance (mean
|log-mel[k + 1] - log-mel[k]| over the bins). For each, the mean over the frames within
``--radius`` of every boundary (where kept frames meet new ones; the loop point, read on the
loop rotated by half its length) against the mean over the frames inside the windows (all
others), their ratio, and two percentiles of the boundary mean: ``pct`` among ``--draws``
means of as many windows of 2 radius + 1 consecutive inside frames (one per boundary, placed
at random), ``pct1`` among means of as many single inside frames drawn independently (the
earlier null; it ignores that neighbouring frames move together, as an onset spans several,
and so reads small excesses as extreme). Near 50 where a boundary is not special, near 100
where it is. Both judge the average over all boundaries, so over hundreds of seams an excess
of a few percent can reach 100. (Judged one boundary at a time, the measures do not separate
even a one-pass clip's unmatched ends: notes start everywhere inside.)

References: one-pass clips of the same lengths (the net is convolutional), measured at the
same positions (not special there), and the same one-pass clip's ends joined as if it were a
loop (what an unmatched loop point measures).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from bench_long_file import spectral_flux
from benchlib import machine, report

import audiodiff
from audiodiff.audio.mel import MelRepresentation
from audiodiff.editing.longform import (
    RELEASE_SIGMA,
    decode_long,
    generate_long,
    seams,
    window_sizes,
)


def mel_distance(wav: np.ndarray, sample_rate: int, hop: int = 256) -> np.ndarray:
    """mean over bins of |L[:, k + 1] - L[:, k]|, L = log mel (80 bins, n_fft 1024, centred
    frames): the change from frame k to k + 1, centred at sample (k + 0.5) hop. [N] -> [T - 1]."""
    mel = MelRepresentation(sample_rate=sample_rate, hop_length=hop, mean=0.0, std=1.0)
    logmel = mel.encode(torch.as_tensor(wav, dtype=torch.float32).view(1, 1, -1))[0]
    return torch.diff(logmel, dim=1).abs().mean(0).numpy()


MEASURES = {  # name -> (per-frame change of one clip, its hop in samples)
    "flux": (lambda wav, sr: spectral_flux(wav, 512, 128), 128),
    "mel": (lambda wav, sr: mel_distance(wav, sr, 256), 256),
}


def boundary_stats(
    values: np.ndarray,
    at: list[int],
    others: list[int],
    hop: int,
    radius: int = 2,
    draws: int = 1000,
    seed: int = 0,
    grid: int | None = None,
) -> dict:
    """values [clips, K]: a change per frame pair (k, k + 1), centred at (k + 0.5) hop.
    Frames within ``radius`` of a position in ``at`` (samples) against those within radius
    of neither ``at`` nor ``others`` (other boundaries) nor the clip's edges.

    ``grid`` (samples; the decoder's frame hop): the null's windows sit at the same phase of
    that grid as the boundary they stand in for. A measure with a finer hop than the decoder
    rises and falls with that phase, and every window seam lies on the grid."""
    k = values.shape[1]
    if not at:
        return {"boundary": None, "inside": None, "ratio": None, "percentile": None,
                "percentile_frames": None, "count": 0}  # fmt: skip

    def centres_of(positions: list[int]) -> np.ndarray:
        return np.clip(np.round(np.asarray(positions) / hop - 0.5).astype(int), 0, k - 1)

    def near(positions: list[int]) -> np.ndarray:
        mask, centres = np.zeros(k, bool), centres_of(positions)
        for offset in range(-radius, radius + 1):
            mask[np.clip(centres + offset, 0, k - 1)] = True
        return mask

    boundary = near(at)
    inside = ~(boundary | near(others))
    inside[: radius + 1] = inside[k - radius - 1 :] = False  # the clip's own edges
    b, i = float(values[:, boundary].mean()), float(values[:, inside].mean())
    rng = np.random.default_rng(seed)
    # the null for a mean over the boundaries' windows: as many windows of 2 radius + 1
    # consecutive inside frames, at random (neighbouring frames are correlated: an onset
    # spans several, so single frames drawn apart would understate the spread), each at its
    # boundary's phase of the grid
    width = 2 * radius + 1
    whole = np.lib.stride_tricks.sliding_window_view(inside, width).all(axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(values, width, axis=1).mean(axis=2)
    starts = np.arange(whole.size)  # window j covers frames j .. j + 2 radius
    period = max(1, (grid or hop) // hop)
    phases = (centres_of(at) - radius) % period
    total = np.zeros(draws)
    for phase in np.unique(phases):
        pool = windows[:, whole & (starts % period == phase)].reshape(-1)
        count = int((phases == phase).sum()) * len(values)
        picks = rng.integers(0, pool.size, size=(draws, count))
        total += pool[picks].sum(axis=1)
    null = total / (len(at) * len(values))
    # the earlier null: as many single inside frames, drawn independently, at any phase
    frames = values[:, inside].reshape(-1)
    picks = rng.integers(0, frames.size, size=(draws, int(boundary.sum()) * len(values)))
    null_frames = frames[picks].mean(axis=1)
    return {
        "boundary": round(b, 4),
        "inside": round(i, 4),
        "ratio": round(b / i, 4) if i > 0 else None,
        "percentile": round(100 * float((null < b).mean()), 1),
        "percentile_frames": round(100 * float((null_frames < b).mean()), 1),
        "count": len(at),
    }


def measure(wavs: torch.Tensor, sr: int, at: list[int], others: list[int], args) -> dict:
    """Both measures of clips wavs [n, 1, N] at the boundaries ``at`` (samples)."""
    out = {}
    for name, (change, hop) in MEASURES.items():
        values = np.stack([change(w[0].numpy(), sr) for w in wavs])
        out[name] = boundary_stats(
            values, at, others, hop, args.radius, args.draws, args.seed, args.grid
        )
    return out


def rolled(wavs: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Clips rotated by half their length, so the loop point (end -> start) sits at shift."""
    shift = wavs.shape[-1] // 2
    return torch.roll(wavs, shift, dims=-1), shift


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, required=True)
    parser.add_argument("--n", type=int, default=8, help="clips of each kind")
    parser.add_argument("--seconds", type=float, help="long-form length; default 4 contexts")
    parser.add_argument("--loop-seconds", type=float, help="loop length; default 2 contexts")
    parser.add_argument("--overlap", type=float, help="default: a quarter of the context")
    parser.add_argument("--cg-iters", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--resample",
        type=int,
        nargs="+",
        default=[1],
        help="RePaint resampling counts to try (1: none)",
    )
    parser.add_argument("--resample-jump", type=int, default=5)
    parser.add_argument(
        "--crossfade",
        type=float,
        nargs="+",
        default=[1.0],
        help="fractions of the overlap to crossfade over",
    )
    parser.add_argument(
        "--release-sigma",
        type=float,
        nargs="+",
        default=[RELEASE_SIGMA],
        help="noise levels below which the kept frames are no longer imposed (0: never)",
    )
    parser.add_argument(
        "--linear",
        action="store_true",
        help="crossfade windows along a straight line instead of the smoothstep",
    )
    parser.add_argument("--cond", nargs="*", default=[], help="LABEL=VALUE ...")
    parser.add_argument("--sampler")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--cfg-scale", type=float)
    parser.add_argument("--radius", type=int, default=2, help="frames either side")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench/longform.json"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = audiodiff.load(args.ckpt, device=args.device)
    cond = dict(c.split("=", 1) for c in args.cond) or None
    context = float(pipe.config["data"]["segment_seconds"])
    seconds = args.seconds or 4 * context
    loop_seconds = args.loop_seconds or 2 * context
    sampling = dict(sampler=args.sampler, steps=args.steps, cfg_scale=args.cfg_scale)
    sr, hop = pipe.sample_rate, pipe.representation.hop_length
    args.grid = hop  # window seams lie on the decoder's frame grid
    plans = {}
    for name, length, loop in (("long", seconds, False), ("loop", loop_seconds, True)):
        frames, width, shared = window_sizes(pipe, length, args.overlap, None, loop)
        plans[name] = (length, loop, [t * hop for t in seams(frames, width, shared, loop)])
    rows, table = [], []

    def add(clip: str, cg: int | str, where: str, result: dict, seconds_taken: float,
            resample: int = 1, crossfade: float | None = None,
            release: float | None = None) -> None:  # fmt: skip
        rows.append({"clip": clip, "cg_iters": cg, "resample": resample, "crossfade": crossfade,
                     "release_sigma": release, "where": where, **result,
                     "seconds": round(seconds_taken, 2)})  # fmt: skip
        keys = ("boundary", "inside", "percentile", "percentile_frames")
        cells = [f"{result[m][k]}" for m in MEASURES for k in keys]
        method = str(cg) if resample == 1 else f"{cg}, resample {resample}"
        method += "" if crossfade in (None, 1.0) else f", fade {crossfade:g}"
        method += "" if release is None else f", release {release:g}"
        table.append([clip, method, where, str(result["flux"]["count"]), *cells])

    # rows: clip (one pass | long | loop), where (seams: window boundaries; ends: a one-pass
    # clip's end joined to its start; loop: a loop's wrap point), n boundaries per clip

    long_len, _, long_at = plans["long"]  # references: one pass, the same positions
    start = time.perf_counter()
    one = pipe.generate(args.n, long_len, cond, seed=args.seed, **sampling)
    taken = time.perf_counter() - start
    add("one pass", "-", "seams", measure(one, sr, long_at, [], args), taken)
    loop_len, _, loop_at = plans["loop"]
    frames = math.ceil(loop_len * pipe.representation.frame_rate - 1e-6)
    start = time.perf_counter()
    one = pipe.generate(args.n, frames * hop / sr, cond, seed=args.seed, **sampling)
    taken = time.perf_counter() - start
    turned, shift = rolled(one)
    add("one pass", "-", "ends", measure(turned, sr, [shift], [], args), taken)
    variants = [
        (cg, r, f, s)
        for cg in args.cg_iters
        for r in args.resample
        for f in args.crossfade
        for s in args.release_sigma
    ]
    for cg, r, fade, release in variants:
        for name, (length, loop, at) in plans.items():
            start = time.perf_counter()
            x = generate_long(pipe, args.n, length, cond, args.seed, overlap=args.overlap,
                              loop=loop, cg_iters=cg, crossfade=fade, resample=r,
                              resample_jump=args.resample_jump, release_sigma=release,
                              ease=not args.linear, **sampling)  # fmt: skip
            wavs = decode_long(pipe, x, length, loop)
            taken = time.perf_counter() - start
            if not loop:
                add(name, cg, "seams", measure(wavs, sr, at, [], args), taken, r, fade, release)
                continue
            turned, shift = rolled(wavs)
            moved = [(p + shift) % wavs.shape[-1] for p in at]
            add(name, cg, "seams", measure(turned, sr, moved, [shift], args), taken, r, fade,
                release)  # fmt: skip
            add(name, cg, "loop", measure(turned, sr, [shift], moved, args), taken, r, fade,
                release)  # fmt: skip
    result = {
        "ckpt": str(args.ckpt),
        "machine": machine(args.device),
        "settings": {
            "n": args.n,
            "seconds": seconds,
            "loop_seconds": loop_seconds,
            "context": context,
            "overlap": args.overlap,
            "cond": cond,
            "radius": args.radius,
            "draws": args.draws,
            "seed": args.seed,
            "resample_jump": args.resample_jump,
            "crossfade_shape": "linear" if args.linear else "smoothstep",
            **sampling,
        },  # fmt: skip
        "rows": rows,
    }
    columns = ["clip", "cg", "where", "n"]
    columns += [f"{m} {k}" for m in MEASURES for k in ("at", "in", "pct", "pct1")]
    report(result, args.out, "boundaries of long-form clips and loops", columns, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
