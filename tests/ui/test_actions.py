"""The UI's actions without the web page: files written, limits and bad values refused in
one line, progress reported, A/B levels matched, scores against a reference."""

from __future__ import annotations

import csv
import zipfile
from dataclasses import replace

import pytest
import torch

from audiodiff.audio.io import info, load
from audiodiff.audio.loudness import rms_db
from audiodiff.errors import ConfigError
from audiodiff.pipeline import load as load_model
from audiodiff.ui.actions import (
    ANY,
    GenerateRequest,
    RestoreRequest,
    Workspace,
    generate,
    restore,
)
from audiodiff.ui.uploads import Limits


@pytest.fixture(scope="module")
def pipes(ui_models):
    return load_model(ui_models.generator, "cpu"), load_model(ui_models.restorer, "cpu")


def test_generate_writes_clips_metadata_sheet_and_zip(pipes, tmp_path, one_thread):
    pipe = pipes[0]
    calls = []
    req = GenerateRequest(labels={"instrument": "bell", "pitch": ANY}, seconds=0.5, steps=3,
                          seed=7, n=2)  # fmt: skip
    result = generate(pipe, Workspace(tmp_path), Limits(), req, lambda d, t: calls.append((d, t)))
    assert [info(w).frames for w in result.wavs] == [round(0.5 * pipe.sample_rate)] * 2
    rows = list(csv.DictReader(open(result.folder / "metadata.csv")))
    assert [(r["instrument"], r["seed"]) for r in rows] == [("bell", "7"), ("bell", "8")]
    assert "pitch" not in rows[0]  # "(any)" is no condition
    assert result.sheet.stat().st_size > 0
    names = zipfile.ZipFile(result.archive).namelist()
    assert sorted(names) == sorted(
        [w.name for w in result.wavs] + ["metadata.csv", "generate.json"]
    )
    assert calls == [(i, 3) for i in range(1, 4)]  # one call per solver step, of 3
    again = generate(pipe, Workspace(tmp_path), Limits(), req)
    assert again.folder != result.folder  # a new folder: nothing overwritten
    assert torch.equal(load(again.wavs[1])[0], load(result.wavs[1])[0])  # the seed decides


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"labels": {"instrument": "tuba"}},
            "instrument='tuba' is not one of the model's values: bell, organ, pluck",
        ),
        ({"labels": {"colour": "red"}}, "unknown label 'colour'"),
        ({"n": 9}, "number of clips must be a whole number in [1, 8]"),
        ({"n": 1.5}, "number of clips must be a whole number"),
        ({"seconds": 31}, "seconds must be in [0.05, 30]"),
        ({"steps": 0}, "steps must be a whole number in [1, 200]"),
        ({"sampler": "magic"}, "sampler must be one of"),
        ({"prompt": "a bell"}, "no text conditioning"),
        ({"mask_end": 1.0}, "edit an init audio file"),
        ({"negative_prompt": "x", "cfg_scale": 1.0}, "no effect at cfg_scale=1"),
        (
            {"negative_prompt": "x", "cfg_scale": 2.0},
            "negative_cond.prompt: this model has no text",
        ),
    ],
)
def test_generate_refuses_bad_values_in_one_line(pipes, tmp_path, change, message):
    req = GenerateRequest(**{"seconds": 0.25, "steps": 2, **change})
    with pytest.raises(ConfigError) as e:
        generate(pipes[0], Workspace(tmp_path), Limits(), req)
    assert message in str(e.value) and "\n" not in str(e.value)
    assert not list(tmp_path.glob("generate-*"))  # refused before any file was written


def test_variation_and_inpainting_from_an_upload(pipes, tmp_path, recording, one_thread):
    pipe = pipes[0]
    work = Workspace(tmp_path)
    src, sr = load(recording, pipe.sample_rate)
    vary = generate(pipe, work, Limits(), GenerateRequest(init=str(recording), strength=0.3,
                                                          steps=4))  # fmt: skip
    assert "vary" in vary.summary
    assert abs(info(vary.wavs[0]).frames - src.shape[-1]) <= pipe.representation.hop_length
    req = GenerateRequest(init=str(recording), steps=4, mask_start=0.5, mask_end=1.0)
    filled = generate(pipe, work, Limits(), req)
    out = load(filled.wavs[0])[0][0]
    assert "inpaint" in filled.summary
    keep = round(0.4 * sr)  # well before the span (and its fade / margin): the recording
    assert torch.allclose(out[:keep], src[0, :keep].clamp(-1, 1), atol=1e-4)
    assert not torch.allclose(out[round(0.6 * sr) : round(0.9 * sr)],
                              src[0, round(0.6 * sr) : round(0.9 * sr)], atol=1e-2)  # fmt: skip


