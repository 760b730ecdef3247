"""Where a mel decoder loses quality: in its magnitude or in its phase (oracle swaps).

    python scripts/phase_oracle.py --clips data/speech_heldout --n 24 --seconds 2
    python scripts/phase_oracle.py --clips data/speech_heldout --n 24 --seconds 2 \
        --vocoder outputs/vocoder_speech/run/model

Each clip's centred STFT (n_fft 1024, hop 256, the vocoder's) is split into magnitude and
phase, and waveforms are rebuilt from mixes of the input's, the mel's and the vocoder's:

- input magnitude + input phase: the ceiling (PESQ 4.64, not 4.5: the wideband mapping);
- input magnitude + the input's phase *advances* summed over frames from zero: what a head
  that predicts exact increments could reach without anything anchoring the bins of one
  partial to each other;
- the same advances, locked to the nearest magnitude peak with the Hann lobe's pi
  alternation (``phase_lock``; no learned offsets);
- the mel's non-negative least-squares magnitude + input phase: what the 80-bin mel keeps;
- Griffin-Lim on that magnitude (the bench's baseline);
- with ``--vocoder``: its output, its magnitude with the input phase, the input magnitude
  with its phase.

Scores per mix: multi-resolution STFT distance and, when ``pesq`` is installed, wideband PESQ.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from bench_decoders import crop, fmt, mean, pick
from benchlib import machine, report
from rich.progress import track
from torch import Tensor

from audiodiff.audio.griffinlim import griffin_lim
from audiodiff.audio.io import find_audio, load
from audiodiff.audio.mel import MelRepresentation
from audiodiff.audio.spectral import istft, stft
from audiodiff.codecs.phase_lock import lobe_offset, locked_phase, peak_owner
from audiodiff.metrics.paired import (
    multi_resolution_stft_distance,
    optional_metrics_available,
    pesq_score,
)
from audiodiff.training.export import load_codec

COLUMNS = ["magnitude", "phase", "MR-STFT", "PESQ"]


def mixes(ref: Tensor, mel: MelRepresentation, vocoder) -> dict[tuple[str, str], Tensor]:
    """ref: [1, 1, N] -> {(magnitude, phase): wav [1, N]} for every mix the clip gets."""
    n = ref.shape[-1]
    window = torch.hann_window(mel.n_fft)
    x = mel.encode(ref)
    frames = x.shape[-1]
    spec = stft(ref[:, 0], mel.n_fft, mel.hop_length, window)[..., :frames]
    mag, phase = spec.abs(), spec.angle()

    def rebuild(m: Tensor, p: Tensor) -> Tensor:
        return istft(torch.polar(m, p), mel.n_fft, mel.hop_length, window, n)

    advance = torch.diff(phase, dim=-1, prepend=torch.zeros_like(phase[..., :1]))
    advance[..., 0] = 0.0  # every bin starts at phase 0
    owner = peak_owner(mag)
    nnls = mel.to_linear_magnitude(mel.to_mel_magnitude(x))
    padded = torch.cat([nnls, nnls[..., -1:]], dim=-1)  # Griffin-Lim takes the last frame too
    out = {
        ("input", "input"): rebuild(mag, phase),
        ("input", "input advances, summed"): rebuild(mag, advance.cumsum(-1)),
        ("input", "input advances, locked"): rebuild(
            mag, locked_phase(advance, lobe_offset(owner, torch.zeros_like(mag)), owner)
        ),
        ("mel NNLS", "input"): rebuild(nnls, phase),
        ("mel NNLS", f"Griffin-Lim {mel.griffin_lim_iters} it"): griffin_lim(
            padded,
            mel.n_fft,
            mel.hop_length,
            window,
            n,
            n_iter=mel.griffin_lim_iters,
            momentum=mel.griffin_lim_momentum,
            generator=torch.Generator().manual_seed(0),
        ),
    }
    if vocoder is not None:
        log_mag, voc_phase = vocoder.spectrum(x)
        voc_mag = torch.exp(log_mag.clamp(max=vocoder.max_log_magnitude))
        out[("vocoder", f"vocoder ({vocoder.phase})")] = rebuild(voc_mag, voc_phase)
        out[("vocoder", "input")] = rebuild(voc_mag, phase)
        out[("input", f"vocoder ({vocoder.phase})")] = rebuild(mag, voc_phase)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", required=True, help="folder of held-out audio clips")
    parser.add_argument("--vocoder", help="MelVocoder export folder")
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--threads", type=int, help="CPU threads (default: all)")
    parser.add_argument("--out", help="JSON (default outputs/bench/phase_oracle_FOLDER.json)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    vocoder, mel = None, MelRepresentation()
    if args.vocoder:
        if not (Path(args.vocoder) / "config.yaml").is_file():
            parser.error(f"--vocoder {args.vocoder}: no codec export there (config.yaml)")
        codec = load_codec(args.vocoder).eval()
        if not hasattr(codec, "vocoder"):
            parser.error(f"--vocoder {args.vocoder}: not a mel vocoder export")
        vocoder, mel = codec.vocoder, codec.mel
    files = pick(find_audio(args.clips), args.n)
    if not files:
        parser.error(f"{args.clips}: no audio files")
    sr = mel.sample_rate
    n = int(args.seconds * sr) // mel.hop_length * mel.hop_length
    if n < mel.n_fft:
        parser.error(f"--seconds {args.seconds} is shorter than one {mel.n_fft}-sample frame")
    has_pesq = optional_metrics_available()["pesq"]

    scores: dict[tuple[str, str], dict[str, list]] = {}
    with torch.inference_mode():
        for path in track(files, description="rebuilding"):
            ref = crop(load(path, sample_rate=sr)[0], n)[None]  # [1, 1, N]
            for key, wav in mixes(ref, mel, vocoder).items():
                est = wav[..., :n].clamp(-1, 1)
                got = scores.setdefault(key, {"mr_stft": [], "pesq": []})
                got["mr_stft"].append(multi_resolution_stft_distance(est, ref[:, 0]).item())
                got["pesq"].append(pesq_score(est[0], ref[0, 0], sr) if has_pesq else None)

    rows = [
        {
            "magnitude": m,
            "phase": p,
            "mr_stft": mean(s["mr_stft"]),
            "pesq": mean(s["pesq"]),
        }
        for (m, p), s in scores.items()
    ]
    result = {
        **machine(),
        "clips": args.clips,
        "n": len(files),
        "seconds": n / sr,
        "vocoder": args.vocoder,
        "rows": rows,
    }
    table = [[r["magnitude"], r["phase"], fmt(r["mr_stft"]), fmt(r["pesq"], 2)] for r in rows]
    out = args.out or f"outputs/bench/phase_oracle_{Path(args.clips).name}.json"
    report(
        result, out, f"magnitude/phase swaps: {len(files)} clips x {n / sr:.2f} s", COLUMNS, table
    )
    if not has_pesq:
        print("pesq: not installed, not scored")


if __name__ == "__main__":
    main()
