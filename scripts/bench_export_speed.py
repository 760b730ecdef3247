"""Speed of the ONNX export on the CPU: onnxruntime against PyTorch eager and torch.compile.

    python scripts/bench_export_speed.py                        # -> outputs/bench/export_speed.json
    python scripts/bench_export_speed.py --threads 1 --repeats 20
    python scripts/bench_export_speed.py --ckpt outputs/demo/run/model   # a trained model folder
    python scripts/bench_export_speed.py --quick                # tiny widths (a smoke run)

Random weights at the recipes' sizes, built as scripts/bench_export.py builds them (the demo
U-Net of conf/model/tiny with 80 mel bins, EDM, and the vocoder of vocoder_synth), so no
training is needed; ``--ckpt`` times a trained model (a ``.ckpt``, ``.safetensors`` or model
folder, with the decoder it was trained with, e.g. Griffin-Lim) instead. The model is
exported with ``export_onnx`` to a temporary folder and run by ``load_onnx``. Rows:

- the denoiser D(x, sigma, cond): calls per second at batch 1 and batch 16, 2 s of frames
  (125 at 62.5 frames/s), random labels and sigmas;
- the decoder (the vocoder): x real time (seconds of audio per second of compute), one 4 s
  clip;
- generation end to end: x real time of one 4 s clip, dpmpp_2m, 20 steps, cfg 2, seed 0,
  through the torch ``Pipeline`` and the ``OnnxPipeline`` (the same solver code).

Columns: torch eager, torch.compile and onnxruntime. torch.compile runs the denoiser as the
pipeline's fast path does (``accelerate`` with ``FastPath(compile="default")``, static
shapes), the decoder's ``decode`` compiled the same way, and generation with
``Pipeline.set_fast(FastPath(compile="default"))``; a compile that fails is reported as
"fails: <reason>" in its cell, and its first call's seconds (the compilation) beside the
speed. ``--compile-backend`` picks another dynamo backend for the denoiser and decoder rows
(the fast path of generation compiles with inductor only, so its cell is then skipped);
``--quick`` uses the ``eager`` backend unless told otherwise, as inductor takes a minute to
compile even tiny graphs on 2 cores. ``--compile-backend none`` leaves torch.compile out.

Each number is one warm-up then the median of ``--repeats`` calls (``ms_per_call`` of
bench_export.py), torch under ``torch.inference_mode()``, with ``--threads`` intra-op
threads for torch and onnxruntime alike. Prints a markdown table and writes JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from bench_export import denoiser_folder, ms_per_call, vocoder_folder
from benchlib import machine, report

from audiodiff.export.onnx_folder import decoder_part, denoiser_part, export_onnx
from audiodiff.export.runtime import load_onnx
from audiodiff.fastpath import FastPath, accelerate, resolve
from audiodiff.pipeline import Pipeline, load

ENGINES = ("torch eager", "torch.compile", "onnxruntime")
ROWS = ("denoiser batch 1", "denoiser batch 16", "decoder 4 s", "generate 1 x 4 s")
COLUMNS = ["", "unit", *ENGINES, "onnxruntime / eager"]
DENOISER_SECONDS, CLIP_SECONDS = 2.0, 4.0
GENERATE = {"sampler": "dpmpp_2m", "steps": 20, "cfg_scale": 2.0, "seed": 0}
FAST = FastPath(compile="default")  # the pipeline's fast path (static shapes, inductor)


def one_line(error: BaseException, width: int = 160) -> str:
    """An exception as one short line: its type and the first line of its message."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return text if len(text) <= width else text[: width - 3] + "..."


def timed(fn: Callable[[], object], repeats: int, work: float) -> dict:
    """``work`` (calls, seconds of audio) per second of ``fn``: one warm-up, the median."""
    ms = ms_per_call(fn, repeats)
    return {"value": 1000 * work / ms, "ms": ms}


def timed_compiled(make: Callable[[], Callable[[], object]], repeats: int, work: float) -> dict:
    """``timed`` of the function ``make()`` returns, whose first call compiles (its seconds
    are kept as ``compile_s``); a failure anywhere is ``{"error": "fails: <one line>"}``."""
    try:
        fn = make()
        start = time.perf_counter()
        fn()
        compile_s = time.perf_counter() - start
        return {**timed(fn, repeats, work), "compile_s": compile_s}
    except Exception as e:  # a backend that does not compile here is a cell, not a crash
        return {"error": f"fails: {one_line(e)}"}


