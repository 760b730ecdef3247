"""Does a vocoder hold a steady note? RMS of its output over the input's, mid-clip.

    python scripts/steady_tones.py outputs/vocoder/run/model [--f0 220 250 261.6 440]

Each tone is 4 harmonics (amplitudes 0.3/k) lasting 3 s; the vocoder decodes the tone's own
mel and the middle second is compared: an RMS ratio near 1 means the note is held, near 0
means overlap-add cancels it (the failure of absolute-phase heads on steady input).
"""

from __future__ import annotations

import argparse
import math

import torch

from audiodiff.codecs.losses import MultiResolutionSTFTLoss
from audiodiff.training.export import load_codec


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vocoder", help="MelVocoder export folder")
    parser.add_argument("--f0", type=float, nargs="+", default=[220.0, 250.0, 261.6, 440.0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    codec = load_codec(args.vocoder).eval()
    sr = codec.sample_rate
    t = torch.arange(3 * sr) / sr
    mid = slice(sr, 2 * sr)
    distance = MultiResolutionSTFTLoss()
    print(f"{'f0 Hz':>8} {'RMS out/in':>11} {'MR-STFT':>8}")
    for f0 in args.f0:
        wav = sum(0.3 / k * torch.sin(2 * math.pi * k * f0 * t) for k in range(1, 5))[None, None]
        with torch.no_grad():
            out, _ = codec.reconstruct(wav)
        ratio = out[..., mid].pow(2).mean().sqrt() / wav[..., mid].pow(2).mean().sqrt()
        d = distance(out[..., mid], wav[..., mid]).item()
        print(f"{f0:8.1f} {ratio.item():11.3f} {d:8.3f}")


if __name__ == "__main__":
    main()
