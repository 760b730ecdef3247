"""audiodiff: train, generate and restore audio with diffusion models."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from audiodiff.pipeline import Pipeline


def load(path: str, device: str = "auto") -> Pipeline:
    """Load a trained model (``.ckpt``, ``.safetensors`` or export folder) for generation."""
    from audiodiff.pipeline import load as _load

    return _load(path, device)
