"""``audiodiff data synth``: write the built-in synthetic dataset."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig

from audiodiff.data.synth import SynthSpec, build_synth


@dataclass
class Options:
    out: str
    n: int
    seed: int
    sample_rate: int
    min_seconds: float
    max_seconds: float
    pitch_low: int
    pitch_high: int
    captions: str = "fixed"
    overwrite: bool = False


def run(cfg: DictConfig) -> None:
    spec = SynthSpec(
        n=cfg.n,
        sample_rate=cfg.sample_rate,
        seed=cfg.seed,
        min_seconds=cfg.min_seconds,
        max_seconds=cfg.max_seconds,
        pitch_low=cfg.pitch_low,
        pitch_high=cfg.pitch_high,
        captions=cfg.captions,
    )
    out = build_synth(cfg.out, spec, overwrite=cfg.overwrite)
    print(f"synth set: {spec.n} clips at {spec.sample_rate} Hz in {out} (metadata.csv)")
