"""Learning-rate schedule: linear warm-up, then cosine decay (Loshchilov & Hutter 2017).

A run limited by wall clock (``trainer.max_time``) stops long before ``max_steps`` on a slow
machine. With progress counted in steps alone, its learning rate would still be near the
peak when it stops. ``TimeBudget`` therefore also feeds the elapsed fraction of the time
budget to the schedule, and the cosine follows whichever budget is further along.
"""

from __future__ import annotations

import math

import lightning as L
from lightning.pytorch.callbacks import Timer
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


class WarmupCosine:
    """lr factor: t / warmup for t < warmup, then cosine from 1 to ``min_ratio`` at ``total``.

    ``time_progress`` (0..1, set by ``TimeBudget``) is the spent fraction of a wall-clock
    budget; the cosine's progress is the larger of it and the step count's.
    """

    def __init__(self, warmup_steps: int, total_steps: int, min_ratio: float = 0.1) -> None:
        self.warmup_steps = max(0, warmup_steps)
        self.total_steps = max(total_steps, self.warmup_steps + 1)
        self.min_ratio = min_ratio
        self.time_progress = 0.0

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        by_steps = (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        progress = min(1.0, max(by_steps, self.time_progress))
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def warmup_cosine(
    optimizer: Optimizer, warmup_steps: int, total_steps: int, min_ratio: float = 0.1
) -> LambdaLR:
    """LambdaLR stepping once per optimizer step."""
    return LambdaLR(optimizer, WarmupCosine(warmup_steps, total_steps, min_ratio))


def budget_fraction(trainer: L.Trainer) -> float | None:
    """The spent fraction of ``trainer.max_time`` (resumed runs count their earlier time), or
    None when the run has no time limit."""
    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    remaining = None if timer is None else timer.time_remaining("train")
    if remaining is None:
        return None
    elapsed = timer.time_elapsed("train")
    total = elapsed + remaining
    return min(1.0, elapsed / total) if total > 0 else 1.0


class TimeBudget(L.Callback):
    """Before every training batch, tell each ``WarmupCosine`` how much of the wall-clock
    budget is spent, so a time-limited run ends its decay when its time ends."""

    def on_train_batch_start(self, trainer: L.Trainer, *args: object) -> None:
        fraction = budget_fraction(trainer)
        if fraction is None:
            return
        for config in trainer.lr_scheduler_configs:
            for fn in getattr(config.scheduler, "lr_lambdas", ()):
                if isinstance(fn, WarmupCosine):
                    fn.time_progress = fraction
