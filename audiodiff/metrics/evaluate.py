"""Evaluate a folder of generated audio against a reference folder.

``evaluate_unpaired``: Fréchet distance on ``clip_features`` plus pitch statistics.
``evaluate_paired``: reference-based metrics on files matched by relative path.
Unreadable files are skipped and listed; results are plain JSON-serialisable dicts.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from statistics import median
from typing import Any

import librosa
import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from audiodiff.audio.io import find_audio, load
from audiodiff.data.records import read_records
from audiodiff.errors import AudioDiffError, ConfigError
from audiodiff.fileio import write_text
from audiodiff.metrics.classifier import LabelClassifier
from audiodiff.metrics.frechet import (
    clip_features,
    frechet_distance,
    frechet_floor,
    standardize,
)
from audiodiff.metrics.paired import (
    log_spectral_distance,
    multi_resolution_stft_distance,
    optional_metrics_available,
    pesq_score,
    si_sdr,
    stoi_score,
)
from audiodiff.metrics.pitch import HIT_CENTS, pitch_stats

METADATA = "metadata.csv"
# errors raised by feature code on odd but readable audio; the file is skipped, not fatal
_FILE_ERRORS = (AudioDiffError, ValueError, RuntimeError, librosa.util.exceptions.ParameterError)
PAIRED_METRICS = ("si_sdr", "lsd", "mr_stft", "pesq", "stoi")


def _jsonable(x: Any) -> Any:
    """Plain Python types only; non-finite floats become None."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, torch.Tensor):
        return _jsonable(x.item() if x.numel() == 1 else x.tolist())
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Path):
        return str(x)
    return x


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=True,
    )


def _check_rate(sample_rate: int) -> None:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1:
        raise ConfigError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")


def _audio_files(folder: str | Path, what: str) -> tuple[Path, list[Path]]:
    root = Path(folder)
    if not root.is_dir():
        problem = "is not a folder" if os.path.lexists(root) else "does not exist"
        raise ConfigError(f"{what} folder {root} {problem}")
    files = find_audio(root)
    if not files:
        raise ConfigError(f"no audio files in {what} folder {root}")
    return root, files


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _skip(skipped: list[dict], which: str, rel: str, err: Exception) -> None:
    skipped.append(
        {
            "set": which,
            "path": rel,
            "error": str(err).splitlines()[0] if str(err) else type(err).__name__,
        }
    )


def _read_targets(root: Path, notes: list[str]) -> dict[str, float | None] | None:
    """Target MIDI pitch per relative path from ``root/metadata.csv`` (None when absent).

    A metadata file that cannot be read (not UTF-8, not CSV, not a regular file) is a
    ``ConfigError`` naming it and the line."""
    meta = root / METADATA
    if not meta.is_file():
        if os.path.lexists(meta):
            notes.append(f"{meta} is not a regular file; pitch targets not used")
        return None
    try:
        text = meta.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{meta}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if not reader.fieldnames or not {"path", "pitch"} <= set(reader.fieldnames):
            notes.append(f"{meta} lacks 'path' and 'pitch' columns; pitch targets not used")
            return None
        targets: dict[str, float | None] = {}
        for row in reader:
            line = reader.line_num
            rel = PurePosixPath((row["path"] or "").strip().replace("\\", "/")).as_posix()
            value = (row["pitch"] or "").strip()
            try:
                targets[rel] = float(value) if value else None
                if value and not math.isfinite(targets[rel]):
                    raise ValueError(value)
            except ValueError:
                raise ConfigError(f"{meta}:{line}: pitch '{value}' is not a MIDI number") from None
    except csv.Error as e:
        raise ConfigError(f"{meta}:{reader.line_num}: not valid CSV ({e})") from None
    return targets


