"""Draw samples in representation space: noise -> solver -> x. Shared by training previews
and the generation pipeline, so both sample exactly the same way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from audiodiff.errors import ConfigError
from audiodiff.sampling.guidance import classifier_free_guidance
from audiodiff.sampling.schedules import SCHEDULES
from audiodiff.sampling.solvers import SAMPLERS, sampler_options

Denoiser = Callable[..., Tensor]


def seeded_noise(shape: tuple[int, ...], seeds: list[int]) -> Tensor:
    """Unit noise [B, ...] whose row i depends only on seeds[i] (batch-size independent)."""
    rows = [torch.randn(shape[1:], generator=torch.Generator().manual_seed(s)) for s in seeds]
    return torch.stack(rows)


def guidance_options(rescale: Any, interval: Any) -> dict[str, Any]:
    """{cfg_rescale, cfg_interval} for ``sample``: phi in [0, 1] and [lo, hi] sigmas with
    0 <= lo <= hi (or None), checked; anything else is one ``ConfigError``."""
    try:
        phi = float(rescale)
    except (TypeError, ValueError):
        phi = float("nan")
    if isinstance(rescale, bool) or not 0 <= phi <= 1:
        raise ConfigError(f"cfg_rescale must be a number in [0, 1], got {rescale!r}")
    if interval is None:
        return {"cfg_rescale": phi, "cfg_interval": None}
    try:
        lo, hi = (float(v) for v in ([] if isinstance(interval, str) else interval))
    except (TypeError, ValueError):
        lo = hi = float("nan")
    if not 0 <= lo <= hi:
        raise ConfigError(f"cfg_interval must be [lo, hi] sigmas, 0 <= lo <= hi, got {interval!r}")
    return {"cfg_rescale": phi, "cfg_interval": (lo, hi)}


def resample_options(resample: Any = 1, resample_jump: Any = 5) -> dict[str, int]:
    """``sample``'s RePaint resampling options, checked: each a whole number >= 1."""
    for name, value in (("resample", resample), ("resample_jump", resample_jump)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")
    return {"resample": resample, "resample_jump": resample_jump}


def sample(
    denoiser: Denoiser,
    shape: tuple[int, ...],
    *,
    cond: Mapping[str, Tensor] | None = None,
    sampler: str = "dpmpp_2m",
    steps: int = 20,
    options: Mapping[str, Any] | None = None,
    cfg_scale: float = 1.0,
    negative_cond: Mapping[str, Tensor] | None = None,
    cfg_rescale: float = 0.0,
    cfg_interval: tuple[float, float] | None = None,
    schedule: str = "karras",
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    noise: Tensor | None = None,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    device: torch.device | str = "cpu",
    callback: Callable[[dict], None] | None = None,
    observe: Callable[[Denoiser], Denoiser] | None = None,
    resample: int = 1,
    resample_jump: int = 5,
) -> Tensor:
    """x: [B, C, T] sampled from ``denoiser`` (with classifier-free guidance when cond is set).

    ``noise`` ([B, C, T], unit variance) is the starting point; without it, noise is drawn on
    the CPU from ``generator``. Either way a seed gives the same result on every device.
    Stochastic solvers draw their step noise from torch's global generator; with ``seed``
    it is seeded for this call only (the caller's random state is left as it was).
    ``options`` are the solver's keyword options (``sampler_options(sampler)``: eta, order, ...).
    ``negative_cond``, ``cfg_rescale`` and ``cfg_interval`` are classifier-free guidance's
    negative labels ({name: [B]}), rescale phi and sigma interval (``classifier_free_guidance``).
    ``observe`` wraps the (guided) denoiser once more, outside guidance: posterior sampling
    for restoration and editing (``audiodiff.restore.posterior``), so every solver serves it.
    ``resample`` > 1 solves the schedule in segments of ``resample_jump`` steps and solves
    each segment ``resample`` times, noising back to its start in between (RePaint's
    resampling, Lugmayr et al. 2022, sec. 4.2): the known and the new frames of an edit get
    several passes to agree. It costs ``resample`` times the steps.
    """
    if sampler not in SAMPLERS:
        raise ConfigError(f"unknown sampler '{sampler}'; choose from {', '.join(SAMPLERS)}")
    if schedule not in SCHEDULES:
        raise ConfigError(f"unknown schedule '{schedule}'; choose from {', '.join(SCHEDULES)}")
    allowed = sampler_options(sampler)
    unknown = sorted(set(options or {}) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) or "no options"
        raise ConfigError(f"sampler '{sampler}' has no option {unknown[0]!r}; it takes: {takes}")
    if steps < 1:
        raise ConfigError(f"steps must be at least 1, got {steps}")
    sigmas = SCHEDULES[schedule](steps, sigma_min=sigma_min, sigma_max=sigma_max, rho=rho)
    sigmas = sigmas.to(device=device, dtype=torch.float32)
    if noise is None:
        noise = torch.randn(shape, generator=generator, dtype=torch.float32)
    elif tuple(noise.shape) != tuple(shape):
        raise ValueError(f"noise has shape {tuple(noise.shape)}, expected {tuple(shape)}")
    x = noise.to(device) * sigmas[0]
    if negative_cond:
        negative_cond = {k: torch.as_tensor(v).to(device) for k, v in negative_cond.items()}
    guided = (
        classifier_free_guidance(denoiser, cfg_scale, negative_cond, cfg_rescale, cfg_interval)
        if cond
        else denoiser
    )
    guided = observe(guided) if observe is not None else guided
    cond = {k: v.to(device) for k, v in cond.items()} if cond else None
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.no_grad(), torch.random.fork_rng(devices=devices, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        solve = SAMPLERS[sampler]
        if resample <= 1:
            return solve(guided, x, sigmas, cond=cond, callback=callback, **(options or {}))
        return _resampled(
            solve, guided, x, sigmas, resample, resample_jump, cond, callback, options
        )


def _resampled(solve, denoiser, x, sigmas, times, jump, cond, callback, options) -> Tensor:
    """RePaint's schedule of jumps: each segment of ``jump`` steps solved ``times`` times,
    with x noised from the segment's end back to its start in between."""
    # x: [B, C, T] at sigmas[0] -> [B, C, T] at sigmas[-1]
    last = len(sigmas) - 1
    for start in range(0, last, jump):
        segment = sigmas[start : min(start + jump, last) + 1]
        for k in range(times):
            x = solve(denoiser, x, segment, cond=cond, callback=callback, **(options or {}))
            if k < times - 1:
                x = x + (segment[0] ** 2 - segment[-1] ** 2).sqrt() * torch.randn_like(x)
    return x