def compiler(backend: str) -> Callable[[Callable], Callable]:
    """``torch.compile`` with ``backend`` and static shapes, as ``accelerate`` compiles
    (inductor: its C-compiler check first, a one-line failure where there is none)."""

    def compile_fn(fn: Callable) -> Callable:
        if backend == "inductor":
            resolve(FAST, torch.device("cpu"))
        return torch.compile(fn, backend=backend, mode=None, dynamic=False)

    return compile_fn


def skipped(reason: str) -> dict:
    return {"error": f"skipped: {reason}"}


def compiled_denoiser(pipe: Pipeline, backend: str) -> Callable:
    """The denoiser as generation's fast path compiles it (inductor: ``accelerate`` with
    ``FastPath(compile="default")``, what ``set_fast`` samples with), or with ``backend``."""
    if backend == "inductor":
        return accelerate(pipe.denoiser, FAST, "cpu")
    return compiler(backend)(pipe.denoiser)


def denoiser_rows(pipe: Pipeline, onnx_pipe: Pipeline, frames: int, args) -> dict:
    """Calls per second of D(x, sigma, cond) at batch 1 and 16 on the same random inputs."""
    part = denoiser_part(pipe.denoiser)
    names = [spec.name for spec in part.inputs[2:]]
    gen = torch.Generator().manual_seed(1)
    rows = {}
    for batch in (1, 16):
        x, sigma, *conds = part.make_args(batch, frames, gen)
        inputs = (x, sigma, dict(zip(names, conds, strict=True)) or None)
        row = {"unit": "calls/s", "batch": batch, "frames": frames}
        row["torch eager"] = timed(partial(pipe.denoiser, *inputs), args.repeats, 1)
        if args.compile_backend == "none":
            row["torch.compile"] = skipped("--compile-backend none")
        else:

            def make(inputs=inputs) -> Callable[[], object]:
                return partial(compiled_denoiser(pipe, args.compile_backend), *inputs)

            row["torch.compile"] = timed_compiled(make, args.repeats, 1)
        row["onnxruntime"] = timed(partial(onnx_pipe.denoiser, *inputs), args.repeats, 1)
        rows[f"denoiser batch {batch}"] = row
    return rows


def decoder_row(pipe: Pipeline, onnx_pipe: Pipeline, args) -> dict:
    """x real time of the decoder on one random 4 s input (random weights: random mels)."""
    rep = pipe.representation
    frames = round(CLIP_SECONDS * rep.frame_rate)
    seconds = frames * rep.hop_length / rep.sample_rate
    part = decoder_part(rep)
    x = part.make_args(1, frames, torch.Generator().manual_seed(2))[0]
    row = {"unit": "x real time", "kind": part.meta["kind"], "frames": frames, "seconds": seconds}
    row["torch eager"] = timed(lambda: rep.decode(x), args.repeats, seconds)
    if args.compile_backend == "none":
        row["torch.compile"] = skipped("--compile-backend none")
    else:

        def make() -> Callable[[], object]:
            decode = compiler(args.compile_backend)(rep.decode)
            return lambda: decode(x)

        row["torch.compile"] = timed_compiled(make, args.repeats, seconds)
    row["onnxruntime"] = timed(lambda: onnx_pipe.representation.decode(x), args.repeats, seconds)
    return row


def first_values(pipe: Pipeline) -> dict:
    """A condition the model knows: each label's first value (a text model: a prompt)."""
    cond = {label: values[0] for label, values in pipe.labels.items() if values}
    if pipe.text:
        cond[pipe.PROMPT] = "a bell"
    return cond


