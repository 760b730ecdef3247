"""Lists of clips: from a folder scan or a manifest (CSV / JSONL), and the train/val split.

A record is a dict with an absolute ``path`` and string metadata columns.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import stat
from pathlib import Path

from audiodiff.audio.io import find_audio
from audiodiff.errors import ConfigError

MANIFEST_NAMES = ("metadata.csv", "metadata.jsonl")


def _manifest_text(manifest: Path) -> str:
    """The manifest's text (UTF-8, a byte-order mark allowed); never opens a FIFO or device."""
    if manifest.is_dir():
        raise ConfigError(f"{manifest}: manifest is a folder, not a file")
    try:
        fd = os.open(manifest, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ConfigError(f"{manifest}: manifest not found") from None
    except (OSError, ValueError) as e:
        raise ConfigError(f"{manifest}: cannot read manifest ({_reason(e)})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ConfigError(f"{manifest}: manifest is not a regular file")
        os.set_blocking(fd, True)
        raw = f.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(
            f"{manifest}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); save it as UTF-8"
        ) from None


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.errno == errno.ELOOP:
        return "symbolic link loop"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _csv_rows(manifest: Path, text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    try:
        if reader.fieldnames and "path" not in reader.fieldnames:
            columns = ", ".join(reader.fieldnames)
            raise ConfigError(f"{manifest}: no 'path' column (the header has: {columns})")
        for row in reader:
            if None in row:  # more cells than the header has columns
                raise ConfigError(
                    f"{manifest}:{reader.line_num}: {len(row) - 1 + len(row[None])} cells "
                    f"but the header has {len(reader.fieldnames or [])} columns"
                )
            rows.append(row)
    except csv.Error as e:
        raise ConfigError(f"{manifest}:{reader.line_num}: not valid CSV ({e})") from None
    return rows


def _jsonl_rows(manifest: Path, text: str) -> list[dict]:
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{manifest}:{i}: not valid JSON ({e.msg})") from None
        except RecursionError:
            raise ConfigError(f"{manifest}:{i}: JSON nested too deeply") from None
        if not isinstance(row, dict):
            raise ConfigError(f"{manifest}:{i}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


def _read_manifest(manifest: Path, base: Path) -> list[dict[str, str]]:
    suffix = manifest.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".json"):
        raise ConfigError(f"{manifest}: manifest must be .csv or .jsonl")
    text = _manifest_text(manifest)
    rows = _csv_rows(manifest, text) if suffix == ".csv" else _jsonl_rows(manifest, text)
    if not rows:
        raise ConfigError(f"{manifest}: manifest lists no clips")
    records = []
    for i, row in enumerate(rows, 1):
        value = row.get("path")
        if value is None or not isinstance(value, str | int | float) or not str(value).strip():
            raise ConfigError(f"{manifest}: row {i} has no 'path' column")
        record = {str(k): "" if v is None else str(v) for k, v in row.items()}
        if "\n" in record["path"] or "\r" in record["path"]:
            raise ConfigError(
                f"{manifest}: row {i}: the path has a line break (an unclosed quote?)"
            )
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
    digest = hashlib.sha1(f"{seed}:{rel}".encode("utf-8", "surrogateescape")).hexdigest()
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
