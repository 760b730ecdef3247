"""Long-file restoration benchmark: one 10-minute noisy file through ``audiodiff restore`` in
chunks; peak memory, speed, quality, and whether the chunk seams can be heard.

    python scripts/bench_long_file.py --ckpt outputs/denoise_speech/run/model \\
        --seconds 600 --threads 2

Builds clean.wav (held-out clips, cycled, each at -23 dB RMS) and noisy.wav (pink noise at
5 dB SNR on the active speech, seeded) in ``--out-dir``, runs the CLI on noisy.wav as a child
process (peak RSS from ``getrusage(RUSAGE_CHILDREN)``, wall time including start-up), and
scores the whole restored file against the clean one (SI-SDR; PESQ on 10 minutes is skipped).

Seams: spectral flux (``spectral_flux``) in the frames within ``--radius`` frames of each
crossfade centre (``seam_positions``: the restorer's own chunk layout) against all other
frames. The same positions in clean.wav and noisy.wav are the reference: there the ratio
should be near 1 (the positions are not special); a restored ratio well above it is a seam.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from audiodiff.audio.io import load, save
from audiodiff.audio.loudness import normalize_loudness
from audiodiff.metrics.paired import si_sdr
from audiodiff.restore.chunking import chunk_starts
from audiodiff.restore.noise import AddNoise, ColoredNoise, MainsHum

SR = 16000
NOISES = {
    "white": lambda: ColoredNoise(exponent=0),
    "pink": lambda: ColoredNoise(exponent=1),
    "brown": lambda: ColoredNoise(exponent=2),
    "hum": lambda: MainsHum(mains_hz=[50, 60], harmonics=10, decay=[0.3, 0.8]),
}


def seam_positions(
    length: int, sample_rate: int, chunk_seconds: float, overlap_seconds: float, hop: int
) -> list[int]:
    """Crossfade centres (samples) of the chunks ``audiodiff.restore.restorer.restore`` uses:
    chunk rounded up to a multiple of the representation's hop, as it does."""
    chunk = max(hop, math.ceil(chunk_seconds * sample_rate / hop) * hop)
    overlap = min(chunk - hop, round(overlap_seconds * sample_rate))
    starts = chunk_starts(length, chunk, overlap)
    return [
        (start + prev + chunk) // 2 for prev, start in zip(starts[:-1], starts[1:], strict=True)
    ]


