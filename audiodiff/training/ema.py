"""Exponential moving average of a module's weights (the weights sampling and export use)."""

from __future__ import annotations

import copy

import torch
from torch import nn

from audiodiff.errors import ConfigError


class EMA(nn.Module):
    """A frozen copy of ``model`` updated as ema = d * ema + (1 - d) * model.

    The decay ramps up as d_t = min(decay, (1 + t) / (10 + t)) so early weights are not
    over-weighted (the warm-up used by Tensorflow's ExponentialMovingAverage with num_updates).
    Being an ``nn.Module`` it lives in the owner's ``state_dict``: checkpoints carry it and a
    resumed run continues the same average.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        super().__init__()
        if isinstance(decay, bool) or not isinstance(decay, int | float) or not 0.0 <= decay < 1.0:
            raise ConfigError(f"ema_decay must be in [0, 1), got {decay!r}")
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    def current_decay(self) -> float:
        t = int(self.num_updates)
        return min(self.decay, (1 + t) / (10 + t))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        for ema_p, p in zip(self.module.parameters(), model.parameters(), strict=True):
            ema_p.lerp_(p.detach().to(ema_p.dtype), 1.0 - d)
        for ema_b, b in zip(self.module.buffers(), model.buffers(), strict=True):
            ema_b.copy_(b)
        self.num_updates += 1

    def train(self, mode: bool = True) -> EMA:
        super().train(mode)
        self.module.eval()  # the averaged copy is always in eval mode
        return self
