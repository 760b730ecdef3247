"""Output folders shared by the commands: refuse to overwrite unless asked."""

from __future__ import annotations

import shutil
from pathlib import Path

from audiodiff.errors import ConfigError


def prepare_output_dir(out: str | Path, overwrite: bool) -> Path:
    """Create ``out``; an existing non-empty folder is an error unless ``overwrite``."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(f"{out}: output folder exists and is not empty (add overwrite=true)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out
