"""A caption grammar for the synth set: many phrasings of (instrument, pitch, dynamics).

A caption is a template with slots, each slot filled with one of its synonyms:

- ``{dyn}``: the dynamics, e.g. soft / quiet / gentle (velocity < 70);
- ``{inst}``: a noun phrase of the instrument, e.g. "FM bell" / "bell" / "chime";
- ``{adj}``: an adjective of the instrument, e.g. "plucked", "metallic" (partial captions:
  "something plucked in A3");
- ``{pitch}``: the note, e.g. "C4" / "note C4" / "MIDI 60" (and "middle C" for 60).

Templates without ``{pitch}`` describe part of a clip ("a bell", "a quiet kick drum"); only
those caption unpitched clips. ``TEMPLATES`` are the training phrasings, ``HELD_OUT`` word
orders no training caption has (built from the training words only), for a held-out
evaluation set: a model that only memorised strings will not follow them. ``describe`` draws
one caption from a seed; ``phrasings`` lists all a split can write. docs/text.md shows them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence

import numpy as np

from audiodiff.errors import ConfigError

SPLITS = ("train", "held_out")
_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

DYNAMICS: dict[str, tuple[str, ...]] = {
    "soft": ("soft", "quiet", "gentle"),
    "medium": ("medium", "moderate"),
    "loud": ("loud", "strong", "forceful"),
}
NOUNS: dict[str, tuple[str, ...]] = {  # the first is the instrument's description
    "pluck": ("plucked string", "string pluck", "pluck"),
    "bell": ("FM bell", "bell", "chime"),
    "organ": ("drawbar organ", "organ", "tonewheel organ"),
    "saw_lead": ("sawtooth lead synth", "saw lead", "lead synth"),
    "pad": ("warm synth pad", "synth pad", "pad"),
    "kick": ("kick drum", "kick", "bass drum"),
    "snare": ("snare drum", "snare"),
    "hihat": ("hi-hat", "closed hi-hat", "hat"),
}
ADJECTIVES: dict[str, tuple[str, ...]] = {
    "pluck": ("plucked",),
    "bell": ("metallic", "bell-like"),
    "organ": ("organ-like", "sustained"),
    "saw_lead": ("buzzy", "bright"),
    "pad": ("warm", "airy"),
    "kick": ("booming", "thumping"),
    "snare": ("snappy",),
    "hihat": ("sizzling", "ticking"),
}
TEMPLATES = (  # the training phrasings
    "a {dyn} {inst} playing {pitch}",
    "{pitch} on a {dyn} {inst}",
    "{dyn} {inst}, {pitch}",
    "a {inst} playing {pitch}, {dyn}",
    "something {adj} in {pitch}",
    "{inst} in {pitch}",
    "a {dyn} {inst}",
    "a {dyn} {inst} hit",
    "a {inst}",
    "something {adj} and {dyn}",
)
HELD_OUT = (  # other word orders of the same words
    "{pitch}, a {dyn} {inst}",
    "something {dyn} and {adj} in {pitch}",
    "a {inst}, {dyn}",
    "{dyn} {adj} {inst} in {pitch}",
)
_SLOT = re.compile(r"\{(\w+)\}")


def note_name(midi: int) -> str:
    """MIDI note number -> scientific pitch name, e.g. 60 -> 'C4', 69 -> 'A4'."""
    return f"{_NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def dynamics(velocity: int) -> str:
    """Velocity -> 'soft' (< 70), 'medium' (< 100) or 'loud'."""
    return "soft" if velocity < 70 else "medium" if velocity < 100 else "loud"


def pitch_phrases(midi: int) -> tuple[str, ...]:
    """The ways to name a note: 'C4', 'note C4', 'MIDI 60' (and 'middle C' for 60)."""
    name = note_name(midi)
    return (name, f"note {name}", f"MIDI {midi}") + (("middle C",) if midi == 60 else ())


def templates(split: str) -> tuple[str, ...]:
    """The templates of ``split`` ('train' or 'held_out')."""
    if split not in SPLITS:
        raise ConfigError(f"caption split must be one of {', '.join(SPLITS)}, got {split!r}")
    return TEMPLATES if split == "train" else HELD_OUT


def _choices(instrument: str, pitch: int | None, velocity: int) -> dict[str, Sequence[str]]:
    if instrument not in NOUNS:
        raise ConfigError(f"no caption words for instrument {instrument!r}")
    slots = {
        "dyn": DYNAMICS[dynamics(velocity)],
        "inst": NOUNS[instrument],
        "adj": ADJECTIVES[instrument],
    }
    if pitch is not None:
        slots["pitch"] = pitch_phrases(pitch)
    return slots


def _usable(split: str, slots: dict[str, Sequence[str]]) -> list[str]:
    return [t for t in templates(split) if set(_SLOT.findall(t)) <= set(slots)]


def _sentence(text: str) -> str:
    text = re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", r"\1n ", text)  # "a organ" -> "an organ"
    return text[0].upper() + text[1:]


def describe(
    instrument: str,
    pitch: int | None,
    velocity: int,
    seed: int | Sequence[int],
    split: str = "train",
) -> str:
    """One caption of the clip, drawn with ``np.random.default_rng(seed)``: a template of
    ``split`` the clip can fill (no ``{pitch}`` for a drum), then a synonym per slot."""
    rng = np.random.default_rng(seed)
    slots = _choices(instrument, pitch, velocity)
    template = str(rng.choice(_usable(split, slots)))
    words = {name: str(rng.choice(options)) for name, options in slots.items()}
    return _sentence(template.format(**words))


def phrasings(instrument: str, pitch: int | None, velocity: int, split: str) -> Iterator[str]:
    """Every caption ``describe`` can write for these attributes in ``split``."""
    slots = _choices(instrument, pitch, velocity)
    for template in _usable(split, slots):
        names = list(dict.fromkeys(_SLOT.findall(template)))
        for values in itertools.product(*(slots[n] for n in names)):
            yield _sentence(template.format(**dict(zip(names, values, strict=True))))
