"""Declipping, bandwidth extension and gap filling on held-out speech: both restoration routes
against classical baselines. Prints one table per task and the spec's targets, writes JSON.

    python scripts/bench_restore_tasks.py --ckpt outputs/restore_speech/run/model \\
        --prior PRIOR_MODEL --clean data/speech_heldout_voices --n 20

Each clip (4 s, 16 kHz, loudness-normalised to -23 dB) is degraded once per task with
``torch.Generator().manual_seed(i)`` for clip i:

- declip: ``HardClip`` at a level uniform in [0.1, 0.3] of the clip's peak;
- bandwidth: ``LowPass`` at 4 kHz (the 4-8 kHz band is missing);
- inpaint: ``Gaps``, 2-5 gaps of 50-200 ms each.

Rows: the degraded input; the classical baselines (``TASK_BASELINES``: a cubic spline over
the clipped samples, spectral replication of the band below the cut-off, linear prediction
from both sides of each gap); route 1, the conditional model ``--ckpt`` (``--steps`` solver
steps and the one-step predictive mode; given the true clip threshold and the cut-off); and
route 2, the unconditional prior ``--prior`` with data consistency, when given. For
bandwidth, two rows more: route 1 without its band-level predictor (``band_level=False``,
when the model has one), and a diagnosis: route 1's output with its band above the cut-off
scaled frame by frame to the clean clip's energy there (``oracle_band_level``), which tells
whether the new band's shape or its loudness limits the LSD.

Gap filling is told where the gaps are (``RestoreOptions(gaps=...)``, the linear-prediction
fill's ``known`` mask): the espeak clips hold long runs of digital silence, which the
default rule (runs of exact zeros are gaps) would take for gaps too.

Metrics: SI-SDR, LSD (2048 / 512), PESQ-WB and ESTOI on the whole clip; for bandwidth also
the LSD of the band above the cut-off; for inpaint also the LSD of the STFT frames (512 /
128, 32 ms) that overlap a gap, and over the gaps that are not digital silence the SNR of
the fill (zero fill: 0 dB; an uncorrelated fill as loud as the truth: -3 dB) and its level
against the truth's (dB; the posterior mean of an unpredictable gap is quiet); and real time
factors. The targets are checked on the means over the clips.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from audiodiff.audio.io import load
from audiodiff.audio.loudness import SILENCE_DB, normalize_loudness, rms_db
from audiodiff.metrics.paired import (
    LSD_POWER_FLOOR,
    log_spectral_distance,
    pesq_score,
    si_sdr,
    stoi_score,
)
from audiodiff.restore.bandlimit import LowPass
from audiodiff.restore.baselines import cubic_declip, lpc_gap_fill, spectral_replication
from audiodiff.restore.clipping import HardClip
from audiodiff.restore.gaps import Gaps
from audiodiff.restore.restorer import RestoreOptions, restore

SR = 16000
CUTOFF_HZ = 4000.0
SILENT_GAP_DB = SILENCE_DB  # gaps quieter than this in the clean clip are digital silence
TASKS = ("declip", "bandwidth", "inpaint")
INPUT_NAME = {"declip": "clipped", "bandwidth": "low-passed", "inpaint": "zero fill"}
GAP_FFT, GAP_HOP = 512, 128  # the in-gap LSD: short frames, so a 50 ms gap fills some
Method = Callable[[torch.Tensor, dict], torch.Tensor]  # (degraded [1, N], info) -> [1, N]


def operator(task: str):
    if task == "declip":
        return HardClip(level=(0.1, 0.3))
    if task == "bandwidth":
        return LowPass(cutoff_hz=CUTOFF_HZ, sample_rate=SR)
    return Gaps(count=(2, 5), seconds=(0.05, 0.2), sample_rate=SR)


def log_power(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    # x: [N] -> log10 |STFT|^2 [F, T], as ``log_spectral_distance`` computes it
    spec = torch.stft(
        x.double(),
        n_fft,
        hop_length=hop,
        window=torch.hann_window(n_fft, dtype=torch.float64),
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    return torch.log10((spec.real.square() + spec.imag.square()).clamp_min(LSD_POWER_FLOOR))


def partial_lsd(est, ref, n_fft=2048, hop=512, bins=None, frames=None) -> float | None:
    """LSD over a subset of frequency bins (a slice) and/or frames (a bool mask [T])."""
    # est, ref: [N]
    diff = (log_power(ref, n_fft, hop) - log_power(est, n_fft, hop)).square()  # [F, T]
    if bins is not None:
        diff = diff[bins]
    if frames is not None:
        diff = diff[:, frames]
    return float(diff.mean(dim=0).sqrt().mean()) if diff.numel() else None


def gap_frames(spans: list, n: int) -> torch.Tensor:
    """bool [T] of the centred GAP_FFT / GAP_HOP frames that overlap any [start, end) span."""
    centres = torch.arange(n // GAP_HOP + 1) * GAP_HOP
    lo, hi = centres - GAP_FFT // 2, centres + GAP_FFT // 2
    hit = torch.zeros(len(centres), dtype=torch.bool)
    for a, b in spans:
        hit |= (lo < b) & (hi > a)
    return hit


def score(task: str, est: torch.Tensor, clean: torch.Tensor, info: dict) -> dict:
    # est, clean: [1, N]
    out = {
        "si_sdr": float(si_sdr(est, clean)),
        "lsd": float(log_spectral_distance(est, clean)),
        "pesq": pesq_score(est[0], clean[0], SR),
        "estoi": stoi_score(est[0], clean[0], SR, extended=True),
    }
    if task == "bandwidth":
        first = math.ceil(CUTOFF_HZ * 2048 / SR)  # the first 2048-point bin at or above it
        out["lsd_high"] = partial_lsd(est[0], clean[0], bins=slice(first, None))
    if task == "inpaint":
        spans = info["spans"]
        frames = gap_frames(spans, clean.shape[-1])
        out["gap_lsd"] = partial_lsd(est[0], clean[0], GAP_FFT, GAP_HOP, frames=frames)
        # SNR and fill level over the gaps where the speech is not silent (a gap in digital
        # silence has no finite SNR for any non-zero fill, and would swamp the mean)
        heard = [(a, b) for a, b in spans if float(rms_db(clean[0, a:b])) > SILENT_GAP_DB]
        out["gap_snr"] = out["fill_db"] = None
        if heard:
            inside = torch.cat([torch.arange(a, b) for a, b in heard])
            e, c = est[0, inside].double(), clean[0, inside].double()
            err = (e - c).square().sum().clamp_min(1e-20)
            out["gap_snr"] = float(10 * torch.log10(c.square().sum() / err))
            out["fill_db"] = float(rms_db(e.float()) - rms_db(c.float()))  # fill vs truth
    return out


def baselines(task: str) -> dict[str, Method]:
    if task == "declip":
        return {"cubic spline": lambda y, i: cubic_declip(y[None], SR, i["threshold"])[0]}
    if task == "bandwidth":
        return {
            "spectral replication": lambda y, i: spectral_replication(y[None], SR, CUTOFF_HZ)[0]
        }
    return {"linear prediction": lambda y, i: lpc_gap_fill(y[None], SR, known_mask(y, i))[0]}


def oracle_band_level(est: torch.Tensor, clean: torch.Tensor, n_fft=2048, hop=512) -> torch.Tensor:
    """est [1, N] with its band above the cut-off scaled, frame by frame, to the clean clip's
    energy there (one gain per STFT frame, the bins' shape left as est has it): what est
    would score if only the loudness of its new band were wrong."""
    window = torch.hann_window(n_fft, dtype=torch.float64)
    stft = lambda x: torch.stft(x.double(), n_fft, hop, window=window, return_complex=True)  # noqa: E731
    e, c = stft(est[0]), stft(clean[0])  # [F, T]
    high = slice(math.ceil(CUTOFF_HZ * n_fft / SR), None)
    energy = lambda z: z[high].abs().square().sum(0)  # noqa: E731 - [T]
    gain = (energy(c) / energy(e).clamp_min(1e-20)).sqrt()
    e[high] = e[high] * gain
    return torch.istft(e, n_fft, hop, window=window, length=est.shape[-1]).float()[None]


def known_mask(y: torch.Tensor, info: dict) -> torch.Tensor:
    """[1, 1, N]: False inside the clip's gaps."""
    known = torch.ones_like(y, dtype=torch.bool)[None]
    for a, b in info["spans"]:
        known[..., a:b] = False
    return known


def route(pipe, task: str, **kw) -> Method:
    def run(y: torch.Tensor, info: dict) -> torch.Tensor:
        extra = {"cutoff_hz": CUTOFF_HZ} if task == "bandwidth" else {}
        if task == "declip":
            extra["clip_level"] = info["threshold"]
        if task == "inpaint":
            extra["gaps"] = [[a / SR, b / SR] for a, b in info["spans"]]
        return restore(pipe, y, RestoreOptions(task=task, seed=info["clip"], **kw, **extra))

    return run


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 3) if values else None


