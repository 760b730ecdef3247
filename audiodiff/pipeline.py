"""``audiodiff.load(path)``: a trained model ready to generate audio.

pipe = audiodiff.load("outputs/demo/model")        # or a .ckpt, or a .safetensors file
wav = pipe.generate(4, seconds=2, cond={"instrument": "bell", "pitch": 60}, seed=0)
# wav: [4, 1, 32000] at pipe.sample_rate
fixed = pipe.restore(noisy, 44100, task="denoise")  # [C, N] at 44.1 kHz in and out
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from audiodiff.audio.representation import Representation
from audiodiff.build import (
    build_denoiser,
    build_representation,
    build_tokenizer,
    denoiser_config,
)
from audiodiff.data.vocab import LabelVocab
from audiodiff.diffusion.precond import Denoiser
from audiodiff.editing.methods import EditingMethods
from audiodiff.editing.variation import check_strength, strength_sigma, strength_steps
from audiodiff.errors import AudioDiffError, ConfigError
from audiodiff.fastpath import FastPath, accelerate, set_threads
from audiodiff.generation import guidance_options, resample_options, sample, seeded_noise
from audiodiff.nn.text import TextTokenizer
from audiodiff.nn.timing import TIMING_KEYS
from audiodiff.safe_load import check_targets, read_checkpoint, read_config, read_safetensors

CondValue = str | int | float | None | Sequence[str | int | float | None]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` (a GPU when there is one), ``cpu``, ``cuda`` or ``cuda:N``; one line otherwise."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}") from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count or not count:
            raise ConfigError(f"device={device}: this machine has {count} CUDA device(s)")
    elif resolved.type != "cpu":
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}")
    return resolved


class Pipeline(EditingMethods):
    """EMA denoiser + representation + label vocabulary + default sampling settings."""

    def __init__(
        self,
        denoiser: Denoiser,
        representation: Representation,
        vocab: LabelVocab,
        config: Mapping[str, Any],
        device: str | torch.device = "auto",
    ) -> None:
        self.device = resolve_device(device)
        self.denoiser = denoiser.eval().requires_grad_(False).to(self.device)
        self.representation = representation.to(self.device)
        self.vocab = vocab
        self.config = dict(config)
        self.fast = FastPath()
        self._sampling_denoiser: Denoiser = self.denoiser

    def set_fast(self, fast: FastPath) -> Pipeline:
        """Use ``fast`` (precision, compile, CUDA graphs, threads, batch size) from now on."""
        set_threads(fast.threads)
        self._sampling_denoiser = accelerate(self.denoiser, fast, self.device)
        self.fast = fast
        return self

    @property
    def sample_rate(self) -> int:
        return self.representation.sample_rate

    @property
    def timing(self) -> bool:
        """Whether the model reads seconds_start / seconds_total (``model.timing``)."""
        return bool(self.config["model"].get("timing"))

    @property
    def labels(self) -> dict[str, list[str]]:
        """Valid values of each condition label (without the null value)."""
        return {k: v[1:] for k, v in self.vocab.values.items()}

    tokenizer: TextTokenizer | None = None  # a text model's (set by ``load``)
    PROMPT = "prompt"  # the cond key of a text prompt
    TEXT = "text"  # ... and of its token ids

    @property
    def text(self) -> bool:
        """Whether the model reads a text prompt (``cond["prompt"]``; trained with text=...)."""
        return self.tokenizer is not None

    @property
    def conditioned(self) -> bool:
        """Whether the model reads any condition (labels, timing or text)."""
        return bool(self.vocab.labels) or self.timing or self.text

    def encode_cond(
        self, cond: Mapping[str, CondValue] | None, n: int, seconds: float | None = None
    ) -> dict[str, Tensor]:
        """{label: value or list of n values} -> {label: LongTensor [n]} (missing = null id).

        A timing model also gets seconds_start and seconds_total (FloatTensor [n], NaN =
        null): 0 and ``seconds`` (null when None) unless ``cond`` gives them (seconds >= 0,
        or None = null); a timing key for a model without timing is a ``ConfigError``.
        A text model turns ``cond["prompt"]`` (a str or a list of n str; missing or None =
        the empty prompt) into ``text``: LongTensor [n, max_tokens] of token ids padded with
        0, so the all-zero row (guidance's null) is the empty prompt; a prompt for a model
        without text is a ``ConfigError``."""
        cond = dict(cond or {})
        timing = [k for k in TIMING_KEYS if k in cond and k not in self.vocab.labels]
        if timing and not self.timing:
            raise ConfigError(
                f"cond.{timing[0]}: this model has no timing conditioning (trained without "
                "model.timing)"
            )
        prompt = (
            [self.PROMPT] if self.PROMPT in cond and self.PROMPT not in self.vocab.labels else []
        )
        if prompt and not self.text:
            raise ConfigError(
                "cond.prompt: this model has no text conditioning (trained without text=...)"
            )
        unknown = set(cond) - set(self.vocab.labels) - set(timing) - set(prompt)
        if unknown:
            valid = ", ".join(self.vocab.labels) or "none (unconditional model)"
            raise ConfigError(f"unknown condition '{sorted(unknown)[0]}'; valid labels: {valid}")
        out = {}
        for label in self.vocab.labels:
            ids = [self.vocab.encode(label, v) for v in _per_clip(label, cond.get(label), n)]
            out[label] = torch.tensor(ids, dtype=torch.long)
        if self.timing:
            defaults = {"seconds_start": 0.0, "seconds_total": seconds}
            for key in TIMING_KEYS:
                out[key] = _seconds(key, cond[key] if key in cond else defaults[key], n)
        if self.text:
            out[self.TEXT] = self.tokenizer.encode(_prompts(cond.get(self.PROMPT), n))
        return out

    def generate(
        self,
        n: int = 1,
        seconds: float = 2.0,
        cond: Mapping[str, CondValue] | None = None,
        sampler: str | None = None,
        steps: int | None = None,
        cfg_scale: float | None = None,
        seed: int = 0,
        progress: bool | Callable[[int, int], None] = False,
        level: str | float | None = None,
        **schedule: Any,
    ) -> Tensor:
        """wav: [n, 1, round(seconds * sample_rate)]: ``sample`` then the decoder; keyword
        arguments (options, schedule, rho, sigma_min, sigma_max, negative_cond, cfg_rescale,
        cfg_interval) as in ``sample``. A timing model draws clips that start their file
        (seconds_start 0) of ``seconds`` seconds (seconds_total) unless ``cond`` says
        otherwise (``encode_cond``). ``level``: None keeps the net's level; see
        ``set_level``."""
        x = self.sample(n, seconds, cond, sampler, steps, cfg_scale, seed, progress, **schedule)
        wav = self.decode(x)[..., : round(seconds * self.sample_rate)].float()
        return self.set_level(wav, cond, level, seed)

    def resolve_level(self, level: str | float | None) -> str | float | None:
        """``level`` checked: None, "data" or a number; "auto" resolved. One ConfigError."""
        levels = self.config.get("levels")
        levels = levels if isinstance(levels, Mapping) and "overall" in levels else None
        if level == "auto":  # a model without labels has one spread for every prompt
            return "data" if levels and levels.get("groups") else None
        if level == "data" and not levels:
            raise ConfigError(
                "level=data: this model keeps no training levels (trained with fit_levels=false "
                "or before they were kept); give a level in dBFS or level=null"
            )
        if level is None or level == "data":
            return level
        if isinstance(level, bool) or not isinstance(level, int | float) or not -100 < level <= 0:
            raise ConfigError(
                f"level must be data, auto, null or an RMS level in dBFS (-100 to 0), got {level!r}"
            )
        return float(level)

    def set_level(
        self, wav: Tensor, cond: Mapping[str, CondValue] | None, level: str | float | None,
        seed: int = 0,
    ) -> Tensor:  # fmt: skip
        """wav [n, 1, N] at a new RMS level: ``"data"`` draws clip i's level (seed + i) from
        the training clips that share its labels (``audiodiff.data.levels``), a number is
        a level in dBFS for every clip, None returns wav as it is, and ``"auto"`` is "data"
        for a model that keeps training levels by label, else None (a level drawn from the
        whole set, whatever the prompt, would only add noise). Peaks stay under 0.99."""
        level = self.resolve_level(level)
        if level is None:
            return wav
        from audiodiff.data.levels import LevelStats, apply_levels

        n = wav.shape[0]
        if level == "data":
            given = {k: v for k, v in (cond or {}).items() if k in self.vocab.labels}
            labels = {k: _per_clip(k, v, n) for k, v in given.items()}
            rows = [{k: v[i] for k, v in labels.items()} for i in range(n)]
            stats = LevelStats.from_dict(self.config["levels"])
            targets = stats.draw(rows, [seed + i for i in range(n)])
        else:
            targets = torch.full((n,), float(level))
        return apply_levels(wav, targets)

    def sample(
        self,
        n: int = 1,
        seconds: float = 2.0,
        cond: Mapping[str, CondValue] | None = None,
        sampler: str | None = None,
        steps: int | None = None,
        cfg_scale: float | None = None,
        seed: int = 0,
        progress: bool | Callable[[int, int], None] = False,
        *,
        options: Mapping[str, Any] | None = None,
        schedule: str | None = None,
        rho: float | None = None,
        sigma_min: float | None = None,
        sigma_max: float | None = None,
        negative_cond: Mapping[str, CondValue] | None = None,
        cfg_rescale: float = 0.0,
        cfg_interval: Sequence[float] | None = None,
        init: Tensor | None = None,
        strength: float = 1.0,
        observe: Callable[[slice], Callable] | None = None,
        resample: int = 1,
        resample_jump: int = 5,
    ) -> Tensor:
        """x: [n, C, T] in representation space. Clip i starts from noise seeded ``seed + i``,
        so with a deterministic solver a clip does not depend on n or on the batch it was
        drawn in. Clips are drawn ``self.fast.batch_size`` at a time. ``progress``: a bar on
        a terminal (True), or ``progress(done, total)`` called after each solver step.
        ``options`` are the solver's keyword options. Unset settings come from the model's
        sampler config when ``sampler`` is None or that sampler, else Karras (rho 7); the
        sigma range from the model's diffusion config.

        Guidance: ``negative_cond`` (labels, encoded like ``cond``) replaces the null labels
        of classifier-free guidance's second pass; ``cfg_rescale`` (phi in [0, 1]) and
        ``cfg_interval`` ([lo, hi] sigmas) as in ``classifier_free_guidance``.

        Editing (``audiodiff.editing``): ``init`` ([1 or n, C, T], T replaces ``seconds``)
        is the start, noised to sigma(``strength``) on the Karras curve and solved from there
        in ceil(steps * strength) steps (SDEdit); strength 0 returns init (no solver call),
        strength 1 starts from noise alone (plain generation). ``observe(rows)`` returns the
        posterior wrapper (``audiodiff.generation.sample``) for the clips ``rows`` (a slice of
        range(n)) of one batch. ``resample`` / ``resample_jump``: RePaint's resampling
        (``audiodiff.generation.sample``), for edits.
        """
        if n < 1 or seconds <= 0:
            raise ConfigError(f"need n >= 1 and seconds > 0, got n={n}, seconds={seconds}")
        configured = defaults = self.config.get("sampler", {})
        diffusion = self.config["diffusion"]
        if sampler is not None and sampler != defaults.get("name"):
            defaults = {}  # another solver: none of the configured one's settings apply
        options = {**(defaults.get("options") or {}), **(options or {})}
        schedule = schedule or defaults.get("schedule") or "karras"
        rho = float(rho if rho is not None else defaults.get("rho") or 7.0)
        sigma_min = float(sigma_min or defaults.get("sigma_min") or diffusion["sigma_min"])
        sigma_max = float(sigma_max or defaults.get("sigma_max") or diffusion["sigma_max"])
        frames = max(1, math.ceil(seconds * self.representation.frame_rate - 1e-6))
        if init is not None:
            init = _check_init(init, n, self.representation.channels)
            frames = init.shape[-1]
        labels = self.encode_cond(cond, n, seconds) if self.conditioned else None
        scale = float(configured.get("cfg_scale", 1.0) if cfg_scale is None else cfg_scale)
        negative = None
        if negative_cond:
            if scale == 1:
                raise ConfigError("negative_cond has no effect at cfg_scale=1; raise cfg_scale")
            negative = self.encode_negative(negative_cond, n, seconds)
        guidance = guidance_options(cfg_rescale, cfg_interval)
        steps = int(defaults.get("steps", 20)) if steps is None else int(steps)
        if steps < 1:
            raise ConfigError(f"steps must be >= 1, got {steps}")
        if init is not None:
            strength = check_strength(strength)
            if strength == 0:
                return init.to(self.device).expand(n, -1, -1).clone()  # no solver call
            sigma_max = strength_sigma(strength, sigma_min, sigma_max, rho)
            steps = strength_steps(steps, strength)
        batch = self.fast.batch_size
        resample_options(resample, resample_jump)
        bar, callback = _progress(progress, resample * steps * math.ceil(n / batch))
        chunks = []
        with bar:
            for start in range(0, n, batch):
                size = min(batch, n - start)
                rows = slice(start, start + size)
                shape = (size, self.representation.channels, frames)
                noise = seeded_noise(shape, [seed + start + i for i in range(size)])
                if init is not None and strength < 1:  # x = init + sigma n  (SDEdit)
                    part = init if init.shape[0] == 1 else init[rows]
                    noise = part.cpu().float() / sigma_max + noise
                chunks.append(
                    sample(
                        self._sampling_denoiser,
                        shape,
                        cond={k: v[rows] for k, v in labels.items()} if labels else None,
                        sampler=sampler or configured.get("name", "dpmpp_2m"),
                        steps=steps,
                        options=options,
                        cfg_scale=scale,
                        negative_cond={k: v[rows] for k, v in negative.items()}
                        if negative
                        else None,
                        **guidance,
                        schedule=schedule,
                        rho=rho,
                        sigma_min=sigma_min,
                        sigma_max=sigma_max,
                        noise=noise,
                        seed=seed + start,
                        device=self.device,
                        callback=callback,
                        observe=observe(rows) if observe is not None else None,
                        resample=resample,
                        resample_jump=resample_jump,
                    )
                )
        return torch.cat(chunks)

    def encode_negative(
        self, negative_cond: Mapping[str, CondValue], n: int, seconds: float | None = None
    ) -> dict[str, Tensor]:
        """``encode_cond`` for guidance's negative labels; its errors name negative_cond."""
        try:
            return self.encode_cond(negative_cond, n, seconds)
        except ConfigError as e:
            text = str(e)
            if text.startswith("cond."):
                raise ConfigError("negative_" + text) from None
            raise ConfigError(f"negative_cond: {text}") from None

    def restore(
        self,
        wav: Tensor,
        sample_rate: int,
        task: str = "denoise",
        progress: Any = None,
        **options: Any,
    ) -> Tensor:
        """A recording [C, N] or [N] at ``sample_rate`` restored, at the same rate and shape.

        ``task``: denoise, declip, bandwidth or inpaint; ``options`` are
        ``audiodiff.restore.restorer.RestoreOptions`` (steps, sampler, cutoff_hz, clip_level,
        gaps, chunk_seconds, ...). A model trained with ``observation: true`` restores
        from the recording (route 1); any other is a prior (route 2). ``progress(i, n)`` is
        called after each chunk.
        """
        from audiodiff.audio.io import resample
        from audiodiff.restore.restorer import RestoreOptions, restore

        opts = RestoreOptions(task=task, **options)
        wav = torch.as_tensor(wav)
        flat = wav.ndim == 1
        if wav.ndim not in (1, 2) or wav.shape[-1] == 0:
            raise ConfigError(f"wav must be [C, N] or [N] with N > 0, got {list(wav.shape)}")
        if not torch.isfinite(wav).all():
            raise ConfigError("wav has NaN or infinite samples")
        x = wav[None] if flat else wav
        own = (
            resample(x.float(), sample_rate, self.sample_rate)
            if sample_rate != self.sample_rate
            else x
        )
        fixed = restore(self, own.float(), opts, progress)
        if sample_rate != self.sample_rate:
            fixed = resample(fixed, self.sample_rate, sample_rate)
        fixed = torch.nn.functional.pad(fixed, (0, max(0, x.shape[-1] - fixed.shape[-1])))
        fixed = fixed[..., : x.shape[-1]]
        return fixed[0] if flat else fixed

    @property
    def x_max(self) -> float | None:
        """The largest x ``decode`` passes to the decoder (``representation.x_max`` in the
        model's config: the training data's maximum); None: no limit."""
        value = (self.config.get("representation") or {}).get("x_max")
        return None if value is None else float(value)

    def decode(self, x: Tensor) -> Tensor:
        """x: [B, C, T] -> wav: [B, 1, T * hop]. A sample above ``x_max`` is held at it first:
        a sampler can overshoot the data (a music model's low bins reached 4.8 against the
        data's 3.0, decoded to waveform peaks of 18-37), and nothing real lies there."""
        if self.x_max is not None:
            x = x.clamp(max=self.x_max)
        with torch.no_grad():
            return self.representation.decode(x.to(self.device)).cpu()


def _check_init(init: Tensor, n: int, channels: int) -> Tensor:
    """init: [1 or n, channels, T] representation (an edit's start)."""
    if init.ndim != 3 or init.shape[0] not in (1, n) or init.shape[1] != channels:
        raise ConfigError(f"init must be [1 or {n}, {channels}, T], got {list(init.shape)}")
    return init


def _seconds(key: str, value: Any, n: int) -> Tensor:
    """A timing value (a number, a numeric string from a prompts file, None = null, or a list
    of n of them) -> FloatTensor [n], NaN for null; anything else is one ConfigError."""
    values = list(value) if isinstance(value, list | tuple) else [value] * n
    if len(values) != n:
        raise ConfigError(f"cond.{key} has {len(values)} values for n={n} clips")
    out = []
    for v in values:
        try:
            number = float("nan") if v is None else float(v)
        except (TypeError, ValueError):
            number = float("nan")
            v = repr(v)
        if v is not None and (isinstance(v, bool) or not math.isfinite(number) or number < 0):
            raise ConfigError(f"cond.{key} must be a number of seconds >= 0 (or null), got {v}")
        out.append(number)
    return torch.tensor(out, dtype=torch.float32)


def _per_clip(label: str, value: Any, n: int) -> list[Any]:
    """A label's value given once or as a list of n -> n values; else one ConfigError."""
    values = list(value) if isinstance(value, list | tuple) else [value] * n
    if len(values) != n:
        raise ConfigError(f"cond.{label} has {len(values)} values for n={n} clips")
    return values


def _prompts(value: Any, n: int) -> list[str]:
    """A prompt (a str, None = empty, or a list of n of them) -> n str; else one ConfigError."""
    values = list(value) if isinstance(value, list | tuple) else [value] * n
    if len(values) != n:
        raise ConfigError(f"cond.prompt has {len(values)} values for n={n} clips")
    bad = next((v for v in values if v is not None and not isinstance(v, str)), None)
    if bad is not None:
        raise ConfigError(f"cond.prompt must be text (or a list of n texts), got {bad!r}")
    return ["" if v is None else v for v in values]


def _progress(enabled: bool | Callable[[int, int], None], steps: int):
    """(a context manager, the solver's callback or None): a rich bar on a terminal when
    ``enabled`` is True; a callable ``enabled(done, total)`` is called after each step
    instead (a web page's progress bar)."""
    import contextlib
    import itertools

    from rich.console import Console
    from rich.progress import Progress

    if callable(enabled):
        done = itertools.count(1)
        return contextlib.nullcontext(), lambda info: enabled(next(done), steps)
    enabled = enabled and Console(stderr=True).is_terminal  # no blank lines in logs
    bar = Progress(disable=not enabled, transient=True, console=Console(stderr=True))
    task = bar.add_task("sampling", total=steps)
    return bar, (lambda info: bar.advance(task)) if enabled else None


def _from_parts(
    config: dict,
    state: dict[str, Tensor],
    device: str | torch.device,
    decoder: Mapping[str, Any] | None = None,
    autoencoder: str | None = None,
    where: str = "model",
) -> Pipeline:
    if "vocab" not in config or "model" not in config or "representation" not in config:
        raise ConfigError(f"{where}: no audiodiff model config (vocab/model missing)")
    # what gets built: audiodiff only
    for part in ("model", "representation", "decoder", "text", "tokenizer"):
        check_targets(config.get(part), where)
    if "diffusion" not in config:
        raise ConfigError(f"{where}: no audiodiff model config (diffusion missing)")
    check_targets(dict(denoiser_config(config["diffusion"])), where)
    if decoder is not None:  # another decoder than the one the model was trained with
        config = {**config, "decoder": dict(decoder)}
    if autoencoder is not None:  # a latent model whose autoencoder export moved
        if "ckpt" not in config["representation"]:
            raise ConfigError("autoencoder= applies to latent models only (this one has none)")
        config = {**config, "representation": {**config["representation"], "ckpt": autoencoder}}
    representation = build_representation(config)
    vocab = LabelVocab(config["vocab"])
    try:
        tokenizer = build_tokenizer(config)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    denoiser = build_denoiser(config, representation, vocab, tokenizer)
    try:
        missing, unexpected = denoiser.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shapes of another model
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0][:150]
        raise ConfigError(f"{where}: weights do not match its config ({detail})") from None
    if missing or unexpected:
        raise ConfigError(
            f"{where}: weights do not match its config: {len(missing)} missing, "
            f"{len(unexpected)} unexpected (e.g. {(missing + unexpected)[0]})"
        )
    bad = next(
        (k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()), None
    )
    if bad is not None:
        raise ConfigError(f"{where}: weight {bad} holds NaN or inf")
    pipe = Pipeline(denoiser, representation, vocab, config, device)
    pipe.tokenizer = tokenizer
    return pipe


