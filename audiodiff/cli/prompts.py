"""Prompts files for ``audiodiff generate prompts=...``: one row per condition."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from audiodiff.cli.config import config_dir
from audiodiff.errors import ConfigError


def find_prompts(name: str) -> Path:
    """A CSV path, or the name of one shipped in conf/prompt_files/ (e.g. ``synth_grid``)."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = config_dir() / "prompt_files" / f"{name}.csv"
    if shipped.is_file():
        return shipped
    choices = ", ".join(sorted(p.stem for p in (config_dir() / "prompt_files").glob("*.csv")))
    raise ConfigError(f"{name}: prompts file not found (shipped prompts: {choices})")


def read_prompts(path: Path, default_n: int) -> list[tuple[dict[str, Any], int]]:
    """Rows of a prompts CSV -> (cond, n); empty cells mean the null label. Every problem is
    one ``ConfigError`` naming the file (and the line)."""
    try:  # utf-8-sig: a byte-order mark is not part of the first column's name
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read prompts ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except csv.Error as e:
        raise ConfigError(f"{path}: not a readable CSV ({e})") from None
    prompts = []
    for i, row in enumerate(rows, 2):
        if None in row:
            raise ConfigError(f"{path}:{i}: more cells than the header has columns")
        if any("\0" in (v or "") for v in row.values()):
            raise ConfigError(f"{path}:{i}: a NUL byte in a cell")
        n = row.pop("n", "") or default_n
        try:
            count = int(n)
        except ValueError:
            raise ConfigError(f"{path}:{i}: n must be a whole number, got '{n}'") from None
        if count < 1:
            raise ConfigError(f"{path}:{i}: n must be >= 1, got {count}")
        prompts.append(({k: v or None for k, v in row.items()}, count))
    if not prompts:
        raise ConfigError(f"{path}: no prompts")
    return prompts
