"""Compare trained models (e.g. EDM, v-prediction, flow matching) on one held-out label set.

    python scripts/bench_formulations.py --run edm=outputs/formulations/music_edm/model \
        --run vpred=outputs/formulations/music_vpred/model \
        --heldout data/music_real_heldout --name music

Each model draws one clip per row of ``--heldout``'s metadata.csv, conditioned on that row's
labels (those the model knows; a value it never saw is left null and counted) and, for a text
model, its ``caption`` as the prompt, with the same
solver and steps (equal NFE), then each set of clips is scored against the held-out audio:

- pitch (rows of kind ``note`` with a ``main_pitch``; every row when the set has no kind
  column but a ``pitch`` column): hit rate (pyin median f0 within 50 cents), octave errors,
  and octave errors beyond the real clips' own (on the notes whose real clip pyin reads
  right; the issue's octave target counts these);
- FD / floor: Fréchet distance of ``clip_features`` to the held-out clips, over the held-out
  split-half floor (features standardised on the held-out set);
- loudness: per-clip RMS dBFS, its std and 10th percentile, and the Wasserstein-1 distance
  of its distribution to the held-out one (dB);
- onset: the first frame whose RMS is within 20 dB of the clip's loudest frame; the
  fraction of note clips that start within 0.12 s, and the gap between the median onset
  and the held-out clips' median (ms);
- voiced fraction (pyin) of the note clips;
- roughness / real: the sampled representation's frame-to-frame roughness over that of the
  held-out clips in the same representation (``audiodiff.metrics.roughness``); far above 1
  is noise the sampler left in;
- with ``--classifier DIR`` (scripts/train_label_classifier.py), label accuracy: the
  fraction of clips the classifier reads as their row's value of its label;
- per clip (JSON only): instrument, RMS dBFS and, for the pitched ones, the target pitch,
  the outcome, the cents off and ``octave_below_db`` (how strongly the spectrum sounds the
  octave below the target, ``audiodiff.metrics.pitch``: a check on pyin's octave readings),
  to see where the misses and the quiet clips are;
- with ``--draws K`` (K > 1), K clips per row (seeds seed .. seed + K - 1; the table scores
  the first): the pitch hit rate of each draw, the rate of notes hit by any draw (what
  picking the best of K could reach at most) and, with ``--classifier``, the rate when each
  row keeps the draw the classifier finds likeliest for the row's value of its label.

The held-out audio itself is scored the same way as the ``real`` row. ``--vocoder PATH`` adds
a row per model with the same samples decoded by that vocoder instead of Griffin-Lim, and
``--level`` a row per model with the same clips at levels drawn from its training data. Prints a
markdown table and writes JSON to ``--out`` (default outputs/bench/formulations_NAME.json);
``--sheet N`` also saves the first N rows' mels, real and sampled, beside it as a PNG.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from audiodiff.audio.io import load as load_audio
from audiodiff.audio.io import resample
from audiodiff.audio.loudness import rms_db
from audiodiff.data.captions import pitch_phrases
from audiodiff.data.records import read_records
from audiodiff.errors import ConfigError
from audiodiff.metrics.classifier import LabelClassifier
from audiodiff.metrics.frechet import clip_features, frechet_distance, frechet_floor, standardize
from audiodiff.metrics.pitch import (
    OUTCOMES,
    midi_to_hz,
    note_fmin,
    octave_below_db,
    pitch_outcome,
    pitch_stats,
)
from audiodiff.metrics.roughness import time_roughness
from audiodiff.pipeline import load
from audiodiff.viz.spectrogram import save_spectrogram_sheet

ONSET_DB = 20.0  # an onset: the first frame within this many dB of the loudest frame
EARLY_S = 0.12  # "starts at the start": real one-shots start within this (make_real_sets)


def pitch_target(row: dict[str, str]) -> int | None:
    """The MIDI pitch a clip must have: a note's main_pitch (synth sets: pitch, when the
    row's caption, if any, names it: a partial caption such as "a bell" asks for no pitch)."""
    if "kind" in row:
        return int(row["main_pitch"]) if row["kind"] == "note" and row.get("main_pitch") else None
    value = row.get("pitch") or row.get("main_pitch")
    if not value:
        return None
    midi = int(float(value))
    caption = row.get("caption", "").lower()
    if caption and not any(p.lower() in caption for p in pitch_phrases(midi)):
        return None
    return midi


