"""Atomic file writes: write a temporary file beside the target, then rename it into place.

A reader never sees a half-written file, and an interrupted write leaves no debris.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` (mode 0666 & ~umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a short temporary name: ".<name>.XXXX" would pass the 255-byte limit for long names
    prefix = f".{path.name[:40]}." if len(os.fsencode(path.name)) <= 200 else ".part-"
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=path.suffix[:16], dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_csv(path: str | Path, rows: list[dict]) -> Path:
    """Write ``rows`` as a CSV with a header atomically: the columns in order of first use,
    an empty cell where a row lacks one."""
    import csv
    import io

    buf = io.StringIO()
    fields = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(buf, fieldnames=fields, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return write_text(path, buf.getvalue())


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe label: runs of other characters become '-', at most ``limit``."""
    import re

    return re.sub(r"[^\w.=+-]+", "-", text).strip("-")[:limit]
