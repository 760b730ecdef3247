"""Noise-level schedules for sampling: descending sigmas ending in 0."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def karras_sigmas(
    n: int,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """n steps: sigma_i = (max^(1/rho) + i/(n-1) (min^(1/rho) - max^(1/rho)))^rho, then 0.

    Karras et al. 2022, eq. 5. Computed in float64, returned as ``dtype``.
    """
    # -> [n + 1], descending, sigmas[0] = sigma_max, sigmas[n - 1] = sigma_min, sigmas[n] = 0
    if n < 1:
        raise ValueError(f"need at least one step, got n={n}")
    if not 0 < sigma_min <= sigma_max:
        raise ValueError(f"need 0 < sigma_min <= sigma_max, got {sigma_min}, {sigma_max}")
    ramp = torch.linspace(0, 1, n, dtype=torch.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (hi + ramp * (lo - hi)) ** rho
    sigmas = torch.cat([sigmas, sigmas.new_zeros(1)])
    return sigmas.to(device=device, dtype=dtype)


def _check(n: int, sigma_min: float, sigma_max: float) -> None:
    if n < 1:
        raise ValueError(f"need at least one step, got n={n}")
    if not 0 < sigma_min <= sigma_max:
        raise ValueError(f"need 0 < sigma_min <= sigma_max, got {sigma_min}, {sigma_max}")


def _append_zero(sigmas: Tensor, device, dtype: torch.dtype) -> Tensor:
    # sigmas: [n] float64 -> [n + 1] with a final 0, as ``dtype`` on ``device``
    return torch.cat([sigmas, sigmas.new_zeros(1)]).to(device=device, dtype=dtype)


def exponential_sigmas(
    n: int,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """n steps uniform in log sigma from sigma_max to sigma_min, then 0 (``rho`` is unused).

    k-diffusion ``get_sigmas_exponential``; the step in lambda = -log sigma is constant.
    """
    # -> [n + 1], descending, sigmas[0] = sigma_max, sigmas[n - 1] = sigma_min, sigmas[n] = 0
    _check(n, sigma_min, sigma_max)
    log_sigmas = torch.linspace(math.log(sigma_max), math.log(sigma_min), n, dtype=torch.float64)
    return _append_zero(log_sigmas.exp(), device, dtype)


def polyexponential_sigmas(
    n: int,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """log sigma_i = log min + (1 - i/(n-1))^rho (log max - log min), then 0.

    k-diffusion ``get_sigmas_polyexponential``; rho = 1 is ``exponential_sigmas``, larger rho
    puts more steps at low noise.
    """
    # -> [n + 1], descending, sigmas[0] = sigma_max, sigmas[n - 1] = sigma_min, sigmas[n] = 0
    _check(n, sigma_min, sigma_max)
    ramp = torch.linspace(1, 0, n, dtype=torch.float64) ** rho
    log_min, log_max = math.log(sigma_min), math.log(sigma_max)
    return _append_zero((log_min + ramp * (log_max - log_min)).exp(), device, dtype)


def _vp_t(sigma: float, beta_d: float, beta_min: float) -> float:
    """VP time with sigma(t) = sigma: the root of beta_d t^2 / 2 + beta_min t = log(1 + sigma^2)."""
    return (math.sqrt(beta_min**2 + 2 * beta_d * math.log1p(sigma**2)) - beta_min) / beta_d


def vp_sigmas(
    n: int,
    sigma_min: float | None = None,
    sigma_max: float | None = None,
    rho: float = 7.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    *,
    beta_d: float = 19.9,
    beta_min: float = 0.1,
    eps_s: float = 1e-3,
) -> Tensor:
    """VP (linear beta) schedule uniform in t: sigma(t) = sqrt(e^{beta_d t^2/2 + beta_min t} - 1).

    Song et al. 2021 (score SDE), VP-SDE with linear beta(t); sigma(t) from Karras et al. 2022,
    Table 1. t runs from t(sigma_max) to t(sigma_min); a bound left None is the VP default,
    sigma(1) (about 152) or sigma(eps_s) (about 0.01). ``rho`` is unused.
    """
    # -> [n + 1], descending, sigmas[0] = sigma_max, sigmas[n - 1] = sigma_min, sigmas[n] = 0
    t_min = eps_s if sigma_min is None else _vp_t(sigma_min, beta_d, beta_min)
    t_max = 1.0 if sigma_max is None else _vp_t(sigma_max, beta_d, beta_min)
    if n < 1:
        raise ValueError(f"need at least one step, got n={n}")
    if not 0 < t_min <= t_max:
        raise ValueError(f"need 0 < sigma_min <= sigma_max, got {sigma_min}, {sigma_max}")
    t = torch.linspace(t_max, t_min, n, dtype=torch.float64)
    sigmas = torch.expm1(beta_d * t**2 / 2 + beta_min * t).sqrt()
    if sigma_max is not None:  # exact endpoints, free of the round trip through t
        sigmas[0] = sigma_max
    if sigma_min is not None and n > 1:
        sigmas[-1] = sigma_min
    return _append_zero(sigmas, device, dtype)


def uniform_logsnr_sigmas(
    n: int,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """n steps uniform in log-SNR, then 0: with EDM's x = x0 + sigma n, SNR = 1 / sigma^2.

    log-SNR = -2 log sigma is affine in log sigma, so this IS ``exponential_sigmas`` (the
    "logSNR" schedule of Kingma et al. 2021 / DPM-Solver's uniform-lambda steps for VE).
    ``rho`` is unused.
    """
    # -> [n + 1], descending, sigmas[0] = sigma_max, sigmas[n - 1] = sigma_min, sigmas[n] = 0
    return exponential_sigmas(n, sigma_min, sigma_max, rho, device=device, dtype=dtype)


SCHEDULES: dict[str, Callable[..., Tensor]] = {
    "karras": karras_sigmas,
    "exponential": exponential_sigmas,
    "polyexponential": polyexponential_sigmas,
    "vp": vp_sigmas,
    "logsnr": uniform_logsnr_sigmas,
}