def onset_seconds(wav: np.ndarray, sr: int, frame: int = 256) -> float:
    """Time of the first frame within ONSET_DB of the loudest frame (s)."""
    # wav: [N] -> scalar
    n = len(wav) // frame
    if n == 0:
        return 0.0
    frames = wav[: n * frame].reshape(n, frame)
    db = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    return float(np.argmax(db >= db.max() - ONSET_DB) * frame / sr)


def wasserstein1(a: np.ndarray, b: np.ndarray) -> float:
    """W1 between two 1-D empirical distributions (the area between their quantile curves)."""
    q = np.linspace(0, 1, 201)
    return float(np.abs(np.quantile(a, q) - np.quantile(b, q)).mean())


def as_batch(clips: list[np.ndarray]) -> torch.Tensor:
    """Equal-length clips [N] -> wav [N, 1, samples] (float32)."""
    return torch.stack([torch.from_numpy(np.asarray(w, dtype=np.float32))[None] for w in clips])


def label_accuracy(clips: list[np.ndarray], rows: list[dict], sr: int, classifier) -> dict:
    """The fraction of clips a trained label classifier reads as their row's value."""
    label = classifier.label
    scored = [(w, r[label]) for w, r in zip(clips, rows, strict=True) if r.get(label)]
    if not scored:
        return {"label_accuracy": None}
    predicted = classifier.predict(as_batch([w for w, _ in scored]), sr)
    hits = [p == v for p, (_, v) in zip(predicted, scored, strict=True)]
    return {"label_accuracy": float(np.mean(hits)), "label": label, "label_n": len(hits)}


def label_log_probs(clips: list[np.ndarray], rows: list[dict], sr: int, classifier) -> np.ndarray:
    """Each clip's classifier log-probability of its row's value (-inf: a value it lacks)."""
    logp = torch.log_softmax(classifier.logits(as_batch(clips), sr), dim=-1).numpy()
    index = {c: i for i, c in enumerate(classifier.classes)}
    values = [index.get(r.get(classifier.label, "")) for r in rows]
    return np.array([-np.inf if v is None else logp[i, v] for i, v in enumerate(values)])


def draw_summary(hits: np.ndarray, log_probs: np.ndarray | None = None) -> dict:
    """hits [K, R]: whether draw k of note row r hit its pitch. log_probs [K, R]: a scorer's
    preference, or None. -> hit rate per draw, by any draw, and of the preferred draw."""
    out = {
        "draws": int(hits.shape[0]),
        "pitch_hit_per_draw": [float(h.mean()) for h in hits],
        "pitch_hit_any_draw": float(hits.any(axis=0).mean()),
    }
    if log_probs is not None:
        pick = np.argmax(log_probs, axis=0)  # ties (e.g. all -inf): the first draw
        out["pitch_hit_reranked"] = float(hits[pick, np.arange(hits.shape[1])].mean())
    return out


def note_hits(scored: dict) -> list[bool]:
    """The pitch outcome of each note clip of ``score``'s result, as hit or not."""
    return [c["outcome"] == "hit" for c in scored["per_clip"] if "outcome" in c]


def octave_beyond_real(real: list[dict], generated: list[dict]) -> dict:
    """Octave errors on the notes whose real clip pyin reads right (``per_clip`` records of
    the real and the generated clips, row by row): what the model adds to pyin's own."""
    read_right = [g for r, g in zip(real, generated, strict=True) if r.get("outcome") == "hit"]
    count = sum(g.get("outcome") == "octave" for g in read_right)
    return {
        "octave_beyond_real": count,
        "octave_beyond_real_rate": count / max(len(read_right), 1),
        "real_read_right": len(read_right),
    }


