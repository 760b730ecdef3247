"""Benchmark waveform decoders: Griffin-Lim, a trained vocoder, a trained autoencoder.

    python scripts/bench_decoders.py --clips data/synth_heldout --name synth
    python scripts/bench_decoders.py --clips data/synth_heldout --name synth \
        --vocoder outputs/vocoder/run/model --autoencoder outputs/autoencoder/run/model
    python scripts/bench_decoders.py --clips data/speech_heldout --name speech --speech ...

Quality: ``--n`` held-out clips (spread evenly over the sorted folder), each cropped or
zero-padded to ``--seconds`` (rounded down to whole frames), are reconstructed one at a time:
Griffin-Lim decodes the clip's mel, the vocoder decodes the mel of its own training settings,
the autoencoder decodes the posterior mean of its latents. Outputs are clipped to [-1, 1] as a
written file would be. Per decoder: mean multi-resolution STFT distance, mel L1 (mean |log-mel
out - log-mel in| in nats, HiFi-GAN's L_mel, on one fixed 80-bin mel for every decoder), LSD,
with ``--pitch`` the fraction of pitched clips (pyin finds a median f0 in the input) whose
output keeps that median f0 within 50 cents ("pitch kept"), and with ``--speech`` wideband
PESQ and STOI (when ``pesq``/``pystoi`` are installed). ``--sheet PNG`` draws the log-mels
of ``--sheet-clips`` clips spread over the set: the input, then each decoder's output.
Speed: decode only (mel -> wav, or latents -> wav) of a ``--speed-seconds`` input at batch 1,
one warm-up then the median of ``--repeats``, as x real time; encode time likewise (the mel
for Griffin-Lim and the vocoder, the encoder for the autoencoder). A decoder whose export is
not given or not found is skipped with a note.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from benchlib import machine, report
from rich.console import Console
from rich.progress import track
from torch import Tensor, nn

from audiodiff.audio.io import find_audio, load
from audiodiff.audio.mel import MelRepresentation
from audiodiff.codecs.losses import MelLoss
from audiodiff.errors import ConfigError
from audiodiff.metrics.paired import (
    log_spectral_distance,
    multi_resolution_stft_distance,
    optional_metrics_available,
    pesq_score,
    stoi_score,
)
from audiodiff.metrics.pitch import HIT_CENTS, cents, pitch_stats
from audiodiff.training.export import load_codec
from audiodiff.viz import save_spectrogram_sheet

COLUMNS = [
    "decoder",
    "params",
    "decode x RT",
    "MR-STFT",
    "mel L1",
    "LSD",
    "pitch kept",
    "PESQ",
    "STOI",
]


class Decoder:
    """One decoder under test: ``encode`` wav [1, 1, N] -> features, ``decode`` back to wav."""

    def __init__(
        self,
        name: str,
        encode: Callable[[Tensor], Tensor],
        decode: Callable[[Tensor], Tensor],
        params: int,
        hop_length: int,
        export: str | None = None,
        label: str | None = None,
    ) -> None:
        self.name = name
        self.label = label or name
        self.encode = encode
        self.decode = decode
        self.params = params
        self.hop_length = hop_length
        self.export = export


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def griffin_lim(sample_rate: int, iters: int, device: str) -> Decoder:
    mel = MelRepresentation(sample_rate=sample_rate, griffin_lim_iters=iters).to(device)
    label = f"griffin_lim ({iters} it)"
    return Decoder("griffin_lim", mel.encode, mel.decode, 0, mel.hop_length, label=label)


def load_decoder(kind: str, path: str | None, sample_rate: int, device: str, notes: list[str]):
    """The vocoder or autoencoder export at ``path``; None (and a note) when it is missing."""
    if path is None:
        notes.append(f"{kind}: no export given (--{kind} PATH), skipped")
        return None
    if not Path(path).exists():
        notes.append(f"{kind}: {path} not found, skipped")
        return None
    codec = load_codec(path).to(device).eval().requires_grad_(False)
    if kind == "vocoder" and not hasattr(codec, "vocoder"):
        raise ConfigError(f"{path}: not a vocoder export (it holds a {type(codec).__name__})")
    if kind == "autoencoder" and not hasattr(codec, "latent_representation"):
        raise ConfigError(f"{path}: not an autoencoder export (it holds a {type(codec).__name__})")
    if codec.sample_rate != sample_rate:
        raise ConfigError(f"{path}: the {kind} runs at {codec.sample_rate} Hz, not {sample_rate}")
    if kind == "vocoder":  # the mel of the vocoder's own training settings
        return Decoder(
            kind, codec.encode, codec.decode, count(codec.vocoder), codec.hop_length, path
        )
    # the posterior mean, as AutoencoderCodec.reconstruct does in eval mode
    ae = codec.autoencoder
    return Decoder(kind, codec.encode, codec.decode, count(ae.decoder), codec.hop_length, path)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], repeats: int, device: str) -> float:
    """Median seconds of ``repeats`` calls after one warm-up."""
    fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def crop(wav: Tensor, n: int) -> Tensor:
    # wav: [1, M] -> [1, n], cropped or zero-padded at the end
    return wav[:, :n] if wav.shape[-1] >= n else nn.functional.pad(wav, (0, n - wav.shape[-1]))


def pick(files: list[Path], n: int) -> list[Path]:
    """``n`` files spread evenly over the sorted list (a folder per class sorts by class)."""
    if n >= len(files):
        return files
    return [files[i * len(files) // n] for i in range(n)]


def mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def pitch_kept(est: Tensor, ref_hz: float | None, sr: int) -> float | None:
    """1.0 when the output's median f0 is within 50 cents of the input's, None if unpitched."""
    if ref_hz is None:
        return None
    est_hz = pitch_stats(est, sr)["median_hz"]
    return float(est_hz is not None and abs(cents(est_hz, ref_hz)) <= HIT_CENTS)


def params(count: int) -> str:
    return f"{count / 1e6:.2f}M" if count >= 100_000 else f"{count / 1e3:.1f}k" if count else "0"


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", required=True, help="folder of held-out audio clips")
    parser.add_argument("--vocoder", default=None, help="MelVocoder export folder")
    parser.add_argument("--autoencoder", default=None, help="AutoencoderCodec export folder")
    parser.add_argument("--name", default=None, help="used in the output name (default: folder)")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--gl-iters", type=int, default=MelRepresentation().griffin_lim_iters)
    parser.add_argument("--speech", action="store_true", help="also PESQ (wb) and STOI")
    parser.add_argument("--pitch", action="store_true", help="also pitch kept (pyin, 50 cents)")
    parser.add_argument(
        "--sheet", default=None, help="PNG of log-mels: input and each decoder, --sheet-clips rows"
    )
    parser.add_argument("--sheet-clips", type=int, default=4)
    parser.add_argument("--speed-seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    parser.add_argument("--out", default=None, help="JSON (default outputs/bench/decoders_NAME)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    name = args.name or Path(args.clips).name
    out = Path(args.out or f"outputs/bench/decoders_{name}.json")
    sr, device = args.sample_rate, args.device
    console = Console()

    notes: list[str] = []
    decoders = [griffin_lim(sr, args.gl_iters, device)]
    for kind, path in (("vocoder", args.vocoder), ("autoencoder", args.autoencoder)):
        try:
            dec = load_decoder(kind, path, sr, device, notes)
        except ConfigError as e:
            parser.error(str(e))
        if dec is not None:
            decoders.append(dec)
    for note in notes:
        console.print(note)
    speech = {"pesq": False, "stoi": False}
    if args.speech:
        speech = optional_metrics_available()
        notes += [f"{k}: not installed, not scored" for k, ok in speech.items() if not ok]

    files = pick(find_audio(args.clips), args.n)
    if not files:
        parser.error(f"{args.clips}: no audio files")
    hop = math.lcm(*(d.hop_length for d in decoders))
    n = int(args.seconds * sr) // hop * hop
    if n < MelRepresentation().n_fft:
        parser.error(f"--seconds {args.seconds} is shorter than one 1024-sample FFT frame")
    log_mel = MelLoss(MelRepresentation(sample_rate=sr)).to(device).log_mel  # the mel L1 yardstick

    scores: dict[str, dict[str, list]] = {d.name: {} for d in decoders}
    images: list[Tensor] = []  # per sheet row: input, then each decoder's output
    titles: list[str] = []
    with torch.inference_mode():
        sheet_rows = {i * len(files) // args.sheet_clips for i in range(args.sheet_clips)}
        for i, path in enumerate(track(files, description="reconstructing", console=console)):
            ref = crop(load(path, sample_rate=sr)[0], n)[None].to(device)  # [1, 1, N]
            ref_mel = log_mel(ref)
            ref_hz = pitch_stats(ref[0, 0], sr)["median_hz"] if args.pitch else None
            row = args.sheet is not None and i in sheet_rows
            if row:
                images.append(ref_mel[0].cpu())
                titles.append(f"{path.parent.name}/{path.name}: input")
            for d in decoders:
                torch.manual_seed(0)  # whatever randomness a decoder has, the same every clip
                est = d.decode(d.encode(ref))[..., :n].nan_to_num(0.0, 0.0, 0.0).clamp(-1, 1)
                got = {
                    "mr_stft": multi_resolution_stft_distance(est[:, 0], ref[:, 0]).item(),
                    "mel_l1": (log_mel(est) - ref_mel).abs().mean().item(),
                    "lsd": log_spectral_distance(est[:, 0], ref[:, 0]).item(),
                    "pesq": pesq_score(est[0, 0], ref[0, 0], sr) if speech["pesq"] else None,
                    "stoi": stoi_score(est[0, 0], ref[0, 0], sr) if speech["stoi"] else None,
                    "pitch_kept": pitch_kept(est[0, 0], ref_hz, sr),
                }
                for key, value in got.items():
                    scores[d.name].setdefault(key, []).append(value)
                if row:
                    images.append(log_mel(est)[0].cpu())
                    titles.append(f"{d.name} (MR-STFT {got['mr_stft']:.2f})")

        # speed on a long input made of the clips themselves, repeated
        first = crop(load(files[0], sample_rate=sr)[0], n)
        total = int(args.speed_seconds * sr) // hop * hop
        long = first.repeat(1, math.ceil(total / n))[:, :total][None].to(device)  # [1, 1, N]
        rows = []
        for d in decoders:
            feats = d.encode(long)
            t_enc = timed(lambda d=d: d.encode(long), args.repeats, device)
            t_dec = timed(lambda d=d, f=feats: d.decode(f), args.repeats, device)
            seconds = total / sr
            rows.append(
                {
                    "decoder": d.name,
                    "label": d.label,
                    "export": d.export,
                    "params": d.params,
                    "decode_x_realtime": seconds / t_dec,
                    "encode_x_realtime": seconds / t_enc,
                    **{k: mean(v) for k, v in scores[d.name].items()},
                }
            )

    result = {
        **machine(device),
        "clips": str(args.clips),
        "n": len(files),
        "seconds": n / sr,
        "sample_rate": sr,
        "speed_seconds": total / sr,
        "repeats": args.repeats,
        "speech": args.speech,
        "pitch": args.pitch,
        "griffin_lim_iters": args.gl_iters,
        "notes": notes,
        "rows": rows,
    }
    table = [
        [
            r["label"],
            params(r["params"]),
            f"{r['decode_x_realtime']:.1f}",
            fmt(r["mr_stft"]),
            fmt(r["mel_l1"]),
            fmt(r["lsd"]),
            fmt(r["pitch_kept"], 2),
            fmt(r["pesq"], 2),
            fmt(r["stoi"], 2),
        ]
        for r in rows
    ]
    if args.sheet and images:
        frame_rate = sr / MelRepresentation(sample_rate=sr).hop_length
        sheet = save_spectrogram_sheet(
            args.sheet,
            images,
            titles,
            frame_rate=frame_rate,
            ncols=1 + len(decoders),
            colorbar_label="log-mel (nats)",
        )
        console.print(f"sheet: {sheet}")
    title = f"decoders: {len(files)} clips x {n / sr:.2f} s of {name}"
    report(result, out, title, COLUMNS, table)
    console.print(
        f"speed: {total / sr:.0f} s input at batch 1, median of {args.repeats}, "
        f"{result['device']}, {result['threads']} threads"
    )
    for r in rows:
        if r["decoder"] == "autoencoder":
            console.print(f"autoencoder encode: {r['encode_x_realtime']:.1f}x real time")


if __name__ == "__main__":
    main()
