"""Stateless solvers of the probability-flow ODE dx/dsigma = (x - D(x, sigma)) / sigma.

Every solver has the signature ``sample_x(denoiser, x, sigmas, *, cond=None, callback=None)``,
plus keyword-only options with defaults where it has any (``eta``, ``order``, ``s_churn``, ...;
see ``sampler_options``), and works on any tensor shape [B, ...]. ``x`` is the initial noise
ALREADY scaled by ``sigmas[0]``; ``sigmas`` is descending and normally ends in 0 (see
``schedules``). After step i, ``callback(dict(i=i, x=x, sigma=sigmas[i + 1], denoised=d))``
gets the new state x at noise level sigmas[i + 1] and d, the latest x0 estimate (the last
denoiser output).
No solver disables autograd: wrap the call in ``torch.no_grad()`` for plain generation.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

Denoiser = Callable[[Tensor, Tensor, Mapping[str, Tensor] | None], Tensor]
Callback = Callable[[dict[str, Any]], None]


def _denoise(denoiser: Denoiser, x: Tensor, sigma: Tensor, cond) -> Tensor:
    # x: [B, ...], sigma: scalar -> x0_hat: [B, ...]; the denoiser gets sigma as [B]
    return denoiser(x, sigma.expand(x.shape[0]), cond)


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


def _noise_like(x: Tensor, generator: torch.Generator | None) -> Tensor:
    # x: [B, ...] -> unit Gaussian noise [B, ...] drawn from ``generator`` (global RNG if None)
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def _ancestral_step(sigma: Tensor, sigma_next: Tensor, eta: float) -> tuple[Tensor, Tensor]:
    """(sigma_down, sigma_up) with sigma_down^2 + sigma_up^2 = sigma_next^2.

    sigma_up = eta sigma' sqrt(sigma^2 - sigma'^2) / sigma is DDIM's sigma_t(eta) (Song et al.
    2021, eq. 16) in VE units; eta = 0 gives exactly (sigma_next, 0).
    """
    if eta == 0 or sigma_next == 0:
        return sigma_next, sigma_next.new_zeros(())
    sigma_up = eta * sigma_next * (sigma**2 - sigma_next**2).sqrt() / sigma
    sigma_up = torch.minimum(sigma_up, sigma_next)
    return (sigma_next**2 - sigma_up**2).sqrt(), sigma_up


def _euler_ancestral(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    cond: Mapping[str, Tensor] | None,
    callback: Callback | None,
    eta: float,
    s_noise: float,
    generator: torch.Generator | None,
) -> Tensor:
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; N network evaluations
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = _denoise(denoiser, x, sigma, cond)
        sigma_down, sigma_up = _ancestral_step(sigma, sigma_next, eta)
        x = x + (sigma_down - sigma) * _to_d(x, sigma, denoised)  # deterministic part
        if sigma_up > 0:
            x = x + _noise_like(x, generator) * s_noise * sigma_up
        if callback is not None:
            callback(dict(i=i, x=x, sigma=sigma_next, denoised=denoised))
    return x


def sample_ddim(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """DDIM, x' = x0 + sqrt(s'^2 - s_up^2) eps + s_up z (Song et al. 2021, eq. 12, VE form).

    s_up = eta s' sqrt(s^2 - s'^2) / s (eq. 16); eta = 0 is deterministic and computes exactly
    what ``sample_euler`` computes, eta = 1 is ``sample_euler_ancestral``.
    """
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; N network evaluations
    return _euler_ancestral(denoiser, x, sigmas, cond, callback, eta, 1.0, generator)


def sample_euler_ancestral(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
    eta: float = 1.0,
    s_noise: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Euler to sigma_down, then fresh noise of std sigma_up (DDPM ancestral step in VE form).

    Ho et al. 2020, Alg. 2 / Song et al. 2021, eq. 12 with eta = 1; as k-diffusion's
    ``sample_euler_ancestral``. ``s_noise`` scales the added noise.
    """
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; N network evaluations
    return _euler_ancestral(denoiser, x, sigmas, cond, callback, eta, s_noise, generator)


