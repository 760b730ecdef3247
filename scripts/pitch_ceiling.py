"""The pitch a perfect mel generator could reach, per instrument, for several mel settings.

    python scripts/pitch_ceiling.py --heldout data/music_notes_heldout3 \
        --rep 1024/128 --rep 2048/128 --rep 2048/192

Every ``kind=note`` clip of ``--heldout`` is encoded with each ``--rep`` (n_fft/n_mels of
``MelRepresentation``, 16 kHz, hop 256) and decoded by Griffin-Lim, and the real clip and
each round trip are scored with the project's pitch metric (pyin; a hit is a median f0
within 50 cents of ``main_pitch``, ``audiodiff.metrics.pitch.pitch_outcome``). A model that
generated exactly the real mel would score the round trip's rate, so a column is that
setting's ceiling; an instrument whose round trip loses notes the real clip keeps is one the
representation itself limits. The last row is each round trip's Fréchet distance to the
real clips over the real clips' split-half floor (``audiodiff.metrics.frechet``, as in
``bench_formulations.py``): what the decoder alone costs in FD / floor. Prints the table and
writes JSON (``--out``).

``--noise S`` (repeatable) adds columns: each rep's mel with Gaussian noise of std S (in the
representation's normalised units, ``--mean``/``--std``) added before Griffin-Lim. That is an
oracle for a generator that gets every note right but leaves noise of that size in the mel,
as the samplers do (``bench_formulations.py``'s roughness column): how many of the notes
that noise alone costs, and whether pyin then reads them an octave off.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from audiodiff.audio.io import load
from audiodiff.audio.mel import MelRepresentation
from audiodiff.data.records import read_records
from audiodiff.errors import ConfigError
from audiodiff.metrics.frechet import clip_features, frechet_distance, frechet_floor, standardize
from audiodiff.metrics.pitch import note_fmin, pitch_outcome, pitch_stats


def parse_rep(text: str) -> tuple[int, int]:
    """'2048/192' -> (2048, 192)."""
    try:
        n_fft, n_mels = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError(f"--rep {text!r}: expected N_FFT/N_MELS, for example 1024/128") from None
    return n_fft, n_mels


def ceilings(
    root: Path, reps: dict[str, MelRepresentation], noise: dict[str, float] | None = None
) -> tuple[dict, dict[str, float]]:
    """({audio: {instrument: Counter(outcome)}}, {audio: FD / floor}) for 'real' and each
    rep's round trip; the instrument 'ALL' sums them. ``noise`` ({name: std}, default 0 for
    every rep) is added to each rep's encoded mel before decoding (a fixed seed)."""
    noise = noise or {}
    gen = torch.Generator().manual_seed(0)
    counts: dict[str, dict[str, Counter]] = {k: defaultdict(Counter) for k in ["real", *reps]}
    feats: dict[str, list[np.ndarray]] = {k: [] for k in counts}
    rows = [r for r in read_records(root) if r.get("kind") == "note" and r.get("main_pitch")]
    if not rows:
        raise ConfigError(f"{root}: no kind=note rows with a main_pitch")
    for row in rows:
        wav, sr = load(row["path"])  # [C, N]
        wav = wav.mean(0).reshape(1, 1, -1).float()  # [1, 1, N]
        target = int(float(row["main_pitch"]))
        audio = {"real": wav[0, 0]}
        with torch.no_grad():
            for name, rep in reps.items():
                if rep.sample_rate != sr:
                    raise ConfigError(f"{row['path']}: {sr} Hz, the representations take "
                                      f"{rep.sample_rate} Hz")  # fmt: skip
                x = rep.encode(wav)  # [1, C, T]
                if noise.get(name):
                    x = x + noise[name] * torch.randn(x.shape, generator=gen)
                y = rep.decode(x)[0, 0].clamp(-1, 1)  # [N // hop * hop]
                audio[name] = torch.nn.functional.pad(y, (0, wav.shape[-1] - len(y)))
        for name, y in audio.items():
            feats[name].append(clip_features(y, sr))
            outcome = pitch_outcome(pitch_stats(y, sr, target, fmin=note_fmin(target)))
            counts[name][row.get("instrument", "?")][outcome] += 1
            counts[name]["ALL"][outcome] += 1
    real = np.stack(feats["real"])
    real_std = standardize(real, real)
    floor = frechet_floor(real_std)
    fd = {k: frechet_distance(standardize(np.stack(f), real), real_std) / floor
          for k, f in feats.items()}  # fmt: skip
    return counts, fd


def table(counts: dict[str, dict[str, Counter]], fd: dict[str, float]) -> str:
    names = list(counts)
    instruments = sorted(i for i in counts["real"] if i != "ALL") + ["ALL"]
    lines = ["| instrument | notes | " + " | ".join(names) + " |",
             "|---|---:|" + "---:|" * len(names)]  # fmt: skip
    for inst in instruments:
        n = sum(counts["real"][inst].values())
        hits = [str(counts[name][inst]["hit"]) for name in names]
        lines.append(f"| {inst} | {n} | " + " | ".join(hits) + " |")
    rates = [f"{counts[name]['ALL']['hit'] / sum(counts[name]['ALL'].values()):.3f}"
             for name in names]  # fmt: skip
    lines.append("| hit rate | | " + " | ".join(rates) + " |")
    octave = [str(counts[name]["ALL"]["octave"]) for name in names]
    lines.append("| octave errors | | " + " | ".join(octave) + " |")
    lines.append("| FD / floor | | " + " | ".join(f"{fd[name]:.2f}" for name in names) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--heldout", type=Path, required=True, help="labelled folder of notes")
    p.add_argument("--rep", action="append", default=None, help="N_FFT/N_MELS (repeatable)")
    p.add_argument(
        "--noise",
        type=float,
        action="append",
        default=[],
        help="also decode each rep's mel plus noise of this std (repeatable)",
    )
    p.add_argument("--mean", type=float, default=None, help="the reps' normalisation mean")
    p.add_argument("--std", type=float, default=None, help="the reps' normalisation std")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("outputs/bench/pitch_ceiling.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    reps, noise = {}, {}
    norm = {k: v for k, v in (("mean", args.mean), ("std", args.std)) if v is not None}
    for text in args.rep or ["1024/128"]:
        n_fft, n_mels = parse_rep(text)
        rep = MelRepresentation(n_fft=n_fft, n_mels=n_mels, **norm)
        reps[f"{n_fft}/{n_mels}"] = rep
        for std in args.noise:
            reps[f"{n_fft}/{n_mels}+noise {std:g}"] = rep
            noise[f"{n_fft}/{n_mels}+noise {std:g}"] = std
    counts, fd = ceilings(args.heldout, reps, noise)
    print(f"Notes hit (pyin, 50 cents) in {args.heldout}: the real clips and their Griffin-Lim "
          "round trips through each n_fft/n_mels\n")  # fmt: skip
    print(table(counts, fd))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plain = {k: {i: dict(c) for i, c in v.items()} for k, v in counts.items()}
    data = {"heldout": str(args.heldout), "counts": plain, "fd_over_floor": fd}
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