def targets(task: str, summary: dict, checked: list[str]) -> tuple[str, list[dict]]:
    """The spec's target for ``task`` and, for each name in ``checked``, whether it meets it."""
    s, base = summary, INPUT_NAME[task]
    results = []
    if task == "declip":
        need = None if s[base]["si_sdr"] is None else s[base]["si_sdr"] + 6
        text = f"SI-SDR >= clipped + 6 dB = {need} dB"
        for n in checked:
            ok = need is not None and s[n]["si_sdr"] is not None and s[n]["si_sdr"] >= need
            results.append({"method": n, "value": s[n]["si_sdr"], "pass": bool(ok)})
    elif task == "bandwidth":
        need = None if s[base]["lsd"] is None else round(s[base]["lsd"] / 2, 3)
        text = f"LSD (whole band) <= half the low-passed input's = {need}"
        for n in checked:
            ok = need is not None and s[n]["lsd"] is not None and s[n]["lsd"] <= need
            results.append({"method": n, "value": s[n]["lsd"], "pass": bool(ok)})
    else:
        zero, lpc = s["zero fill"]["gap_lsd"], s["linear prediction"]["gap_lsd"]
        text = (
            f"whole-clip SI-SDR (median over clips) >= 12 dB and in-gap LSD < zero fill ({zero}) "
            f"and < linear prediction ({lpc})"
        )
        for n in checked:
            sdr, gap = s[n]["si_sdr_median"], s[n]["gap_lsd"]
            ok = sdr is not None and sdr >= 12 and gap is not None and gap < min(zero, lpc)
            results.append({"method": n, "value": [sdr, gap], "pass": bool(ok)})
    return text, results


