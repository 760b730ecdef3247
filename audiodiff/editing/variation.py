"""Variation (SDEdit, Meng et al. 2022): noise a recording's representation to sigma(strength)
and solve from there; strength 0 keeps it, strength 1 is generation from scratch."""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from audiodiff.editing.source import prepare_source
from audiodiff.errors import ConfigError


def check_strength(strength: Any) -> float:
    """``strength`` as a float in [0, 1]; anything else is one ``ConfigError``."""
    try:
        value = float(strength)
    except (TypeError, ValueError):
        raise ConfigError(f"strength must be a number in [0, 1], got {strength!r}") from None
    if isinstance(strength, bool) or not 0 <= value <= 1:
        raise ConfigError(f"strength must be a number in [0, 1], got {strength!r}")
    return value


def strength_sigma(strength: float, sigma_min: float, sigma_max: float, rho: float) -> float:
    """sigma(s) = (s sigma_max^(1/rho) + (1 - s) sigma_min^(1/rho))^rho: the Karras curve
    (Karras et al. 2022, eq. 5) read at s; sigma(1) = sigma_max, sigma(0) = sigma_min."""
    if strength >= 1:
        return float(sigma_max)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return float((strength * hi + (1 - strength) * lo) ** rho)


def strength_steps(steps: int, strength: float) -> int:
    """max(1, ceil(steps * s)): the share of the schedule an edit of strength s runs."""
    return max(1, math.ceil(steps * strength - 1e-9))


def vary(
    pipe,
    wav: Tensor,
    sample_rate: int,
    strength: float,
    n: int = 1,
    cond=None,
    seed: int = 0,
    **sampling: Any,
) -> tuple[Tensor, Tensor]:
    """n variations of one recording: (x [n, C, T], wav [n, 1, N]) at the model's rate.

    The recording (``prepare_source``) is encoded and handed to ``Pipeline.sample`` as
    ``init`` with ``strength``; ``sampling`` are ``Pipeline.sample``'s keyword options
    (sampler, steps, cfg_scale, negative_cond, ...). Strength 0 returns decode(encode(wav))
    (no solver call).
    """
    strength = check_strength(strength)
    source = prepare_source(pipe, wav, sample_rate)
    seconds = source.x.shape[-1] / pipe.representation.frame_rate
    x = pipe.sample(n, seconds, cond, seed=seed, init=source.x, strength=strength, **sampling)
    out = pipe.decode(x)[..., : source.samples].float() / source.gain
    return x, out
