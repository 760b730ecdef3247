"""scripts/fit_levels.py: a model exported without levels gets them from its data folder."""

import sys

import pytest

import audiodiff
from audiodiff.data.levels import LevelStats
from audiodiff.errors import ConfigError


def test_fit_levels_adds_levels_that_generate_uses(
    load_script, synth_dir, tmp_path, tiny, monkeypatch
):
    config = tiny.model_config()
    config["data"] = {"segment_seconds": 0.5, "loudness_db": -20.0}
    folder = tiny.model_folder(tmp_path / "model", config)
    with pytest.raises(ConfigError, match="keeps no training levels"):
        audiodiff.load(folder, device="cpu").resolve_level("data")
    script = load_script("fit_levels")
    monkeypatch.setattr(
        sys, "argv", ["fit_levels.py", "--model", str(folder), "--data", str(synth_dir)]
    )
    script.main()
    pipe = audiodiff.load(folder, device="cpu")
    stats = LevelStats.from_dict(pipe.config["levels"])
    assert stats.labels == ["instrument", "pitch"] and stats.overall[-1] > stats.overall[0]
    assert pipe.resolve_level("data") == "data"
