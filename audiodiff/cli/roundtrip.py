"""``audiodiff roundtrip``: representation encode -> decode on held-out clips, scored."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from audiodiff.audio.io import load, save
from audiodiff.cli.output import prepare_output_dir, report_skipped
from audiodiff.errors import AudioFileError, ConfigError
from audiodiff.fileio import write_text
from audiodiff.metrics.evaluate import (
    evaluate_paired,
    evaluate_unpaired,
    format_table,
    write_json,
)
from audiodiff.viz import save_spectrogram_sheet

MIN_SECONDS = 0.25  # shorter clips are zero-padded to this before the round trip
MAX_NAME_BYTES = 160  # of a flat name's stem: room for the atomic writer's temporary name


def _pick(records: list[dict[str, str]], n: int) -> list[dict[str, str]]:
    """n records, taking turns between instruments (or folders); stable for a given set."""
    if n <= 0 or not records:
        return []
    groups: dict[str, list[dict[str, str]]] = {}
    for r in sorted(records, key=lambda r: r["path"]):
        groups.setdefault(r.get("instrument", r.get("folder", "")), []).append(r)
    picked: list[dict[str, str]] = []
    for depth in range(max(len(g) for g in groups.values())):
        picked += [g[depth] for g in groups.values() if depth < len(g)]
    return picked[:n]


@dataclass
class Options:
    n: int
    out: str
    overwrite: bool = False
    pitch: bool = True


def _flat_name(path: Path, root: Path, taken: set[str]) -> str:
    """'bell/00001.wav' under root -> 'bell_00001.wav': one folder, a name not in ``taken``
    (which it joins), valid UTF-8 (bytes that are not are written as '\\xff'), at most
    ``MAX_NAME_BYTES`` long (a longer one keeps its end, after a hash of the whole)."""
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        rel = Path(path.name)
    stem = "_".join(rel.with_suffix("").parts) or "clip"
    stem = stem.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if len(stem.encode()) > MAX_NAME_BYTES:  # deep folders: keep the end, which differs
        digest = hashlib.sha1(stem.encode()).hexdigest()[:8]
        stem = digest + "_" + stem.encode()[-MAX_NAME_BYTES + 9 :].decode("utf-8", "ignore")
    name, i = f"{stem}.wav", 1
    while name in taken:
        name, i = f"{stem}_{i}.wav", i + 1
    taken.add(name)
    return name


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def _pitch_table(out: Path, rows: list[dict[str, str]], sr: int) -> Table:
    results = {}
    for name in ("reference", "decoded"):
        write_csv(out / name / "metadata.csv", rows)
        results[name] = evaluate_unpaired(out / name, out / "reference", sample_rate=sr)
        write_json(results[name], out / f"evaluate_{name}_unpaired.json")
    table = Table(title="pitch (pyin) and Frechet distance to the originals")
    for col in ("metric", "original", "decoded"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    p_ref, p_dec = results["reference"]["pitch"], results["decoded"]["pitch"]
    for label, key, digits in [
        (f"pitch hit rate, 50 cents (n={p_ref['n_with_target']})", "hit_rate", 3),
        ("mean |cents off| the label", "mean_abs_cents", 1),
        ("voiced fraction", "voiced_fraction_mean", 3),
    ]:
        table.add_row(label, f"{p_ref[key]:.{digits}f}", f"{p_dec[key]:.{digits}f}")
    table.add_row("FD to the originals", "0", f"{results['decoded']['fd']:.1f}")
    return table


def _pad_short(wav: torch.Tensor, representation: Any) -> torch.Tensor:
    """Zero-pad a clip shorter than ``MIN_SECONDS`` (or 8 frames) on the right, so that the
    representation's STFT has frames to work on; wav: [1, N] -> [1, max(N, minimum)]."""
    minimum = max(round(MIN_SECONDS * representation.sample_rate), 8 * representation.hop_length)
    return torch.nn.functional.pad(wav, (0, max(0, minimum - wav.shape[-1])))


def _candidates(datamodule: Any) -> list[dict[str, str]]:
    """Held-out clips first, then training clips; each set taking turns between groups."""
    val = datamodule.val_set.records if datamodule.val_set else []
    train = datamodule.train_set.records
    return _pick(val, len(val)) + _pick(train, len(train))


def run(cfg: DictConfig) -> None:
    console = Console(markup=False, highlight=False, soft_wrap=True)
    if cfg.n < 1:
        raise ConfigError(f"n must be at least 1, got {cfg.n}")
    representation = instantiate(cfg.representation)
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup()
    out = prepare_output_dir(cfg.out, cfg.overwrite)
    sr = representation.sample_rate
    rows, images, titles, taken = [], [], [], set()
    skipped = list(datamodule.skipped)  # unreadable headers, dropped at setup
    for record in _candidates(datamodule):
        if len(rows) == cfg.n:
            break
        try:  # a clip that cannot be decoded (NaN, truncated data) is skipped and counted
            wav, _ = load(record["path"], sample_rate=sr)  # [1, N]
        except AudioFileError as e:
            skipped.append(str(e))
            continue
        name = _flat_name(Path(record["path"]), datamodule.root, taken)
        wav = _pad_short(wav, representation)
        with torch.no_grad():
            x = representation.encode(wav[None])  # [1, C, T]
            decoded = representation.decode(x)[0]  # [1, T * hop]
            x_dec = representation.encode(decoded[None])
        save(out / "reference" / name, wav[:, : decoded.shape[-1]], sr)
        save(out / "decoded" / name, decoded.clamp(-1, 1), sr)
        rows.append({**{k: v for k, v in record.items() if k != "path"}, "path": name})
        label = record.get("caption") or name
        images += [x[0], x_dec[0]]
        titles += [f"{label}\noriginal", "decoded"]
    report_skipped(skipped, "clips")
    if not rows:
        raise ConfigError(f"no clip of {datamodule.root} could be read ({len(skipped)} skipped)")
    sheet = save_spectrogram_sheet(
        out / "spectrograms.png", images, titles, frame_rate=representation.frame_rate, ncols=4
    )
    result = evaluate_paired(out / "decoded", out / "reference", sample_rate=sr)
    result["n_skipped_inputs"], result["skipped_inputs"] = len(skipped), skipped
    report = write_json(result, out / "evaluate.json")
    console.print(
        f"round trip through {type(representation).__name__} ({len(rows)} clips, "
        f"{len(skipped)} unreadable skipped)"
    )
    table = format_table(result)
    table.title = "decoded vs original (paired)"
    console.print(table)
    if cfg.pitch:  # do the decoded clips keep their labelled pitch? the originals are the floor
        console.print(_pitch_table(out, rows, sr))
    console.print(f"clips: {out / 'decoded'}  sheet: {sheet}  scores: {report}")
