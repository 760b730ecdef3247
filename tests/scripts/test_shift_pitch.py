"""scripts/shift_pitch.py: shifted copies play at the labelled pitch, timings follow."""

import csv

import numpy as np
import pytest

from audiodiff.audio.io import load, save
from audiodiff.errors import ConfigError

SR = 16000


def _tone(midi: int, seconds: float = 1.0) -> np.ndarray:
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


def _peak_midi(wav: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(wav * np.hanning(len(wav)), n=8 * len(wav)))
    f = np.argmax(spectrum) * SR / (8 * len(wav))
    return 69 + 12 * np.log2(f / 440.0)


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "notes"
    (root / "a").mkdir(parents=True)
    save(root / "a" / "n.wav", _tone(60)[None], SR)
    save(root / "a" / "p.wav", _tone(67)[None], SR)
    save(root / "a" / "d.wav", np.zeros((1, SR), np.float32), SR)
    rows = [
        {"path": "a/n.wav", "kind": "note", "main_pitch": "60", "onsets": "0.010"},
        {"path": "a/p.wav", "kind": "phrase", "main_pitch": "67", "onsets": "0.000 0.500"},
        {"path": "a/d.wav", "kind": "drums", "main_pitch": "", "onsets": "0.000"},
    ]
    with open(root / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_copies_are_at_their_new_label(load_script, folder, tmp_path):
    out = tmp_path / "shifted"
    script = load_script("shift_pitch")
    args = ["--data", str(folder), "--out", str(out), "--semitones", "-2", "3", "--kinds", "note"]
    assert script.main(args) == 0
    rows = list(csv.DictReader(open(out / "metadata.csv")))
    assert [(r["path"], r["main_pitch"], r["shift"]) for r in rows] == [
        ("a/n.wav", "60", "0"),
        ("a/n_shift-2.wav", "58", "-2"),
        ("a/n_shift+3.wav", "63", "3"),
        ("a/p.wav", "67", "0"),  # not a note: only the original
        ("a/d.wav", "", "0"),  # no pitch: only the original
    ]
    for row in rows:
        wav, sr = load(out / row["path"])
        assert sr == SR
        if row["main_pitch"]:
            assert abs(_peak_midi(wav[0].numpy()) - int(row["main_pitch"])) < 0.1, row
    up = next(r for r in rows if r["shift"] == "3")
    ratio = 2 ** (3 / 12)
    assert float(up["onsets"]) == pytest.approx(0.010 / ratio, abs=1e-3)
    assert load(out / up["path"])[0].shape[-1] == pytest.approx(SR / ratio, abs=2)
    with pytest.raises(ConfigError, match="already holds"):
        script.main(args)
    with pytest.raises(ConfigError, match="0 is the original"):
        script.main(["--data", str(folder), "--out", str(tmp_path / "x"), "--semitones", "0"])
