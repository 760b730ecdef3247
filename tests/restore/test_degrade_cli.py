"""`audiodiff data degrade`: clean/degraded pairs with a manifest, reproducible by seed."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf

from audiodiff.cli.main import main
from audiodiff.data.records import read_records

SR = 16000


@pytest.fixture
def clips(tmp_path):
    """Three short clips (one in a sub-folder, one FLAC at another rate) and a corrupt one."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    t = np.arange(SR // 4) / SR
    sf.write(root / "a.wav", 0.5 * np.sin(2 * np.pi * 440 * t), SR)
    sf.write(root / "sub" / "b.wav", 0.4 * np.sin(2 * np.pi * 660 * t) + 0.05, SR)
    sf.write(root / "c.flac", 0.3 * np.sin(2 * np.pi * 300 * t[: SR // 8]), 8000)
    (root / "junk.wav").write_bytes(b"RIFF" + bytes(40))
    return root


def degrade(capsys, *args):
    code = main(["data", "degrade", *args])
    return code, *capsys.readouterr()


def assert_one_line_error(code, err, *fragments):
    assert code == 2 and err.startswith("audiodiff: error:") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


def rows(out):
    with open(out / "metadata.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_writes_pairs_and_metadata_and_skips_a_corrupt_file(clips, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = degrade(capsys, f"in={clips}", f"out={out}", "seed=0")
    assert code == 0, err
    assert "degraded 3 clips (1 unreadable skipped)" in stdout
    assert "skipped 1 unreadable files:" in err and "junk.wav" in err
    names = ["a.wav", "c.wav", "sub/b.wav"]
    for part in ("clean", "degraded"):
        assert (
            sorted(
                p.relative_to(out / part).as_posix() for p in (out / part).rglob("*") if p.is_file()
            )
            == names
        )
    table = rows(out)
    assert [r["path"] for r in table] == [f"clean/{n}" for n in names]
    assert [r["degraded"] for r in table] == [f"degraded/{n}" for n in names]
    clean, sr = sf.read(out / "clean" / "a.wav", dtype="float32")
    source, _ = sf.read(clips / "a.wav", dtype="float32")
    assert sr == SR and np.array_equal(clean, source)  # the clean clip is the input
    assert sf.info(out / "clean" / "c.wav").samplerate == SR  # resampled
    for row in table:
        params = json.loads(row["params"])
        assert params["op"] == "Compose" and row["ops"] == ("+".join(params["ops"]) or "none")
        y, _ = sf.read(out / row["degraded"], dtype="float32")
        x, _ = sf.read(out / row["path"], dtype="float32")
        assert y.shape == x.shape and (np.array_equal(x, y) == (row["ops"] == "none"))
    assert [r["path"] for r in read_records(out)] == [str(out / r["path"]) for r in table]
    assert not any(p.name.startswith(".") for p in out.rglob("*"))  # no temporary leftovers


def test_same_seed_same_files_other_seed_differs(clips, tmp_path, capsys):
    args = [f"in={clips}", "degrade=noise", "degrade.snr_db=[0,10]"]
    assert degrade(capsys, *args, f"out={tmp_path / 'a'}", "seed=3")[0] == 0
    assert degrade(capsys, *args, f"out={tmp_path / 'b'}", "seed=3")[0] == 0
    assert degrade(capsys, *args, f"out={tmp_path / 'c'}", "seed=4")[0] == 0
    # samples, not bytes: libsndfile stamps the time into a float WAV's PEAK chunk
    a, b, c = (sf.read(tmp_path / d / "degraded" / "sub" / "b.wav")[0] for d in "abc")
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert rows(tmp_path / "a") == rows(tmp_path / "b") != rows(tmp_path / "c")
    for row in rows(tmp_path / "a"):
        assert 0 <= json.loads(row["params"])["snr_db"] <= 10 and row["ops"] == "AddNoise"


def test_n_limits_the_pairs(clips, tmp_path, capsys):
    code, stdout, _ = degrade(capsys, f"in={clips}", f"out={tmp_path / 'o'}", "n=1")
    assert code == 0 and "degraded 1 clips" in stdout and len(rows(tmp_path / "o")) == 1


def test_refuses_a_non_empty_output_unless_overwrite(clips, tmp_path, capsys):
    out = tmp_path / "out"
    assert degrade(capsys, f"in={clips}", f"out={out}", "degrade=none")[0] == 0
    code, _, err = degrade(capsys, f"in={clips}", f"out={out}", "degrade=none")
    assert_one_line_error(code, err, str(out), "overwrite=true")
    code, stdout, _ = degrade(capsys, f"in={clips}", f"out={out}", "degrade=gaps", "overwrite=true")
    assert code == 0 and all(r["ops"] == "Gaps" for r in rows(out))


def test_baseline_scores_with_paired_evaluate(clips, tmp_path, capsys):
    out = tmp_path / "out"
    assert degrade(capsys, f"in={clips}", f"out={out}", "degrade=gaps")[0] == 0
    args = ["evaluate", "paired=true", f"generated={out / 'degraded'}"]
    args += [f"reference={out / 'clean'}", f"out={tmp_path / 'e.json'}"]
    assert main(args) == 0
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["n_pairs"] == 3 and not report["unmatched_generated"]
    assert report["n_length_mismatch"] == 0 and report["means"]


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["degrade=nope"], ["degrade/nope", "mix"]),
        (["degrade=noise", "degrade.snr_db=[20,5]"], ["AddNoise.snr_db", "reversed"]),
        (["+degrade.p.echo=0.5"], ["echo is not an operator here", "gaps"]),
        (["degrade.ops.lowpass.ops.fft.cutoff_hz=9000"], ["LowPass.cutoff_hz", "Nyquist"]),
        (["degrade=babble"], ["FolderNoise.noise_dir"]),
        (["n=0"], ["n must be at least 1"]),
        (["subtype=PCM_99"], ["PCM_99"]),
        (["sample_rate=10"], ["sample_rate"]),
        (["colour=red"], ["colour", "Valid keys"]),
    ],
)
def test_bad_options_are_one_line_errors(clips, tmp_path, capsys, args, fragments):
    code, _, err = degrade(capsys, f"in={clips}", f"out={tmp_path / 'out'}", *args)
    assert_one_line_error(code, err, *fragments)
    assert not (tmp_path / "out").exists()  # nothing written


def test_bad_folders_are_one_line_errors(clips, tmp_path, capsys):
    code, _, err = degrade(capsys, f"out={tmp_path / 'out'}")
    assert_one_line_error(code, err, "in")
    code, _, err = degrade(capsys, f"in={tmp_path / 'nope'}", f"out={tmp_path / 'out'}")
    assert_one_line_error(code, err, "nope", "not found")
    code, _, err = degrade(capsys, f"in={clips}", f"out={clips / 'pairs'}")
    assert_one_line_error(code, err, "outside the input folder")
    code, _, err = degrade(capsys, f"in={clips}", f"out={clips}", "overwrite=true")
    assert_one_line_error(code, err, "outside the input folder")
    assert (clips / "a.wav").is_file()  # the input is never touched
    only_junk = tmp_path / "junk"
    only_junk.mkdir()
    (only_junk / "x.wav").write_bytes(b"RIFF" + bytes(40))
    code, _, err = degrade(capsys, f"in={only_junk}", f"out={tmp_path / 'o2'}")
    assert code == 2 and "no file of" in err.splitlines()[-1]
