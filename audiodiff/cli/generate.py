"""``audiodiff generate ckpt=PATH n=8 seconds=2 cond.instrument=bell ... out=DIR``.

A timing model (``model.timing``) also takes ``cond.seconds_start=S`` (default 0) and
``cond.seconds_total=S`` (default ``seconds``). Guidance options, variation, inpainting,
outpainting, long-form and loops: ``audiodiff.cli.edit`` (docs/editing.md)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from audiodiff.audio.io import save
from audiodiff.cli import edit
from audiodiff.cli.output import prepare_output_dir
from audiodiff.cli.prompts import find_prompts, read_prompts
from audiodiff.errors import ConfigError
from audiodiff.fastpath import FastPath
from audiodiff.fileio import slug, write_csv, write_text
from audiodiff.pipeline import load
from audiodiff.viz import save_spectrogram_sheet

OPEN_KEYS = ("cond", "negative_cond")  # `cond.instrument=bell` works without Hydra's `+`
MAX_SHEET = 40


@dataclass
class Options(edit.EditOptions):
    ckpt: str
    out: str
    overwrite: bool
    n: int
    seconds: float
    seed: int
    steps: int
    cfg_scale: float
    prompts: str | None
    device: str
    autoencoder: str | None
    backend: str = "torch"
    fast: FastPath = field(default_factory=FastPath)


def run(cfg: DictConfig) -> None:
    console = Console()
    pipe = _load(cfg).set_fast(FastPath(**cfg.fast))
    cond, negative = edit.conditions(cfg)
    prompts = read_prompts(find_prompts(cfg.prompts), cfg.n) if cfg.prompts else [(cond, cfg.n)]
    for c, _ in prompts:  # validate every label and option before any work or output
        pipe.encode_cond(c, 1, cfg.seconds)
    chosen, init, sampling = edit.prepare(cfg, pipe, negative)
    pipe.resolve_level(cfg.level)  # a bad level is one line before any work
    out = prepare_output_dir(cfg.out, cfg.overwrite)
    rows, images, titles, audio_seconds = [], [], [], 0.0
    start, seed = time.perf_counter(), cfg.seed
    for c, n in prompts:
        x, wav = edit.MODES[chosen](pipe, cfg, init, c, n, seed, sampling)
        if chosen in ("generate", "long"):  # an edit keeps the level of its recording
            wav = pipe.set_level(wav, c, cfg.level, seed)
        wav = wav.clamp(-1, 1)
        label = slug("_".join(str(v) for v in c.values() if v is not None)) or "uncond"
        for i in range(n):
            name = f"{len(rows):04d}_{label}.wav"
            save(out / name, wav[i], pipe.sample_rate)
            row = {"path": name, **{k: "" if v is None else v for k, v in c.items()}}
            rows.append({**row, "seed": seed + i})
        audio_seconds += n * wav.shape[-1] / pipe.sample_rate
        if len(images) < MAX_SHEET:
            images.append(x[0].float().cpu())
            titles.append(label.replace("_", " "))
        seed += n
    elapsed = time.perf_counter() - start
    write_csv(out / "metadata.csv", rows)
    sheet = save_spectrogram_sheet(
        out / "spectrograms.png", images, titles, frame_rate=pipe.representation.frame_rate, ncols=5
    )
    request = {
        "ckpt": str(cfg.ckpt),
        "sampler": cfg.sampler.name,
        "steps": cfg.steps,
        "schedule": cfg.sampler.schedule,
        "sigma_min": cfg.sampler.get("sigma_min"),
        "options": sampling["options"],
        "decoder": pipe.config.get("decoder") or "the representation's own",
        "fast": OmegaConf.to_container(cfg.fast),
        "cfg_scale": cfg.cfg_scale,
        "level": cfg.level,
        **edit.request(cfg, chosen),
        "seed": cfg.seed,
        "seconds": cfg.seconds,
        "prompts": [{"cond": c, "n": n} for c, n in prompts],
        "device": str(pipe.device),
        "clips": len(rows),
        "elapsed_seconds": round(elapsed, 3),
        "real_time_factor": round(audio_seconds / elapsed, 3),
    }
    write_text(out / "generate.json", json.dumps(request, indent=2) + "\n")
    console.print(
        f"wrote {len(rows)} clips ({audio_seconds:.1f} s of audio) to {out} in {elapsed:.1f} s "
        f"({audio_seconds / elapsed:.1f}x real time on {pipe.device}); sheet: {sheet}"
    )


def _load(cfg: DictConfig):
    """The torch pipeline of a checkpoint, or (backend=onnx) onnxruntime on an export folder."""
    decoder = OmegaConf.to_container(cfg.decoder, resolve=True) if cfg.get("decoder") else None
    if cfg.backend == "torch":
        return load(cfg.ckpt, cfg.device, decoder, cfg.autoencoder)
    if cfg.backend != "onnx":
        raise ConfigError(f"backend must be torch or onnx, got {cfg.backend!r}")
    if decoder or cfg.autoencoder:
        raise ConfigError("backend=onnx decodes with the exported decoder (no decoder= override)")
    from audiodiff.export.runtime import load_onnx

    return load_onnx(cfg.ckpt, threads=cfg.fast.threads)
