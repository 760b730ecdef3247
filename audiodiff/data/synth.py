"""Built-in procedural dataset: labelled notes from ``instruments.INSTRUMENTS``.

Clip i depends only on (seed, i), so datasets of different sizes share their first clips.
Layout written by ``build_synth``::

    out_dir/<instrument>/<index:05d>.wav   16-bit mono WAV at spec.sample_rate
    out_dir/synth.json                     the spec (and generator version)
    out_dir/metadata.csv                   path,instrument,pitch,velocity,caption,duration

``captions="fixed"`` (the default) writes one caption per clip ("A loud plucked string playing
C4 (MIDI 60)."); "train" and "held_out" draw it from the caption grammar's training or held-out
phrasings (``audiodiff.data.captions``, docs/text.md), from a seed of its own: the audio and
the other columns are the same whichever is chosen.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from audiodiff.audio.io import save
from audiodiff.data.captions import SPLITS, describe, dynamics, note_name
from audiodiff.data.instruments import INSTRUMENTS
from audiodiff.errors import ConfigError
from audiodiff.fileio import write_text

# Bump when the generators change so that old folders are not silently reused.
SYNTH_VERSION = 1
COLUMNS = ("path", "instrument", "pitch", "velocity", "caption", "duration")
CAPTIONS = ("fixed", *SPLITS)  # SynthSpec.captions
_CAPTION_STREAM = 1  # the caption's seed is (seed, index, 1): the audio's draws are untouched


@dataclass
class SynthSpec:
    """What to generate; ``instruments`` are keys of ``INSTRUMENTS`` (default: all)."""

    n: int = 800
    sample_rate: int = 16000
    seed: int = 0
    min_seconds: float = 1.0
    max_seconds: float = 2.0
    pitch_low: int = 48
    pitch_high: int = 72
    instruments: tuple[str, ...] = field(default_factory=lambda: tuple(INSTRUMENTS))
    captions: str = "fixed"  # or "train" / "held_out": phrasings of the caption grammar

    def __post_init__(self) -> None:
        self.instruments = tuple(self.instruments)
        unknown = [name for name in self.instruments if name not in INSTRUMENTS]
        if unknown or not self.instruments:
            raise ConfigError(
                f"synth instruments must be a non-empty subset of {', '.join(INSTRUMENTS)};"
                f" got {list(self.instruments)}"
            )
        if self.n < 1 or self.sample_rate < 1000:
            raise ConfigError(f"synth needs n >= 1 and sample_rate >= 1000, got {self}")
        if not 0.1 <= self.min_seconds <= self.max_seconds:
            raise ConfigError(f"synth needs 0.1 <= min_seconds <= max_seconds, got {self}")
        if not 0 <= self.pitch_low <= self.pitch_high <= 127:
            raise ConfigError(f"synth needs 0 <= pitch_low <= pitch_high <= 127, got {self}")
        if self.captions not in CAPTIONS:
            raise ConfigError(
                f"synth captions must be one of {', '.join(CAPTIONS)}, got {self.captions!r}"
            )
        if midi_to_hz(self.pitch_high) >= self.sample_rate / 4:
            raise ConfigError(
                f"synth pitch_high {self.pitch_high} is too high for sample_rate"
                f" {self.sample_rate} (its f0 must be below sample_rate / 4)"
            )

    def to_json(self) -> dict[str, Any]:
        """The spec as written to synth.json (with the generator version); ``captions`` only
        when not "fixed", so a folder built before that field existed still matches."""
        spec = {**dataclasses.asdict(self), "instruments": list(self.instruments)}
        if self.captions == "fixed":
            del spec["captions"]
        return spec | {"version": SYNTH_VERSION}


def midi_to_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12)


def caption(instrument: str, pitch: int | None, velocity: int) -> str:
    """E.g. 'A loud plucked string playing C4 (MIDI 60).' or 'A soft kick drum hit.'"""
    desc = INSTRUMENTS[instrument].description
    if pitch is None:
        return f"A {dynamics(velocity)} {desc} hit."
    return f"A {dynamics(velocity)} {desc} playing {note_name(pitch)} (MIDI {pitch})."


def make_clip(spec: SynthSpec, index: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Clip ``index``: (wav float32 [N], meta {instrument, pitch, velocity, caption}).

    Deterministic in (spec.seed, index); the instrument cycles through spec.instruments. The
    caption follows ``spec.captions`` (the wav and the labels do not depend on it).
    """
    rng = np.random.default_rng([spec.seed, index])
    inst = INSTRUMENTS[spec.instruments[index % len(spec.instruments)]]
    pitch = int(rng.integers(spec.pitch_low, spec.pitch_high + 1))
    velocity = int(rng.integers(40, 128))
    duration = round(float(rng.uniform(spec.min_seconds, spec.max_seconds)), 1)
    pitch_or_none = pitch if inst.pitched else None
    hz = midi_to_hz(pitch) if inst.pitched else None
    wav = inst.fn(hz, duration, velocity, spec.sample_rate, rng)  # [round(duration * sr)]
    meta = {
        "instrument": inst.name,
        "pitch": pitch_or_none,
        "velocity": velocity,
        "caption": caption(inst.name, pitch_or_none, velocity)
        if spec.captions == "fixed"
        else describe(
            inst.name, pitch_or_none, velocity, [spec.seed, index, _CAPTION_STREAM], spec.captions
        ),
    }
    return wav, meta