def _pitch_summary(per_file: list[dict]) -> dict:
    targeted = [p for p in per_file if p["target_midi"] is not None]
    voiced_hz = [p["median_hz"] for p in per_file if p["median_hz"] is not None]
    return {
        "n_files": len(per_file),
        "voiced_fraction_mean": _mean(p["voiced_fraction"] for p in per_file),
        "median_hz": float(median(voiced_hz)) if voiced_hz else None,
        "n_with_target": len(targeted),
        # a file with a target but no voiced frame counts as a miss
        "hit_rate": _mean(float(bool(p["hit"])) for p in targeted),
        "mean_abs_cents": _mean(
            abs(p["cents_off"]) for p in targeted if p["cents_off"] is not None
        ),
        "hit_cents": HIT_CENTS,
        "per_file": per_file,
    }


def _read_labels(root: Path, label: str) -> dict[str, str]:
    """The non-empty ``label`` value per relative path of ``root/metadata.csv``."""
    if not (root / METADATA).is_file():
        raise ConfigError(f"{root / METADATA} not found: label accuracy needs the '{label}' values")
    records = read_records(root)
    if not any(label in r for r in records):
        raise ConfigError(f"{root / METADATA} has no '{label}' column (the classifier's label)")
    labels = {}
    for r in records:
        value = r.get(label, "").strip()
        path = Path(r["path"])
        if value and path.is_relative_to(root):
            labels[path.relative_to(root).as_posix()] = value
    return labels


def _label_summary(classifier: LabelClassifier, rows: list[dict], notes: list[str]) -> dict:
    """Fraction of files whose predicted label equals their metadata value, overall and per
    value; values the classifier was not trained on are left out (and noted)."""
    known = set(classifier.classes)
    unknown = sorted({r["target"] for r in rows if r["target"] not in known})
    if unknown:
        notes.append(f"label accuracy: values the classifier does not know were skipped: {unknown}")
    scored = [r for r in rows if r["target"] in known]
    per_value = {}
    for value in sorted({r["target"] for r in scored}):
        hits = [r["predicted"] == value for r in scored if r["target"] == value]
        per_value[value] = {"n": len(hits), "accuracy": float(np.mean(hits))}
    return {
        "label": classifier.label,
        "classifier_heldout_accuracy": classifier.info.get("accuracy", {}).get("heldout"),
        "n_files": len(scored),
        "accuracy": _mean(float(r["predicted"] == r["target"]) for r in scored),
        "per_value": per_value,
        "per_file": rows,
    }


