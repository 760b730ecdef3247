"""EDM preconditioning: wraps a raw network F into the denoiser D(x, sigma, cond) -> x0_hat.

The network is trained on well-scaled inputs and targets; the skip connection, the scalings
and the noise embedding live here, so the network never sees ``sigma_data``
(Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models").
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn


def edm_scalings(sigma: Tensor, sigma_data: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """c_skip, c_out, c_in, c_noise of EDM preconditioning (Karras et al. 2022, Table 1)."""
    # sigma: any shape -> four tensors of the same shape
    sd2 = sigma_data**2
    norm = (sigma**2 + sd2).sqrt()
    c_skip = sd2 / (sigma**2 + sd2)
    c_out = sigma * sigma_data / norm
    c_in = 1.0 / norm
    c_noise = sigma.log() / 4
    return c_skip, c_out, c_in, c_noise


def batch_sigma(sigma: Tensor | float, batch: int, device: torch.device, dtype: torch.dtype):
    """A scalar, [1], [B] or [B, 1, ...] sigma as a [B] tensor."""
    s = torch.as_tensor(sigma, device=device, dtype=dtype).reshape(-1)
    if s.numel() == 1:
        return s.expand(batch)
    if s.numel() != batch:
        raise ValueError(f"sigma has {s.numel()} values for a batch of {batch}")
    return s


class Preconditioned(nn.Module):
    """A raw network ``net`` and the data's ``sigma_data``: what every denoiser wraps
    (EDM's ``Denoiser`` here, the path denoisers of ``audiodiff.diffusion.paths``)."""

    def __init__(self, net: nn.Module, sigma_data: float = 1.0) -> None:
        super().__init__()
        if not sigma_data > 0:
            raise ValueError(f"sigma_data must be positive, got {sigma_data}")
        self.net = net
        self.sigma_data = float(sigma_data)


class Denoiser(Preconditioned):
    """D(x, sigma, cond) = c_skip x + c_out F(c_in x, c_noise, cond) (Karras et al. 2022, eq. 7).

    ``net(x_in, noise_level, cond)`` is called positionally with x_in = c_in * x [B, C, T],
    noise_level = ln(sigma) / 4 [B] and ``cond`` (a dict of [B] label ids, or None).
    The scalings and the skip path are computed in at least float32 (float64 stays float64)
    whatever dtype the network produces under autocast; the output has that dtype.
    sigma must be > 0 (c_noise = ln sigma); samplers never evaluate D at sigma = 0.
    """

    def forward(
        self, x: Tensor, sigma: Tensor | float, cond: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        # x: [B, C, T], sigma: [B] or scalar, cond: {name: [B] long} -> x0_hat: [B, C, T]
        dtype = torch.promote_types(x.dtype, torch.float32)
        x = x.to(dtype)
        s = batch_sigma(sigma, x.shape[0], x.device, dtype)  # [B]
        c_skip, c_out, c_in, c_noise = edm_scalings(s, self.sigma_data)  # [B] each
        view = (-1,) + (1,) * (x.ndim - 1)
        f = self.net(c_in.view(view) * x, c_noise, None if cond is None else dict(cond))
        return c_skip.view(view) * x + c_out.view(view) * f.to(dtype)