def _is_built(out_dir: Path, spec: SynthSpec, overwrite: bool) -> bool:
    """True when out_dir holds a complete build of spec; raises ConfigError on a mismatch."""
    csv_path, json_path = out_dir / "metadata.csv", out_dir / "synth.json"
    if not csv_path.exists():
        ours = {*INSTRUMENTS, "synth.json", "vocab.json", ".cache"}  # an unfinished build
        names = [p.name for p in out_dir.iterdir()] if out_dir.is_dir() else []
        foreign = sorted(name for name in names if name not in ours)
        if foreign:  # never write the synth set into someone's data
            raise ConfigError(
                f"{out_dir}: not a synth folder (it holds {foreign[0]!r} and no metadata.csv);"
                " the synth set is built only into an empty or new folder"
            )
        return False
    try:
        old = json.loads(json_path.read_text())
    except (OSError, ValueError):
        old = None
    if not isinstance(old, dict):  # never delete files in a folder synth did not write
        raise ConfigError(
            f"{out_dir} has a metadata.csv but no valid synth.json; not a synth folder"
        )
    new = spec.to_json()
    if old == new:
        return True
    if not overwrite:
        diff = ", ".join(
            f"{k}={old.get(k)!r} (requested {v!r})" for k, v in new.items() if old.get(k) != v
        )
        raise ConfigError(
            f"{out_dir} holds a different synth dataset ({diff});"
            " pass overwrite=True or choose another folder"
        )
    with open(csv_path, newline="") as f:  # remove the old clips, then mark as incomplete
        for row in csv.DictReader(f):
            if re.fullmatch(r"\w+/\d{5}\.wav", row.get("path") or ""):
                (out_dir / row["path"]).unlink(missing_ok=True)
    csv_path.unlink()
    return False


def build_synth(
    out_dir: str | Path,
    spec: SynthSpec | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write spec.n clips, synth.json and (last, atomically) metadata.csv; returns out_dir.

    A folder that already holds this spec is left as is; one holding another spec raises
    ConfigError unless ``overwrite``.
    """
    spec = spec or SynthSpec()
    out_dir = Path(out_dir)
    if _is_built(out_dir, spec, overwrite):
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"synth -> {out_dir}", total=spec.n)
        for i in range(spec.n):
            wav, meta = make_clip(spec, i)
            rel = f"{meta['instrument']}/{i:05d}.wav"
            save(out_dir / rel, wav, spec.sample_rate, overwrite=True)
            pitch = "" if meta["pitch"] is None else meta["pitch"]
            duration = round(len(wav) / spec.sample_rate, 4)
            rows.append(
                [rel, meta["instrument"], pitch, meta["velocity"], meta["caption"], duration]
            )
            bar.advance(task)
    write_text(out_dir / "synth.json", json.dumps(spec.to_json(), indent=2) + "\n")
    buf = io.StringIO()
    csv.writer(buf).writerows([COLUMNS, *rows])
    write_text(out_dir / "metadata.csv", buf.getvalue())
    return out_dir


def ensure_synth(out_dir: str | Path, spec: SynthSpec | None = None) -> Path:
    """Build the dataset at out_dir unless it is already there; returns out_dir."""
    return build_synth(out_dir, spec, overwrite=False)