def evaluate_unpaired(
    generated_dir: str | Path,
    reference_dir: str | Path,
    sample_rate: int = 16000,
    pitch: bool = True,
    progress: bool = True,
    classifier: str | Path | None = None,
) -> dict:
    """FD of generated vs reference clips, its floor (reference halves), pitch statistics.

    With ``generated_dir/metadata.csv`` (columns ``path`` relative to ``generated_dir`` and
    ``pitch`` as MIDI, may be empty) pitch hits within 50 cents of the targets are reported.
    With ``classifier`` (a folder from ``train_label_classifier``) the result also holds
    ``label_accuracy``: how often the classifier's prediction equals the file's metadata
    value of its label (files without a value are skipped).
    """
    _check_rate(sample_rate)
    gen_root, gen_files = _audio_files(generated_dir, "generated")
    ref_root, ref_files = _audio_files(reference_dir, "reference")
    notes: list[str] = []
    targets = _read_targets(gen_root, notes) if pitch else None
    judge = None if classifier is None else LabelClassifier.load(classifier)
    labels = {} if judge is None else _read_labels(gen_root, judge.label)
    label_rows: list[dict] = []
    skipped: list[dict] = []
    feats: dict[str, list[np.ndarray]] = {"generated": [], "reference": []}
    pitch_rows: list[dict] = []
    with _progress(progress) as bar:
        for which, root, files in (
            ("generated", gen_root, gen_files),
            ("reference", ref_root, ref_files),
        ):
            task = bar.add_task(which, total=len(files))
            for path in files:
                rel = _rel(path, root)
                try:
                    wav, sr = load(path, sample_rate=sample_rate)  # [1, N]
                    feat = clip_features(wav[0], sr)  # [D]
                    if pitch and which == "generated":
                        target = (targets or {}).get(rel)
                        stats = pitch_stats(wav[0], sr, target_midi=target)
                        pitch_rows.append({"path": rel, "target_midi": target, **stats})
                    if judge is not None and which == "generated" and rel in labels:
                        (predicted,) = judge.predict(wav[None], sr)  # wav[None]: [1, 1, N]
                        label_rows.append(
                            {"path": rel, "target": labels[rel], "predicted": predicted}
                        )
                    feats[which].append(feat)
                except _FILE_ERRORS as e:
                    _skip(skipped, which, rel, e)
                bar.advance(task)
    gen, ref = (np.stack(f) if f else np.zeros((0, 0)) for f in feats.values())  # [n, D]
    if len(ref) >= 2:
        gen, ref = standardize(gen, ref) if len(gen) else gen, standardize(ref, ref)
    fd = frechet_distance(gen, ref) if len(gen) >= 2 and len(ref) >= 2 else None
    floor = frechet_floor(ref) if len(ref) >= 4 else None
    if fd is None:
        notes.append("FD needs at least 2 readable files per folder")
    if floor is None:
        notes.append("FD floor needs at least 4 readable reference files")
    if targets is not None:
        found = {row["path"] for row in pitch_rows} | {s["path"] for s in skipped}
        missing = sorted(set(targets) - found)
        if missing:
            notes.append(f"{len(missing)} {METADATA} rows name no generated audio file")
    extra = {} if judge is None else {"label_accuracy": _label_summary(judge, label_rows, notes)}
    return _jsonable(
        {
            "mode": "unpaired",
            "generated_dir": gen_root,
            "reference_dir": ref_root,
            "sample_rate": sample_rate,
            "n_generated": len(gen),
            "n_reference": len(ref),
            "n_skipped": len(skipped),
            "skipped": skipped,
            "fd": fd,
            "fd_floor": floor,
            "features": (
                "20 MFCC + 7 spectral contrast, mean and std over frames, at 16 kHz;"
                " each divided by its std over the reference set"
            ),
            "pitch": _pitch_summary(pitch_rows) if pitch else None,
            "notes": notes,
            **extra,
        }
    )


def _strip_suffix(rel: str) -> str:
    return PurePosixPath(rel).with_suffix("").as_posix()


def _match(gen: list[str], ref: list[str]) -> list[tuple[str, str]]:
    """Pairs by identical relative path, then by path without extension where unique."""
    ref_set = set(ref)
    pairs = {g: g for g in gen if g in ref_set}
    groups: tuple[dict[str, list[str]], ...] = (defaultdict(list), defaultdict(list))
    for items, group in ((gen, groups[0]), (ref, groups[1])):
        for x in items:
            if x not in pairs:
                group[_strip_suffix(x)].append(x)
    for key, gs in groups[0].items():
        rs = groups[1].get(key, [])
        if len(gs) == 1 and len(rs) == 1:
            pairs[gs[0]] = rs[0]
    return sorted(pairs.items())


def _paired_row(gen_path: Path, ref_path: Path, sample_rate: int) -> dict:
    est, sr = load(gen_path, sample_rate=sample_rate)  # [1, N]
    ref, _ = load(ref_path, sample_rate=sample_rate)  # [1, M]
    est, ref = est[0], ref[0]
    return {
        "length_mismatch": est.shape[-1] != ref.shape[-1],
        "si_sdr": si_sdr(est, ref).item(),
        "lsd": log_spectral_distance(est, ref).item(),
        "mr_stft": multi_resolution_stft_distance(est, ref).item(),
        "pesq": pesq_score(est, ref, sr),
        "stoi": stoi_score(est, ref, sr),
    }