def sample_dpmpp_2s(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
) -> Tensor:
    """DPM-Solver++(2S), single step, r = 1/2, data prediction (Lu et al. 2022, Algorithm 1).

    A step to sigma = 0 returns the denoised value, like ``sample_dpmpp_2m``.
    """
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; 2N - 1 evaluations if
    # sigmas[-1] == 0, else 2N
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = _denoise(denoiser, x, sigma, cond)
        if sigma_next == 0:
            x = denoised
        else:
            h = sigma.log() - sigma_next.log()  # lambda_{i+1} - lambda_i, lambda = -log sigma
            sigma_mid = (sigma * sigma_next).sqrt()  # lambda_i + h / 2
            u = (sigma_mid / sigma) * x - torch.expm1(-h / 2) * denoised  # Alg. 1, u_i
            denoised = _denoise(denoiser, u, sigma_mid, cond)  # r = 1/2: D_i = x0(u_i)
            x = (sigma_next / sigma) * x - torch.expm1(-h) * denoised
        if callback is not None:
            callback(dict(i=i, x=x, sigma=sigma_next, denoised=denoised))
    return x


def sample_dpmpp_3m(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
) -> Tensor:
    """DPM-Solver++(3M), data prediction, 3rd-order multistep (Lu et al. 2022, Sec. 4, eq. 9).

    x' = (s'/s) x + sum_k phi_k(h) x0^(k)(lambda_i), phi_0 = 1 - e^{-h}, phi_k = h^k/k! -
    phi_{k-1}; x0' and x0'' come from the quadratic through the last three x0 values on the
    lambda = -log sigma grid (fewer at the first two steps), so a quadratic x0(lambda) is
    integrated exactly. k-diffusion's ``sample_dpmpp_3m_sde`` (eta = 0) weights the x0'' term
    by half of this and measures 2nd order on the Gaussian test. A step to sigma = 0 returns x0.
    """
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; N network evaluations
    hist: list[tuple[Tensor, Tensor]] = []  # (lambda, x0) of the last two steps, newest last
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = _denoise(denoiser, x, sigma, cond)
        lam = -sigma.log()
        if sigma_next == 0:
            x = denoised
        else:
            h = -sigma_next.log() - lam  # lambda_{i+1} - lambda_i
            phi_0 = -torch.expm1(-h)  # int_0^h e^{-(h - tau)} dtau
            phi_1 = h - phi_0  # int_0^h e^{-(h - tau)} tau dtau
            phi_2 = h**2 / 2 - phi_1  # int_0^h e^{-(h - tau)} tau^2 / 2 dtau
            x = (sigma_next / sigma) * x + phi_0 * denoised
            if hist:  # Newton divided differences at lambda_i, lambda_{i-1}, lambda_{i-2}
                lam_1, x0_1 = hist[-1]
                d01 = (denoised - x0_1) / (lam - lam_1)
                if len(hist) == 1:
                    x = x + phi_1 * d01
                else:
                    lam_2, x0_2 = hist[-2]
                    d012 = (d01 - (x0_1 - x0_2) / (lam_1 - lam_2)) / (lam - lam_2)
                    x = x + phi_1 * (d01 + (lam - lam_1) * d012) + phi_2 * 2 * d012
        hist = [*hist[-1:], (lam, denoised)]
        if callback is not None:
            callback(dict(i=i, x=x, sigma=sigma_next, denoised=denoised))
    return x


def _lagrange_integral(nodes: list[float], j: int, a: float, b: float) -> float:
    """int_a^b of the Lagrange basis polynomial l_j through ``nodes`` (closed form)."""
    coeffs = [1.0]  # ascending powers of (s - nodes[0]); shifting keeps small sigmas accurate
    shift = nodes[0]
    for k, node in enumerate(nodes):
        if k == j:
            continue
        scale, root = 1.0 / (nodes[j] - node), node - shift
        nxt = [0.0] * (len(coeffs) + 1)  # coeffs * (u - root) * scale
        for p, c in enumerate(coeffs):
            nxt[p + 1] += c * scale
            nxt[p] -= c * root * scale
        coeffs = nxt
    a, b = a - shift, b - shift
    return sum(c * (b ** (p + 1) - a ** (p + 1)) / (p + 1) for p, c in enumerate(coeffs))


