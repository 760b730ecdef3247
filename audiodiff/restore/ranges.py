"""Operator parameters that are a fixed value or a ``[lo, hi]`` range drawn per call.

``check_range`` validates a value from Python or a Hydra config (a number, or a list of
two numbers) and turns it into ``(lo, hi)`` (``lo == hi`` for a fixed value); ``draw`` and
``draw_int`` draw from it with a ``torch.Generator``, uniformly: the same generator state
gives the same value, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from audiodiff.errors import ConfigError

Spec = float | int | Sequence[float]  # a fixed value, or [lo, hi]
Bounds = tuple[float, float]


def _number(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: expected a number or [lo, hi], got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{where}: must be finite, got {value!r}")
    return float(value)


def check_range(
    where: str,
    value: Spec | Bounds,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> Bounds:
    """``value`` (a number or ``[lo, hi]``) as ``(lo, hi)``, checked against ``low``/``high``
    (inclusive unless ``*_open``) and, with ``integer``, to be whole numbers.

    Raises ``ConfigError`` naming ``where`` (e.g. ``'AddNoise.snr_db'``) for a reversed range,
    a list that is not two numbers, or a value out of bounds.
    """
    if isinstance(value, str | bytes) or not isinstance(value, int | float | Sequence):
        raise ConfigError(f"{where}: expected a number or [lo, hi], got {value!r}")
    if isinstance(value, Sequence):
        items = list(value)
        if len(items) != 2:
            raise ConfigError(f"{where}: a range is [lo, hi], got {items!r}")
        lo, hi = (_number(where, v) for v in items)
        if lo > hi:
            raise ConfigError(
                f"{where}: range [{lo:g}, {hi:g}] is reversed (lo > hi); write [{hi:g}, {lo:g}]"
            )
    else:
        lo = hi = _number(where, value)
    if integer and not (lo.is_integer() and hi.is_integer()):
        raise ConfigError(f"{where}: must be whole numbers, got {value!r}")
    for v in (lo, hi):
        if low is not None and (v < low or (low_open and v == low)):
            sign = ">" if low_open else ">="
            raise ConfigError(f"{where}: must be {sign} {low:g}, got {v:g}")
        if high is not None and (v > high or (high_open and v == high)):
            sign = "<" if high_open else "<="
            raise ConfigError(f"{where}: must be {sign} {high:g}, got {v:g}")
    return lo, hi


def draw(bounds: Bounds, generator: torch.Generator) -> float:
    """Uniform in [lo, hi] (``lo`` itself, without a draw, when the value is fixed)."""
    lo, hi = bounds
    if lo == hi:
        return lo
    u = torch.rand((), generator=generator, dtype=torch.float64).item()
    return lo + (hi - lo) * u


def draw_int(bounds: Bounds, generator: torch.Generator) -> int:
    """Uniform over the whole numbers lo, lo + 1, ..., hi."""
    lo, hi = int(bounds[0]), int(bounds[1])
    if lo == hi:
        return lo
    return int(torch.randint(lo, hi + 1, (), generator=generator).item())


def draw_choice(n: int, generator: torch.Generator) -> int:
    """An index in 0 .. n - 1, uniformly (no draw when n is 1)."""
    return 0 if n == 1 else int(torch.randint(0, n, (), generator=generator).item())
