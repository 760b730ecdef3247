"""Denoising benchmark: a trained restoration model against the classical baselines, on
held-out speech and held-out noise, per SNR and per noise type. Prints tables, writes JSON.

    python scripts/bench_restore.py --ckpt outputs/denoise_speech/run/model \\
        --clean data/speech_heldout_voices --music data/music_heldout --n 30

Clip i gets noise type TYPES[i % 6] at SNR SNRS[i % 5] (on the active speech; so n = 30
covers every pair once). Babble is made of other held-out clips, music of held-out melodies.
Rows: the noisy input, spectral subtraction, the decision-directed Wiener filter,
noisereduce (stationary / non-stationary), the conditional model (route 1: ``--steps``
solver steps and the one-step predictive mode), a prior (route 2, ``--prior``: SDEdit from
the noisy clip at sigma 0.5) and an oracle ceiling (clean magnitude with the noisy phase).
DNSMOS (no reference; the ``dnsmos`` extra) is scored when installed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from audiodiff.audio.io import load
from audiodiff.audio.loudness import normalize_loudness
from audiodiff.metrics.dnsmos import dnsmos
from audiodiff.metrics.paired import log_spectral_distance, pesq_score, si_sdr, stoi_score
from audiodiff.restore.baselines import BASELINES
from audiodiff.restore.noise import AddNoise, ColoredNoise, FolderNoise, MainsHum

TYPES = ("white", "pink", "brown", "hum", "babble", "music")
SNRS = (-5, 0, 5, 10, 15)
SR = 16000


def noise_sources(music: Path, babble: Path) -> dict:
    return {
        "white": ColoredNoise(exponent=0),
        "pink": ColoredNoise(exponent=1),
        "brown": ColoredNoise(exponent=2),
        "hum": MainsHum(mains_hz=[50, 60], harmonics=10, decay=[0.3, 0.8]),
        "babble": FolderNoise(noise_dir=str(babble), clips=[3, 6]),
        "music": FolderNoise(noise_dir=str(music), clips=1),
    }


def noisy_clips(
    clean_dir: Path, music: Path, n: int
) -> list[tuple[Path, torch.Tensor, torch.Tensor]]:
    """(path, clean [1, N], noisy [1, N]) of the first n clips: clean at -23 dB RMS, clip i
    with noise type TYPES[i % 6] at SNRS[i % 5], seeded by i."""
    files = sorted(clean_dir.rglob("*.wav"))[:n]
    sources = noise_sources(music, clean_dir)
    out = []
    for i, path in enumerate(files):
        kind, snr = TYPES[i % len(TYPES)], SNRS[i % len(SNRS)]
        clean, _ = load(path, SR)
        clean = normalize_loudness(clean, -23.0)  # [1, N]
        adder = AddNoise(sources={kind: sources[kind]}, sample_rate=SR, snr_db=float(snr))
        out.append((path, clean, adder(clean[None], torch.Generator().manual_seed(i)).wav[0]))
    return out


def oracle(noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Clean STFT magnitude with the noisy phase (512 / 128): what a magnitude-only method
    could reach at best."""
    window = torch.hann_window(512)
    spec = lambda w: torch.stft(w, 512, 128, window=window, return_complex=True)  # noqa: E731
    n, c = spec(noisy[0]), spec(clean[0])
    mixed = c.abs() * torch.exp(1j * n.angle())
    return torch.istft(mixed, 512, 128, window=window, length=noisy.shape[-1])[None]