def sample_lms(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
) -> Tensor:
    """Linear multistep (variable-step Adams-Bashforth) in sigma, order 4 (Hairer et al. III.1).

    x' = x + sum_j c_j d_{i-j}, c_j = int_s^s' l_j(sigma) dsigma over the Lagrange basis through
    the last min(i + 1, 4) sigmas, as k-diffusion's ``sample_lms`` but integrated exactly.
    """
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; N network evaluations
    order = 4
    ds: list[Tensor] = []  # derivatives at sigmas[i], sigmas[i - 1], ..., newest first
    s = sigmas.detach().cpu().tolist()
    for i in range(len(sigmas) - 1):
        denoised = _denoise(denoiser, x, sigmas[i], cond)
        ds = [_to_d(x, sigmas[i], denoised), *ds[: order - 1]]
        nodes = [s[i - j] for j in range(len(ds))]
        for j, d in enumerate(ds):
            x = x + _lagrange_integral(nodes, j, s[i], s[i + 1]) * d
        if callback is not None:
            callback(dict(i=i, x=x, sigma=sigmas[i + 1], denoised=denoised))
    return x


# Adams-Bashforth weights on equal steps, newest first (Liu et al. 2022, eq. 12 for order 4)
_AB = ((1.0,), (3 / 2, -1 / 2), (23 / 12, -16 / 12, 5 / 12), (55 / 24, -59 / 24, 37 / 24, -9 / 24))


def sample_plms(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
) -> Tensor:
    """Pseudo linear multistep (PLMS, Liu et al. 2022 PNDM, eq. 12), lower-order start.

    eps' = (55 e_i - 59 e_{i-1} + 37 e_{i-2} - 9 e_{i-3}) / 24 with equal-step weights in the
    step index, then the DDIM transfer x' = x + (s' - s) eps' (eq. 11, VE form); the first
    three steps use the AB weights of order 1, 2, 3 instead of PNDM's Runge-Kutta start, so
    this costs one evaluation per step.
    """
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; N network evaluations
    eps: list[Tensor] = []  # newest first
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = _denoise(denoiser, x, sigma, cond)
        eps = [_to_d(x, sigma, denoised), *eps[:3]]
        eps_prime = sum(w * e for w, e in zip(_AB[len(eps) - 1], eps, strict=True))
        x = x + (sigma_next - sigma) * eps_prime
        if callback is not None:
            callback(dict(i=i, x=x, sigma=sigma_next, denoised=denoised))
    return x


def _unipc_rhs(h: Tensor, k: int, b_h: Tensor) -> Tensor:
    """g_j = j! phi_{j+1}(-h) / B(h), j = 1..k: right side of R_k a = g (Zhao et al. 2023, eq 8)."""
    hh = -h  # data prediction integrates in -lambda
    h_phi = torch.expm1(hh) / hh - 1
    out, factorial = [], 1
    for j in range(1, k + 1):
        out.append(h_phi * factorial / b_h)
        factorial *= j + 1
        h_phi = h_phi / hh - 1 / factorial
    return torch.stack(out)


def _unipc_rhos(rks: list[Tensor], g: Tensor) -> list[Tensor]:
    """Coefficients a with sum_m a_m r_m^(j-1) = g_j; one coefficient is bh2's fixed 1/2."""
    # rks: k x [] (r_m = (lambda_m - lambda_i) / h), g: [>= k] -> k x []
    if len(rks) == 1:
        return [g.new_tensor(0.5)]
    r = torch.stack(rks)
    mat = torch.stack([r**j for j in range(len(rks))])  # [k, k], row j = r^j
    return list(torch.linalg.solve(mat, g[: len(rks)]))


