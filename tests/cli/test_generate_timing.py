"""A timing model end to end: `train experiment=smoke +model.timing=true`, then the pipeline's
and `audiodiff generate`'s seconds_start / seconds_total; models without timing unchanged."""

from pathlib import Path

import pytest
import torch

import audiodiff
from audiodiff.cli.main import main
from audiodiff.errors import ConfigError
from audiodiff.pipeline import _from_parts
from audiodiff.safe_load import read_config, read_safetensors


@pytest.fixture(scope="module")
def timing_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("timing_run")
    args = [f"run_dir={tmp / 'run'}", f"paths.data_dir={tmp / 'data'}", "trainer.max_steps=2"]
    assert main(["train", "experiment=smoke", "+model.timing=true", *args]) == 0
    return tmp / "run"


def test_a_timing_run_saves_its_flag_weights_and_previews(timing_run):
    config = read_config(timing_run / "model" / "config.yaml")
    assert config["model"]["timing"] is True and config["data"]["timing"] is True
    state, _ = read_safetensors(timing_run / "model" / "model.safetensors")
    assert any(k.startswith("net.timing_embedding.numbers.seconds_total.") for k in state)
    assert list((timing_run / "samples").glob("epoch_*/00.wav"))  # previews read val timing


def test_pipeline_defaults_to_the_clip_start_and_its_length(timing_run):
    pipe = audiodiff.load(timing_run / "model", device="cpu")
    assert pipe.timing
    cond = pipe.encode_cond({"instrument": "bell"}, 2, seconds=1.5)
    assert (
        cond["seconds_start"].tolist() == [0.0, 0.0] and cond["seconds_total"].tolist() == [1.5] * 2
    )
    given = pipe.encode_cond({"seconds_start": [0.5, "2"], "seconds_total": None}, 2, 1.5)
    assert given["seconds_start"].tolist() == [0.5, 2.0] and given["seconds_total"].isnan().all()
    kwargs = dict(n=1, seconds=0.5, steps=2, seed=3)
    a, b = pipe.generate(**kwargs), pipe.generate(**kwargs, cond={"seconds_start": 0.0})
    assert torch.equal(a, b)  # seconds_start 0 is the default
    assert not torch.equal(a, pipe.generate(**kwargs, cond={"seconds_start": 3.0}))
    assert not torch.equal(a, pipe.generate(**kwargs, cond={"seconds_total": 9.0}))


def test_generate_cli_with_timing_overrides_writes_clips(timing_run, tmp_path):
    out = tmp_path / "gen"
    args = ["generate", f"ckpt={timing_run / 'model'}", "n=2", "seconds=0.5", "steps=2"]
    assert main([*args, "cond.seconds_start=0.25", "cond.instrument=bell", f"out={out}"]) == 0
    assert len(list(out.glob("*.wav"))) == 2
    meta = (out / "metadata.csv").read_text().splitlines()
    assert meta[0] == "path,seconds_start,instrument,seed" and meta[1].endswith(",0.25,bell,0")
    prompts = tmp_path / "p.csv"
    prompts.write_text("instrument,seconds_start,n\nbell,0,1\nbell,1.5,1\n")
    assert main([*args, f"prompts={prompts}", f"out={tmp_path / 'p'}"]) == 0
    assert len(list((tmp_path / "p").glob("*.wav"))) == 2


@pytest.mark.parametrize(
    "override",
    ["cond.seconds_start=-1", "cond.seconds_start=nan", "cond.seconds_total=inf",
     "cond.seconds_total=abc", "cond.seconds_start=true"],
)  # fmt: skip
def test_a_bad_timing_value_is_one_line(timing_run, tmp_path, capsys, override):
    code = main(["generate", f"ckpt={timing_run / 'model'}", override, f"out={tmp_path / 'g'}"])
    err = capsys.readouterr().err
    assert code == 2 and "must be a number of seconds >= 0" in err and err.count("\n") == 1
    assert not (tmp_path / "g").exists()


def test_a_model_without_timing_is_unchanged_and_refuses_timing(smoke_run, tmp_path, capsys):
    config = read_config(smoke_run / "model" / "config.yaml")
    assert "timing" not in config["model"]  # saved as every model before timing was
    state, _ = read_safetensors(smoke_run / "model" / "model.safetensors")
    assert not any("timing" in k for k in state)
    pipe = audiodiff.load(smoke_run / "model", device="cpu")
    assert not pipe.timing and set(pipe.encode_cond({}, 1, 1.0)) == {"instrument", "pitch"}
    off = _from_parts({**config, "model": {**config["model"], "timing": False}}, state, "cpu")
    kwargs = dict(n=2, seconds=0.5, steps=2, seed=1, cond={"instrument": "bell"})
    assert torch.equal(pipe.generate(**kwargs), off.generate(**kwargs))
    with pytest.raises(ConfigError, match="no timing conditioning"):
        pipe.encode_cond({"seconds_total": 2.0}, 1, 1.0)
    code = main(["generate", f"ckpt={smoke_run / 'model'}", "cond.seconds_start=0",
                 f"out={tmp_path / 'g'}"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "cond.seconds_start: this model has no timing" in err
    assert err.count("\n") == 1 and not (tmp_path / "g").exists()
