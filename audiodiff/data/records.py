"""Lists of clips: from a folder scan or a manifest (CSV / JSONL), and the train/val split.

A record is a dict with an absolute ``path`` and string metadata columns.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from audiodiff.audio.io import find_audio
from audiodiff.errors import ConfigError

MANIFEST_NAMES = ("metadata.csv", "metadata.jsonl")


def _read_manifest(manifest: Path, base: Path) -> list[dict[str, str]]:
    if not manifest.is_file():
        raise ConfigError(f"{manifest}: manifest not found")
    if manifest.suffix.lower() == ".csv":
        with manifest.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    elif manifest.suffix.lower() in (".jsonl", ".json"):
        rows = []
        with manifest.open(encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise ConfigError(f"{manifest}:{i}: not valid JSON ({e.msg})") from None
    else:
        raise ConfigError(f"{manifest}: manifest must be .csv or .jsonl")
    records = []
    for i, row in enumerate(rows, 1):
        if not row.get("path"):
            raise ConfigError(f"{manifest}: row {i} has no 'path' column")
        record = {k: "" if v is None else str(v) for k, v in row.items()}
        path = Path(record["path"])
        record["path"] = str(path if path.is_absolute() else base / path)
        records.append(record)
    return records


def read_records(root: str | Path, manifest: str | Path | None = None) -> list[dict[str, str]]:
    """Records for every clip of a dataset.

    With ``manifest`` (CSV or JSONL with a ``path`` column, relative paths resolved against
    the manifest's folder) its rows are used. Without one, ``root/metadata.csv`` or
    ``root/metadata.jsonl`` is used when present; otherwise ``root`` is scanned recursively
    and each record gets a ``folder`` column (its parent folder relative to root).
    """
    root = Path(root)
    if manifest is not None:
        manifest = Path(manifest)
        return _read_manifest(manifest, manifest.parent)
    for name in MANIFEST_NAMES:
        if (root / name).is_file():
            return _read_manifest(root / name, root)
    if not root.is_dir():
        raise ConfigError(f"{root}: dataset folder not found")
    files = find_audio(root)
    if not files:
        raise ConfigError(f"{root}: no audio files (.wav .flac .ogg .mp3) found")
    return [{"path": str(p), "folder": str(p.parent.relative_to(root))} for p in files]


def split_key(record: dict[str, str], root: str | Path, seed: int) -> float:
    """Stable number in [0, 1) from the clip's path relative to root (machine-independent)."""
    try:
        rel = str(Path(record["path"]).relative_to(Path(root)))
    except ValueError:
        rel = record["path"]
    digest = hashlib.sha1(f"{seed}:{rel}".encode()).hexdigest()
    return int(digest[:12], 16) / 16**12


def split_records(
    records: list[dict[str, str]], root: str | Path, val_fraction: float, seed: int = 0
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Deterministic train/validation split by a hash of each path.

    A clip stays on the same side when others are added or removed. With val_fraction > 0
    and at least two clips, validation gets at least one.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}")
    keys = [split_key(r, root, seed) for r in records]
    val = [r for r, k in zip(records, keys, strict=True) if k < val_fraction]
    train = [r for r, k in zip(records, keys, strict=True) if k >= val_fraction]
    if val_fraction > 0 and not val and len(records) >= 2:
        first = min(range(len(records)), key=keys.__getitem__)
        val = [records[first]]
        train = [r for i, r in enumerate(records) if i != first]
    return train, val
