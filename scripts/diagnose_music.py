"""Diagnose why generation on real music is worse than on the synth set, before tuning.

    python scripts/make_real_sets.py music --out data/music_real --n 400 --seconds 2 --seed 0
    python scripts/make_real_sets.py music --out data/music_real_heldout --n 100 --seconds 2 \
        --seed 1
    python scripts/diagnose_music.py --data data/music_real --heldout data/music_real_heldout

Prints a markdown report and writes it as JSON (``--out``). Sections:

a. Representation statistics: every clip of ``--data`` (and of a small built-in synth set,
   ``SynthSpec(n=--synth-n)`` built in a temporary folder, for comparison) is encoded with the
   default mel representation (conf/representation/mel.yaml: x = (log mel + 8.5) / 3.5). Mean,
   std, 1st/99th percentile of x per set and per clip kind, against the EDM ``sigma_data``
   (1.0), and the fraction of values at the log floor (silence). Per-clip RMS level (dBFS):
   mean, std and 10th percentile.
b. Low-note resolution: for MIDI 36..72, which mel bin a pure sine at the note's f0 excites
   most (through the representation's own STFT and filter bank), that bin's width in semitones
   (half the distance between its neighbours' centre frequencies), and whether the next
   semitone up lands in another bin. Reports the lowest note from which every semitone step
   up (to MIDI 108) changes bin.
c. Decoder ceiling: the ``note`` clips of ``--heldout``, scored with the project's pitch
   metric (audiodiff.metrics.pitch.pitch_stats, pyin): hit = median f0 within 50 cents of
   main_pitch; an octave error = within 50 cents of main_pitch +- whole octaves. For the real
   audio and for its mel round trip through Griffin-Lim (MelRepresentation.decode), i.e. the
   best pitch hit rate a perfect mel generator could reach with this decoder.
   pyin's 60 Hz floor is lowered to 0.75 x the target f0 for notes below 80 Hz.
d. Fréchet distance (audiodiff.metrics.frechet, features standardised on the real set)
   between the held-out clips and their Griffin-Lim round trips, next to the split-half floor
   of the real set (50 vs 50 clips, so biased upward relative to the 100 vs 100 FD).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import librosa
import numpy as np
import torch

from audiodiff.audio.io import load
from audiodiff.audio.loudness import rms_db
from audiodiff.audio.mel import MelRepresentation
from audiodiff.data.records import read_records
from audiodiff.data.synth import SynthSpec, build_synth
from audiodiff.metrics.frechet import clip_features, frechet_distance, frechet_floor, standardize
from audiodiff.metrics.pitch import midi_to_hz, note_fmin, pitch_outcome, pitch_stats

SIGMA_DATA = 1.0  # conf/diffusion/edm.yaml


def read_rows(root: Path) -> list[dict[str, str]]:
    return read_records(root)  # metadata.csv rows, paths resolved against root


def load_wav(root: Path, row: dict[str, str], sr: int) -> torch.Tensor:
    return load(row["path"], sample_rate=sr)[0]  # [1, N]


def value_stats(x: np.ndarray, floor: float) -> dict:
    return {
        "n_values": int(x.size),
        "mean": float(x.mean()),
        "std": float(x.std()),
        "rms": float(np.sqrt((x**2).mean())),  # what EDM's sigma_data stands for (zero mean)
        "p1": float(np.percentile(x, 1)),
        "p99": float(np.percentile(x, 99)),
        "at_floor": float((x <= floor + 1e-4).mean()),
    }


def representation_stats(rep: MelRepresentation, root: Path, group: str) -> dict:
    """Section a for one set; ``group`` is the metadata column to split by."""
    floor = (float(np.log(rep.log_floor)) - rep.mean) / rep.std
    values: dict[str, list[np.ndarray]] = {}
    levels = []
    for row in read_rows(root):
        wav = load_wav(root, row, rep.sample_rate)
        with torch.no_grad():
            x = rep.encode(wav[None])[0].numpy().ravel()
        values.setdefault("all", []).append(x)
        values.setdefault(row.get(group) or "?", []).append(x)
        levels.append(float(rms_db(wav[0])))
    lv = np.array(levels)
    x_all = np.concatenate(values["all"])
    rows = read_rows(root)  # main_pitch in real sets, pitch in the synth set
    pitches = [
        int(r.get("main_pitch") or r["pitch"])
        for r in rows
        if r.get("main_pitch") or r.get("pitch")
    ]
    return {
        "clips": len(levels),
        # the representation's mean/std refitted on this set (what audiodiff.data.stats measures)
        "logmel_mean": float(rep.mean + rep.std * x_all.mean()),
        "logmel_std": float(rep.std * x_all.std()),
        "main_pitches": pitches,
        "values": {k: value_stats(np.concatenate(v), floor) for k, v in values.items()},
        "rms_dbfs": {
            "mean": float(lv.mean()),
            "std": float(lv.std()),
            "p10": float(np.percentile(lv, 10)),
        },
    }


def low_note_resolution(rep: MelRepresentation, lo: int = 36, hi: int = 72) -> dict:
    """Section b: the mel bin of each note's f0 and its width in semitones."""
    centres = librosa.mel_frequencies(rep.n_mels + 2, fmin=rep.f_min, fmax=rep.f_max)  # edges
    t = torch.arange(rep.sample_rate, dtype=torch.float32) / rep.sample_rate  # 1 s

    def bin_of(midi: int) -> int:
        sine = 0.5 * torch.sin(2 * np.pi * midi_to_hz(midi) * t)
        return int(rep.mel_magnitude(sine[None, None])[0].mean(-1).argmax())

    bins = {m: bin_of(m) for m in range(lo, 109)}
    notes = []
    for m in range(lo, hi + 1):
        k = bins[m] + 1  # index into centres (which include the lower edge)
        width = 12 * np.log2(centres[k + 1] / max(centres[k - 1], 1e-3)) / 2
        notes.append(
            {
                "midi": m,
                "f0_hz": round(midi_to_hz(m), 2),
                "bin": bins[m],
                "bin_centre_hz": round(float(centres[k]), 1),
                "bin_width_semitones": round(float(width), 2),
                "next_semitone_distinct": bins[m + 1] != bins[m],
            }
        )
    lowest = next(
        (m for m in range(lo, 108) if all(bins[j + 1] != bins[j] for j in range(m, 108))), None
    )
    return {
        "notes": notes,
        "lowest_all_distinct_midi": lowest,
        "first_distinct_step_midi": next(m for m in range(lo, 108) if bins[m + 1] != bins[m]),
        "fft_bin_hz": rep.sample_rate / rep.n_fft,
    }


