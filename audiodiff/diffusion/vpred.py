"""v-prediction on the variance-preserving path (Salimans & Ho 2022), behind EDM's D.

x_t = alpha x0' + s n with alpha = cos(pi t / 2), s = sin(pi t / 2) and x0' = x0 / sigma_data;
the net predicts v = alpha n - s x0'. In EDM variables sigma' = s / alpha = tan(pi t / 2) and
x_t = x / (sigma_data sqrt(1 + sigma'^2)); x0' = alpha x_t - s v (``paths.py`` has the rest).
The v-MSE equals EDM's weighted x0 error, lambda = (sigma^2 + sd^2) / (sigma sd)^2, exactly:
this loss is EDM's with t ~ U(0, 1) in place of log-normal sigma (and t as the net's input).
"""

from __future__ import annotations

import math

from torch import Tensor

from audiodiff.diffusion.paths import Coefficients, PathDenoiser, PathLoss
from audiodiff.diffusion.timesteps import UniformTime


def vp_coefficients(sigma: Tensor) -> Coefficients:
    """(a, b, p, q) = (alpha, s, -s, alpha), alpha = 1 / sqrt(1 + sigma'^2), s = sigma' alpha."""
    # sigma: [B] sigma' = sigma / sigma_data -> four [B]; v = alpha n - s x0' (S & H, Sec. 4)
    alpha = (1 + sigma.square()).rsqrt()
    s = sigma * alpha
    return alpha, s, -s, alpha


def vp_time(sigma: Tensor) -> Tensor:
    """t = (2 / pi) atan(sigma'), the inverse of sigma' = tan(pi t / 2) (cosine schedule)."""
    # sigma: [B] -> t: [B] in [0, 1)
    return sigma.atan() * (2 / math.pi)


def vp_sigma(t: Tensor) -> Tensor:
    """sigma' = s / alpha = tan(pi t / 2) (Salimans & Ho 2022, cosine alpha = cos(pi t / 2))."""
    # t: [B] in (0, 1) -> sigma': [B]
    return (t * (math.pi / 2)).tan()


class VDenoiser(PathDenoiser):
    """D(x, sigma, cond) of a v-predicting net; the net sees x_t and t = (2 / pi) atan(sigma')."""

    coefficients = staticmethod(vp_coefficients)
    time = staticmethod(vp_time)


class VPredLoss(PathLoss):
    """E_t ||v_hat - v||^2, t ~ ``time_dist`` (default U(0, 1)), clipped to [t_eps, 1 - t_eps]."""

    coefficients = staticmethod(vp_coefficients)
    sigma_of_time = staticmethod(vp_sigma)
    default_time = UniformTime
