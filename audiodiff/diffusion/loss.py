"""EDM training loss, the EDM-weighted validation error all formulations report, and label
dropout for classifier-free guidance."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor

DenoiserFn = Callable[[Tensor, Tensor, Mapping[str, Tensor] | None], Tensor]

NULL_ID = 0  # id 0 of every label is the null label ("no condition"), see data/vocab.py


def _randn(shape: torch.Size, like: Tensor, generator: torch.Generator | None) -> Tensor:
    """Standard normal noise drawn on the generator's device, moved to ``like``'s device."""
    device = generator.device if generator is not None else like.device
    return torch.randn(shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


def drop_labels(
    cond: Mapping[str, Tensor] | None, p: float, generator: torch.Generator | None = None
) -> dict[str, Tensor] | None:
    """Per example, with probability p set ALL its labels to the null id (Ho & Salimans 2022).

    Number conditions (float [B], e.g. a timing model's seconds_start / seconds_total) drop
    with the labels, in the same draw, to NaN: the null value their embedding reads
    (``audiodiff.nn.timing``). Token ids (long [B, L], a text model's ``text``) drop to all
    0, the empty prompt (``audiodiff.nn.text``). Other tensors (an observation) drop to 0, as
    before."""
    # cond: {name: [B] long or [B] float, text: [B, L] long} -> the same; one Bernoulli(p)
    # draw per example
    if cond is None:
        return None
    cond = dict(cond)
    if p <= 0 or not cond:
        return cond
    first = next(iter(cond.values()))
    device = generator.device if generator is not None else first.device
    drop = torch.rand(first.shape[0], generator=generator, device=device) < p  # [B]
    drop = drop.to(first.device)
    out = {}
    for name, ids in cond.items():
        mask = drop.view((-1,) + (1,) * (ids.ndim - 1))
        number = ids.is_floating_point() and ids.ndim == 1
        null = torch.full_like(ids, float("nan") if number else NULL_ID)
        out[name] = torch.where(mask, null, ids)
    return out


def edm_weight(sigma: Tensor, sigma_data: float) -> Tensor:
    """Loss weight lambda(sigma) = (sigma^2 + sd^2) / (sigma sd)^2 (Karras et al. 2022, Table 1)."""
    # sigma: any shape -> same shape
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


def weighted_x0_error(
    denoiser: DenoiserFn, x0: Tensor, noise: Tensor, sigma: Tensor, weight: Tensor, cond
) -> Tensor:
    """weight(sigma) ||D(x0 + sigma n, sigma) - x0||^2 per example, averaged over elements."""
    # x0, noise: [B, ...], sigma, weight: [B] -> per-example weighted MSE [B]
    view = (-1,) + (1,) * (x0.ndim - 1)
    x0_hat = denoiser(x0 + sigma.view(view) * noise, sigma, cond)  # [B, ...]
    mse = (x0_hat.to(x0.dtype) - x0).square().flatten(1).mean(dim=1)  # [B]
    return weight * mse


@torch.no_grad()
def edm_validation(
    denoiser: DenoiserFn,
    x0: Tensor,
    cond: Mapping[str, Tensor] | None,
    sigmas: Sequence[float],
    sigma_data: float,
    generator: torch.Generator | None = None,
) -> dict[float, Tensor]:
    """EDM-weighted x0 error at fixed sigmas: the validation number of every formulation.

    No label dropout, one noise draw for all sigmas; whatever the net predicts (F, v, u),
    the same lambda(sigma) ||D - x0||^2 is reported, so val/loss compares like for like.
    """
    # x0: [B, C, T] -> {sigma: scalar}; the same noise tensor is reused at every sigma
    noise = _randn(x0.shape, x0, generator)
    out = {}
    for s in sigmas:
        sigma = torch.full((x0.shape[0],), float(s), device=x0.device, dtype=x0.dtype)
        weight = edm_weight(sigma, sigma_data)
        out[float(s)] = weighted_x0_error(denoiser, x0, noise, sigma, weight, cond).mean()
    return out


class EDMLoss:
    """E_{sigma, n} lambda(sigma) ||D(x0 + n, sigma) - x0||^2 (Karras et al. 2022, eq. 2, Table 1).

    sigma ~ LogNormal(p_mean, p_std) per example; the squared error is averaged over the
    non-batch elements, weighted, then averaged over the batch. With probability
    ``cond_dropout`` all labels of an example are replaced by the null id during training
    (its prompt, if any, by the empty prompt: ``drop_labels``).
    """

    def __init__(
        self,
        p_mean: float = -1.2,
        p_std: float = 1.2,
        sigma_data: float = 1.0,
        cond_dropout: float = 0.1,
    ) -> None:
        if not 0.0 <= cond_dropout <= 1.0:
            raise ValueError(f"cond_dropout must be in [0, 1], got {cond_dropout}")
        self.p_mean = p_mean
        self.p_std = p_std
        self.sigma_data = sigma_data
        self.cond_dropout = cond_dropout

    def _weighted_error(
        self, denoiser: DenoiserFn, x0: Tensor, noise: Tensor, sigma: Tensor, cond
    ) -> Tensor:
        # x0, noise: [B, ...], sigma: [B] -> per-example weighted MSE [B]
        weight = edm_weight(sigma, self.sigma_data)
        return weighted_x0_error(denoiser, x0, noise, sigma, weight, cond)

    def __call__(
        self, denoiser: DenoiserFn, x0: Tensor, cond: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        # x0: [B, C, T], cond: {name: [B] long} -> scalar
        log_sigma = self.p_mean + self.p_std * torch.randn(x0.shape[0], device=x0.device)
        sigma = log_sigma.exp().to(x0.dtype)  # [B]
        noise = torch.randn_like(x0)
        cond = drop_labels(cond, self.cond_dropout)
        return self._weighted_error(denoiser, x0, noise, sigma, cond).mean()

    @torch.no_grad()
    def at_sigmas(
        self,
        denoiser: DenoiserFn,
        x0: Tensor,
        cond: Mapping[str, Tensor] | None,
        sigmas: Sequence[float],
        generator: torch.Generator | None = None,
    ) -> dict[float, Tensor]:
        """Validation loss at fixed noise levels: no label dropout, one noise draw for all."""
        # x0: [B, C, T] -> {sigma: scalar}
        return edm_validation(denoiser, x0, cond, sigmas, self.sigma_data, generator)
