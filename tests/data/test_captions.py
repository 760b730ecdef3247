"""The caption grammar (audiodiff.data.captions) and the synth set's caption option."""

import csv
from itertools import product

import numpy as np
import pytest

from audiodiff.data.captions import (
    ADJECTIVES,
    DYNAMICS,
    HELD_OUT,
    NOUNS,
    TEMPLATES,
    describe,
    phrasings,
    pitch_phrases,
)
from audiodiff.data.instruments import INSTRUMENTS
from audiodiff.data.synth import SynthSpec, build_synth, caption, make_clip
from audiodiff.errors import ConfigError
from audiodiff.nn.text import Tokenizer

PITCHES = range(48, 73)
VELOCITIES = (45, 85, 120)  # soft, medium, loud


def every(split: str) -> dict[tuple[str, ...], set[tuple]]:
    """Every caption ``split`` can write (as its words) -> the clips it can describe."""
    out: dict[tuple[str, ...], set[tuple]] = {}
    for name, inst in INSTRUMENTS.items():
        for pitch, velocity in product(PITCHES if inst.pitched else [None], VELOCITIES):
            for text in phrasings(name, pitch, velocity, split):
                out.setdefault(tuple(Tokenizer.split(text)), set()).add((name, pitch, velocity))
    return out


def test_the_grammar_covers_every_instrument_and_dynamics_class():
    assert set(NOUNS) == set(ADJECTIVES) == set(INSTRUMENTS)
    assert all(NOUNS[k][0] == inst.description for k, inst in INSTRUMENTS.items())
    assert {"soft", "quiet"} <= set(DYNAMICS["soft"]) and {"loud", "strong"} <= set(
        DYNAMICS["loud"]
    )
    assert pitch_phrases(60) == ("C4", "note C4", "MIDI 60", "middle C")
    assert pitch_phrases(57) == ("A3", "note A3", "MIDI 57")
    assert not set(TEMPLATES) & set(HELD_OUT)


def test_held_out_phrasings_are_never_produced_for_the_training_split():
    train, held_out = every("train"), every("held_out")
    assert len(train) > 5000 and len(held_out) > 2000
    assert not set(train) & set(held_out)  # not even after the tokenizer drops punctuation
    train_words = {w for words in train for w in words}
    assert {w for words in held_out for w in words} <= train_words  # only the order is new
    # and what describe draws is one of its split's phrasings
    for i in range(300):
        name = list(INSTRUMENTS)[i % len(INSTRUMENTS)]
        pitch = 48 + i % 25 if INSTRUMENTS[name].pitched else None
        for split, known in (("train", train), ("held_out", held_out)):
            words = tuple(Tokenizer.split(describe(name, pitch, VELOCITIES[i % 3], i, split)))
            assert (name, pitch, VELOCITIES[i % 3]) in known[words]


def test_describe_is_seeded_and_varied():
    a = [describe("bell", 60, 45, [0, i]) for i in range(200)]
    assert a == [describe("bell", 60, 45, [0, i]) for i in range(200)]
    assert len(set(a)) > 40
    assert any("middle C" in t for t in a) and any("MIDI 60" in t for t in a)
    assert any(t == "A bell" or t == "A chime" for t in a)  # partial descriptions
    assert all(t[0].isupper() for t in a)
    drums = {describe("kick", None, 120, i) for i in range(100)}
    assert not any("MIDI" in t or "note" in t for t in drums)
    with pytest.raises(ConfigError, match="caption split"):
        describe("bell", 60, 45, 0, split="test")


def test_synth_captions_option_changes_only_the_caption(tmp_path):
    fixed = SynthSpec(n=8)
    assert "captions" not in fixed.to_json()  # folders built before the option still match
    for split in ("train", "held_out"):
        spec = SynthSpec(n=8, captions=split)
        assert spec.to_json()["captions"] == split
        for i in range(8):
            wav, meta = make_clip(spec, i)
            ref, ref_meta = make_clip(fixed, i)
            np.testing.assert_array_equal(wav, ref)
            assert {k: v for k, v in meta.items() if k != "caption"} == {
                k: v for k, v in ref_meta.items() if k != "caption"
            }
            assert ref_meta["caption"] == caption(
                meta["instrument"], meta["pitch"], meta["velocity"]
            )
            options = set(phrasings(meta["instrument"], meta["pitch"], meta["velocity"], split))
            assert meta["caption"] in options
    with pytest.raises(ConfigError, match="synth captions"):
        SynthSpec(captions="other")
    out = build_synth(tmp_path / "ds", SynthSpec(n=4, max_seconds=1.0, captions="held_out"))
    with open(out / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    spec = SynthSpec(n=4, max_seconds=1.0, captions="held_out")
    assert [r["caption"] for r in rows] == [make_clip(spec, i)[1]["caption"] for i in range(4)]
