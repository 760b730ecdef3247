"""Weights-only export: ``model.safetensors`` (EMA denoiser) + ``config.yaml`` (resolved).

The pair loads with ``audiodiff.load(folder)`` without Lightning or the run folder.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from safetensors.torch import save_file
from torch import nn

from audiodiff.fileio import atomic_path, write_text

WEIGHTS = "model.safetensors"
CONFIG = "config.yaml"


def export(denoiser: nn.Module, config: dict, out_dir: str | Path) -> Path:
    """Write the denoiser's weights and its config into ``out_dir``; returns the folder."""
    out_dir = Path(out_dir)
    state = {k: v.detach().cpu().contiguous() for k, v in denoiser.state_dict().items()}
    with atomic_path(out_dir / WEIGHTS) as tmp:
        save_file(state, str(tmp), metadata={"format": "audiodiff-denoiser-1"})
    write_text(out_dir / CONFIG, yaml.safe_dump(config, sort_keys=False))
    return out_dir
