"""Training distributions of the path time t in (0, 1) (v-prediction, rectified flow).

Each is a callable ``dist(n, device, generator) -> t: [n]``; the loss clips t away from 0
and 1 itself. EDM draws sigma directly (``EDMLoss``: log-normal) and uses none of these.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _draw(draw, n: int, device, generator: torch.Generator | None) -> Tensor:
    """n draws of ``torch.rand`` or ``torch.randn`` on the generator's device, then moved."""
    where = generator.device if generator is not None else device
    return draw(n, generator=generator, device=where).to(device)


class UniformTime:
    """t ~ U(lo, hi): v-diffusion's choice (Salimans & Ho 2022, cosine schedule, t ~ U[0, 1])."""

    def __init__(self, lo: float = 0.0, hi: float = 1.0) -> None:
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"need 0 <= lo < hi <= 1, got lo={lo}, hi={hi}")
        self.lo, self.hi = float(lo), float(hi)

    def __call__(
        self,
        n: int,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        # -> t: [n] float32
        return self.lo + (self.hi - self.lo) * _draw(torch.rand, n, device, generator)


class LogitNormalTime:
    """t = sigmoid(mean + std z), z ~ N(0, 1): logit-normal sampling (Esser et al. 2024, Sec. 3.1).

    mean 0, std 1 is SD3's default; mean > 0 puts more training weight on the noisy end.
    """

    def __init__(self, mean: float = 0.0, std: float = 1.0) -> None:
        if not std > 0:
            raise ValueError(f"std must be positive, got {std}")
        self.mean, self.std = float(mean), float(std)

    def __call__(
        self,
        n: int,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        # -> t: [n] float32 in (0, 1)
        return torch.sigmoid(self.mean + self.std * _draw(torch.randn, n, device, generator))
