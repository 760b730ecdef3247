"""Noise-level schedules for sampling: descending sigmas ending in 0."""

from __future__ import annotations

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


SCHEDULES: dict[str, Callable[..., Tensor]] = {"karras": karras_sigmas}