def generate_row(pipe: Pipeline, onnx_pipe: Pipeline, args) -> dict:
    """x real time of one 4 s clip from noise to waveform, torch and onnxruntime pipelines."""
    cond = first_values(pipe)
    row = {"unit": "x real time", "seconds": CLIP_SECONDS, "cond": cond, **GENERATE}
    wavs = {}

    def run(p: Pipeline, name: str) -> Callable[[], object]:
        def call() -> None:
            wavs[name] = p.generate(1, CLIP_SECONDS, cond, **GENERATE)

        return call

    row["torch eager"] = timed(run(pipe, "torch"), args.repeats, CLIP_SECONDS)
    row["onnxruntime"] = timed(run(onnx_pipe, "onnx"), args.repeats, CLIP_SECONDS)
    row["max |onnx - torch|"] = float((wavs["onnx"] - wavs["torch"]).abs().max())
    row["max |torch|"] = float(wavs["torch"].abs().max())
    if args.compile_backend == "inductor":

        def make() -> Callable[[], object]:
            pipe.set_fast(FastPath(compile="default", threads=args.threads))
            return run(pipe, "compile")

        row["torch.compile"] = timed_compiled(make, args.repeats, CLIP_SECONDS)
        pipe.set_fast(FastPath(threads=args.threads))
    else:
        why = f"the fast path compiles with inductor (--compile-backend {args.compile_backend})"
        row["torch.compile"] = skipped(why)
    return row


def cell(m: dict) -> str:
    if "error" in m:
        return m["error"].replace("|", "\\|")
    digits = ".1f" if m["value"] >= 10 else ".2f"
    note = f" (compile {m['compile_s']:.0f} s)" if "compile_s" in m else ""
    return f"{m['value']:{digits}}{note}"


def table_rows(rows: dict) -> list[list[str]]:
    out = []
    for name, row in rows.items():
        label = name
        if name.startswith("denoiser"):
            label = f"denoiser, batch {row['batch']} x {row['frames']} frames"
        elif name.startswith("decoder"):
            label = f"decoder ({row['kind']}), {row['seconds']:g} s"
        elif name.startswith("generate"):
            label = f"generate 1 x {row['seconds']:g} s, {row['sampler']} {row['steps']} steps"
        eager, onnx = row["torch eager"]["value"], row["onnxruntime"]["value"]
        ratio = f"{onnx / eager:.2f}x"
        out.append([label, row["unit"], *(cell(row[e]) for e in ENGINES), ratio])
    return out


def markdown(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls (10; quick: 2)")
    parser.add_argument("--quick", action="store_true", help="tiny widths (a smoke run)")
    parser.add_argument("--ckpt", default=None, help="time a trained model (MODEL_DIR) instead")
    parser.add_argument(
        "--compile-backend",
        default=None,
        choices=["inductor", "aot_eager", "eager", "none"],
        help="torch.compile's backend (inductor; quick: eager)",
    )
    parser.add_argument("--out", default="outputs/bench/export_speed.json")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (2 if args.quick else 10)
    args.compile_backend = args.compile_backend or ("eager" if args.quick else "inductor")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)  # the codecs' default init: the same random weights every run
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.ckpt:
            model = Path(args.ckpt)
        else:
            model = denoiser_folder(root, "edm", vocoder_folder(root, args.quick), args.quick)
        pipe = load(model, device="cpu").set_fast(FastPath(threads=args.threads))
        start = time.perf_counter()
        export_onnx(pipe, root / "onnx", check=False)
        export_s = time.perf_counter() - start
        onnx_pipe = load_onnx(root / "onnx", threads=args.threads)
        frames = round(DENOISER_SECONDS * pipe.representation.frame_rate)
        with torch.inference_mode():
            rows = denoiser_rows(pipe, onnx_pipe, frames, args)
            rows["decoder 4 s"] = decoder_row(pipe, onnx_pipe, args)
            rows["generate 1 x 4 s"] = generate_row(pipe, onnx_pipe, args)
    result = {
        "machine": machine(),
        "model": str(args.ckpt) if args.ckpt else "random weights (bench_export.py)",
        "quick": args.quick,
        "threads": args.threads,
        "repeats": args.repeats,
        "compile_backend": args.compile_backend,
        "frame_rate": pipe.representation.frame_rate,
        "params": {
            "denoiser": sum(p.numel() for p in pipe.denoiser.parameters()),
            "decoder": sum(p.numel() for p in pipe.representation.parameters()),
        },
        "export_s": export_s,
        "rows": rows,
    }
    title = (
        f"ONNX export speed on the CPU ({args.threads} threads, median of {args.repeats}, "
        f"torch.compile backend {args.compile_backend})"
    )
    table = table_rows(rows)
    report(result, args.out, title, COLUMNS, table)
    print(f"\n{markdown(COLUMNS, table)}")
    return result


if __name__ == "__main__":
    main()