def score(clips: list[np.ndarray], rows: list[dict], sr: int, ref: dict) -> dict:
    """Pitch, FD / floor, loudness and onset statistics of clips [N] drawn for ``rows``."""
    counts = dict.fromkeys(OUTCOMES, 0)
    voiced, onsets = [], []
    levels = np.array([float(rms_db(torch.from_numpy(w))) for w in clips])
    per_clip = []  # one record per clip: where the misses and the quiet clips are
    for wav, row, level in zip(clips, rows, levels, strict=True):
        record = {"instrument": row.get("instrument"), "rms_db": round(float(level), 2)}
        per_clip.append(record)
        target = pitch_target(row)
        if target is None:
            continue
        stats = pitch_stats(wav, sr, target, fmin=note_fmin(target))
        outcome = pitch_outcome(stats)
        counts[outcome] += 1
        voiced.append(stats["voiced_fraction"])
        onsets.append(onset_seconds(wav, sr))
        cents = stats.get("cents_off")
        record.update(
            pitch=target,
            outcome=outcome,
            cents_off=None if cents is None else round(cents, 1),
            octave_below_db=round(octave_below_db(wav, sr, midi_to_hz(target)), 1),
        )
    n_notes = sum(counts.values())
    feats = standardize(np.stack([clip_features(w, sr) for w in clips]), ref["feats"])
    fd = frechet_distance(feats, ref["feats_std"])
    return {
        "note_clips": n_notes,
        "pitch_hit_rate": counts["hit"] / max(n_notes, 1),
        "octave_rate": counts["octave"] / max(n_notes, 1),
        "pitch_outcomes": counts,
        "voiced_fraction": float(np.mean(voiced)) if voiced else None,
        "early_onset_rate": float(np.mean(np.array(onsets) <= EARLY_S)) if onsets else None,
        "onset_median_ms": float(np.median(onsets) * 1000) if onsets else None,
        "fd": fd,
        "fd_over_floor": fd / ref["floor"],
        "rms_db_std": float(levels.std()),
        "rms_db_p10": float(np.percentile(levels, 10)),
        "loudness_w1_db": wasserstein1(levels, ref["levels"]),
        "per_clip": per_clip,
    }


def decode_clamped(pipe, x: torch.Tensor, clamp: float | None, n_samples: int) -> torch.Tensor:
    """The pipeline's decode of x [B, C, T], with x held at or below ``clamp`` first (None:
    as sampled), cut to n_samples -> wav [B, 1, n_samples]. What ``pipe.generate`` does at the
    net's level, plus the clamp."""
    if clamp is not None:
        x = x.clamp(max=clamp)
    return pipe.decode(x)[..., :n_samples].float()


def encode_real(pipe, real: list[np.ndarray]) -> torch.Tensor:
    """The held-out clips (16 kHz) in the model's own representation -> [N, C, T]."""
    wav = as_batch(real)
    if pipe.sample_rate != 16000:
        wav = resample(wav, 16000, pipe.sample_rate)
    with torch.no_grad():
        return pipe.representation.encode(wav.to(pipe.device)).cpu()


def roughness_over_real(pipe, x: torch.Tensor, real: list[np.ndarray]) -> float:
    """Mean frame-to-frame roughness of the sampled x [B, C, T] over that of the held-out
    clips encoded by the model's own representation: far above 1 is noise the sampler left
    in (audiodiff.metrics.roughness)."""
    ref = encode_real(pipe, real)
    return float(time_roughness(x.cpu()).mean() / time_roughness(ref).mean())


def save_sheet(
    path: Path, sheet: dict[str, torch.Tensor], rows: list[dict], real: list, runs: dict
) -> Path:
    """A spectrogram sheet: one row for the real clips (in the first model's representation)
    and one per model, one column per held-out row."""
    first = load(next(iter(runs.values())), device="cpu")
    k = len(next(iter(sheet.values())))
    ref = encode_real(first, real[:k])
    images, titles = [], []
    for name, x in {"real": ref, **sheet}.items():
        for i, mel in enumerate(x):
            row = rows[i]
            images.append(mel)
            titles.append(f"{name}: {row.get('instrument', '')} {row.get('main_pitch', '')}")
    return save_spectrogram_sheet(
        path, images, titles, frame_rate=first.representation.frame_rate, ncols=k
    )


