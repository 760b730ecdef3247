"""Pitch-shifted copies of a labelled folder: more notes per (instrument, pitch) for training.

    python scripts/shift_pitch.py --data data/music_1500 --out data/music_1500_shift \
        --semitones -2 -1 1 2 --kinds note

Writes ``--out`` with every clip of ``--data`` (hard links where the file system allows,
copies otherwise) and, for every clip whose ``--label`` holds a MIDI number (and whose
``kind`` is one of ``--kinds``, when given), one copy per shift: the audio resampled by
2^(s / 12), so it plays s semitones higher and 2^(-s / 12) times as long, its label raised
by s and its ``onsets`` scaled alike. metadata.csv lists all of them with the original
columns plus ``shift`` (0 for the originals). A copy whose label would leave MIDI 0-127 is
skipped.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from audiodiff.audio.io import load, resample, save
from audiodiff.data.records import read_records
from audiodiff.errors import ConfigError
from audiodiff.fileio import write_csv


def shifted_onsets(onsets: str, ratio: float) -> str:
    """'0.017 1.000' -> the same times divided by ratio (the copy plays ratio times faster)."""
    return " ".join(f"{float(t) / ratio:.3f}" for t in onsets.split())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="labelled folder (metadata.csv)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--semitones", type=int, nargs="+", default=[-1, 1])
    p.add_argument("--label", default="main_pitch", help="the MIDI pitch column to shift")
    p.add_argument("--kinds", nargs="*", default=None, help="only rows of these kinds")
    args = p.parse_args(argv)
    if 0 in args.semitones:
        raise ConfigError("--semitones: 0 is the original clip, which is always kept")
    if (args.out / "metadata.csv").exists():
        raise ConfigError(f"{args.out} already holds a metadata.csv; choose another --out")
    records = read_records(args.data)
    if not any(args.label in r for r in records):
        raise ConfigError(f"{args.data}: no '{args.label}' column in its metadata")
    columns = [c for c in records[0] if c != "path"]
    rows, made = [], 0
    for record in records:
        source = Path(record["path"])
        rel = source.resolve().relative_to(args.data.resolve())
        target = args.out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        rows.append({"path": str(rel), **{c: record.get(c, "") for c in columns}, "shift": 0})
        value = record.get(args.label, "").strip()
        if not value or (args.kinds and record.get("kind") not in args.kinds):
            continue
        wav, sr = load(source)
        for s in args.semitones:
            pitch = int(float(value)) + s
            if not 0 <= pitch <= 127:
                continue
            ratio = 2 ** (s / 12)
            # read at sr * ratio, written at sr: the same samples fewer (s > 0), played faster
            out = resample(wav, round(sr * ratio), sr)
            name = rel.with_name(f"{rel.stem}_shift{s:+d}{rel.suffix}")
            save(args.out / name, out, sr)
            row = {"path": str(name), **{c: record.get(c, "") for c in columns}, "shift": s}
            row[args.label] = str(pitch)
            if row.get("onsets"):
                row["onsets"] = shifted_onsets(row["onsets"], ratio)
            rows.append(row)
            made += 1
    write_csv(args.out / "metadata.csv", rows)  # atomic: a re-run never finds half a file
    print(f"{args.out}: {len(records)} clips and {made} shifted copies")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