def test_uploads_are_size_and_duration_limited(pipes, tmp_path, recording):
    pipe, work = pipes[0], Workspace(tmp_path / "work")
    small = Limits(max_upload_mb=0.01)
    with pytest.raises(ConfigError, match=r"take 1.wav is 0.\d MB; the limit is 0.01 MB"):
        generate(pipe, work, small, GenerateRequest(init=str(recording)))
    with pytest.raises(ConfigError, match=r"take 1.wav is 1.5 s long; the limit is 1 s"):
        generate(pipe, work, Limits(max_upload_seconds=1), GenerateRequest(init=str(recording)))
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all")
    with pytest.raises(ConfigError) as e:
        restore(pipes[1], work, Limits(), RestoreRequest(audio=str(bad)))
    assert str(e.value).startswith("recording: ") and str(tmp_path) not in str(e.value)
    with pytest.raises(ConfigError, match="recording: upload an audio file first"):
        restore(pipes[1], work, Limits(), RestoreRequest(audio=None))


def test_restore_writes_matched_ab_sheet_and_scores(pipes, tmp_path, recording, one_thread):
    pipe = pipes[1]
    chunks = []
    req = RestoreRequest(audio=str(recording), task="denoise", reference=str(recording))
    result = restore(pipe, Workspace(tmp_path), Limits(), req, lambda i, n: chunks.append(i))
    wav, sr = load(recording, mono=False)
    back, back_sr = load(result.restored, mono=False)
    assert back_sr == sr and back.shape == wav.shape  # the input's rate, channels and length
    assert info(result.restored).subtype == "FLOAT"
    a, b = load(result.input_ab)[0], load(result.output_ab)[0]
    assert abs(float(rms_db(a) - rms_db(b))) < 0.1  # A/B at the same level
    assert chunks  # progress after each chunk
    lines = result.scores.splitlines()
    assert lines[0].startswith("| | SI-SDR (dB) |") and lines[2].startswith("| input |")
    assert float(lines[2].split("|")[2]) > 60  # the input against itself
    assert result.sheet.stat().st_size > 0


def test_restore_task_options_are_checked(pipes, tmp_path, recording):
    work = Workspace(tmp_path)
    with pytest.raises(ConfigError, match="needs the cut-off"):
        restore(pipes[1], work, Limits(), RestoreRequest(audio=str(recording), task="bandwidth"))
    with pytest.raises(ConfigError, match="task must be one of"):
        restore(pipes[1], work, Limits(), RestoreRequest(audio=str(recording), task="dereverb"))
    with pytest.raises(ConfigError, match="each span is START:END"):
        restore(pipes[1], work, Limits(),
                RestoreRequest(audio=str(recording), task="inpaint", gaps="0.5:0.2"))  # fmt: skip
    with pytest.raises(ConfigError, match=r"steps must be a whole number in \[1, 200\]"):
        restore(pipes[1], work, Limits(), RestoreRequest(audio=str(recording), steps=500))


def test_a_text_model_takes_prompt_and_negative_prompt(tiny, tmp_path, one_thread):
    pipe = load_model(tiny.model_folder(tmp_path / "text", tiny.model_config(text=True)), "cpu")
    req = GenerateRequest(prompt="a soft bell", negative_prompt="organ", cfg_scale=2.0,
                          seconds=0.25, steps=2)  # fmt: skip
    result = generate(pipe, Workspace(tmp_path / "work"), Limits(), req)
    row = next(csv.DictReader(open(result.folder / "metadata.csv")))
    assert row["prompt"] == "a soft bell"
    with pytest.raises(ConfigError, match="trained on text prompts; write one"):
        generate(pipe, Workspace(tmp_path / "work"), Limits(), replace(req, prompt=" "))
    plain = generate(pipe, Workspace(tmp_path / "work"), Limits(), replace(req, negative_prompt=""))
    assert not torch.equal(load(plain.wavs[0])[0], load(result.wavs[0])[0])  # it was used
