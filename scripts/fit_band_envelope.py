"""Fit the band-level predictor of bandwidth extension for a model trained without one.

    python scripts/fit_band_envelope.py --model outputs/bandwidth_speech/run/model \\
        --data data/speech [--n 400]

Training with ``band_envelope=true`` (the bandwidth and multi-task recipes) fits it on the
training clips before the first step. This script does the same for a model folder that
lacks it: it reads the clean clips of ``--data`` (the model's training folder), brings each
to the model's training level (``data.loudness_db``), takes ``data.segment_seconds`` from its
start, and adds ``band_envelope`` to the model's config.yaml (``--force`` replaces one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from audiodiff.audio.io import find_audio, load
from audiodiff.audio.loudness import normalize_loudness
from audiodiff.restore.envelope import BandEnvelope


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="an export folder (config.yaml)")
    parser.add_argument("--data", type=Path, required=True, help="the clean training clips")
    parser.add_argument("--n", type=int, default=400, help="at most this many clips")
    parser.add_argument("--force", action="store_true", help="replace an existing envelope")
    args = parser.parse_args(argv)
    config_path = args.model / "config.yaml"
    if not config_path.is_file():
        print(f"error: {config_path}: not found", file=sys.stderr)
        return 2
    config = yaml.safe_load(config_path.read_text())
    if config.get("band_envelope") and not args.force:
        print(f"error: {config_path} has a band_envelope (--force replaces it)", file=sys.stderr)
        return 2
    files = find_audio(args.data)[: args.n]
    if not files:
        print(f"error: {args.data}: no audio files", file=sys.stderr)
        return 2
    rate = int(config["representation"]["sample_rate"])
    data = config.get("data") or {}
    level, seconds = data.get("loudness_db"), float(data.get("segment_seconds") or 4.0)

    def clips():
        for path in files:
            wav, _ = load(path, rate)
            wav = wav[:1, : round(seconds * rate)]
            yield wav if level is None else normalize_loudness(wav, float(level))

    envelope = BandEnvelope.fit(clips(), rate)
    config["band_envelope"] = envelope.to_dict()
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"{config_path}: band_envelope from {len(files)} clips, {envelope.frames} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