def decoder_ceiling(rep: MelRepresentation, root: Path) -> tuple[dict, list, list]:
    """Section c (and the clips for d): pitch outcomes of real and Griffin-Lim audio."""
    counts = {"real": {}, "griffin_lim": {}}
    real_feats, gl_feats = [], []
    n_notes = 0
    for row in read_rows(root):
        wav = load_wav(root, row, rep.sample_rate)  # [1, N]
        with torch.no_grad():
            gl = rep.decode(rep.encode(wav[None]))[0].clamp(-1, 1)  # [1, N']
        real_feats.append(clip_features(wav[0], rep.sample_rate))
        gl_feats.append(clip_features(gl[0], rep.sample_rate))
        if row.get("kind") != "note" or not row.get("main_pitch"):
            continue
        n_notes += 1
        target = int(row["main_pitch"])
        fmin = note_fmin(target)  # pyin's default floor is 60 Hz
        for name, y in (("real", wav[0]), ("griffin_lim", gl[0])):
            outcome = pitch_outcome(pitch_stats(y, rep.sample_rate, target, fmin=fmin))
            counts[name][outcome] = counts[name].get(outcome, 0) + 1
    result = {"note_clips": n_notes}
    for name, c in counts.items():
        result[name] = {k: c.get(k, 0) for k in ("hit", "octave", "miss", "unvoiced")}
        result[name]["hit_rate"] = c.get("hit", 0) / max(n_notes, 1)
    return result, real_feats, gl_feats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/music_real")
    p.add_argument("--heldout", default="data/music_real_heldout")
    p.add_argument("--synth-n", type=int, default=200, help="0 skips the synth comparison")
    p.add_argument("--out", default="outputs/bench/diagnose_music.json")
    args = p.parse_args()
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    rep = MelRepresentation()  # conf/representation/mel.yaml defaults

    result: dict = {"representation": rep.config(), "sigma_data": SIGMA_DATA, "sets": {}}
    result["sets"]["real"] = representation_stats(rep, Path(args.data), "kind")
    if args.synth_n > 0:
        with tempfile.TemporaryDirectory() as tmp:
            spec = SynthSpec(n=args.synth_n, sample_rate=rep.sample_rate)
            root = build_synth(Path(tmp) / "synth", spec, progress=False)
            result["sets"]["synth"] = representation_stats(rep, root, "instrument")
    result["low_notes"] = low_note_resolution(rep)
    ceiling, real_feats, gl_feats = decoder_ceiling(rep, Path(args.heldout))
    result["decoder_ceiling"] = ceiling
    ref = standardize(np.stack(real_feats), np.stack(real_feats))
    gl = standardize(np.stack(gl_feats), np.stack(real_feats))
    result["frechet"] = {
        "clips": len(ref),
        "real_vs_griffin_lim": frechet_distance(ref, gl),
        "real_split_half_floor": frechet_floor(ref),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_report(result, args)
    print(f"\nwritten: {out}")


def print_report(r: dict, args: argparse.Namespace) -> None:
    print(f"# Music diagnosis: {args.data} (held-out {args.heldout})\n")
    print(f"## a. Normalised mel values (sigma_data = {r['sigma_data']})\n")
    print("| set | group | mean | std | rms | p1 | p99 | at log floor |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, s in r["sets"].items():
        for group, v in s["values"].items():
            print(
                f"| {name} | {group} | {v['mean']:.2f} | {v['std']:.2f} | {v['rms']:.2f}"
                f" | {v['p1']:.2f} | {v['p99']:.2f} | {v['at_floor']:.1%} |"
            )
    print("\n| set | clips | refitted log-mel mean | std | RMS dBFS mean | std | p10 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, s in r["sets"].items():
        lv = s["rms_dbfs"]
        print(
            f"| {name} | {s['clips']} | {s['logmel_mean']:.2f} | {s['logmel_std']:.2f}"
            f" | {lv['mean']:.1f} | {lv['std']:.1f} | {lv['p10']:.1f} |"
        )

    low = r["low_notes"]
    print(f"\n## b. Low-note resolution ({r['representation']['n_mels']} mels,"
          f" FFT bin {low['fft_bin_hz']:.1f} Hz)\n")  # fmt: skip
    print("| MIDI | f0 Hz | mel bin | bin centre Hz | bin width (semitones) | next step distinct |")
    print("|---:|---:|---:|---:|---:|:---:|")
    for n in low["notes"]:
        if n["midi"] % 3 == 0 or n["midi"] == 72:
            distinct = "yes" if n["next_semitone_distinct"] else "no"
            print(
                f"| {n['midi']} | {n['f0_hz']:.1f} | {n['bin']} | {n['bin_centre_hz']:.0f}"
                f" | {n['bin_width_semitones']:.2f} | {distinct} |"
            )
    distinct = sum(n["next_semitone_distinct"] for n in low["notes"])
    print(f"\nSemitone steps in 36..72 that change bin: {distinct}/{len(low['notes'])}."
          f" First step that changes bin: MIDI {low['first_distinct_step_midi']}; every step"
          f" changes bin from MIDI {low['lowest_all_distinct_midi']} up.")  # fmt: skip
    for name, s in r["sets"].items():
        if s["main_pitches"]:
            below = sum(m < low["lowest_all_distinct_midi"] for m in s["main_pitches"])
            print(f"{name}: {below}/{len(s['main_pitches'])} pitched clips have main pitch below"
                  f" that (range {min(s['main_pitches'])}..{max(s['main_pitches'])}).")  # fmt: skip

    c = r["decoder_ceiling"]
    print(f"\n## c. Decoder ceiling ({c['note_clips']} held-out note clips, pyin)\n")
    print("| audio | hit rate | hit | octave error | miss | unvoiced |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ("real", "griffin_lim"):
        s = c[name]
        print(
            f"| {name} | {s['hit_rate']:.1%} | {s['hit']} | {s['octave']} | {s['miss']}"
            f" | {s['unvoiced']} |"
        )
    f = r["frechet"]
    print(f"\n## d. FD ({f['clips']} held-out clips, standardised on real)\n")
    print(f"real vs Griffin-Lim round trip: {f['real_vs_griffin_lim']:.2f};"
          f" real split-half floor (50 vs 50): {f['real_split_half_floor']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