def load_checkpoint(
    path: str | Path,
    device: str | torch.device = "auto",
    decoder: Mapping[str, Any] | None = None,
    autoencoder: str | None = None,
) -> Pipeline:
    """A Lightning checkpoint (``.ckpt``) written by ``audiodiff train``: its EMA weights."""
    ckpt = read_checkpoint(path)  # weights_only: a pickle that would run code is refused
    meta = ckpt.get("audiodiff")
    if not (
        isinstance(meta, dict)
        and isinstance(meta.get("config"), dict)
        and isinstance(ckpt.get("state_dict"), dict)
    ):
        raise ConfigError(f"{path}: not an audiodiff checkpoint")
    prefix = "ema.module."
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    return _from_parts(meta["config"], state, device, decoder, autoencoder, where=str(path))


def load_export(
    path: str | Path,
    device: str | torch.device = "auto",
    decoder: Mapping[str, Any] | None = None,
    autoencoder: str | None = None,
) -> Pipeline:
    """A ``model.safetensors`` + ``config.yaml`` pair (a folder or the .safetensors file)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    weights = path if path.is_file() else folder / "model.safetensors"
    for needed in (weights, folder / "config.yaml"):
        if not needed.is_file():
            raise ConfigError(f"{needed}: not found (expected model.safetensors + config.yaml)")
    config = read_config(folder / "config.yaml")
    state, _ = read_safetensors(weights)
    return _from_parts(config, state, device, decoder, autoencoder, where=str(folder))


def load(
    path: str | Path,
    device: str | torch.device = "auto",
    decoder: Mapping[str, Any] | None = None,
    autoencoder: str | None = None,
) -> Pipeline:
    """Load a trained model from a ``.ckpt``, a ``.safetensors`` file or an export folder.

    ``decoder`` (a ``conf/decoder`` config, e.g. ``{"_target_":
    "audiodiff.codecs.decoders.vocoder", "_partial_": True, "ckpt": PATH}``) replaces the
    decoder the model was trained with; ``autoencoder`` points a latent model at its
    autoencoder export when that moved."""
    path = Path(path)
    if not path.exists():
        raise AudioDiffError(f"{path}: no such checkpoint or model folder")
    if path.is_dir() or path.suffix == ".safetensors":
        return load_export(path, device, decoder, autoencoder)
    return load_checkpoint(path, device, decoder, autoencoder)
