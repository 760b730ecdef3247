"""The LR schedule: warm-up, cosine decay, and the decay following a wall-clock budget."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch.callbacks import Timer

from audiodiff.training.schedule import TimeBudget, WarmupCosine, budget_fraction, warmup_cosine


def test_warm_up_then_cosine_down_to_the_floor() -> None:
    fn = WarmupCosine(warmup_steps=10, total_steps=110, min_ratio=0.1)
    assert fn(0) == pytest.approx(0.1) and fn(9) == pytest.approx(1.0)
    assert fn(10) == pytest.approx(1.0)
    assert fn(60) == pytest.approx(0.1 + 0.9 * 0.5)  # halfway through the cosine
    assert fn(110) == pytest.approx(0.1) and fn(10_000) == pytest.approx(0.1)


def test_the_cosine_follows_whichever_budget_is_further_along() -> None:
    fn = WarmupCosine(warmup_steps=0, total_steps=1000, min_ratio=0.0)
    fn.time_progress = 0.5  # half the time spent at step 100: the time decides
    assert fn(100) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    fn.time_progress = 0.05  # steps further along than time: the steps decide
    assert fn(500) == pytest.approx(0.5)
    fn.time_progress = 1.0
    assert fn(1) == pytest.approx(0.0)
    assert WarmupCosine(10, 1000)(3) == pytest.approx(0.4), "warm-up stays counted in steps"


class _Clock(Timer):
    """A Timer with a set elapsed time (seconds)."""

    def __init__(self, duration: float | None, elapsed: float) -> None:
        super().__init__(duration=None if duration is None else {"seconds": duration})
        self.elapsed = elapsed

    def time_elapsed(self, stage: str = "train") -> float:
        return self.elapsed


def _trainer(timer: Timer | None, scheduler: object) -> SimpleNamespace:
    callbacks = [] if timer is None else [timer]
    return SimpleNamespace(
        callbacks=callbacks, lr_scheduler_configs=[SimpleNamespace(scheduler=scheduler)]
    )


def test_time_budget_hands_the_spent_fraction_to_the_schedule() -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = warmup_cosine(optimizer, warmup_steps=0, total_steps=100_000, min_ratio=0.1)
    fn = scheduler.lr_lambdas[0]
    trainer = _trainer(_Clock(duration=100.0, elapsed=75.0), scheduler)
    assert budget_fraction(trainer) == pytest.approx(0.75)
    TimeBudget().on_train_batch_start(trainer, None, None, 0)
    assert fn.time_progress == pytest.approx(0.75)
    scheduler.step()  # step 1 of 100000, but three quarters of the time is gone
    expected = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.75))
    assert optimizer.param_groups[0]["lr"] == pytest.approx(expected)
    # past the budget the fraction is capped at 1: the floor, not a cosine going back up
    trainer.callbacks[0].elapsed = 130.0
    assert budget_fraction(trainer) == 1.0


def test_without_a_time_limit_the_schedule_counts_steps_only() -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = warmup_cosine(optimizer, warmup_steps=0, total_steps=100)
    for timer in (None, _Clock(duration=None, elapsed=50.0)):
        trainer = _trainer(timer, scheduler)
        assert budget_fraction(trainer) is None
        TimeBudget().on_train_batch_start(trainer, None, None, 0)
        assert scheduler.lr_lambdas[0].time_progress == 0.0
