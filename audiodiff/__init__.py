"""audiodiff: train, generate and restore audio with diffusion models."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from audiodiff.pipeline import Pipeline


def load(
    path: str,
    device: str = "auto",
    decoder: dict | None = None,
    autoencoder: str | None = None,
) -> Pipeline:
    """Load a trained model (``.ckpt``, ``.safetensors`` or export folder) for generation;
    ``decoder`` / ``autoencoder`` as in ``audiodiff.pipeline.load``."""
    from audiodiff.pipeline import load as _load

    return _load(path, device, decoder, autoencoder)
