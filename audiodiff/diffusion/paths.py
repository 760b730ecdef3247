"""Linear Gaussian paths (v-prediction, rectified flow) behind the one denoiser interface.

A path writes a noisy example as x_t = a x0' + b n, with x0' = x0 / sigma_data and n unit
noise, and its net predicts target = p x0' + q n. Dividing by a gives x0' + (b / a) n: EDM's
variables. So with sigma = sigma_data b / a and x = x0 + sigma n, the path's input is
x_t = a x / sigma_data, and solving the two linear equations for x0' gives

    D(x, sigma) = sigma_data (q x_t - b target_hat) / (a q - b p),

exactly, so every solver written for EDM's D works unchanged (Karras et al. 2022, eq. 4:
x_t = s(t) x with s = a / sigma_data). A formulation is its
coefficients (a, b, p, q) as functions of sigma' = sigma / sigma_data, the time t it hands the
net, and t -> sigma' for training; ``vpred.py`` and ``flow.py`` give those.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor

from audiodiff.diffusion.loss import DenoiserFn, drop_labels, edm_validation, weighted_x0_error
from audiodiff.diffusion.precond import Preconditioned, batch_sigma

Coefficients = tuple[Tensor, Tensor, Tensor, Tensor]  # (a, b, p, q), each shaped like sigma'
TimeDist = Callable[..., Tensor]  # dist(n, device) -> t: [n] in (0, 1), see timesteps.py


def target_weight(coefficients: Coefficients, sigma_data: float) -> Tensor:
    """w with ||target_hat - target||^2 = w ||x0_hat - x0||^2: w = (a q - b p)^2 / (b sd)^2."""
    # each coefficient: [B] -> w: [B]; from x0'_hat - x0' = -b (target_hat - target) / (a q - b p)
    a, b, p, q = coefficients
    return ((a * q - b * p) / (b * sigma_data)).square()


class PathDenoiser(Preconditioned):
    """D(x, sigma, cond) -> x0_hat around a net that predicts a path's target (see module doc).

    Subclasses set ``coefficients(sigma') -> (a, b, p, q)`` and ``time(sigma') -> t``.
    ``net(x_t, t, cond)`` is called positionally with x_t = a x / sigma_data [B, C, T], the
    path time t in [0, 1) [B] as its noise-level input, and ``cond``. As in ``Denoiser`` the
    change of variables runs in at least float32 whatever dtype the net produces; sigma = 0
    is allowed (t = 0, D = x).
    """

    coefficients: Callable[[Tensor], Coefficients]
    time: Callable[[Tensor], Tensor]

    def forward(
        self, x: Tensor, sigma: Tensor | float, cond: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        # x: [B, C, T], sigma: [B] or scalar, cond: {name: [B] long} -> x0_hat: [B, C, T]
        dtype = torch.promote_types(x.dtype, torch.float32)
        x = x.to(dtype)
        s = batch_sigma(sigma, x.shape[0], x.device, dtype) / self.sigma_data  # [B] sigma'
        view = (-1,) + (1,) * (x.ndim - 1)
        a, b, p, q = (c.view(view) for c in self.coefficients(s))
        x_t = a * x / self.sigma_data
        pred = self.net(x_t, self.time(s), None if cond is None else dict(cond)).to(dtype)
        return self.sigma_data * (q * x_t - b * pred) / (a * q - b * p)


class PathLoss:
    """E_t ||target_hat - target||^2 of a path, computed through D (style habit 1).

    t ~ ``time_dist``, clipped to [t_eps, 1 - t_eps] (t = 0 or 1 is sigma = 0 or inf), and
    sigma = sigma_data sigma'(t). The target-space error equals the x0 error times
    ``target_weight``, exactly, so ``D(x0 + sigma n, sigma)`` is all the loss calls and any
    denoiser can be trained with it. Per-example errors are averaged over the non-batch
    elements, then over the batch. ``at_sigmas`` reports EDM's weighted x0 error, the same
    number for every formulation. Subclasses set ``coefficients`` and ``sigma_of_time``.
    """

    coefficients: Callable[[Tensor], Coefficients]
    sigma_of_time: Callable[[Tensor], Tensor]
    default_time: Callable[[], TimeDist]

    def __init__(
        self,
        time_dist: TimeDist | None = None,
        sigma_data: float = 1.0,
        cond_dropout: float = 0.1,
        t_eps: float = 1e-4,
    ) -> None:
        if not 0.0 <= cond_dropout <= 1.0:
            raise ValueError(f"cond_dropout must be in [0, 1], got {cond_dropout}")
        if not 0.0 < t_eps < 0.5:
            raise ValueError(f"t_eps must be in (0, 0.5), got {t_eps}")
        if not sigma_data > 0:
            raise ValueError(f"sigma_data must be positive, got {sigma_data}")
        self.time_dist = time_dist if time_dist is not None else self.default_time()
        self.sigma_data = float(sigma_data)
        self.cond_dropout = cond_dropout
        self.t_eps = t_eps

    def at_times(self, denoiser: DenoiserFn, x0: Tensor, noise: Tensor, t: Tensor, cond) -> Tensor:
        """Per-example target-space squared error at path times t with the given noise."""
        # x0, noise: [B, C, T], t: [B] -> [B]
        sigma = self.sigma_data * self.sigma_of_time(t.to(x0.dtype))  # [B]
        weight = target_weight(self.coefficients(sigma / self.sigma_data), self.sigma_data)
        return weighted_x0_error(denoiser, x0, noise, sigma, weight, cond)

    def __call__(
        self, denoiser: DenoiserFn, x0: Tensor, cond: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        # x0: [B, C, T], cond: {name: [B] long} -> scalar
        t = self.time_dist(x0.shape[0], x0.device).clamp(self.t_eps, 1 - self.t_eps)
        noise = torch.randn_like(x0)
        cond = drop_labels(cond, self.cond_dropout)
        return self.at_times(denoiser, x0, noise, t, cond).mean()

    @torch.no_grad()
    def at_sigmas(
        self,
        denoiser: DenoiserFn,
        x0: Tensor,
        cond: Mapping[str, Tensor] | None,
        sigmas: Sequence[float],
        generator: torch.Generator | None = None,
    ) -> dict[float, Tensor]:
        """Validation at fixed EDM sigmas: EDM's lambda(sigma) ||D - x0||^2, as ``EDMLoss``."""
        # x0: [B, C, T] -> {sigma: scalar}
        return edm_validation(denoiser, x0, cond, sigmas, self.sigma_data, generator)
