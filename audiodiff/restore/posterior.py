"""Posterior sampling as denoiser wrappers: D(x, sigma, cond) -> E[x0 | x, y] (approximately).

Style habit 11: conditioning on an observation y changes what the denoiser returns, so every
solver in ``audiodiff.sampling`` samples p(x0 | y) unchanged. Three wrappers:

- ``tweedie_posterior``: for a mask in the denoiser's own space, the Gaussian update of
  x0_hat with Cov[x0 | x] = sigma^2 dD/dx (Tweedie's second-order formula; Boys et al. 2023,
  "Tweedie Moment Projected Diffusions"), solved by conjugate gradients. Exact for a
  Gaussian prior, so the probability-flow ODE then samples the exact posterior.
- ``data_consistency``: x0_hat replaced by the nearest signal that agrees with y (a hard
  projection, e.g. the known samples outside gaps), in the waveform or the representation.
- ``reconstruction_guidance``: x0_hat moved down the gradient of ||y - A(x0_hat)||^2 taken
  through the denoiser (DPS, Chung et al. 2023, in x0 form), for operators without a
  projection, or where the representation cannot be projected (mel, latents).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from audiodiff.restore.operators import Observation

Denoiser = Callable[..., Tensor]
Transform = Callable[[Tensor], Tensor]


def _sigma_view(sigma: Tensor | float, x: Tensor) -> Tensor:
    s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1)
    return s.view(-1, *([1] * (x.ndim - 1)))  # [B or 1, 1, ...]


def tweedie_posterior(
    denoiser: Denoiser,
    mask: Tensor,
    y: Tensor,
    *,
    cg_iters: int = 8,
    noise_std: float = 0.0,
) -> Denoiser:
    """E[x0 | x, y] for y = mask * x0 (+ N(0, noise_std^2)), in the denoiser's space.

    With D0 = D(x) and C = sigma^2 J (J = dD/dx, symmetric for a conservative denoiser):
        x0_post = D0 + C m (m C m + s^2 I)^-1 m (y - D0)
    the Gaussian conditioning of x0 | x ~ N(D0, C) on the observed entries. The inverse is
    ``cg_iters`` conjugate-gradient steps on the observed entries; each step is one
    vector-Jacobian product (a backward pass). ``cg_iters=0`` keeps C ~ sigma^2 I only on the
    observed entries: x0_hat's observed part moves to y, the rest is left as it is.
    """
    # mask: broadcastable to x [B, C, T], 1 = observed; y: [B, C, T] (ignored where mask 0)

    def posterior(x: Tensor, sigma: Tensor | float, cond: Mapping | None = None) -> Tensor:
        m = mask.to(x.dtype).expand_as(x)
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            d0 = denoiser(xg, sigma, cond)
            s2 = _sigma_view(sigma, x) ** 2

            def cov(v: Tensor) -> Tensor:  # C v = sigma^2 J^T v (= J v, J symmetric)
                (jv,) = torch.autograd.grad(d0, xg, grad_outputs=v, retain_graph=True)
                return s2 * jv

            r = m * (y.to(x.dtype) - d0.detach())
            if cg_iters <= 0:
                return (d0 + r).detach()
            z = _conjugate_gradients(lambda v: m * cov(m * v) + noise_std**2 * v, r, cg_iters)
            return (d0 + cov(m * z)).detach()

    return posterior


def _conjugate_gradients(op: Transform, b: Tensor, iters: int) -> Tensor:
    """Solve op(z) = b for each batch item (op symmetric positive semi-definite), z0 = 0."""
    # b: [B, ...] -> z: [B, ...]; per-item step sizes, so items do not mix
    dims = tuple(range(1, b.ndim))
    z = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rr = (r * r).sum(dims, keepdim=True)
    for _ in range(iters):
        ap = op(p)
        pap = (p * ap).sum(dims, keepdim=True)
        alpha = torch.where(pap > 0, rr / pap.clamp_min(1e-30), torch.zeros_like(pap))
        z = z + alpha * p
        r = r - alpha * ap
        rr_new = (r * r).sum(dims, keepdim=True)
        beta = torch.where(rr > 0, rr_new / rr.clamp_min(1e-30), torch.zeros_like(rr))
        p = r + beta * p
        rr = rr_new
    return z


def data_consistency(
    denoiser: Denoiser,
    observation: Observation,
    *,
    decode: Transform | None = None,
    encode: Transform | None = None,
    min_sigma: float = 0.0,
) -> Denoiser:
    """D'(x) = encode(project(decode(D(x)))): the estimate, made to agree with y.

    With ``decode``/``encode`` the projection happens on the waveform (exact for an
    invertible representation such as the complex STFT); without them, in the denoiser's
    own space. Applied at every step, the trajectory is pulled onto signals consistent with
    the observation (Song et al. 2021 imputation, in x0 form; Kawar et al. 2022 for masks).
    Below ``min_sigma`` the estimate is left as the net makes it: the last steps finish the
    details across the edges of the known part on their own (a caller projects the result
    once more at the end, as ``solve_known`` does).
    """

    def consistent(x: Tensor, sigma: Tensor | float, cond: Mapping | None = None) -> Tensor:
        x0 = denoiser(x, sigma, cond)
        # rows still held to y: [B or 1, 1, ...]; None (no host sync) without min_sigma
        held = _sigma_view(sigma, x) >= min_sigma if min_sigma > 0 else None
        if held is not None and not held.any():  # every row below: nothing to project
            return x0
        signal = decode(x0) if decode is not None else x0
        signal = observation.project(signal)
        signal = encode(signal) if encode is not None else signal
        return signal if held is None or held.all() else torch.where(held, signal, x0)

    return consistent


def reconstruction_guidance(
    denoiser: Denoiser,
    observation: Observation,
    *,
    decode: Transform | None = None,
    scale: float = 1.0,
) -> Denoiser:
    """D'(x) = D(x) - zeta grad_x ||y - A(decode(D(x)))||^2, zeta = scale / ||y - A(...)||
    (DPS step size, Chung et al. 2023, Algorithm 1, written for x0 instead of x_{i-1})."""

    def guided(x: Tensor, sigma: Tensor | float, cond: Mapping | None = None) -> Tensor:
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            x0 = denoiser(xg, sigma, cond)
            signal = decode(x0) if decode is not None else x0
            residual = observation.residual(signal)
            dims = tuple(range(1, residual.ndim))
            sq = (residual**2).sum(dims)  # [B]
            (grad,) = torch.autograd.grad(sq.sum(), xg)
        norm = sq.detach().sqrt().clamp_min(1e-8).view(-1, *([1] * (x.ndim - 1)))
        return (x0 - scale * grad / norm).detach()

    return guided
