"""`audiodiff generate` edit modes end to end on the smoke model, and their one-line errors."""

import json

import pytest
import torch

from audiodiff.audio.io import load, save
from audiodiff.cli.main import main


@pytest.fixture(scope="module")
def init_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("init") / "init.wav"
    save(path, 0.1 * torch.randn(1, 11025, generator=torch.Generator().manual_seed(0)), 22050)
    return path  # 0.5 s at 22.05 kHz: resampled to the model's 16 kHz


def _run(smoke_run, out, *args):
    return main(["generate", f"ckpt={smoke_run / 'model'}", "n=2", "steps=2", f"out={out}", *args])


@pytest.mark.parametrize(
    ("args", "mode", "samples"),
    [(["strength=0.4"], "vary", 8000),
     (["mask=[0.1:0.2,0.3:0.35]", "extend_after=0.25"], "inpaint", 12000),
     (["extend_before=0.1", "strength=0.8", "cg_iters=1"], "inpaint", 9600)],
)  # fmt: skip
def test_edit_modes_write_clips_of_the_edited_length(smoke_run, init_file, tmp_path, args, mode,
                                                     samples):  # fmt: skip
    out = tmp_path / "g"
    assert _run(smoke_run, out, f"init={init_file}", "cond.instrument=bell", *args) == 0
    wavs = sorted(out.glob("*.wav"))
    assert len(wavs) == 2 and load(wavs[0])[0].shape[-1] == samples
    request = json.loads((out / "generate.json").read_text())
    assert request["mode"] == mode and request["init"] == str(init_file)


def test_long_form_loops_and_guidance_options(smoke_run, tmp_path):
    args = ["seconds=1.2", "loop=true", "overlap=0.1", "cond.instrument=bell"]
    args += ["negative_cond.instrument=kick", "cfg_rescale=0.7", "cfg_interval=[0.1,20]"]
    assert _run(smoke_run, tmp_path / "g", *args) == 0
    assert load(sorted((tmp_path / "g").glob("*.wav"))[0])[0].shape[-1] == 19200
    request = json.loads((tmp_path / "g" / "generate.json").read_text())
    assert request["mode"] == "long" and request["loop"] is True
    assert request["negative_cond"] == {"instrument": "kick"} and request["cfg_interval"] == [
        0.1,
        20,
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["strength=0.5"], "edit a file: add init="),
     (["init=INIT"], "init= needs strength=S"),
     (["init=INIT", "strength=1.5"], "strength must be a number in [0, 1]"),
     (["init=INIT", "mask=0.2-0.4"], "each span is START:END"),
     (["init=INIT", "mask=2:3"], "starts after the init ends"),
     (["init=INIT", "longform=true"], "do not take init="),
     (["init=missing.wav", "strength=0.5"], "init: missing.wav: no such file"),
     (["seconds=2", "longform=true", "overlap=0.3"], "at most half the context"),
     (["seconds=2", "longform=true", "crossfade=1.5"], "crossfade is a fraction"),
     (["seconds=2", "longform=true", "resample=0"], "resample must be a whole number"),
     (["cfg_interval=[2,1]"], "cfg_interval must be"),
     (["cfg_rescale=2"], "cfg_rescale must be"),
     (["negative_cond.instrument=kick", "cfg_scale=1"], "need cfg_scale != 1"),
     (["negative_cond.colour=red"], "negative_cond: unknown condition 'colour'"),
     (["prompt=a bell"], "cond.prompt:"),
     (["negative_prompt=a kick"], "negative_cond.prompt:")],
)  # fmt: skip
def test_bad_edit_options_are_one_line_and_write_nothing(smoke_run, init_file, tmp_path, capsys,
                                                         args, message):  # fmt: skip
    args = [a.replace("INIT", str(init_file)) for a in args]
    code = _run(smoke_run, tmp_path / "g", *args)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "g").exists()
