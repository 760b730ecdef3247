"""Classifier-free guidance as a denoiser wrapper (Ho & Salimans 2022), with negative labels,
CFG rescale (Lin et al. 2024) and a guidance interval (Kynkaanniemi et al. 2024)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

Denoiser = Callable[[Tensor, Tensor, Mapping[str, Tensor] | None], Tensor]

NULL_ID = 0  # id 0 of every label is the null label ("no condition"), see data/vocab.py


def _null(ids: Tensor) -> Tensor:
    """The null value of a condition: NaN for a number ([B] float: timing), else id 0."""
    number = ids.is_floating_point() and ids.ndim == 1
    return torch.full_like(ids, float("nan") if number else NULL_ID)


def _negative(cond: Mapping[str, Tensor], negative: Mapping[str, Tensor] | None):
    """Negative labels shaped like ``cond``: given ids (broadcast to [B]), else the null id
    (NaN for numbers: a timing model's unconditional branch drops the timing too)."""
    # cond: {name: [B] long or float} -> the same
    if negative is None:
        return {name: _null(ids) for name, ids in cond.items()}
    extra = set(negative) - set(cond)
    if extra:
        raise ValueError(f"negative_cond has labels {sorted(extra)} that cond does not have")
    out = {}
    for name, ids in cond.items():
        if name in negative:
            neg = torch.as_tensor(negative[name], device=ids.device, dtype=ids.dtype)
            out[name] = neg.expand_as(ids)
        else:
            out[name] = _null(ids)
    return out


def rescaled(guided: Tensor, conditional: Tensor, phi: float) -> Tensor:
    """phi * guided * std(cond) / std(guided) + (1 - phi) * guided, std per sample (Lin et al.
    2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", sec. 3.4, eqs. 15-16,
    in x0 form)."""
    # guided, conditional: [B, ...] -> [B, ...]
    dims = tuple(range(1, guided.ndim))
    ratio = conditional.std(dims, keepdim=True) / guided.std(dims, keepdim=True).clamp_min(1e-12)
    return phi * guided * ratio + (1 - phi) * guided


def _inside(sigma: Tensor | float, interval: tuple[float, float], batch: int, like: Tensor):
    """bool [B]: whether each row's sigma lies in [lo, hi]."""
    s = torch.as_tensor(sigma, device=like.device).reshape(-1).expand(batch)
    return (s >= interval[0]) & (s <= interval[1])


def classifier_free_guidance(
    denoiser: Denoiser,
    scale: float,
    negative_cond: Mapping[str, Tensor] | None = None,
    rescale: float = 0.0,
    interval: tuple[float, float] | None = None,
) -> Denoiser:
    """D_neg + scale (D_cond - D_neg) as a denoiser (Ho & Salimans 2022, eq. 6, in x0 form).

    D_neg uses ``negative_cond`` (labels it omits, or all labels when it is None, get the null
    id 0; numbers such as seconds_start get NaN, their null). Both passes run as one denoiser
    call on a batch of 2B. scale = 1 returns ``denoiser`` itself (exactly the conditional
    output); a call with cond None (or {}) is unguided.

    ``rescale`` = phi > 0 mixes in the guided estimate rescaled to the per-sample std of
    D_cond (``rescaled``; phi = 0 is plain CFG, exactly). ``interval`` = (lo, hi) guides only
    where lo <= sigma <= hi (Kynkaanniemi et al. 2024, "Applying Guidance in a Limited
    Interval Improves Sample and Distribution Quality", eq. 3); outside it the result is
    D_cond from one pass of batch B.
    """
    if scale == 1:
        return denoiser
    if interval is not None:
        lo, hi = (float(v) for v in interval)
        if not 0 <= lo <= hi:
            raise ValueError(f"guidance interval needs 0 <= lo <= hi, got {list(interval)}")
        interval = (lo, hi)

    def guided(
        x: Tensor, sigma: Tensor | float, cond: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        # x: [B, ...], sigma: [B] or scalar, cond: {name: [B] long} -> x0_hat: [B, ...]
        if not cond:  # None or no labels: nothing to guide on
            return denoiser(x, sigma, cond)
        inside = None if interval is None else _inside(sigma, interval, x.shape[0], x)
        if inside is not None and not inside.any():
            return denoiser(x, sigma, cond)  # outside the interval: the conditional, one pass
        neg = _negative(cond, negative_cond)
        sigma2 = sigma
        if isinstance(sigma, Tensor) and sigma.ndim > 0 and sigma.numel() == x.shape[0]:
            sigma2 = sigma.reshape(-1).repeat(2)  # [2B]; a scalar sigma broadcasts as it is
        both = {name: torch.cat([ids, neg[name]]) for name, ids in cond.items()}  # [2B]
        d_cond, d_neg = denoiser(torch.cat([x, x]), sigma2, both).chunk(2)
        out = d_neg + scale * (d_cond - d_neg)
        if rescale:
            out = rescaled(out, d_cond, rescale)
        if inside is not None and not inside.all():  # rows outside keep the conditional
            out = torch.where(inside.view(-1, *([1] * (x.ndim - 1))), out, d_cond)
        return out

    return guided
