"""A paired restoration set: each clip of a dataset, clean and degraded, with what was done.

``write_pairs`` writes ``out/clean/<rel>.wav`` and ``out/degraded/<rel>.wav`` (the same
relative names, so ``audiodiff evaluate paired=true`` scores the degraded input as a
baseline) and ``out/metadata.csv``: a manifest (``path`` is the clean clip, relative to
``out``) with the degraded clip, the per-clip seed, the operators applied and their drawn
parameters as JSON, and the input record's own columns.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import Progress

from audiodiff.audio.io import load, save
from audiodiff.errors import AudioFileError, ConfigError
from audiodiff.fileio import write_text
from audiodiff.restore.base import Operator
from audiodiff.restore.degrade import describe

COLUMNS = ("path", "degraded", "source", "seconds", "sample_rate", "seed", "ops", "params")


def clip_seed(seed: int, rel: str) -> int:
    """The generator seed of one clip: a hash of the run's seed and the clip's relative path,
    so a clip's degradation depends on neither the other clips nor their order."""
    digest = hashlib.sha1(f"{seed}:{rel}".encode("utf-8", "surrogateescape")).hexdigest()
    return int(digest[:15], 16)


def check_folders(root: Path, out: Path) -> None:
    """Refuse an output folder that is, contains or lies inside the input folder."""
    a, b = Path(os.path.realpath(root)), Path(os.path.realpath(out))
    if a == b or a in b.parents or b in a.parents:
        raise ConfigError(f"{out}: the output folder must be outside the input folder {root}")


def _pair_name(path: Path, root: Path, taken: set[str]) -> str:
    """The clip's path relative to ``root`` with a .wav suffix ('a/b.flac' -> 'a/b.wav');
    a clip outside ``root`` keeps its file name; a name already taken gets '_1', '_2', ..."""
    try:
        rel = Path(os.path.normpath(path)).relative_to(os.path.normpath(root))
    except ValueError:
        rel = Path(path.name)
    if ".." in rel.parts or not rel.parts:
        rel = Path(path.name)
    stem, i = rel.with_suffix("").as_posix(), 1
    name = f"{stem}.wav"
    while name in taken:
        name, i = f"{stem}_{i}.wav", i + 1
    taken.add(name)
    return name


def _csv(rows: list[dict[str, str]]) -> str:
    fields = list(COLUMNS) + sorted({k for r in rows for k in r} - set(COLUMNS))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


@dataclass
class PairsResult:
    written: int
    skipped: list[str]
    metadata: Path


def write_pairs(
    records: list[dict[str, str]],
    root: str | Path,
    out: str | Path,
    degrade: Operator,
    *,
    sample_rate: int,
    seed: int,
    n: int | None = None,
    subtype: str = "FLOAT",
    progress: bool = True,
) -> PairsResult:
    """Degrade each record's clip (resampled to ``sample_rate``, mono) into a prepared,
    empty ``out``; stop after ``n`` pairs. Unreadable clips are skipped and listed.

    ``subtype`` is the WAV sample format: FLOAT keeps the degradation exact (and samples
    beyond +-1, e.g. after reverb); PCM_16 halves the size but clips and re-quantises.
    """
    root, out = Path(root), Path(out)
    rows: list[dict[str, str]] = []
    skipped: list[str] = []
    taken: set[str] = set()
    console = Console(stderr=True)
    with Progress(console=console, disable=not (progress and console.is_terminal)) as bar:
        task = bar.add_task("degrading", total=len(records) if n is None else min(n, len(records)))
        for record in records:
            if n is not None and len(rows) >= n:
                break
            path = Path(record["path"])
            try:
                wav, _ = load(path, sample_rate=sample_rate)  # [1, N]
            except AudioFileError as e:
                skipped.append(str(e))
                bar.advance(task)
                continue
            name = _pair_name(path, root, taken)
            seed_i = clip_seed(seed, name)
            generator = torch.Generator().manual_seed(seed_i)
            with torch.no_grad():
                degraded, params = degrade(wav[None], generator)  # [1, 1, N]
            save(out / "clean" / name, wav, sample_rate, subtype=subtype)
            save(out / "degraded" / name, degraded[0], sample_rate, subtype=subtype)
            extra = {k: v for k, v in record.items() if k not in COLUMNS}
            rows.append(
                {
                    **extra,
                    "path": f"clean/{name}",
                    "degraded": f"degraded/{name}",
                    "source": str(record["path"]),
                    "seconds": f"{wav.shape[-1] / sample_rate:.6g}",
                    "sample_rate": str(sample_rate),
                    "seed": str(seed_i),
                    "ops": describe(params),
                    "params": json.dumps(params, sort_keys=True),
                }
            )
            bar.advance(task)
    metadata = out / "metadata.csv"
    if rows:
        write_text(metadata, _csv(rows))
    return PairsResult(len(rows), skipped, metadata)
