"""Stateless ODE/SDE solvers, classifier-free guidance and step schedules."""

from audiodiff.sampling.guidance import classifier_free_guidance
from audiodiff.sampling.schedules import (
    SCHEDULES,
    exponential_sigmas,
    karras_sigmas,
    polyexponential_sigmas,
    uniform_logsnr_sigmas,
    vp_sigmas,
)
from audiodiff.sampling.solvers import (
    SAMPLERS,
    nfe,
    sample_ddim,
    sample_dpmpp_2m,
    sample_dpmpp_2m_sde,
    sample_dpmpp_2s,
    sample_dpmpp_3m,
    sample_edm_stochastic,
    sample_euler,
    sample_euler_ancestral,
    sample_heun,
    sample_lms,
    sample_plms,
    sample_unipc,
    sampler_options,
)

__all__ = [
    "SAMPLERS",
    "SCHEDULES",
    "classifier_free_guidance",
    "exponential_sigmas",
    "karras_sigmas",
    "nfe",
    "polyexponential_sigmas",
    "sample_ddim",
    "sample_dpmpp_2m",
    "sample_dpmpp_2m_sde",
    "sample_dpmpp_2s",
    "sample_dpmpp_3m",
    "sample_edm_stochastic",
    "sample_euler",
    "sample_euler_ancestral",
    "sample_heun",
    "sample_lms",
    "sample_plms",
    "sample_unipc",
    "sampler_options",
    "uniform_logsnr_sigmas",
    "vp_sigmas",
]
