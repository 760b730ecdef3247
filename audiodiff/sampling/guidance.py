"""Classifier-free guidance as a denoiser wrapper (Ho & Salimans 2022)."""

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


def classifier_free_guidance(
    denoiser: Denoiser, scale: float, negative_cond: Mapping[str, Tensor] | None = None
) -> Denoiser:
    """D_neg + scale (D_cond - D_neg) as a denoiser (Ho & Salimans 2022, eq. 6, in x0 form).

    D_neg uses ``negative_cond`` (labels it omits, or all labels when it is None, get the null
    id 0; numbers such as seconds_start get NaN, their null). Both passes run as one denoiser
    call on a batch of 2B. scale = 1 returns ``denoiser`` itself (exactly the conditional
    output); a call with cond None (or {}) is unguided.
    """
    if scale == 1:
        return denoiser

    def guided(
        x: Tensor, sigma: Tensor | float, cond: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        # x: [B, ...], sigma: [B] or scalar, cond: {name: [B] long} -> x0_hat: [B, ...]
        if not cond:  # None or no labels: nothing to guide on
            return denoiser(x, sigma, cond)
        neg = _negative(cond, negative_cond)
        if isinstance(sigma, Tensor) and sigma.ndim > 0 and sigma.numel() == x.shape[0]:
            sigma = sigma.reshape(-1).repeat(2)  # [2B]; a scalar sigma broadcasts as it is
        both = {name: torch.cat([ids, neg[name]]) for name, ids in cond.items()}  # [2B]
        d_cond, d_neg = denoiser(torch.cat([x, x]), sigma, both).chunk(2)
        return d_neg + scale * (d_cond - d_neg)

    return guided
