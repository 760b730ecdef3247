"""Rectified flow / flow matching (Liu et al. 2022; Lipman et al. 2022), behind EDM's D.

x_t = (1 - t) x0' + t n with x0' = x0 / sigma_data; the net predicts the velocity
u = dx_t/dt = n - x0'. In EDM variables sigma' = t / (1 - t) and x_t = x / (sigma_data +
sigma), i.e. the scale 1 - t; x0' = x_t - t u (``paths.py`` has the rest). Training t is
logit-normal (Esser et al. 2024, SD3). Lipman et al. run t the other way (t = 0 is noise);
this is Liu's and SD3's direction. The u-MSE is the x0 error weighted by
(sigma + sd)^2 / (sigma sd)^2, between 1 and 2 times EDM's lambda.
"""

from __future__ import annotations

import torch
from torch import Tensor

from audiodiff.diffusion.paths import Coefficients, PathDenoiser, PathLoss
from audiodiff.diffusion.timesteps import LogitNormalTime


def flow_coefficients(sigma: Tensor) -> Coefficients:
    """(a, b, p, q) = (1 - t, t, -1, 1), t = sigma' / (1 + sigma') (Esser et al. 2024, Sec. 3.1)."""
    # sigma: [B] sigma' = sigma / sigma_data -> four [B]; u = n - x0'
    t = flow_time(sigma)
    one = torch.ones_like(t)
    return 1 - t, t, -one, one


def flow_time(sigma: Tensor) -> Tensor:
    """t = sigma' / (1 + sigma'), the inverse of sigma' = t / (1 - t)."""
    # sigma: [B] -> t: [B] in [0, 1)
    return sigma / (1 + sigma)


def flow_sigma(t: Tensor) -> Tensor:
    """sigma' = t / (1 - t): the noise-to-signal ratio of x_t = (1 - t) x0' + t n."""
    # t: [B] in (0, 1) -> sigma': [B]
    return t / (1 - t)


class FlowDenoiser(PathDenoiser):
    """D(x, sigma, cond) of a velocity-predicting net; it sees x_t, t = sigma' / (1 + sigma')."""

    coefficients = staticmethod(flow_coefficients)
    time = staticmethod(flow_time)


class FlowLoss(PathLoss):
    """E_t ||u_hat - u||^2, t ~ ``time_dist`` (default logit-normal(0, 1)), clipped to
    [t_eps, 1 - t_eps] (conditional flow matching, Lipman et al. 2022, with t = 1 as noise)."""

    coefficients = staticmethod(flow_coefficients)
    sigma_of_time = staticmethod(flow_sigma)
    default_time = LogitNormalTime
