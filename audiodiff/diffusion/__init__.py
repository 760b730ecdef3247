"""Diffusion math around a network: the denoiser D(x, sigma, cond) of each formulation (EDM
preconditioning, v-prediction, rectified flow), their training losses and time distributions."""

from audiodiff.diffusion.flow import FlowDenoiser, FlowLoss
from audiodiff.diffusion.loss import EDMLoss, drop_labels, edm_weight
from audiodiff.diffusion.precond import Denoiser, edm_scalings
from audiodiff.diffusion.timesteps import LogitNormalTime, UniformTime
from audiodiff.diffusion.vpred import VDenoiser, VPredLoss

__all__ = [
    "Denoiser",
    "EDMLoss",
    "FlowDenoiser",
    "FlowLoss",
    "LogitNormalTime",
    "UniformTime",
    "VDenoiser",
    "VPredLoss",
    "drop_labels",
    "edm_scalings",
    "edm_weight",
]
