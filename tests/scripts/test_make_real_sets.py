"""scripts/make_real_sets.py: the SMF writer, tiny real renders, and the missing-binary exit."""

import csv
import importlib.util
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_real_sets.py"


def load_script():
    spec = importlib.util.spec_from_file_location("make_real_sets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_real_sets"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


mrs = load_script()


def read_vlq(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    while True:
        value = (value << 7) | (data[i] & 0x7F)
        i += 1
        if not data[i - 1] & 0x80:
            return value, i


def parse_smf(data: bytes) -> dict:
    """Minimal format-0 reader: header fields, note-on/off counts, end tick, program."""
    assert data[:4] == b"MThd"
    size, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    assert data[14:18] == b"MTrk"
    (track_len,) = struct.unpack(">I", data[18:22])
    track = data[22:]
    assert len(track) == track_len
    out = {"size": size, "format": fmt, "ntracks": ntracks, "division": division}
    out.update(on=0, off=0, tick=0, program=None, end=False)
    i = 0
    while i < len(track):
        delta, i = read_vlq(track, i)
        out["tick"] += delta
        status = track[i]
        if status == 0xFF:
            kind, (length, j) = track[i + 1], read_vlq(track, i + 2)
            out["end"] = kind == 0x2F
            i = j + length
            assert not out["end"] or i == len(track), "end of track must be the last event"
        elif status & 0xF0 == 0xC0:
            out["program"], i = track[i + 1], i + 2
        else:
            assert status & 0xF0 in (0x80, 0x90), hex(status)
            on = status & 0xF0 == 0x90 and track[i + 2] > 0
            out["on" if on else "off"] += 1
            i += 3
    return out


def test_vlq_known_values():
    for value, expected in [(0, b"\x00"), (0x7F, b"\x7f"), (0x80, b"\x81\x00"),
                            (0x3FFF, b"\xff\x7f"), (0x200000, b"\x81\x80\x80\x00")]:  # fmt: skip
        assert mrs.vlq(value) == expected
        assert read_vlq(expected, 0) == (value, len(expected))


def test_write_smf_round_trips():
    rng = np.random.default_rng(0)
    notes = mrs.melody(mrs.INSTRUMENTS[0], rng, seconds=4.0)
    assert notes and all(48 <= n.pitch <= 84 for n in notes)
    data = mrs.write_smf(notes, program=40, end_tick=9000)
    smf = parse_smf(data)
    assert (smf["size"], smf["format"], smf["ntracks"]) == (6, 0, 1)
    assert smf["division"] == mrs.TICKS_PER_QUARTER and smf["program"] == 40
    assert smf["on"] == smf["off"] == len(notes) and smf["end"]
    assert smf["tick"] == 9000
    with pytest.raises(ValueError):
        mrs.write_smf([mrs.Note(0, 10, 128, 100)], program=0)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("kind", "binary", "columns"),
    [
        ("music", "fluidsynth", ["path", "instrument", "program", "notes"]),
        ("speech", "espeak-ng", ["path", "voice", "text", "speed", "pitch", "speech_seconds"]),
    ],
)
def test_tiny_set(tmp_path, kind, binary, columns):
    if shutil.which(binary) is None or (kind == "music" and not mrs.SOUNDFONT.is_file()):
        pytest.skip(f"{binary} (or its soundfont) is not installed")
    out = tmp_path / kind
    proc = run(kind, "--n", "3", "--seconds", "1", "--out", str(out), "--sample-rate", "8000")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "wrote 3 clips, skipped 0" in proc.stdout
    with open(out / "metadata.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == columns and len(rows) == 3
    for row in rows:
        wav, sr = sf.read(out / row["path"], dtype="float32")
        assert sr == 8000 and wav.shape == (8000,)
        assert 0.5 < np.abs(wav).max() <= 1.0
    assert run(kind, "--n", "1", "--out", str(out)).returncode == 2  # not empty, no --force


def test_missing_binary_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(mrs.shutil, "which", lambda name: None)
    for kind, package in [("music", "fluid-soundfont-gm"), ("speech", "espeak-ng")]:
        assert mrs.main([kind, "--out", str(tmp_path / kind)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "apt-get install" in err and package in err
    assert not (tmp_path / "music").exists()


def test_missing_soundfont_exits_2(tmp_path, capsys):
    code = mrs.main(["music", "--soundfont", str(tmp_path / "none.sf2"), "--out", str(tmp_path)])
    assert code == 2 and "none.sf2" in capsys.readouterr().err