def spectral_flux(wav: np.ndarray, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """flux[k] = || max(0, L[:, k + 1] - L[:, k]) ||_2 with L = log(|STFT| + 1e-5) (Hann,
    centred frames): the rise in log magnitude from frame k to k + 1, centred at sample
    (k + 0.5) hop. wav: [N] -> [T - 1]."""
    x = torch.as_tensor(np.asarray(wav, dtype=np.float32)).flatten()
    spec = torch.stft(x, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True)
    logmag = torch.log(spec.abs() + 1e-5)  # [F, T]
    return torch.linalg.vector_norm(torch.diff(logmag, dim=1).clamp_min(0), dim=0).numpy()


def seam_flux(
    wav: np.ndarray,
    seams: list[int],
    n_fft: int = 512,
    hop: int = 128,
    radius: int = 2,
    draws: int = 1000,
    seed: int = 0,
) -> dict:
    """Mean spectral flux in the frames within ``radius`` of each seam (sample positions)
    against the mean over all other frames, their ratio, and the percentile of the seam mean
    among ``draws`` sets of as many windows of the same width at random centres."""
    flux = spectral_flux(wav, n_fft, hop)
    n = flux.size
    if not seams:  # one chunk: nothing to compare
        return {"seam": None, "elsewhere": None, "ratio": None, "percentile": None, "seams": 0}
    centres = np.unique(np.clip(np.round(np.asarray(seams) / hop - 0.5).astype(int), 0, n - 1))
    offsets = np.arange(-radius, radius + 1)
    mask = np.zeros(n, bool)
    mask[np.clip(centres[:, None] + offsets, 0, n - 1)] = True
    at, elsewhere = float(flux[mask].mean()), float(flux[~mask].mean())
    rng = np.random.default_rng(seed)
    random_centres = rng.integers(radius, n - radius, size=(draws, centres.size))
    null = flux[random_centres[..., None] + offsets].reshape(draws, -1).mean(axis=1)
    return {
        "seam": round(at, 4),
        "elsewhere": round(elsewhere, 4),
        "ratio": round(at / elsewhere, 4) if elsewhere > 0 else None,
        "percentile": round(100 * float((null < at).mean()), 1),
        "seams": int(centres.size),
    }


def build_files(clean_dir: Path, seconds: float, noise: str, snr: float, seed: int, out: Path):
    """clean [1, N] and noisy [1, N]: held-out clips cycled to ``seconds``, noise at ``snr``."""
    files = sorted(clean_dir.rglob("*.wav"))
    if not files:
        raise SystemExit(f"error: no .wav files under {clean_dir}")
    total, pieces, i = round(seconds * SR), [], 0
    while sum(p.shape[-1] for p in pieces) < total:
        wav, _ = load(files[i % len(files)], SR)
        pieces.append(normalize_loudness(wav, -23.0))
        i += 1
    clean = torch.cat(pieces, dim=-1)[..., :total]  # [1, N]
    adder = AddNoise(sources={noise: NOISES[noise]()}, sample_rate=SR, snr_db=float(snr))
    noisy = adder(clean[None], torch.Generator().manual_seed(seed)).wav[0]
    out.mkdir(parents=True, exist_ok=True)
    save(out / "clean.wav", clean, SR, overwrite=True, subtype="FLOAT")
    save(out / "noisy.wav", noisy, SR, overwrite=True, subtype="FLOAT")
    return clean, noisy


def model_hop(ckpt: Path) -> tuple[int, int]:
    """(sample rate, hop) of the model's representation, from its config.yaml."""
    folders = (ckpt, ckpt.parent, ckpt.parent.parent)  # a model folder, or a run's last.ckpt
    config = next(f / "config.yaml" for f in folders if (f / "config.yaml").is_file())
    rep = OmegaConf.load(config).representation
    return int(rep["sample_rate"]), int(rep["hop_length"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, default=Path("outputs/denoise_speech/run/model"))
    parser.add_argument("--clean", type=Path, default=Path("data/speech_heldout_voices"))
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--noise", choices=sorted(NOISES), default="pink")
    parser.add_argument("--snr", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, help="default: restore's (1: conditional)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chunk-seconds", type=float, default=4.0)
    parser.add_argument("--overlap-seconds", type=float, default=0.5)
    parser.add_argument("--radius", type=int, default=2, help="frames either side of a seam")
    parser.add_argument("--out-dir", type=Path, default=Path("outputs/bench/long_file"))
    parser.add_argument("--out", type=Path, default=Path("outputs/bench/long_file.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    clean, noisy = build_files(
        args.clean, args.seconds, args.noise, args.snr, args.seed, args.out_dir
    )
    restored_dir = args.out_dir / "restored"
    command = [
        *(sys.executable, "-m", "audiodiff", "restore", "task=denoise"),
        f"ckpt={args.ckpt}",
        f"in={args.out_dir / 'noisy.wav'}",
        f"out={restored_dir}",
        f"steps={'null' if args.steps is None else args.steps}",
        f"chunk_seconds={args.chunk_seconds}",
        f"overlap_seconds={args.overlap_seconds}",
        f"seed={args.seed}",
        "overwrite=true",
    ]
    # `audiodiff restore` has no threads= option: torch takes its thread count from these
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    start = time.perf_counter()
    done = subprocess.run(command, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        print(f"error: audiodiff restore exited with {done.returncode}", file=sys.stderr)
        return done.returncode
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    restored, _ = load(restored_dir / "noisy.wav", SR)
    inner = json.loads((restored_dir / "restore.json").read_text())["elapsed_seconds"]
    model_sr, hop = model_hop(args.ckpt)
    length = math.ceil(clean.shape[-1] * model_sr / SR)
    seams = seam_positions(length, model_sr, args.chunk_seconds, args.overlap_seconds, hop)
    seams = [round(s * SR / model_sr) for s in seams]  # back at the file's rate
    signals = {"clean": clean, "noisy": noisy, "restored": restored}
    flux = {k: seam_flux(v[0].numpy(), seams, radius=args.radius) for k, v in signals.items()}
    duration = clean.shape[-1] / SR
    report = {
        "ckpt": str(args.ckpt),
        "duration_seconds": duration,
        "noise": args.noise,
        "snr_db": args.snr,
        "steps": args.steps,
        "threads": args.threads,
        "chunk_seconds": args.chunk_seconds,
        "overlap_seconds": args.overlap_seconds,
        "peak_rss_mb": round(peak_mb, 1),
        "wall_seconds": round(wall, 2),
        "restore_seconds": inner,  # the CLI's own timer: without start-up and model load
        "x_real_time": round(duration / wall, 3),
        "si_sdr_noisy": round(float(si_sdr(noisy, clean)), 3),
        "si_sdr_restored": round(float(si_sdr(restored, clean)), 3),
        "seam_flux": flux,
    }
    print("\n| duration s | steps | threads | peak RSS MB | wall s | restore s | x real time |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {duration:.0f} | {args.steps} | {args.threads} | {report['peak_rss_mb']} | "
        f"{report['wall_seconds']} | {inner} | {report['x_real_time']} |"
    )
    print(f"\nseam flux ({flux['clean']['seams']} seams, +-{args.radius} frames)")
    print("| file | SI-SDR dB | flux at seams | elsewhere | ratio | percentile |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in flux.items():
        sdr = report.get(f"si_sdr_{name}", "-")
        cells = [f[k] for k in ("seam", "elsewhere", "ratio", "percentile")]
        print(f"| {name} | {sdr} | " + " | ".join(map(str, cells)) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
