"""The guidance and editing options of ``audiodiff generate``: prompts, negative conditions,
and the mode they choose (plain, variation, inpainting / outpainting, long-form). Every check
runs before any output is written; each problem is one ``ConfigError``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf
from torch import Tensor

from audiodiff.editing import generate_long, inpaint, vary
from audiodiff.editing.inpainting import check_inpaint
from audiodiff.editing.longform import decode_long, window_sizes
from audiodiff.editing.variation import check_strength
from audiodiff.errors import AudioFileError, ConfigError
from audiodiff.generation import guidance_options, resample_options


@dataclass
class EditOptions:
    """The keys of conf/generate.yaml this module reads (typed by the CLI)."""

    negative_cond: Any
    prompt: str | None
    negative_prompt: str | None
    cfg_rescale: float
    cfg_interval: Any
    init: str | None
    strength: float | None
    mask: Any
    extend_before: float
    extend_after: float
    fade: float
    margin: float
    cg_iters: int
    resample: int
    resample_jump: int
    longform: bool
    loop: bool
    overlap: float | None
    context: float | None
    crossfade: float
    release_sigma: float


def conditions(cfg: DictConfig) -> tuple[dict, dict]:
    """(cond, negative_cond): ``cond.*`` and ``negative_cond.*``, with ``prompt=`` and
    ``negative_prompt=`` as their "prompt" entries (read by text-conditioned models)."""
    cond = OmegaConf.to_container(cfg.cond, resolve=True)
    negative = OmegaConf.to_container(cfg.negative_cond, resolve=True)
    if cfg.prompt is not None:
        cond["prompt"] = cfg.prompt
    if cfg.negative_prompt is not None:
        negative["prompt"] = cfg.negative_prompt
    return cond, negative


def mode(cfg: DictConfig) -> str:
    """generate, vary, inpaint or long, from which options are set."""
    spans = cfg.mask is not None or cfg.extend_before or cfg.extend_after
    if cfg.init is None:
        if spans or cfg.strength is not None:
            raise ConfigError("strength=, mask= and extend_before/after= edit a file: add init=")
        return "long" if cfg.longform or cfg.loop else "generate"
    if cfg.longform or cfg.loop:
        raise ConfigError("longform= and loop= generate from scratch; they do not take init=")
    if spans:
        return "inpaint"
    if cfg.strength is None:
        raise ConfigError(
            "init= needs strength=S (variation), mask=START:END (inpainting) or "
            "extend_before=/extend_after= (outpainting)"
        )
    return "vary"


def _mask(cfg: DictConfig) -> Any:
    return OmegaConf.to_container(cfg.mask) if OmegaConf.is_list(cfg.mask) else cfg.mask


def _inpaint_options(cfg: DictConfig) -> dict[str, Any]:
    strength = 1.0 if cfg.strength is None else cfg.strength
    return dict(before=cfg.extend_before, after=cfg.extend_after, fade=cfg.fade,
                margin=cfg.margin, cg_iters=cfg.cg_iters, strength=strength)  # fmt: skip


def prepare(cfg: DictConfig, pipe, negative: dict) -> tuple[str, Tensor | None, dict[str, Any]]:
    """(mode, the init recording [1, N] at the model's rate or None, the sampling keywords
    of ``Pipeline.sample``), every option checked."""
    from audiodiff.audio.io import load

    chosen = mode(cfg)
    guidance = guidance_options(cfg.cfg_rescale, cfg.cfg_interval)
    if negative:
        if cfg.cfg_scale == 1:
            raise ConfigError("negative_cond / negative_prompt need cfg_scale != 1")
        pipe.encode_negative(negative, 1, cfg.seconds)
    init = None
    if cfg.init is not None:
        try:
            init, _ = load(cfg.init, pipe.sample_rate)
        except AudioFileError as e:
            raise ConfigError(f"init: {e}") from None
        if chosen == "vary":
            check_strength(cfg.strength)
        else:
            check_inpaint(_mask(cfg), init.shape[-1] / pipe.sample_rate, **_inpaint_options(cfg))
    if chosen == "long":
        window_sizes(pipe, cfg.seconds, cfg.overlap, cfg.context, cfg.loop, cfg.crossfade,
                     cfg.release_sigma)  # fmt: skip
    sampler = cfg.sampler
    sampling = dict(
        sampler=sampler.name, steps=cfg.steps, cfg_scale=cfg.cfg_scale,
        options=OmegaConf.to_container(sampler.options, resolve=True), schedule=sampler.schedule,
        rho=sampler.rho, sigma_min=sampler.get("sigma_min"), sigma_max=sampler.get("sigma_max"),
        negative_cond=negative or None, **guidance,
        **resample_options(cfg.resample, cfg.resample_jump),
    )  # fmt: skip
    return chosen, init, sampling


def _generate(pipe, cfg, init, cond, n, seed, sampling) -> tuple[Tensor, Tensor]:
    x = pipe.sample(n, cfg.seconds, cond, seed=seed, progress=True, **sampling)
    return x, pipe.decode(x)[..., : round(cfg.seconds * pipe.sample_rate)].float()


def _vary(pipe, cfg, init, cond, n, seed, sampling) -> tuple[Tensor, Tensor]:
    return vary(pipe, init, pipe.sample_rate, cfg.strength, n, cond, seed, **sampling)


def _inpaint(pipe, cfg, init, cond, n, seed, sampling) -> tuple[Tensor, Tensor]:
    options = {**_inpaint_options(cfg), **sampling}
    return inpaint(pipe, init, pipe.sample_rate, _mask(cfg), n, cond, seed, **options)


def _long(pipe, cfg, init, cond, n, seed, sampling) -> tuple[Tensor, Tensor]:
    x = generate_long(pipe, n, cfg.seconds, cond, seed, overlap=cfg.overlap, loop=cfg.loop,
                      context=cfg.context, cg_iters=cfg.cg_iters, crossfade=cfg.crossfade,
                      release_sigma=cfg.release_sigma, **sampling)  # fmt: skip
    return x, decode_long(pipe, x, cfg.seconds, cfg.loop)


# mode -> (pipe, cfg, init, cond, n, seed, sampling) -> (x [n, C, T], wav [n, 1, N])
MODES: dict[str, Callable[..., tuple[Tensor, Tensor]]] = {
    "generate": _generate, "vary": _vary, "inpaint": _inpaint, "long": _long,
}  # fmt: skip


def request(cfg: DictConfig, chosen: str) -> dict[str, Any]:
    """The mode and every option of this module, for generate.json."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    return {"mode": chosen, **{k: plain[k] for k in EditOptions.__dataclass_fields__}}
