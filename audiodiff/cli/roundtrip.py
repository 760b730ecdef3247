"""``audiodiff roundtrip``: representation encode -> decode on held-out clips, scored."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from audiodiff.audio.io import load, save
from audiodiff.cli.output import prepare_output_dir
from audiodiff.errors import ConfigError
from audiodiff.fileio import write_text
from audiodiff.metrics.evaluate import (
    evaluate_paired,
    evaluate_unpaired,
    format_table,
    write_json,
)
from audiodiff.viz import save_spectrogram_sheet


def _pick(records: list[dict[str, str]], n: int) -> list[dict[str, str]]:
    """n records, taking turns between instruments (or folders); stable for a given set."""
    if n <= 0:
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


def _flat_name(path: Path, root: Path) -> str:
    """'bell/00001.wav' under root -> 'bell_00001.wav' (one folder, names stay unique)."""
    try:
        rel = path.resolve().relative_to(Path(root).resolve())
    except ValueError:
        rel = Path(path.name)
    return "_".join(rel.with_suffix("").parts) + ".wav"


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


def run(cfg: DictConfig) -> None:
    console = Console()
    representation = instantiate(cfg.representation)
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup()
    if cfg.n < 1:
        raise ConfigError(f"n must be at least 1, got {cfg.n}")
    # held-out clips first; training clips only when validation has too few
    picked = _pick(datamodule.val_set.records, cfg.n) if datamodule.val_set else []
    picked += _pick(datamodule.train_set.records, cfg.n - len(picked))
    out = prepare_output_dir(cfg.out, cfg.overwrite)
    sr = representation.sample_rate
    rows, images, titles = [], [], []
    for record in picked:
        name = _flat_name(Path(record["path"]), datamodule.root)
        wav, _ = load(record["path"], sample_rate=sr)  # [1, N]
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
    sheet = save_spectrogram_sheet(
        out / "spectrograms.png", images, titles, frame_rate=representation.frame_rate, ncols=4
    )
    result = evaluate_paired(out / "decoded", out / "reference", sample_rate=sr)
    report = write_json(result, out / "evaluate.json")
    console.print(f"round trip through {type(representation).__name__} ({len(picked)} clips)")
    table = format_table(result)
    table.title = "decoded vs original (paired)"
    console.print(table)
    if cfg.pitch:  # do the decoded clips keep their labelled pitch? the originals are the floor
        console.print(_pitch_table(out, rows, sr))
    console.print(f"clips: {out / 'decoded'}  sheet: {sheet}  scores: {report}")
