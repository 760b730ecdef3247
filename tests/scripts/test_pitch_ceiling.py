"""scripts/pitch_ceiling.py: hits per instrument for the real clips and each round trip."""

import csv
import json

import numpy as np
import pytest

from audiodiff.audio.io import save
from audiodiff.errors import ConfigError

SR = 16000


def _harmonic_note(midi: int, seconds: float = 0.5) -> np.ndarray:
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    t = np.arange(int(seconds * SR)) / SR
    wav = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5))
    return (0.2 * wav).astype(np.float32)


@pytest.fixture()
def notes(tmp_path):
    root = tmp_path / "notes"
    root.mkdir()
    rows = [  # the last note is labelled 4 semitones off: a miss for every column
        ("flute", "note", 72, 72),
        ("flute", "note", 79, 79),
        ("horn", "note", 60, 60),
        ("horn", "note", 64, 60),
        ("horn", "phrase", 62, 62),  # not a note: not scored
    ]
    with open(root / "metadata.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "instrument", "kind", "main_pitch"])
        for i, (inst, kind, label, played) in enumerate(rows):
            save(root / f"{i}.wav", _harmonic_note(played)[None], SR)
            writer.writerow([f"{i}.wav", inst, kind, label])
    return root


def test_counts_per_instrument_and_setting(load_script, notes, tmp_path, capsys):
    script = load_script("pitch_ceiling")
    out = tmp_path / "ceiling.json"
    args = ["--heldout", str(notes), "--rep", "1024/128", "--rep", "512/40", "--out", str(out)]
    assert script.main(args) == 0
    data = json.loads(out.read_text())
    counts, fd = data["counts"], data["fd_over_floor"]
    assert fd["real"] == 0.0 and fd["1024/128"] > 0 and fd["512/40"] > 0
    assert set(counts) == {"real", "1024/128", "512/40"}
    assert counts["real"]["flute"] == {"hit": 2}
    assert counts["real"]["horn"]["hit"] == 1 and sum(counts["real"]["horn"].values()) == 2
    assert counts["1024/128"]["flute"]["hit"] == 2  # steady harmonic tones survive the trip
    assert counts["1024/128"]["ALL"].get("hit", 0) <= 3
    table = capsys.readouterr().out
    assert "| flute | 2 | 2 | 2 |" in table and "| hit rate | | 0.750 | " in table


def test_bad_rep_and_a_folder_without_notes(load_script, notes, tmp_path):
    script = load_script("pitch_ceiling")
    with pytest.raises(ConfigError, match="N_FFT/N_MELS"):
        script.main(["--heldout", str(notes), "--rep", "1024x128"])
    empty = tmp_path / "empty"
    empty.mkdir()
    save(empty / "d.wav", np.zeros((1, SR), np.float32), SR)
    (empty / "metadata.csv").write_text("path,kind,main_pitch\nd.wav,drums,\n")
    with pytest.raises(ConfigError, match="no kind=note rows"):
        script.main(["--heldout", str(empty), "--out", str(tmp_path / "x.json")])


def test_noise_columns_cost_fd_and_only_their_own_rep(load_script, notes, tmp_path, capsys):
    """--noise S adds a column per rep: the mel plus noise of std S before Griffin-Lim. Small
    noise keeps the steady notes; large noise moves the clips away from the real ones."""
    script = load_script("pitch_ceiling")
    out = tmp_path / "noise.json"
    args = ["--heldout", str(notes), "--rep", "1024/128", "--noise", "0.05", "--noise", "2",
            "--out", str(out)]  # fmt: skip
    assert script.main(args) == 0
    data = json.loads(out.read_text())
    counts, fd = data["counts"], data["fd_over_floor"]
    assert set(counts) == {"real", "1024/128", "1024/128+noise 0.05", "1024/128+noise 2"}
    assert counts["1024/128+noise 0.05"]["flute"]["hit"] == 2
    assert fd["1024/128+noise 2"] > fd["1024/128"]
    assert "| octave errors |" in capsys.readouterr().out
