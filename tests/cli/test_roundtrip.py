"""`audiodiff roundtrip` skips and counts the clips it cannot read, like the other commands."""

import json
import os

import numpy as np
import soundfile as sf

from audiodiff.cli.main import main

SR = 16000


def tone(seconds: float, freq: float) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * freq * np.arange(round(seconds * SR)) / SR)).astype(np.float32)


def roundtrip(root, out, *extra) -> list[str]:
    args = ["roundtrip", "data=folder", f"data.root={root}", "data.num_workers=0"]
    return [*args, "pitch=false", f"out={out}", *extra]


def test_unreadable_clips_are_skipped_counted_and_named(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(2):
        sf.write(data / f"good_{i}.wav", tone(0.3, 300 + 100 * i), SR)
    sf.write(data / "short.wav", tone(0.01, 440), SR)  # 160 samples: padded, not refused
    nan = tone(0.3, 500)
    nan[7] = np.nan
    sf.write(data / "nan.wav", nan, SR, subtype="FLOAT")  # a valid header: fails on decode
    (data / "junk.wav").write_bytes(b"RIFF" + bytes(60))  # fails at the header check
    (data / os.fsdecode(b"caf\xe9.wav")).write_bytes((data / "good_0.wav").read_bytes())
    out = tmp_path / "rt"
    assert main(roundtrip(data, out, "n=10")) == 0
    captured = capsys.readouterr()
    assert "(4 clips, 2 unreadable skipped)" in captured.out
    assert "skipped 2 unreadable clips:" in captured.err
    assert "nan.wav: audio contains NaN" in captured.err and "junk.wav" in captured.err
    assert len(list((out / "decoded").glob("*.wav"))) == 4
    assert (out / "decoded" / "caf\\xe9.wav").is_file()  # a UTF-8 name for a latin-1 one
    result = json.loads((out / "evaluate.json").read_text())
    assert result["n_pairs"] == 4 and result["n_skipped_inputs"] == 2


def test_n_counts_clips_that_were_read(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        (data / f"bad_{i}.wav").write_bytes(b"not audio")
        sf.write(data / f"good_{i}.wav", tone(0.3, 300 + 100 * i), SR)
    assert main(roundtrip(data, tmp_path / "rt", "n=3")) == 0
    assert "(3 clips, 3 unreadable skipped)" in capsys.readouterr().out


def test_nothing_readable_is_one_line_error(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "junk.wav").write_bytes(b"not audio")
    assert main(roundtrip(data, tmp_path / "rt", "n=2")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "audiodiff: error: no readable clips" in err
    assert "junk.wav" in err and not (tmp_path / "rt").exists()
