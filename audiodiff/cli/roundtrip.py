"""``audiodiff roundtrip``: representation encode -> decode on held-out clips, scored."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console

from audiodiff.audio.io import load, save
from audiodiff.cli.output import prepare_output_dir
from audiodiff.errors import ConfigError
from audiodiff.metrics.evaluate import evaluate_paired, format_table, write_json
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
        name = Path(record["path"]).stem + ".wav"
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
    with open(out / "decoded" / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    sheet = save_spectrogram_sheet(
        out / "spectrograms.png", images, titles, frame_rate=representation.frame_rate, ncols=4
    )
    result = evaluate_paired(out / "decoded", out / "reference", sample_rate=sr)
    report = write_json(result, out / "evaluate.json")
    table = format_table(result)
    table.title = f"round trip through {type(representation).__name__}"
    console.print(table)
    console.print(f"clips: {out / 'decoded'}  sheet: {sheet}  scores: {report}")
