"""Stateless solvers of the probability-flow ODE dx/dsigma = (x - D(x, sigma)) / sigma.

Every solver has the signature ``sample_x(denoiser, x, sigmas, *, cond=None, callback=None)``
and works on any tensor shape [B, ...]. ``x`` is the initial noise ALREADY scaled by
``sigmas[0]``; ``sigmas`` is descending and normally ends in 0 (see ``schedules``). After
step i, ``callback(dict(i=i, x=x, sigma=sigmas[i + 1], denoised=d))`` gets the new state x
at noise level sigmas[i + 1] and d, the latest x0 estimate (the last denoiser output).
No solver disables autograd: wrap the call in ``torch.no_grad()`` for plain generation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

Denoiser = Callable[[Tensor, Tensor, Mapping[str, Tensor] | None], Tensor]
Callback = Callable[[dict[str, Any]], None]


def _denoise(denoiser: Denoiser, x: Tensor, sigma: Tensor, cond) -> Tensor:
    # x: [B, ...], sigma: scalar -> x0_hat: [B, ...]; the denoiser gets sigma as [B]
    return denoiser(x, sigma * x.new_ones(x.shape[0]), cond)


def _to_d(x: Tensor, sigma: Tensor, denoised: Tensor) -> Tensor:
    """ODE derivative dx/dsigma = (x - D(x, sigma)) / sigma (Karras et al. 2022, Alg. 1 line 4)."""
    return (x - denoised) / sigma


def sample_euler(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
) -> Tensor:
    """Euler on the PF-ODE, x <- x + (s' - s) d; equals DDIM here (Song et al. 2021, eq. 14)."""
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; N network evaluations
    for i in range(len(sigmas) - 1):
        denoised = _denoise(denoiser, x, sigmas[i], cond)
        x = x + (sigmas[i + 1] - sigmas[i]) * _to_d(x, sigmas[i], denoised)
        if callback is not None:
            callback(dict(i=i, x=x, sigma=sigmas[i + 1], denoised=denoised))
    return x


def sample_heun(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
) -> Tensor:
    """Heun's 2nd-order method, Euler on a step to 0 (Karras et al. 2022, Alg. 1, S_churn=0)."""
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; 2N - 1 evaluations if
    # sigmas[-1] == 0, else 2N
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = _denoise(denoiser, x, sigma, cond)
        d = _to_d(x, sigma, denoised)
        x_next = x + (sigma_next - sigma) * d
        if sigma_next > 0:  # 2nd-order correction (Alg. 1, lines 9-11)
            denoised = _denoise(denoiser, x_next, sigma_next, cond)
            d_next = _to_d(x_next, sigma_next, denoised)
            x_next = x + (sigma_next - sigma) * (d + d_next) / 2
        x = x_next
        if callback is not None:
            callback(dict(i=i, x=x, sigma=sigma_next, denoised=denoised))
    return x


def sample_dpmpp_2m(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
) -> Tensor:
    """DPM-Solver++(2M), data prediction, t = -log sigma (Lu et al. 2022, Algorithm 2).

    The first step is first order (DPM-Solver++(1) = DDIM); a step to sigma = 0 returns the
    denoised value (its exact limit: the sigma ratio is 0 and 1 - e^{-h} is 1).
    """
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; N network evaluations
    old_denoised, h_last = None, None
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = _denoise(denoiser, x, sigma, cond)
        if sigma_next == 0:
            x = denoised
        else:
            h = sigma.log() - sigma_next.log()  # lambda_{i+1} - lambda_i, lambda = -log sigma
            if old_denoised is None:
                d = denoised  # DPM-Solver++(1) = DDIM (Lu et al. 2022, Algorithm 2, first step)
            else:
                r = h_last / h  # Algorithm 2: D = (1 + 1/(2r)) x0_i - 1/(2r) x0_{i-1}
                d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
            x = (sigma_next / sigma) * x - torch.expm1(-h) * d
            h_last = h
        old_denoised = denoised
        if callback is not None:
            callback(dict(i=i, x=x, sigma=sigma_next, denoised=denoised))
    return x


SAMPLERS: dict[str, Callable[..., Tensor]] = {
    "euler": sample_euler,
    "heun": sample_heun,
    "dpmpp_2m": sample_dpmpp_2m,
}

# network evaluations per sampler for `steps` steps on a schedule that ends in sigma = 0
_NFE: dict[str, Callable[[int], int]] = {
    "euler": lambda steps: steps,
    "heun": lambda steps: 2 * steps - 1,
    "dpmpp_2m": lambda steps: steps,
}


def nfe(sampler_name: str, steps: int) -> int:
    """Network evaluations of ``steps`` steps of a sampler on a schedule ending in 0."""
    if sampler_name not in _NFE:
        raise KeyError(f"unknown sampler '{sampler_name}', expected one of {sorted(_NFE)}")
    return _NFE[sampler_name](steps)
