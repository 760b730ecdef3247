"""``audiodiff restore task=... ckpt=... in=FILE_OR_DIR out=DIR``: restore recordings."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import Progress

from audiodiff.audio.io import find_audio, load, resample, save
from audiodiff.cli.output import prepare_output_dir
from audiodiff.errors import AudioFileError, ConfigError
from audiodiff.fileio import write_text
from audiodiff.restore.restorer import RestoreOptions, restore
from audiodiff.restore.sheet import save_before_after

VALUE_KEYS = ("task",)  # a plain option here, though conf/task/ is a config group
SHEET_FILES = 6  # the before / after sheet shows the first files ...
SHEET_SECONDS = 20.0  # ... and the first seconds of each (a 10-minute row is unreadable)


@dataclass
class Options:
    task: str
    ckpt: str
    out: str
    overwrite: bool
    sampler: str
    steps: int | None
    sigma_start: float | None
    sigma_min: float | None
    cutoff_hz: float | None
    clip_level: float | None
    min_gap_seconds: float
    gaps: Any
    fade_seconds: float
    guidance: float
    chunk_seconds: float
    overlap_seconds: float
    match_level: bool
    band_level: bool
    seed: int
    device: str
    threads: int | None


def inputs(source: Path) -> tuple[Path, list[Path]]:
    """(the folder names are relative to, the audio files to restore)."""
    if source.is_file():
        return source.parent, [source]
    if not source.is_dir():
        raise ConfigError(f"{source}: no such file or folder")
    files = find_audio(source)  # entries that are not regular files are skipped by load
    if not files:
        raise ConfigError(f"{source}: no audio files")
    return source, files


def run(cfg: DictConfig) -> None:
    from audiodiff.pipeline import load as load_model

    plain = OmegaConf.to_container(cfg, resolve=True)  # lists as lists (gaps=)
    opts = RestoreOptions(**{k: plain[k] for k in RestoreOptions.__dataclass_fields__})
    opts.check()
    if cfg.threads is not None:
        if cfg.threads < 1:
            raise ConfigError(f"threads must be >= 1 or null, got {cfg.threads}")
        import torch

        torch.set_num_threads(int(cfg.threads))
    source = Path(str(cfg["in"]))
    root, files = inputs(source)
    out = Path(cfg.out).resolve()
    if out == root.resolve() or source.is_dir() and root.resolve() in out.parents:
        raise ConfigError(f"{out}: inside the input folder; choose another out=")
    pipe = load_model(cfg.ckpt, cfg.device)
    out = prepare_output_dir(out, cfg.overwrite)
    console, skipped, rows, pairs, over = Console(stderr=True), [], [], [], 0.0
    start = time.perf_counter()
    audio_seconds = 0.0
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        files_task = bar.add_task("files", total=len(files))
        chunks_task = bar.add_task("chunks", total=None)
        for path in files:
            try:
                wav, sr = load(path, mono=False)  # [C, N] at the file's rate
            except AudioFileError as e:
                skipped.append(str(e))
                bar.advance(files_task)
                continue
            model_wav = resample(wav, sr, pipe.sample_rate) if sr != pipe.sample_rate else wav

            def progress(i: int, n: int) -> None:
                bar.update(chunks_task, completed=i + 1, total=n)

            fixed = restore(pipe, model_wav, opts, progress)  # [C, N'] at the model's rate
            if len(pairs) < SHEET_FILES:  # only what the sheet shows is kept
                head = round(SHEET_SECONDS * pipe.sample_rate)
                pairs.append((model_wav[:1, :head].clone(), fixed[:1, :head].clone()))
            over = max(over, float(fixed.abs().max()))
            back = resample(fixed, pipe.sample_rate, sr) if sr != pipe.sample_rate else fixed
            target = out / path.relative_to(root).with_suffix(".wav")
            # 32-bit float: the kept samples stay bit for bit, nothing is requantised, and a
            # declipped peak above full scale is kept rather than clipped again
            save(target, back[..., : wav.shape[-1]], sr, subtype="FLOAT")
            name = str(target.relative_to(out))
            rows.append({"input": str(path), "output": name, "sample_rate": sr})
            audio_seconds += wav.shape[-1] / sr
            bar.advance(files_task)
    if not rows:
        raise ConfigError(f"no file could be restored ({len(skipped)} unreadable)")
    elapsed = time.perf_counter() - start
    titles = [Path(r["input"]).name for r in rows[:SHEET_FILES]]
    sheet = save_before_after(out / "spectrograms.png", pairs, titles, pipe.sample_rate)
    report = {
        "task": opts.task,
        "ckpt": str(cfg.ckpt),
        "conditional": bool(pipe.config.get("observation")),
        "options": {k: plain[k] for k in RestoreOptions.__dataclass_fields__},
        "files": rows,
        "skipped": skipped,
        "elapsed_seconds": round(elapsed, 3),
        "real_time_factor": round(audio_seconds / elapsed, 3),
    }
    write_text(out / "restore.json", json.dumps(report, indent=2) + "\n")
    for reason in skipped[:5]:
        console.print(f"skipped: {reason}", markup=False, highlight=False)
    Console().print(
        f"restored {len(rows)} files ({audio_seconds:.1f} s, task={opts.task}) to {out} in "
        f"{elapsed:.1f} s ({audio_seconds / elapsed:.2f}x real time); sheet: {sheet}"
        + (f"; skipped {len(skipped)} unreadable" if skipped else "")
    )
    if over > 1:
        console.print(
            f"note: restored peaks reach {over:.2f} (above full scale), kept in the float WAVs; "
            "lower the gain before converting them to integer formats"
        )
