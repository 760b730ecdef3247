"""scripts/phase_oracle.py on steady sines with a tiny untrained vocoder: every mix gets a
row, the input's own magnitude and phase rebuild the input, and locking the summed advances
to the peaks beats summing them alone."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.scripts.test_bench_decoders import SCRIPTS, sine_clips, vocoder_export

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def load_script():
    sys.path.insert(0, str(SCRIPTS))  # for `benchlib` and `bench_decoders`
    spec = importlib.util.spec_from_file_location("phase_oracle", SCRIPTS / "phase_oracle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_swaps_rank_as_expected(tmp_path: Path):
    clips = sine_clips(tmp_path / "clips")
    export = vocoder_export(tmp_path / "voc")
    out = tmp_path / "oracle.json"
    argv = ["--clips", str(clips), "--n", "3", "--seconds", "0.5", "--vocoder", str(export)]
    load_script().main([*argv, "--out", str(out)])
    rows = {(r["magnitude"], r["phase"]): r for r in json.loads(out.read_text())["rows"]}
    assert len(rows) == 8
    assert rows[("input", "input")]["mr_stft"] < 1e-3
    summed = rows[("input", "input advances, summed")]["mr_stft"]
    assert rows[("input", "input advances, locked")]["mr_stft"] < 0.8 * summed
    assert rows[("vocoder", "input")]["mr_stft"] > 0.5  # untrained: far from the input
    if rows[("input", "input")]["pesq"] is not None:
        assert rows[("input", "input")]["pesq"] > 4.0


def test_rejects_a_folder_that_is_not_an_export(tmp_path: Path):
    clips = sine_clips(tmp_path / "clips")
    with pytest.raises(SystemExit):
        load_script().main(["--clips", str(clips), "--vocoder", str(tmp_path)])
