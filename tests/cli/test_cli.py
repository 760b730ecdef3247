import json
import subprocess
import sys

import pytest

from audiodiff.cli.main import main


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    assert err.startswith("audiodiff: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_help_lists_commands(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "data synth" in out and "evaluate" in out and "roundtrip" in out
    code, out, _ = run_cli(capsys, "evaluate", "--help")
    assert code == 0 and "generated: ???" in out and "representation   latent, mel" in out


def test_unknown_command_and_option(capsys):
    code, _, err = run_cli(capsys, "frobnicate")
    assert_one_line_error(code, err, "unknown command 'frobnicate'", "evaluate")
    code, _, err = run_cli(capsys, "evaluate", "generated=a", "reference=b", "colour=red")
    assert_one_line_error(code, err, "colour", "Valid keys:", "paired")
    code, _, err = run_cli(capsys, "evaluate", "generated=a", "reference=b", "paired=maybe")
    assert_one_line_error(code, err, "paired", "maybe")
    code, _, err = run_cli(capsys, "roundtrip", "data=nope")
    assert_one_line_error(code, err, "data/nope", "folder synth")


def test_missing_mandatory_and_missing_folder(capsys, tmp_path):
    code, _, err = run_cli(capsys, "evaluate")
    assert_one_line_error(code, err, "generated")
    code, _, err = run_cli(capsys, "evaluate", f"generated={tmp_path}/x", f"reference={tmp_path}")
    assert_one_line_error(code, err, f"{tmp_path}/x")


def test_data_synth(capsys, tmp_path):
    out_dir = tmp_path / "synth"
    code, out, _ = run_cli(capsys, "data", "synth", f"out={out_dir}", "n=8", "max_seconds=1.0")
    assert code == 0 and "8 clips" in out
    assert len(list(out_dir.rglob("*.wav"))) == 8
    assert len((out_dir / "metadata.csv").read_text().splitlines()) == 9
    code, _, err = run_cli(capsys, "data", "synth", f"out={out_dir}", "n=9")
    assert_one_line_error(code, err, str(out_dir), "n=8")


def test_evaluate_paired_against_itself(capsys, synth_dir, tmp_path):
    report = tmp_path / "r.json"
    code, out, _ = run_cli(
        capsys,
        "evaluate",
        f"generated={synth_dir}",
        f"reference={synth_dir}",
        "paired=true",
        f"out={report}",
    )
    assert code == 0 and "SI-SDR" in out
    result = json.loads(report.read_text())
    assert result["n_pairs"] == 24 and result["means"]["si_sdr"] > 60
    assert result["means"]["lsd"] < 1e-3


def test_roundtrip_writes_clips_sheet_and_scores(capsys, synth_dir, tmp_path):
    out_dir = tmp_path / "rt"
    args = ["roundtrip", "data=folder", f"data.root={synth_dir}", "n=3", f"out={out_dir}"]
    args.append("pitch=false")  # pyin is covered by the metrics tests
    code, out, _ = run_cli(capsys, *args)
    assert code == 0 and "round trip" in out
    assert len(list((out_dir / "decoded").glob("*.wav"))) == 3
    assert len(list((out_dir / "reference").glob("*.wav"))) == 3
    png = (out_dir / "spectrograms.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    result = json.loads((out_dir / "evaluate.json").read_text())
    assert result["n_pairs"] == 3 and result["means"]["lsd"] < 3.0
    code, _, err = run_cli(capsys, *args)  # the folder exists now
    assert_one_line_error(code, err, "exists", "overwrite=true")
    code, _, _ = run_cli(capsys, *args, "overwrite=true")
    assert code == 0


@pytest.mark.parametrize("args", [["evaluate", "generated=/nope", "reference=/nope"]])
def test_console_entry_point_exit_code(args):
    proc = subprocess.run(
        [sys.executable, "-m", "audiodiff", *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("audiodiff: error:") and "Traceback" not in proc.stderr


def test_os_errors_are_one_line(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = run_cli(capsys, "data", "synth", f"out={blocker}/synth", "n=2")
    assert_one_line_error(code, err, str(blocker))
