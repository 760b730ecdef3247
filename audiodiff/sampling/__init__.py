"""Stateless ODE solvers, classifier-free guidance and step schedules."""

from audiodiff.sampling.guidance import classifier_free_guidance
from audiodiff.sampling.schedules import SCHEDULES, karras_sigmas
from audiodiff.sampling.solvers import (
    SAMPLERS,
    nfe,
    sample_dpmpp_2m,
    sample_euler,
    sample_heun,
)

__all__ = [
    "SAMPLERS",
    "SCHEDULES",
    "classifier_free_guidance",
    "karras_sigmas",
    "nfe",
    "sample_dpmpp_2m",
    "sample_euler",
    "sample_heun",
]
