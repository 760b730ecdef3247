"""End-to-end evaluation on tiny folders of synthetic audio."""

import io
import json
import os

import numpy as np
import pytest
import soundfile as sf
from rich.console import Console

from audiodiff.errors import ConfigError
from audiodiff.metrics import (
    evaluate_paired,
    evaluate_unpaired,
    format_table,
    optional_metrics_available,
    write_json,
)

SR = 16000


def _tone(f0: float, seconds: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return sum(0.3 / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 4)).astype(np.float32)


def _write(path, wav: np.ndarray, sr: int = SR):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wav, sr)
    return path


def _render(table) -> str:
    console = Console(file=io.StringIO(), width=120)
    console.print(table)
    return console.file.getvalue()


@pytest.fixture
def unpaired_dirs(tmp_path):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    _write(gen / "a4.wav", _tone(440.0))  # target 69: hit
    _write(gen / "a4_wrong.wav", _tone(440.0))  # target 72: 300 cents off, miss
    _write(gen / "no_pitch.wav", _tone(330.0))  # empty pitch cell
    _write(gen / "sub" / "unlisted.flac", _tone(550.0), sr=22050)  # not in metadata
    (gen / "corrupt.wav").write_bytes(b"RIFF....this is not audio")
    (gen / "metadata.csv").write_text(
        "path,pitch,prompt\na4.wav,69,x\na4_wrong.wav,72,y\nno_pitch.wav,,z\ncorrupt.wav,60,w\n"
    )
    for i, f0 in enumerate(np.linspace(300, 600, 8)):
        _write(ref / f"r{i}.wav", _tone(f0))
    return gen, ref


def test_evaluate_unpaired_end_to_end(unpaired_dirs, tmp_path):
    gen, ref = unpaired_dirs
    result = evaluate_unpaired(gen, ref, progress=True)
    assert result["mode"] == "unpaired"
    assert (result["n_generated"], result["n_reference"], result["n_skipped"]) == (4, 8, 1)
    assert result["skipped"][0]["path"] == "corrupt.wav"
    assert result["fd"] > 0 and result["fd_floor"] > 0
    pitch = result["pitch"]
    assert pitch["n_files"] == 4 and pitch["n_with_target"] == 2
    assert pitch["hit_rate"] == pytest.approx(0.5)
    assert pitch["mean_abs_cents"] == pytest.approx(150.0, abs=10)
    assert pitch["voiced_fraction_mean"] > 0.8
    assert 330 < pitch["median_hz"] < 550
    rows = {row["path"]: row for row in pitch["per_file"]}
    assert rows["sub/unlisted.flac"]["target_midi"] is None
    assert rows["a4_wrong.wav"]["hit"] is False
    out = write_json(result, tmp_path / "out" / "metrics.json")
    assert json.loads(out.read_text()) == result
    text = _render(format_table(result))
    assert "FD floor" in text and "pitch hit rate" in text