def evaluate_paired(
    generated_dir: str | Path,
    reference_dir: str | Path,
    sample_rate: int = 16000,
    progress: bool = True,
) -> dict:
    """SI-SDR, LSD, MR-STFT distance (and PESQ/STOI when installed) per matched file pair.

    Files match by relative path (or by relative path without extension when that is unique);
    lengths are trimmed to the shorter file. Raises ConfigError when no file matches.
    """
    _check_rate(sample_rate)
    gen_root, gen_files = _audio_files(generated_dir, "generated")
    ref_root, ref_files = _audio_files(reference_dir, "reference")
    gen_rel = [_rel(p, gen_root) for p in gen_files]
    ref_rel = [_rel(p, ref_root) for p in ref_files]
    pairs = _match(gen_rel, ref_rel)
    if not pairs:
        raise ConfigError(f"no file in {gen_root} matches a file in {ref_root} by relative path")
    skipped: list[dict] = []
    rows: list[dict] = []
    with _progress(progress) as bar:
        task = bar.add_task("pairs", total=len(pairs))
        for g, r in pairs:
            try:
                rows.append(
                    {
                        "path": g,
                        "reference": r,
                        **_paired_row(gen_root / g, ref_root / r, sample_rate),
                    }
                )
            except _FILE_ERRORS as e:
                _skip(skipped, "pair", g, e)
            bar.advance(task)
    matched_g, matched_r = {g for g, _ in pairs}, {r for _, r in pairs}
    return _jsonable(
        {
            "mode": "paired",
            "generated_dir": gen_root,
            "reference_dir": ref_root,
            "sample_rate": sample_rate,
            "n_pairs": len(rows),
            "unmatched_generated": [g for g in gen_rel if g not in matched_g],
            "unmatched_reference": [r for r in ref_rel if r not in matched_r],
            "n_skipped": len(skipped),
            "skipped": skipped,
            "n_length_mismatch": sum(row.pop("length_mismatch") for row in rows),
            "optional_metrics": optional_metrics_available(),
            "means": {m: _mean(row[m] for row in rows) for m in PAIRED_METRICS},
            "per_file": rows,
        }
    )


def _fmt(x: Any, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def format_table(result: dict) -> Table:
    """A rich table summarising a result of ``evaluate_unpaired`` or ``evaluate_paired``."""
    table = Table(title=f"audiodiff metrics ({result['mode']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    if result["mode"] == "paired":
        rows = [
            ("pairs", result["n_pairs"]),
            ("unmatched generated", len(result["unmatched_generated"])),
            ("unmatched reference", len(result["unmatched_reference"])),
            ("skipped files", result["n_skipped"]),
        ]
        labels = {
            "si_sdr": "SI-SDR dB (higher better)",
            "lsd": "LSD (lower better)",
            "mr_stft": "MR-STFT (lower better)",
            "pesq": "PESQ wb (higher better)",
            "stoi": "STOI (higher better)",
        }
        rows += [(labels[m], result["means"][m]) for m in PAIRED_METRICS]
    else:
        rows = [
            ("generated files", result["n_generated"]),
            ("reference files", result["n_reference"]),
            ("skipped files", result["n_skipped"]),
            ("FD generated vs reference", result["fd"]),
            ("FD floor (reference halves)", result["fd_floor"]),
        ]
        p = result.get("pitch")
        if p:
            rows += [
                ("voiced fraction (mean)", p["voiced_fraction_mean"]),
                ("median pitch Hz", p["median_hz"]),
                (f"pitch hit rate (n={p['n_with_target']})", p["hit_rate"]),
                ("mean |cents off|", p["mean_abs_cents"]),
            ]
        la = result.get("label_accuracy")
        if la:
            rows.append((f"label accuracy ({la['label']}, n={la['n_files']})", la["accuracy"]))
            rows += [(f"  {v} (n={r['n']})", r["accuracy"]) for v, r in la["per_value"].items()]
    for name, value in rows:
        table.add_row(name, _fmt(value))
    return table


def write_json(result: dict, path: str | Path) -> Path:
    """Write a result dict as indented JSON (parent folders created); never over a folder."""
    if Path(path).is_dir():
        raise ConfigError(f"{path}: is a folder; name the JSON report's file")
    return write_text(path, json.dumps(_jsonable(result), indent=2, allow_nan=False) + "\n")
