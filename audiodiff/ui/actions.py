"""What the web UI does, without the web: each action takes the page's values, checks them
against the model and the limits, runs the pipeline and writes its files into a fresh folder
of the workspace. Every problem a visitor can cause is one ``ConfigError`` line.

    work = Workspace("/tmp/audiodiff-ui")
    result = generate(pipe, work, Limits(), GenerateRequest(labels={"instrument": "bell"}))
    result.wavs, result.sheet, result.archive       # files for the page and for download
"""

from __future__ import annotations

import itertools
import json
import math
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from audiodiff.audio.io import resample, save
from audiodiff.editing import inpaint, vary
from audiodiff.editing.inpainting import parse_spans
from audiodiff.errors import ConfigError
from audiodiff.fileio import slug, write_csv, write_text
from audiodiff.sampling import SAMPLERS
from audiodiff.ui.scores import score_table
from audiodiff.ui.uploads import Limits, read_upload

ANY = "(any)"  # a label dropdown's null choice: the model draws that label freely
AB_LEVEL_DB = -23.0  # the A/B players' RMS level (dBFS)
Progress = Callable[[int, int], None]  # (done, total)


class Workspace:
    """A folder holding one sub-folder per request (``generate-00001``, ...)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._count = itertools.count(1)

    def folder(self, kind: str) -> Path:
        while True:
            path = self.root / f"{kind}-{next(self._count):05d}"
            try:
                path.mkdir()
                return path
            except FileExistsError:  # left by an earlier app on the same root
                continue


@dataclass
class GenerateRequest:
    """The Generate tab's controls. With ``init`` (an audio file) it edits that file: the
    span ``mask_start``..``mask_end`` (seconds) regenerated when given, else a variation at
    ``strength``."""

    labels: dict[str, str | None] = field(default_factory=dict)
    prompt: str = ""
    negative_prompt: str = ""
    seconds: float = 2.0
    sampler: str | None = None  # None: the model's own
    steps: int = 20
    cfg_scale: float | None = None  # None: the model's own
    seed: int = 0
    n: int = 1
    init: str | None = None
    strength: float = 0.5
    mask_start: float | None = None
    mask_end: float | None = None


@dataclass
class GenerateResult:
    folder: Path
    wavs: list[Path]
    sheet: Path
    archive: Path  # the WAVs, metadata.csv and generate.json in one zip
    summary: str


def whole(name: str, value, low: int, high: int) -> int:
    """``value`` (a page's number: maybe a float) as an int in [low, high], or one line."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if not number.is_integer() or not low <= number <= high:
        raise ConfigError(f"{name} must be a whole number in [{low}, {high}], got {value!r}")
    return int(number)


def bounded(name: str, value, low: float, high: float) -> float:
    """``value`` as a float in [low, high], or one line."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ConfigError(f"{name} must be in [{low:g}, {high:g}], got {value!r}")
    return number


def _conditions(pipe, req: GenerateRequest) -> tuple[dict, dict | None]:
    unknown = set(req.labels) - set(pipe.labels)
    if unknown:
        valid = ", ".join(pipe.labels) or "none (unconditional model)"
        raise ConfigError(f"unknown label '{sorted(unknown)[0]}'; valid labels: {valid}")
    cond = {k: v for k, v in req.labels.items() if v not in (None, "", ANY)}
    for label, value in cond.items():
        if str(value) not in pipe.labels[label]:
            values = pipe.labels[label]
            shown = ", ".join(values[:12]) + (
                f", ... ({len(values)} in all)" if len(values) > 12 else ""
            )
            raise ConfigError(f"{label}={value!r} is not one of the model's values: {shown}")
    prompt, negative = (req.prompt or "").strip(), (req.negative_prompt or "").strip()
    if prompt:
        cond["prompt"] = prompt  # a model without text refuses it in one line
    return cond, ({"prompt": negative} if negative else None)


def _sampling(pipe, req: GenerateRequest, limits: Limits, progress) -> dict:
    if req.sampler not in (None, "") and req.sampler not in SAMPLERS:
        raise ConfigError(f"sampler must be one of {', '.join(sorted(SAMPLERS))}")
    steps = whole("steps", req.steps, 1, limits.max_steps)
    cfg = None if req.cfg_scale is None else bounded("cfg_scale", req.cfg_scale, 0.0, 30.0)
    return dict(sampler=req.sampler or None, steps=steps, cfg_scale=cfg, progress=progress)


def generate(
    pipe, work: Workspace, limits: Limits, req: GenerateRequest, progress: Progress | None = None
) -> GenerateResult:
    """Generate (or edit ``req.init``) ``req.n`` clips; WAVs, metadata.csv, generate.json,
    the spectrogram sheet and a zip of them in a new folder of ``work``."""
    n = whole("number of clips", req.n, 1, limits.max_clips)
    seed = whole("seed", req.seed, 0, 2**31 - 1)
    cond, negative = _conditions(pipe, req)
    if pipe.text and not cond and not req.init:
        raise ConfigError(
            "prompt: this model was trained on text prompts; write one (or pick a label)"
        )
    sampling = _sampling(pipe, req, limits, progress)
    if negative:
        sampling["negative_cond"] = negative
    start = time.perf_counter()
    mode = "generate"
    if req.init:
        wav, sr = read_upload(req.init, limits, "init audio")
        spans = _span(req.mask_start, req.mask_end)
        if spans:
            mode = "inpaint"
            x, out = inpaint(pipe, wav, sr, spans, n, cond, seed, **sampling)
        else:
            mode = "vary"
            strength = bounded("strength", req.strength, 0.0, 1.0)
            x, out = vary(pipe, wav, sr, strength, n, cond, seed, **sampling)
    else:
        if req.mask_start or req.mask_end:
            raise ConfigError("mask start / end edit an init audio file: upload one")
        seconds = bounded("seconds", req.seconds, 0.05, limits.max_seconds)
        x = pipe.sample(n, seconds, cond, seed=seed, **sampling)
        out = pipe.decode(x)[..., : round(seconds * pipe.sample_rate)].float()
        out = pipe.set_level(out, cond, "auto", seed)  # as `audiodiff generate` (level=auto)
    elapsed = time.perf_counter() - start
    return _write_clips(pipe, work, req, mode, cond, seed, x, out.clamp(-1, 1), elapsed)


def _span(start, end) -> list[tuple[float, float]]:
    """The inpainting span from the page's two numbers ([] when both are blank or 0)."""
    blank = [v in (None, "") or float(v) == 0 for v in (start, end)]
    if all(blank):
        return []
    if blank[1]:
        raise ConfigError("inpainting needs both mask start and mask end (seconds)")
    return parse_spans(f"{float(start or 0)}:{float(end)}")


def _write_clips(pipe, work, req, mode, cond, seed, x, wav, elapsed) -> GenerateResult:
    from audiodiff.viz import save_spectrogram_sheet

    folder = work.folder("generate")
    label = slug("_".join(str(v) for v in cond.values())) or "uncond"
    wavs, rows = [], []
    for i in range(wav.shape[0]):
        name = f"{i:04d}_{label}.wav"
        wavs.append(save(folder / name, wav[i], pipe.sample_rate))
        rows.append({"path": name, **cond, "seed": seed + i})
    write_csv(folder / "metadata.csv", rows)
    seconds = wav.shape[-1] / pipe.sample_rate
    request = {**asdict(req), "mode": mode, "clips": len(wavs), "elapsed_seconds": elapsed}
    request["init"] = Path(req.init).name if req.init else None
    write_text(folder / "generate.json", json.dumps(request, indent=2, default=str) + "\n")
    titles = [f"{seed + i}: {label.replace('_', ' ')}" for i in range(len(wavs))]
    sheet = save_spectrogram_sheet(
        folder / "spectrograms.png",
        [x[i].float().cpu() for i in range(x.shape[0])],
        titles,
        frame_rate=pipe.representation.frame_rate,
        ncols=min(4, len(wavs)),
    )
    archive = _zip(folder / f"{folder.name}.zip", [*wavs, folder / "metadata.csv"], folder)
    summary = (
        f"{mode}: {len(wavs)} clip(s) of {seconds:.2f} s in {elapsed:.1f} s "
        f"({len(wavs) * seconds / max(elapsed, 1e-9):.1f}x real time)"
    )
    return GenerateResult(folder, wavs, sheet, archive, summary)


def _zip(path: Path, files: list[Path], folder: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in [*files, folder / "generate.json"]:
            if f.exists():
                z.write(f, f.name)
    return path


@dataclass
class RestoreRequest:
    """The Restore tab's controls: the recording, the task and its options, and an optional
    clean reference to score against."""

    audio: str | None = None
    task: str = "denoise"
    steps: int | None = None  # None: the route's default
    cutoff_hz: float | None = None  # bandwidth
    clip_level: float | None = None  # declip (None: the recording's peak)
    gaps: str = ""  # inpaint: "START:END, START:END" seconds ("": runs of exact zeros)
    reference: str | None = None
    seed: int = 0


@dataclass
class RestoreResult:
    folder: Path
    restored: Path  # the restored file at the input's rate (32-bit float WAV)
    input_ab: Path  # the input and the output at the same RMS level, for A/B listening
    output_ab: Path
    sheet: Path  # the before / after spectrograms
    scores: str  # a markdown table against the reference ("" without one)
    summary: str


def restore(
    pipe, work: Workspace, limits: Limits, req: RestoreRequest, progress: Progress | None = None
) -> RestoreResult:
    from audiodiff.restore.restorer import TASKS
    from audiodiff.restore.sheet import save_before_after

    if req.task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {req.task!r}")
    wav, sr = read_upload(req.audio, limits, "recording")
    options = {"seed": whole("seed", req.seed, 0, 2**31 - 1)}
    if req.steps not in (None, "", 0):
        options["steps"] = whole("steps", req.steps, 1, limits.max_steps)
    if req.task == "bandwidth":
        if req.cutoff_hz in (None, "", 0):
            raise ConfigError("bandwidth extension needs the cut-off (Hz) of the recording")
        options["cutoff_hz"] = bounded("cut-off", req.cutoff_hz, 100.0, sr / 2)
    if req.task == "declip" and req.clip_level not in (None, "", 0):
        options["clip_level"] = bounded("clip level", req.clip_level, 1e-4, 1.0)
    if req.task == "inpaint" and (req.gaps or "").strip():
        spans = [s.strip() for s in req.gaps.replace(";", ",").split(",") if s.strip()]
        options["gaps"] = [list(s) for s in parse_spans(spans)]
    reference = read_upload(req.reference, limits, "clean reference") if req.reference else None
    start = time.perf_counter()
    fixed = pipe.restore(wav, sr, req.task, progress=progress, **options)  # [C, N] at sr
    elapsed = time.perf_counter() - start
    folder = work.folder("restore")
    restored = save(folder / f"{slug(Path(req.audio).stem) or 'input'}_{req.task}.wav",
                    fixed, sr, subtype="FLOAT")  # fmt: skip
    a, b = _matched(wav.mean(0, keepdim=True), fixed.mean(0, keepdim=True))
    input_ab, output_ab = save(folder / "A_input.wav", a, sr), save(folder / "B_output.wav", b, sr)
    own = pipe.sample_rate
    pair = [
        resample(w.mean(0, keepdim=True), sr, own) if sr != own else w[:1] for w in (wav, fixed)
    ]
    sheet = save_before_after(folder / "spectrograms.png", [tuple(pair)], [req.task], own)
    scores = score_table(wav, fixed, sr, reference) if reference is not None else ""
    seconds = wav.shape[-1] / sr
    summary = (
        f"{req.task}: {seconds:.2f} s restored in {elapsed:.1f} s "
        f"({seconds / max(elapsed, 1e-9):.1f}x real time, "
        f"{'conditional model' if pipe.config.get('observation') else 'prior'})"
    )
    report = {**asdict(req), "options": options, "elapsed_seconds": elapsed}
    report["audio"] = Path(req.audio).name
    report["reference"] = Path(req.reference).name if req.reference else None
    write_text(folder / "restore.json", json.dumps(report, indent=2) + "\n")
    return RestoreResult(folder, restored, input_ab, output_ab, sheet, scores, summary)


def _matched(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """a, b [1, N] at the same RMS level (``AB_LEVEL_DB``), one gain more on both so
    neither exceeds 0.99: a louder output never wins the comparison by loudness."""
    from audiodiff.audio.loudness import level_gain

    a, b = a * level_gain(a, AB_LEVEL_DB)[..., None], b * level_gain(b, AB_LEVEL_DB)[..., None]
    peak = max(float(a.abs().max()), float(b.abs().max()), 1e-12)
    return (a, b) if peak <= 0.99 else (a * 0.99 / peak, b * 0.99 / peak)