def sample_unipc(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
    order: int = 2,
) -> Tensor:
    """UniPC-bh2, data prediction: UniP-p predictor + UniC-p corrector (Zhao et al. 2023, Alg. 2-3).

    B(h) = e^{-h} - 1 (bh2). The corrector reuses the evaluation at the predicted point, so it
    costs nothing extra and is skipped on the last step; the order ramps up from 1 over the
    first steps. A step to sigma = 0 returns the latest x0 estimate.
    """
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; N network evaluations
    if order not in (1, 2, 3):
        raise ValueError(f"UniPC order must be 1, 2 or 3, got {order}")
    n = len(sigmas) - 1
    if n < 1:
        return x
    denoised = _denoise(denoiser, x, sigmas[0], cond)
    hist = [(-sigmas[0].log(), denoised)]  # (lambda, x0), newest last, at most `order`
    for i in range(n):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        if sigma_next == 0:
            x = denoised
        else:
            lam, x0 = hist[-1]
            h = -sigma_next.log() - lam  # lambda_{i+1} - lambda_i
            prev = hist[-2::-1]  # older points, newest first
            rks = [(lam_m - lam) / h for lam_m, _ in prev]
            d1s = [(x0_m - x0) / r for (_, x0_m), r in zip(prev, rks, strict=True)]
            b_h = torch.expm1(-h)  # bh2
            g = _unipc_rhs(h, len(hist), b_h)
            x_lin = (sigma_next / sigma) * x - torch.expm1(-h) * x0  # DDIM / DPM-Solver++(1)
            x_pred = x_lin
            if d1s:  # UniP-p (Alg. 2)
                rhos = _unipc_rhos(rks, g)
                x_pred = x_lin - b_h * sum(a * d for a, d in zip(rhos, d1s, strict=True))
            if i == n - 1:  # no corrector on the last step: it would cost one more evaluation
                x = x_pred
            else:  # UniC-p (Alg. 3) with the new x0 at r = 1
                denoised = _denoise(denoiser, x_pred, sigma_next, cond)
                rhos = _unipc_rhos([*rks, torch.ones_like(h)], g)
                d1s = [*d1s, denoised - x0]
                x = x_lin - b_h * sum(a * d for a, d in zip(rhos, d1s, strict=True))
                hist = [*hist, (-sigma_next.log(), denoised)][-order:]
        if callback is not None:
            callback(dict(i=i, x=x, sigma=sigma_next, denoised=denoised))
    return x


