"""``audiodiff generate ckpt=PATH n=8 seconds=2 cond.instrument=bell ... out=DIR``.

A timing model (``model.timing``) also takes ``cond.seconds_start=S`` (default 0) and
``cond.seconds_total=S`` (default ``seconds``)."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from audiodiff.audio.io import save
from audiodiff.cli.config import config_dir
from audiodiff.cli.output import prepare_output_dir
from audiodiff.errors import ConfigError
from audiodiff.fastpath import FastPath
from audiodiff.fileio import write_text
from audiodiff.pipeline import load
from audiodiff.viz import save_spectrogram_sheet

OPEN_KEYS = ("cond",)  # `cond.instrument=bell` works without Hydra's `+`
MAX_SHEET = 40


@dataclass
class Options:
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
    fast: FastPath = field(default_factory=FastPath)


def find_prompts(name: str) -> Path:
    """A CSV path, or the name of one shipped in conf/prompt_files/ (e.g. ``synth_grid``)."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = config_dir() / "prompt_files" / f"{name}.csv"
    if shipped.is_file():
        return shipped
    choices = ", ".join(sorted(p.stem for p in (config_dir() / "prompt_files").glob("*.csv")))
    raise ConfigError(f"{name}: prompts file not found (shipped prompts: {choices})")


def read_prompts(path: Path, default_n: int) -> list[tuple[dict[str, Any], int]]:
    """Rows of a prompts CSV -> (cond, n); empty cells mean the null label. Every problem is
    one ``ConfigError`` naming the file (and the line)."""
    try:  # utf-8-sig: a byte-order mark is not part of the first column's name
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read prompts ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except csv.Error as e:
        raise ConfigError(f"{path}: not a readable CSV ({e})") from None
    prompts = []
    for i, row in enumerate(rows, 2):
        if None in row:
            raise ConfigError(f"{path}:{i}: more cells than the header has columns")
        if any("\0" in (v or "") for v in row.values()):
            raise ConfigError(f"{path}:{i}: a NUL byte in a cell")
        n = row.pop("n", "") or default_n
        try:
            count = int(n)
        except ValueError:
            raise ConfigError(f"{path}:{i}: n must be a whole number, got '{n}'") from None
        if count < 1:
            raise ConfigError(f"{path}:{i}: n must be >= 1, got {count}")
        prompts.append(({k: v or None for k, v in row.items()}, count))
    if not prompts:
        raise ConfigError(f"{path}: no prompts")
    return prompts


def run(cfg: DictConfig) -> None:
    console = Console()
    decoder = OmegaConf.to_container(cfg.decoder, resolve=True) if cfg.get("decoder") else None
    pipe = load(cfg.ckpt, cfg.device, decoder, cfg.autoencoder).set_fast(FastPath(**cfg.fast))
    options = OmegaConf.to_container(cfg.sampler.options, resolve=True)
    cond = OmegaConf.to_container(cfg.cond, resolve=True)
    prompts = read_prompts(find_prompts(cfg.prompts), cfg.n) if cfg.prompts else [(cond, cfg.n)]
    for c, _ in prompts:  # validate every label before any work or output
        pipe.encode_cond(c, 1, cfg.seconds)
    out = prepare_output_dir(cfg.out, cfg.overwrite)
    rows, images, titles = [], [], []
    start, seed = time.perf_counter(), cfg.seed
    for c, n in prompts:
        x = pipe.sample(
            n,
            cfg.seconds,
            c,
            cfg.sampler.name,
            cfg.steps,
            cfg.cfg_scale,
            seed,
            progress=True,
            options=options,
            schedule=cfg.sampler.schedule,
            rho=cfg.sampler.rho,
            sigma_min=cfg.sampler.get("sigma_min"),
            sigma_max=cfg.sampler.get("sigma_max"),
        )
        wav = pipe.decode(x)[..., : round(cfg.seconds * pipe.sample_rate)].clamp(-1, 1)
        label = "_".join(str(v) for v in c.values() if v is not None) or "uncond"
        for i in range(n):
            name = f"{len(rows):04d}_{label}.wav"
            save(out / name, wav[i], pipe.sample_rate)
            rows.append(
                {
                    "path": name,
                    **{k: "" if v is None else v for k, v in c.items()},
                    "seed": seed + i,
                }
            )
        if len(images) < MAX_SHEET:
            images.append(x[0].float().cpu())
            titles.append(label.replace("_", " "))
        seed += n
    elapsed = time.perf_counter() - start
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "metadata.csv", buf.getvalue())
    sheet = save_spectrogram_sheet(
        out / "spectrograms.png", images, titles, frame_rate=pipe.representation.frame_rate, ncols=5
    )
    audio_seconds = len(rows) * cfg.seconds
    request = {
        "ckpt": str(cfg.ckpt),
        "sampler": cfg.sampler.name,
        "steps": cfg.steps,
        "schedule": cfg.sampler.schedule,
        "sigma_min": cfg.sampler.get("sigma_min"),
        "options": options,
        "decoder": pipe.config.get("decoder") or "the representation's own",
        "fast": OmegaConf.to_container(cfg.fast),
        "cfg_scale": cfg.cfg_scale,
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