def score(est: torch.Tensor, clean: torch.Tensor) -> dict:
    # est, clean: [1, N]
    mos = dnsmos(est[0], SR) or {}
    return {
        "si_sdr": float(si_sdr(est, clean)),
        "pesq": pesq_score(est[0], clean[0], SR),
        "estoi": stoi_score(est[0], clean[0], SR, extended=True),
        "lsd": float(log_spectral_distance(est, clean)),
        "dnsmos": mos.get("ovrl"),
        "dnsmos_bak": mos.get("bak"),
    }


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 3) if values else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, help="a restoration model (observation: true)")
    parser.add_argument("--prior", type=Path, help="an unconditional prior (route 2, SDEdit)")
    parser.add_argument("--prior-steps", type=int, default=8)
    parser.add_argument("--clean", type=Path, default=Path("data/speech_heldout_voices"))
    parser.add_argument("--music", type=Path, default=Path("data/music_heldout"))
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench/restore_denoise.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    files = sorted(args.clean.rglob("*.wav"))
    if len(files) < args.n:
        print(f"error: {args.clean} has {len(files)} clips, --n asks for {args.n}", file=sys.stderr)
        return 2
    baselines = {k: (lambda w, f=f: f(w[None], SR)[0]) for k, f in BASELINES.items()}
    methods = {"noisy": lambda w: w, **baselines}
    from audiodiff.pipeline import load as load_model
    from audiodiff.restore.restorer import RestoreOptions, restore

    if args.ckpt:
        pipe = load_model(args.ckpt, "cpu")
        default = RestoreOptions(task="denoise")  # one step from 20 sigma_data
        methods["model, 1 step (default)"] = lambda w: restore(pipe, w, default)
        more = RestoreOptions(task="denoise", steps=args.steps)
        methods[f"model, {args.steps} steps"] = lambda w: restore(pipe, w, more)
    if args.prior:
        prior = load_model(args.prior, "cpu")
        sdedit = RestoreOptions(task="denoise", steps=args.prior_steps)
        methods[f"prior (SDEdit), {args.prior_steps} steps"] = lambda w: restore(prior, w, sdedit)
    rows, timing = [], {name: [0.0, 0.0] for name in [*methods, "oracle"]}
    for i, (path, clean, noisy) in enumerate(noisy_clips(args.clean, args.music, args.n)):
        kind, snr = TYPES[i % len(TYPES)], SNRS[i % len(SNRS)]
        outputs = {}
        for name, fn in methods.items():
            start = time.perf_counter()
            outputs[name] = fn(noisy).float()[..., : clean.shape[-1]]
            timing[name][0] += time.perf_counter() - start
            timing[name][1] += clean.shape[-1] / SR
        outputs["oracle"] = oracle(noisy, clean)
        for name, est in outputs.items():
            rows.append(
                {"clip": path.name, "noise": kind, "snr": snr, "method": name, **score(est, clean)}
            )
        print(f"{i + 1}/{args.n} {kind} {snr:+d} dB", file=sys.stderr)
    metrics = ("si_sdr", "pesq", "estoi", "lsd", "dnsmos", "dnsmos_bak")
    names = [*methods, "oracle"]
    summary = {n: {m: mean(r[m] for r in rows if r["method"] == n) for m in metrics} for n in names}
    for n in names:
        secs, audio = timing[n]
        summary[n]["rtf"] = round(audio / secs, 1) if secs > 0 else None
    by_snr = {
        n: {s: mean(r["pesq"] for r in rows if r["method"] == n and r["snr"] == s) for s in SNRS}
        for n in names
    }
    by_snr_sisdr = {
        n: {s: mean(r["si_sdr"] for r in rows if r["method"] == n and r["snr"] == s) for s in SNRS}
        for n in names
    }
    by_type = {
        n: {
            t: mean(r["si_sdr"] for r in rows if r["method"] == n and r["noise"] == t)
            for t in TYPES
        }
        for n in names
    }
    print("\n| method | SI-SDR | PESQ-WB | ESTOI | LSD | DNSMOS OVRL | DNSMOS BAK | x real time |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in names:
        s = summary[n]
        print(
            f"| {n} | {s['si_sdr']} | {s['pesq']} | {s['estoi']} | {s['lsd']} | "
            f"{s['dnsmos']} | {s['dnsmos_bak']} | {s['rtf']} |"
        )
    print("\nPESQ-WB / SI-SDR by SNR\n| method | " + " | ".join(f"{s} dB" for s in SNRS) + " |")
    print("|---|" + "---:|" * len(SNRS))
    for n in names:
        print(
            f"| {n} | " + " | ".join(f"{by_snr[n][s]} / {by_snr_sisdr[n][s]}" for s in SNRS) + " |"
        )
    print(
        "\nSI-SDR by noise type\n| method | "
        + " | ".join(TYPES)
        + " |\n|---|"
        + "---:|" * len(TYPES)
    )
    for n in names:
        print(f"| {n} | " + " | ".join(str(by_type[n][t]) for t in TYPES) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "ckpt": str(args.ckpt),
        "prior": str(args.prior) if args.prior else None,
        "n": args.n,
        "steps": args.steps,
        "summary": summary,
        "pesq_by_snr": by_snr,
        "si_sdr_by_snr": by_snr_sisdr,
        "si_sdr_by_noise": by_type,
        "rows": rows,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
