"""audiodiff: train, generate and restore audio with diffusion models."""

__version__ = "0.1.0"
