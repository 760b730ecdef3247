"""scripts/make_real_sets.py and scripts/midi.py: the SMF writer and its onsets, the clip plans,
tiny real renders (their labels, measured onset and pitch, reproducibility), bad options."""

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

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
SCRIPT = SCRIPTS / "make_real_sets.py"


def load_script():
    sys.path.insert(0, str(SCRIPTS))  # the script imports its sibling `midi`
    spec = importlib.util.spec_from_file_location("make_real_sets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_real_sets"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


mrs = load_script()
import midi  # noqa: E402  (scripts/midi.py, on sys.path from load_script)


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
        assert midi.vlq(value) == expected
        assert read_vlq(expected, 0) == (value, len(expected))
        assert midi.read_vlq(expected, 0) == (value, len(expected))


def test_write_smf_round_trips():
    rng = np.random.default_rng(0)
    notes = mrs.melody(mrs.INSTRUMENTS[0], rng, seconds=4.0)
    assert notes and all(48 <= n.pitch <= 84 for n in notes)
    data = midi.write_smf(notes, program=40, end_tick=9000)
    smf = parse_smf(data)
    assert (smf["size"], smf["format"], smf["ntracks"]) == (6, 0, 1)
    assert smf["division"] == midi.TICKS_PER_QUARTER and smf["program"] == 40
    assert smf["on"] == smf["off"] == len(notes) and smf["end"]
    assert smf["tick"] == 9000
    with pytest.raises(ValueError):
        midi.write_smf([midi.Note(0, 10, 128, 100)], program=0)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("kind", "binary", "columns"),
    [
        ("music", "fluidsynth", list(mrs.MUSIC_COLUMNS)),
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


# ----------------------------------------------------------------------------- labelled music


def test_onsets_are_the_written_note_ons():
    notes = [
        midi.Note(480, 240, 60, 90),  # 0.5 s at 120 bpm, 480 ticks a quarter
        midi.Note(0, 100, 64, 80),
        midi.Note(0, 100, 67, 80),  # struck with the one above: one onset
        midi.Note(960, 10, 62, 70),  # 1.0 s
        midi.Note(2400, 10, 62, 70),  # 2.5 s: past `until`
    ]
    data = midi.write_smf(
        notes, program=5, channel=midi.DRUM_CHANNEL, ticks_per_quarter=480, tempo_us=500_000
    )
    ons, division, tempo = midi.note_ons(data)
    assert (division, tempo) == (480, 500_000)
    assert [(o.tick, o.pitch) for o in ons] == [(0, 64), (0, 67), (480, 60), (960, 62), (2400, 62)]
    assert {o.channel for o in ons} == {9} and [o.velocity for o in ons][:3] == [80, 80, 90]
    assert midi.onset_seconds(data) == [0.0, 0.5, 1.0, 2.5]
    assert midi.onset_seconds(data, until=2.0) == [0.0, 0.5, 1.0]
    assert midi.note_ons(midi.write_smf([], program=0)) == ([], midi.TICKS_PER_QUARTER, 1_000_000)
    with pytest.raises(ValueError):
        midi.note_ons(b"RIFF" + bytes(30))


def test_plan_clip_kinds_and_labels():
    by_name = {i.name: i for i in mrs.INSTRUMENTS}
    for name in ["piano", "nylon_guitar", "steel_guitar", "violin", "cello", "flute",
                 "clarinet", "trumpet", "marimba", "church_organ", "drums"]:  # fmt: skip
        assert name in by_name
    for kind in mrs.CLIP_KINDS:
        for index in range(8):
            clip = mrs.plan_clip(index, seed=3, seconds=2.0, kinds=(kind,))
            inst, notes = clip.instrument, clip.notes
            assert clip.kind == kind and notes and inst.drums == (kind == "drums")
            assert all(n.start < 2000 for n in notes)
            if kind == "drums":
                assert clip.main_pitch is None and len({n.start for n in notes}) >= 5  # 8ths
                assert all(35 <= n.pitch <= 81 for n in notes)  # GM percussion keys
                assert min(n.start for n in notes) <= 60 and notes[0].pitch == mrs.KICK
                continue
            assert all(inst.low <= n.pitch <= inst.high for n in notes)
            assert clip.main_pitch == notes[0].pitch
            if kind == "note":
                assert len(notes) == 1 and notes[0].start <= 60 and notes[0].length >= 1000
            elif kind == "chord":
                assert len(notes) in (3, 4) and len({n.start for n in notes}) == 1
                assert notes[0].start <= 60 and clip.main_pitch == min(n.pitch for n in notes)
            else:
                assert notes[0].start < 100 and len({n.start for n in notes}) >= 2


def test_plan_clip_seeds_balance_and_weights():
    def plan(seed, index, **kw):
        return mrs.plan_clip(index, seed=seed, seconds=4.0, **kw)

    n = len(mrs.INSTRUMENTS)
    clips = [plan(0, i) for i in range(6 * n)]
    assert [c.instrument for c in clips] == list(mrs.INSTRUMENTS) * 6  # classes balanced
    assert clips == [plan(0, i) for i in range(6 * n)]  # same seed, same clips
    other = [plan(1, i) for i in range(6 * n)]
    assert all(a.notes != b.notes for a, b in zip(clips, other, strict=True))
    assert [c.main_pitch for c in clips] != [c.main_pitch for c in other]
    kinds = [plan(0, i, instruments=mrs.INSTRUMENTS[:-1]).kind for i in range(400)]
    shares = {k: kinds.count(k) / len(kinds) for k in mrs.KIND_WEIGHTS}
    assert all(abs(shares[k] - w) < 0.08 for k, w in mrs.KIND_WEIGHTS.items()), shares
    pitched = {c.instrument.name for c in (plan(0, i, kinds=("note", "chord")) for i in range(n))}
    assert "drums" not in pitched and len(pitched) == n - 1
    with pytest.raises(ValueError):
        plan(0, 0, instruments=mrs.INSTRUMENTS[:1], kinds=("drums",))


def test_music_options(tmp_path, capsys):
    usable, kinds = mrs.music_options(None, None)
    assert usable == mrs.INSTRUMENTS and kinds == mrs.CLIP_KINDS
    usable, kinds = mrs.music_options("note, chord,note", "flute,drums,piano")
    assert [i.name for i in usable] == ["flute", "piano"] and kinds == ("note", "chord")
    assert [i.name for i in mrs.music_options("drums", None)[0]] == ["drums"]
    bad = [("bell", None, "bell"), (None, "kazoo", "kazoo"), ("drums", "flute", "plays"),
           (",", None, "valid")]  # fmt: skip
    for kinds_opt, inst_opt, word in bad:
        assert word in mrs.music_options(kinds_opt, inst_opt)
    assert mrs.main(["music", "--kinds", "bell", "--out", str(tmp_path / "m")]) == 2
    assert mrs.main(["speech", "--kinds", "note", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "unknown --kinds 'bell'" in err and "music options" in err
    assert not any(tmp_path.iterdir())


def require_fluidsynth():
    if shutil.which("fluidsynth") is None or not mrs.SOUNDFONT.is_file():
        pytest.skip("fluidsynth (or its soundfont) is not installed")


def render_set(out: Path, *args: str) -> list[dict]:
    """Render in-process with one worker; the metadata rows."""
    assert mrs.main(["music", "--workers", "1", "--out", str(out), *args]) == 0
    with open(out / "metadata.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == list(mrs.MUSIC_COLUMNS)
    return rows


def measured_onset(wav: np.ndarray, sr: int, fraction: float = 0.1) -> float:
    """Start of the first 10 ms frame whose RMS exceeds ``fraction`` of the loudest frame's."""
    hop = sr // 100
    frames = wav[: len(wav) // hop * hop].reshape(-1, hop)
    rms = np.sqrt((frames**2).mean(axis=1))
    return int(np.argmax(rms > fraction * rms.max())) * hop / sr


def fft_pitch(wav: np.ndarray, sr: int, start: float, stop: float) -> float:
    """MIDI pitch (fractional) of the strongest FFT peak above 50 Hz in [start, stop) s."""
    seg = wav[int(start * sr) : int(stop * sr)]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), 8 * len(seg)))
    freqs = np.fft.rfftfreq(8 * len(seg), 1 / sr)
    spec[freqs < 50] = 0
    return 69 + 12 * np.log2(freqs[np.argmax(spec)] / 440)


@pytest.mark.parametrize("kind", ["note", "phrase", "chord", "drums"])
def test_labelled_kinds(tmp_path, capsys, kind):
    require_fluidsynth()
    seconds = 0.5
    rows = render_set(tmp_path, "--kinds", kind, "--instruments", "piano,drums", "--n", "2",
                      "--seconds", str(seconds), "--sample-rate", "8000")  # fmt: skip
    assert "wrote 2 clips, skipped 0" in capsys.readouterr().out and len(rows) == 2
    for row in rows:
        assert row["kind"] == kind
        assert row["instrument"] == ("drums" if kind == "drums" else "piano")
        assert row["path"].startswith(row["instrument"] + "/")
        onsets = [float(t) for t in row["onsets"].split()]
        assert onsets == sorted(set(onsets)) and 0 <= onsets[0] < 0.1 and onsets[-1] < seconds
        if kind == "drums":
            assert row["main_pitch"] == "" and row["program"] == "" and len(onsets) >= 2
        else:
            assert 48 <= int(row["main_pitch"]) <= 84 and row["program"] == "0"
        if kind == "note":
            assert len(onsets) == 1 and row["notes"] == "1"
        elif kind == "chord":
            assert len(onsets) == 1 and row["notes"] in ("3", "4")
        wav, sr = sf.read(tmp_path / row["path"], dtype="float32")
        assert sr == 8000 and wav.shape == (4000,) and 0.5 < np.abs(wav).max() <= 1.0


def test_note_onset_and_pitch_as_measured(tmp_path):
    """A flute's note: its sound starts within 0.12 s and its FFT peak is main_pitch (an
    octave error fails); the flute's fundamental is its strongest partial (an organ's is not)."""
    require_fluidsynth()
    rows = render_set(tmp_path, "--kinds", "note", "--instruments", "flute", "--n", "4",
                      "--seconds", "0.8", "--sample-rate", "16000")  # fmt: skip
    assert len({row["main_pitch"] for row in rows}) > 1
    for row in rows:
        wav, sr = sf.read(tmp_path / row["path"], dtype="float32")
        written = float(row["onsets"])
        onset = measured_onset(wav, sr)
        assert written - 0.02 <= onset <= 0.12, (row, onset)
        pitch = fft_pitch(wav, sr, 0.15, 0.55)
        assert abs(pitch - int(row["main_pitch"])) < 0.5, (row, pitch)


def test_same_seed_same_bytes(tmp_path):
    require_fluidsynth()
    args = ("--n", "4", "--seconds", "0.4", "--sample-rate", "8000", "--instruments",
            "flute,drums,piano")  # fmt: skip
    a = render_set(tmp_path / "a", *args)
    b = render_set(tmp_path / "b", *args)
    c = render_set(tmp_path / "c", *args, "--seed", "1")
    assert a == b and len(a) == 4
    assert (tmp_path / "a" / "metadata.csv").read_bytes() == (
        tmp_path / "b" / "metadata.csv"
    ).read_bytes()
    for row in a:
        assert (tmp_path / "a" / row["path"]).read_bytes() == (
            tmp_path / "b" / row["path"]
        ).read_bytes()
    assert [r["instrument"] for r in c] == [r["instrument"] for r in a]
    assert [r["onsets"] for r in c] != [r["onsets"] for r in a]
