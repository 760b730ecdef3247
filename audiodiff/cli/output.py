"""Output shared by the commands: folders that refuse to be overwritten, skipped-file reports."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from audiodiff.errors import ConfigError

SHOW_SKIPPED = 5  # reasons listed; the rest are counted


def prepare_output_dir(out: str | Path, overwrite: bool) -> Path:
    """Create ``out``; an existing non-empty folder is an error unless ``overwrite``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: output folder is a file")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(f"{out}: output folder exists and is not empty (add overwrite=true)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def report_skipped(skipped: Sequence[str], what: str = "files") -> None:
    """On stderr: 'skipped N unreadable <what>:' and the first reasons, one line each
    (each names its file). Prints nothing when nothing was skipped."""
    if not skipped:
        return
    console = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
    console.print(f"skipped {len(skipped)} unreadable {what}:")
    for reason in skipped[:SHOW_SKIPPED]:
        console.print(f"  {reason}")
    if len(skipped) > SHOW_SKIPPED:
        console.print(f"  ... and {len(skipped) - SHOW_SKIPPED} more")
