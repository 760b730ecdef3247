"""Diffusion math around a network: EDM preconditioning (the denoiser) and the training loss."""

from audiodiff.diffusion.loss import EDMLoss, drop_labels, edm_weight
from audiodiff.diffusion.precond import Denoiser, edm_scalings

__all__ = ["Denoiser", "EDMLoss", "drop_labels", "edm_scalings", "edm_weight"]