def generate(
    ckpt: str, rows: list[dict], args, vocoder: str | None = None, real: list | None = None
) -> tuple[list[np.ndarray], list[np.ndarray] | None, dict, torch.Tensor]:
    """One clip per row -> (clips at the net's level, clips at levels drawn from the data
    or None, info, the sampled representation x [N, C, T])."""
    decoder = None
    if vocoder:  # the same samples, decoded by a trained vocoder instead of Griffin-Lim
        decoder = {"_target_": "audiodiff.codecs.decoders.vocoder", "_partial_": True,
                   "ckpt": vocoder}  # fmt: skip
    pipe = load(ckpt, device="cpu", decoder=decoder)
    cond, unseen = {}, 0
    for label, values in pipe.labels.items():
        column = [row.get(label, "") for row in rows]
        known = [v if v in values or v == "" else None for v in column]
        unseen += sum(v is None for v in known)
        cond[label] = [v or None for v in known]
    if pipe.text:  # a text model reads each row's caption as its prompt
        cond["prompt"] = [row.get("caption", "") for row in rows]
    start = time.perf_counter()
    x = pipe.sample(
        n=len(rows),
        seconds=args.seconds,
        cond=cond,
        sampler=args.sampler,
        steps=args.steps,
        cfg_scale=args.cfg,
        seed=args.seed,
        progress=True,
        cfg_interval=args.cfg_interval,
    )
    wav = decode_clamped(pipe, x, args.clamp, round(args.seconds * pipe.sample_rate))
    seconds = time.perf_counter() - start
    leveled = None
    if args.level and pipe.config.get("levels"):  # the same clips at levels drawn from the data
        leveled = [w[0].numpy() for w in pipe.set_level(wav, cond, "data", args.seed)]
    nfe = args.steps * (2 if args.sampler in ("heun", "dpmpp_2s") else 1)
    info = {
        "ckpt": ckpt,
        "vocoder": vocoder,
        "diffusion": pipe.config["diffusion"]["denoiser"]["_target_"].rsplit(".", 1)[-1]
        if "denoiser" in pipe.config["diffusion"]
        else "Denoiser",
        "labels": list(pipe.labels),
        "unseen_label_values": unseen,
        "nfe_per_clip": nfe * (2 if args.cfg != 1 else 1),
        "generate_seconds": seconds,
        "sample_rate": pipe.sample_rate,
    }
    if real is not None:
        info["roughness_over_real"] = roughness_over_real(pipe, x, real)
    return [w[0].numpy() for w in wav], leveled, info, x.cpu()


def parse_runs(items: list[str]) -> dict[str, str]:
    """['NAME=CKPT', ...] -> {NAME: CKPT}."""
    runs = {}
    for item in items:
        name, sep, ckpt = item.partition("=")
        if not sep or not name or not ckpt:
            raise ConfigError(f"--run {item!r}: expected NAME=CKPT")
        runs[name] = ckpt
    return runs