def test_evaluate_unpaired_fd_separates_noise_from_reference(unpaired_dirs, tmp_path):
    gen, ref = unpaired_dirs
    rng = np.random.default_rng(0)
    noise_dir = tmp_path / "noise"
    for i in range(8):
        _write(noise_dir / f"n{i}.wav", 0.1 * rng.standard_normal(SR // 2).astype(np.float32))
    noise = evaluate_unpaired(noise_dir, ref, pitch=False, progress=False)
    assert noise["pitch"] is None and noise["n_skipped"] == 0
    same = evaluate_unpaired(ref, ref, pitch=False, progress=False)
    tones = evaluate_unpaired(gen, ref, pitch=False, progress=False)
    assert same["fd"] < 1e-6 * noise["fd"]
    assert same["fd_floor"] == noise["fd_floor"]  # the floor depends on the reference only
    assert noise["fd"] > 5 * max(tones["fd"], noise["fd_floor"])


def test_evaluate_unpaired_bad_inputs(tmp_path, unpaired_dirs):
    gen, ref = unpaired_dirs
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no audio files"):
        evaluate_unpaired(tmp_path / "empty", ref, progress=False)
    with pytest.raises(ConfigError, match="does not exist"):
        evaluate_unpaired(gen, tmp_path / "missing", progress=False)
    (gen / "metadata.csv").write_text("path,pitch\na4.wav,A4\n")
    with pytest.raises(ConfigError, match="metadata.csv:2"):
        evaluate_unpaired(gen, ref, progress=False)


def test_evaluate_paired_end_to_end(tmp_path):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    rng = np.random.default_rng(0)
    clean = {name: _tone(f0, seconds=1.2) for name, f0 in (("a", 220), ("b", 330), ("c", 440))}
    _write(ref / "a.wav", clean["a"])
    _write(gen / "a.wav", clean["a"])  # identical
    _write(ref / "b.wav", clean["b"])
    noisy_b = clean["b"] + 0.05 * rng.standard_normal(clean["b"].size).astype(np.float32)
    _write(gen / "b.wav", np.concatenate([noisy_b, np.zeros(800, np.float32)]))  # longer
    _write(ref / "sub" / "c.flac", clean["c"])
    _write(gen / "sub" / "c.wav", clean["c"])  # matched by path without extension
    _write(ref / "d.wav", clean["a"])
    (gen / "d.wav").write_bytes(b"garbage")  # matched but unreadable
    _write(gen / "extra.wav", clean["a"])
    _write(ref / "only_ref.wav", clean["a"])

    result = evaluate_paired(gen, ref, progress=False)
    assert result["n_pairs"] == 3 and result["n_skipped"] == 1
    assert result["skipped"][0]["path"] == "d.wav"
    assert result["unmatched_generated"] == ["extra.wav"]
    assert result["unmatched_reference"] == ["only_ref.wav"]
    assert result["n_length_mismatch"] == 1
    rows = {row["path"]: row for row in result["per_file"]}
    assert rows["sub/c.wav"]["reference"] == "sub/c.flac"
    assert rows["a.wav"]["si_sdr"] > 50 and rows["a.wav"]["lsd"] < 1e-6
    assert rows["b.wav"]["si_sdr"] < 30 and rows["b.wav"]["mr_stft"] > rows["a.wav"]["mr_stft"]
    means = result["means"]
    assert means["si_sdr"] == pytest.approx(np.mean([r["si_sdr"] for r in rows.values()]))
    assert result["optional_metrics"] == optional_metrics_available()
    for name in ("pesq", "stoi"):
        assert (means[name] is not None) == optional_metrics_available()[name]
    json.dumps(result, allow_nan=False)
    text = _render(format_table(result))
    assert "SI-SDR" in text and "unmatched generated" in text


def test_evaluate_paired_without_matches_raises(tmp_path):
    _write(tmp_path / "gen" / "x.wav", _tone(220.0))
    _write(tmp_path / "ref" / "y.wav", _tone(220.0))
    with pytest.raises(ConfigError, match="no file in .* matches") as info:
        evaluate_paired(tmp_path / "gen", tmp_path / "ref", progress=False)
    assert "\n" not in str(info.value)


def test_unreadable_entries_are_skipped_and_counted(tmp_path, unpaired_dirs):
    gen, ref = unpaired_dirs
    os.mkfifo(gen / "fifo.wav")  # opened for reading, it would wait for a writer forever
    (gen / "folder.wav").mkdir()
    nan = _tone(440.0)
    nan[100] = np.nan
    sf.write(gen / "nan.wav", nan, SR, subtype="FLOAT")
    result = evaluate_unpaired(gen, ref, pitch=False, progress=False)
    skipped = {s["path"]: s["error"] for s in result["skipped"]}
    assert result["n_skipped"] == 4 and result["n_generated"] == 4
    assert "a FIFO" in skipped["fifo.wav"] and "a folder" in skipped["folder.wav"]
    assert "NaN" in skipped["nan.wav"] and "corrupt.wav" in skipped


@pytest.mark.parametrize(
    "blob, match",
    [
        ("path,pitch\na4.wav,69,é\n".encode("latin-1"), "not UTF-8"),
        (b"path,pitch\na4.wav,inf\n", "metadata.csv:2: pitch 'inf' is not a MIDI number"),
    ],
)
def test_unreadable_pitch_targets_are_one_line_errors(unpaired_dirs, blob, match):
    gen, ref = unpaired_dirs
    (gen / "metadata.csv").write_bytes(blob)
    with pytest.raises(ConfigError, match=match) as e:
        evaluate_unpaired(gen, ref, progress=False)
    assert "\n" not in str(e.value)


def test_pitch_targets_with_a_byte_order_mark(unpaired_dirs):
    gen, ref = unpaired_dirs
    (gen / "metadata.csv").write_bytes("\ufeffpath,pitch\na4.wav,69\n".encode())
    result = evaluate_unpaired(gen, ref, progress=False)
    assert result["pitch"]["n_with_target"] == 1


def test_write_json_never_over_a_folder(tmp_path):
    (tmp_path / "report.json").mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        write_json({"mode": "paired"}, tmp_path / "report.json")
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


@pytest.mark.parametrize("evaluate", [evaluate_paired, evaluate_unpaired])
@pytest.mark.parametrize("rate", [0, -16000])
def test_a_sample_rate_that_is_not_positive_is_refused(unpaired_dirs, evaluate, rate):
    gen, ref = unpaired_dirs  # rather than every file skipped as unreadable at that rate
    with pytest.raises(
        ConfigError, match=f"sample_rate must be a positive number of Hz, got {rate}"
    ):
        evaluate(gen, ref, sample_rate=rate, progress=False)