def sample_dpmpp_2m_sde(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
    eta: float = 1.0,
    s_noise: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """DPM-Solver++(2M) SDE, midpoint type (Lu et al. 2022, Sec. 5 / Gonzalez et al. 2023).

    Exact on the linear part of the SDE with noise rate eta: x' = (s'/s) e^{-eta h} x +
    (1 - e^{-(1+eta) h}) D + s' sqrt(1 - e^{-2 eta h}) z, with D's 2nd-order midpoint term
    as in k-diffusion's ``sample_dpmpp_2m_sde``; eta = 0 is the deterministic 2M ODE solver.
    A step to sigma = 0 returns x0.
    """
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; N network evaluations
    old_denoised, h_last = None, None
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = _denoise(denoiser, x, sigma, cond)
        if sigma_next == 0:
            x = denoised
        else:
            h = sigma.log() - sigma_next.log()
            eta_h = eta * h
            decay = -torch.expm1(-h - eta_h)  # 1 - e^{-(1 + eta) h}
            x = (sigma_next / sigma) * (-eta_h).exp() * x + decay * denoised
            if old_denoised is not None:  # midpoint: x0 slope from the last two steps
                r = h_last / h
                x = x + 0.5 * decay / r * (denoised - old_denoised)
            if eta > 0:
                noise_std = sigma_next * (-torch.expm1(-2 * eta_h)).sqrt() * s_noise
                x = x + _noise_like(x, generator) * noise_std
            h_last = h
        old_denoised = denoised
        if callback is not None:
            callback(dict(i=i, x=x, sigma=sigma_next, denoised=denoised))
    return x


def sample_edm_stochastic(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    cond: Mapping[str, Tensor] | None = None,
    callback: Callback | None = None,
    s_churn: float = 40.0,
    s_tmin: float = 0.05,
    s_tmax: float = 50.0,
    s_noise: float = 1.003,
    generator: torch.Generator | None = None,
) -> Tensor:
    """EDM stochastic sampler: churn noise up to sigma_hat, then a Heun step (Karras et al. 2022,
    Alg. 2); defaults are Table 5's ImageNet-64 values; s_churn = 0 is ``sample_heun``.
    """
    # x: [B, ...] at sigmas[0], sigmas: [N + 1] -> x at sigmas[-1]; 2N - 1 evaluations if
    # sigmas[-1] == 0, else 2N
    n = len(sigmas) - 1
    gamma_max = min(s_churn / n, 2**0.5 - 1) if n > 0 else 0.0
    for i in range(n):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        gamma = gamma_max if s_tmin <= sigma <= s_tmax else 0.0
        sigma_hat = sigma * (1 + gamma)  # Alg. 2, lines 4-6
        if gamma > 0:
            x = x + _noise_like(x, generator) * s_noise * (sigma_hat**2 - sigma**2).sqrt()
        denoised = _denoise(denoiser, x, sigma_hat, cond)
        d = _to_d(x, sigma_hat, denoised)
        x_next = x + (sigma_next - sigma_hat) * d  # line 8
        if sigma_next > 0:  # 2nd-order correction, lines 9-11
            denoised = _denoise(denoiser, x_next, sigma_next, cond)
            d_next = _to_d(x_next, sigma_next, denoised)
            x_next = x + (sigma_next - sigma_hat) * (d + d_next) / 2
        x = x_next
        if callback is not None:
            callback(dict(i=i, x=x, sigma=sigma_next, denoised=denoised))
    return x


SAMPLERS: dict[str, Callable[..., Tensor]] = {
    "euler": sample_euler,
    "heun": sample_heun,
    "dpmpp_2m": sample_dpmpp_2m,
    "ddim": sample_ddim,
    "dpmpp_2s": sample_dpmpp_2s,
    "dpmpp_3m": sample_dpmpp_3m,
    "lms": sample_lms,
    "plms": sample_plms,
    "unipc": sample_unipc,
    "euler_ancestral": sample_euler_ancestral,
    "dpmpp_2m_sde": sample_dpmpp_2m_sde,
    "edm_stochastic": sample_edm_stochastic,
}

# network evaluations per sampler for `steps` steps on a schedule that ends in sigma = 0
_NFE: dict[str, Callable[[int], int]] = {
    "euler": lambda steps: steps,
    "heun": lambda steps: 2 * steps - 1,
    "dpmpp_2m": lambda steps: steps,
    "ddim": lambda steps: steps,
    "dpmpp_2s": lambda steps: 2 * steps - 1,
    "dpmpp_3m": lambda steps: steps,
    "lms": lambda steps: steps,
    "plms": lambda steps: steps,
    "unipc": lambda steps: steps,
    "euler_ancestral": lambda steps: steps,
    "dpmpp_2m_sde": lambda steps: steps,
    "edm_stochastic": lambda steps: 2 * steps - 1,
}


def sampler_options(sampler_name: str) -> dict[str, Any]:
    """The keyword-only options of a sampler and their defaults (``generator`` excluded)."""
    params = inspect.signature(SAMPLERS[sampler_name]).parameters.values()
    skip = {"cond", "callback", "generator"}
    return {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY and p.name not in skip}


def nfe(sampler_name: str, steps: int) -> int:
    """Network evaluations of ``steps`` steps of a sampler on a schedule ending in 0."""
    if sampler_name not in _NFE:
        raise KeyError(f"unknown sampler '{sampler_name}', expected one of {sorted(_NFE)}")
    return _NFE[sampler_name](steps)