def load_heldout(
    root: Path, n: int | None, seconds: float, sr: int = 16000
) -> tuple[list[dict], list[np.ndarray]]:
    """The first n rows of a folder's metadata.csv (paths resolved against it) and their
    clips at ``sr``, zero-padded or cut to ``seconds``."""
    rows = read_records(root)[:n]
    size = round(seconds * sr)
    real = [load_audio(r["path"], sample_rate=sr)[0][0].numpy() for r in rows]
    return rows, [np.pad(w, (0, max(0, size - len(w))))[:size] for w in real]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", action="append", required=True, help="NAME=CKPT (repeatable)")
    p.add_argument("--heldout", required=True, help="folder with metadata.csv and the clips")
    p.add_argument("--name", default="heldout")
    p.add_argument("--n", type=int, default=None, help="first N rows (default all)")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--sampler", default="dpmpp_2m")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--cfg", type=float, default=2.0)
    p.add_argument(
        "--cfg-interval",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        help="guide only for sigma in [LO, HI] (Kynkaanniemi et al. 2024)",
    )
    p.add_argument(
        "--clamp",
        type=float,
        default=None,
        help="hold the sampled representation at or below this value before decoding "
        "(normalised units), for models without representation.x_max (which decode holds "
        "them at anyway)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--draws", type=int, default=1, help="clips per row (seeds seed, seed+1...)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--vocoder", default=None, help="also decode every run with this vocoder")
    p.add_argument(
        "--classifier", default=None, help="a label classifier folder: also label accuracy"
    )
    p.add_argument(
        "--level",
        action="store_true",
        help="also score each model's clips at levels drawn from its training data "
        "(generate level=data), as the row NAME+level",
    )
    p.add_argument(
        "--sheet",
        type=int,
        default=0,
        help="also save the first N rows' mels, real and each model's, as OUT with .png",
    )
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = parse_runs(args.run)
    sr = 16000
    rows, real = load_heldout(Path(args.heldout), args.n, args.seconds, sr)
    feats = np.stack([clip_features(w, sr) for w in real])
    ref = {
        "feats": feats,
        "feats_std": standardize(feats, feats),
        "floor": frechet_floor(standardize(feats, feats)),
        "levels": np.array([float(rms_db(torch.from_numpy(w))) for w in real]),
    }
    classifier = LabelClassifier.load(args.classifier) if args.classifier else None

    def scores(clips: list[np.ndarray]) -> dict:
        extra = label_accuracy(clips, rows, sr, classifier) if classifier else {}
        return {**score(clips, rows, sr, ref), **extra}

    def more_draws(ckpt: str, vocoder: str | None, first: list, first_scores: dict) -> dict:
        """Draws 1 .. draws - 1 of one model (draw 0 is ``first``), summarised."""
        hits, log_probs = [note_hits(first_scores)], []
        notes = [i for i, row in enumerate(rows) if pitch_target(row) is not None]
        for d in range(args.draws):
            clips = first
            if d > 0:
                again = argparse.Namespace(**{**vars(args), "seed": args.seed + d})
                clips = generate(ckpt, rows, again, vocoder)[0]
                hits.append(note_hits(score(clips, rows, sr, ref)))
            if classifier is not None:
                log_probs.append(label_log_probs(clips, rows, sr, classifier)[notes])
        preference = np.array(log_probs) if classifier is not None else None
        return draw_summary(np.array(hits), preference)

    results = {"real": {**scores(real), "ckpt": None}}
    sheet: dict[str, torch.Tensor] = {}  # run -> its first --sheet sampled mels
    for name, ckpt in runs.items():
        for vocoder in (None, args.vocoder) if args.vocoder else (None,):
            clips, leveled, info, x = generate(ckpt, rows, args, vocoder, real)
            if vocoder is None:
                sheet[name] = x[: args.sheet]
            key = name + ("+vocoder" if vocoder else "")
            results[key] = {**scores(clips), **info}
            if args.draws > 1:
                results[key] |= more_draws(ckpt, vocoder, clips, results[key])
            if leveled is not None:
                results[key + "+level"] = {**scores(leveled), **info, "level": "data"}
    for r in results.values():  # the onset criterion: the medians within 50 ms
        if r.get("onset_median_ms") is not None and results["real"]["onset_median_ms"] is not None:
            r["onset_median_gap_ms"] = abs(
                r["onset_median_ms"] - results["real"]["onset_median_ms"]
            )
        if r is not results["real"] and results["real"]["note_clips"]:
            r.update(octave_beyond_real(results["real"]["per_clip"], r["per_clip"]))
    cols = [
        ("pitch_hit_rate", "pitch hit", 2),
        ("octave_rate", "octave err", 2),
        ("octave_beyond_real_rate", "octave beyond real", 3),
        ("voiced_fraction", "voiced", 2),
        ("early_onset_rate", "onset <= 0.12 s", 2),
        ("onset_median_gap_ms", "onset median gap ms", 0),
        ("fd_over_floor", "FD / floor", 2),
        ("roughness_over_real", "roughness / real", 1),
        ("loudness_w1_db", "loudness W1 dB", 1),
        ("rms_db_std", "RMS std dB", 1),
        ("rms_db_p10", "RMS p10 dBFS", 1),
        ("nfe_per_clip", "NFE", 0),
    ]
    if classifier:
        cols.insert(0, ("label_accuracy", f"{classifier.label} acc.", 2))
    print(
        f"\n{args.name}: {len(rows)} held-out rows, floor FD {ref['floor']:.2f}, "
        f"{args.sampler} {args.steps} steps, cfg {args.cfg}\n"
    )
    if args.draws > 1:
        cols += [("pitch_hit_any_draw", f"pitch hit, any of {args.draws}", 2)]
        cols += [("pitch_hit_reranked", "pitch hit, reranked", 2)] if classifier else []
    print("| model | " + " | ".join(c[1] for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name, r in results.items():
        cells = []
        for key, _, digits in cols:
            v = r.get(key)
            cells.append("" if v is None else f"{v:.{digits}f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    out = Path(args.out or f"outputs/bench/formulations_{args.name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.sheet:
        print(f"wrote {save_sheet(out.with_suffix('.png'), sheet, rows, real, runs)}")
    meta = {k: v for k, v in vars(args).items() if k != "run"}
    out.write_text(json.dumps({"args": meta, "runs": runs, "results": results}, indent=1))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