def load_pipe(path: Path, conditional: bool, flag: str):
    from audiodiff.pipeline import load as load_model

    if not path.exists():
        raise SystemExit(f"error: {flag} {path}: not found")
    pipe = load_model(path, "cpu")
    if bool(pipe.config.get("observation")) != conditional:
        want = "a conditional model (observation: true)" if conditional else "a prior"
        raise SystemExit(f"error: {flag} {path} is not {want}")
    return pipe


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ckpt",
        default="outputs/restore_speech/run/model",
        help="route 1: a conditional restoration model (observation: true); 'none' skips it",
    )
    parser.add_argument("--prior", type=Path, help="route 2: an unconditional (stft) prior")
    parser.add_argument("--clean", type=Path, default=Path("data/speech_heldout_voices"))
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--steps", type=int, default=8, help="route 1 solver steps")
    parser.add_argument("--sampler", default="euler", help="route 1 solver (restore's default)")
    parser.add_argument("--prior-steps", type=int, default=35, help="route 2 solver steps")
    parser.add_argument(
        "--prior-sampler",
        default="euler",
        help="route 2 solver (restore's default; heun, 69 calls for 35 steps, scored lower)",
    )
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench/restore_tasks.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown or not tasks:
        print(f"error: --tasks takes {','.join(TASKS)}, got {args.tasks!r}", file=sys.stderr)
        return 2
    files = sorted(args.clean.rglob("*.wav"))
    if len(files) < args.n:
        print(f"error: {args.clean} has {len(files)} clips, --n asks for {args.n}", file=sys.stderr)
        return 2
    ckpt = None if args.ckpt.lower() == "none" else Path(args.ckpt)
    models = {}
    if ckpt is not None:
        models["route 1"] = load_pipe(ckpt, True, "--ckpt")
        if "task" not in models["route 1"].vocab.labels:
            print(f"note: {ckpt} has no task label: it restores every task as it was trained")
    if args.prior is not None:
        models["route 2"] = load_pipe(args.prior, False, "--prior")
    clean_clips = []
    for path in files[: args.n]:
        clean, _ = load(path, SR)
        clean = normalize_loudness(clean, -23.0)  # [1, N]
        clean_clips.append((path.name, clean))
    report = {
        "ckpt": None if ckpt is None else str(ckpt),
        "prior": None if args.prior is None else str(args.prior),
        "n": args.n,
        "route1": {"sampler": args.sampler, "steps": args.steps},
        "route2": {"sampler": args.prior_sampler, "steps": args.prior_steps},
        "tasks": {},
    }
    for task in tasks:
        methods: dict[str, Method] = {INPUT_NAME[task]: lambda y, i: y, **baselines(task)}
        checked = list(methods)[1:]  # the baselines, then the routes
        if "route 1" in models:
            pipe = models["route 1"]
            name = f"route 1, {args.steps} {args.sampler} steps"
            methods[name] = route(pipe, task, sampler=args.sampler, steps=args.steps)
            methods["route 1, 1 step (default)"] = route(pipe, task, sampler="euler", steps=1)
            if task == "bandwidth" and pipe.config.get("band_envelope"):
                methods["route 1, 1 step, without band_level"] = route(
                    pipe, task, sampler="euler", steps=1, band_level=False
                )
            if task == "bandwidth":  # a diagnosis, not a method: it reads the clean clip
                one_step = methods["route 1, 1 step (default)"]
                oracle = "oracle: route 1, 1 step, true high-band level"
                methods[oracle] = lambda y, i, f=one_step: oracle_band_level(f(y, i), i["clean"])
        if "route 2" in models:
            name = f"route 2 (prior), {args.prior_steps} {args.prior_sampler} steps"
            methods[name] = route(
                models["route 2"], task, sampler=args.prior_sampler, steps=args.prior_steps
            )
        routes = [n for n in methods if n.startswith("route")]
        checked += routes
        rows, timing = [], {name: [0.0, 0.0] for name in methods}
        op = operator(task)
        for i, (clip, clean) in enumerate(clean_clips):
            degraded = op(clean[None], torch.Generator().manual_seed(i))
            params = degraded.params
            info = {"clip": i, **params, "clean": clean}  # the clean clip: oracle rows only
            if task == "declip":
                info["threshold"] = params["threshold"][0]
            y = degraded.wav[0]  # [1, N]
            for name, fn in methods.items():
                start = time.perf_counter()
                est = fn(y, info).float()[..., : clean.shape[-1]]
                timing[name][0] += time.perf_counter() - start
                timing[name][1] += clean.shape[-1] / SR
                rows.append(
                    {"clip": clip, "method": name, **params, **score(task, est, clean, info)}
                )
            print(f"{task} {i + 1}/{args.n}", file=sys.stderr)
        metrics = ["si_sdr", "lsd", "pesq", "estoi"]
        metrics += {"bandwidth": ["lsd_high"], "inpaint": ["gap_lsd", "gap_snr", "fill_db"]}.get(
            task, []
        )
        summary = {
            n: {m: mean(r[m] for r in rows if r["method"] == n) for m in metrics} for n in methods
        }
        for n in methods:  # a clip whose gaps all fall in pauses scores ~100 dB: skews the mean
            values = [r["si_sdr"] for r in rows if r["method"] == n]
            summary[n]["si_sdr_median"] = round(float(np.median(values)), 3)
        for n, (secs, audio) in timing.items():
            rtf = round(audio / secs, 1) if secs > 0 and n != INPUT_NAME[task] else None
            summary[n]["x_real_time"] = rtf
        heads = {
            "si_sdr": "SI-SDR",
            "lsd": "LSD",
            "pesq": "PESQ-WB",
            "estoi": "ESTOI",
            "lsd_high": "LSD > 4 kHz",
            "gap_lsd": "LSD in gaps",
            "gap_snr": "SNR in heard gaps",
            "fill_db": "fill level vs truth dB",
            "x_real_time": "x real time",
        }
        columns = [*metrics, "x_real_time"]
        print(f"\n### {task} (n = {args.n})\n")
        print("| method | " + " | ".join(heads[c] for c in columns) + " |")
        print("|---|" + "---:|" * len(columns))
        for n in methods:
            print(f"| {n} | " + " | ".join(str(summary[n][c]) for c in columns) + " |")
        text, results = targets(task, summary, checked)
        print(f"\ntarget ({task}): {text}")
        for r in results:
            kind = "route" if r["method"].startswith("route") else "baseline, for reference"
            verdict = "PASS" if r["pass"] else "FAIL"
            print(f"- {r['method']} ({kind}): {r['value']} -> {verdict}")
        if not routes:
            print("- no route was run (--ckpt none and no --prior): nothing to check")
        report["tasks"][task] = {
            "target": text,
            "checks": results,
            "summary": summary,
            "rows": rows,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
