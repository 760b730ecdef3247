"""`audiodiff export ckpt=... format=onnx out=DIR`: the folder it writes, and one-line errors
(unknown format, missing checkpoint, a non-empty out) that leave no output behind."""

import json
import shutil

import pytest
import yaml

pytest.importorskip("onnx", reason="the export needs onnx (pip install 'audiodiff[onnx]')")
pytest.importorskip("onnxscript", reason="the export needs onnxscript")

from audiodiff.cli.main import main  # noqa: E402
from audiodiff.safe_load import read_config  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def one_line_error(capsys, args, *fragments):
    code = main(["export", *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("audiodiff: error:") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_the_folder_holds_graphs_config_vocab_and_readme(edm_export):
    folder = edm_export.onnx
    names = {"denoiser.onnx", "decoder.onnx", "config.yaml", "vocab.json", "export.json"}
    assert {p.name for p in folder.iterdir()} == names | {"README.txt"}
    assert read_config(folder / "config.yaml") == read_config(edm_export.model / "config.yaml")
    vocab = json.loads((folder / "vocab.json").read_text())
    assert vocab == read_config(edm_export.model / "config.yaml")["vocab"]
    meta = json.loads((folder / "export.json").read_text())
    assert meta["decoder"]["kind"] == "vocoder" and meta["denoiser"]["downsample_factor"] == 2
    assert max(meta["check"].values()) <= 1e-4
    readme = (folder / "README.txt").read_text()
    for line in ("seconds_start  float32 [batch]", "instrument     int64   [batch]",
                 "wav float32 [batch, 1, frames * 64] at 16000 Hz"):  # fmt: skip
        assert line in readme, readme


def test_errors_are_one_line_and_write_nothing(capsys, tmp_path, edm_export):
    out = tmp_path / "out"
    one_line_error(capsys, [f"ckpt={edm_export.model}", "format=tflite", f"out={out}"],
                   "unknown format 'tflite'; choose from onnx")  # fmt: skip
    one_line_error(capsys, [f"ckpt={tmp_path / 'nope'}", f"out={out}"],
                   "nope: no such checkpoint or model folder")  # fmt: skip
    one_line_error(capsys, [f"ckpt={edm_export.model}", "opset=13", f"out={out}"], "opset")
    assert not out.exists()
    one_line_error(capsys, [f"ckpt={edm_export.model}", f"out={edm_export.model}"],
                   "exists and is not empty (add overwrite=true)")  # fmt: skip
    assert {p.name for p in edm_export.model.iterdir()} == {"model.safetensors", "config.yaml"}
    one_line_error(capsys, [f"out={out}"], "ckpt")
    (tmp_path / "file").write_text("")
    one_line_error(capsys, [f"ckpt={edm_export.model}", f"out={tmp_path / 'file'}"], "is a file")


def test_a_model_without_an_exportable_decoder_keeps_the_old_export(capsys, tmp_path, tiny):
    vocoder = tiny.vocoder_folder(tmp_path / "voc", phase="locked")
    config = tiny.model_config(decoder=tiny.vocoder_decoder(vocoder))
    model = tiny.model_folder(tmp_path / "model", config)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("kept")
    one_line_error(capsys, [f"ckpt={model}", f"out={out}", "overwrite=true"],
                   "phase=locked vocoder does not export")  # fmt: skip
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert [p.name for p in out.iterdir()] == ["old.txt"]


@pytest.mark.slow
def test_overwrite_replaces_an_export(capsys, tmp_path, edm_export):
    out = tmp_path / "onnx"
    shutil.copytree(edm_export.onnx, out)
    (out / "stale.txt").write_text("from before")
    args = ["export", f"ckpt={edm_export.model}", f"out={out}", "overwrite=true", "check=false"]
    assert main(args) == 0
    assert not (out / "stale.txt").exists() and (out / "denoiser.onnx").stat().st_size > 10_000
    assert json.loads((out / "export.json").read_text())["check"] == {}
    assert yaml.safe_load((out / "config.yaml").read_text())["model"]["timing"] is True


def test_generate_backend_onnx_writes_the_torch_pipelines_audio(edm_export, tmp_path):
    """`audiodiff generate backend=onnx ckpt=EXPORT` runs the same solver with onnxruntime as
    the denoiser and the exported decoder: the same clips as the torch model, to 1e-3."""
    from audiodiff.audio.io import load

    common = ["n=2", "seconds=0.5", "sampler=euler", "steps=3", "seed=4", "cond.instrument=bell"]
    assert main(["generate", f"ckpt={edm_export.model}", f"out={tmp_path / 't'}", *common]) == 0
    onnx_args = ["backend=onnx", f"ckpt={edm_export.onnx}", f"out={tmp_path / 'o'}", *common]
    assert main(["generate", *onnx_args]) == 0
    names = sorted(p.name for p in (tmp_path / "t").glob("*.wav"))
    assert names == sorted(p.name for p in (tmp_path / "o").glob("*.wav")) and len(names) == 2
    for name in names:
        a, _ = load(tmp_path / "t" / name)
        b, _ = load(tmp_path / "o" / name)
        assert a.abs().max() > 1e-3 and (a - b).abs().max() <= 1e-3


def test_backend_onnx_refuses_a_decoder_override_in_one_line(edm_export, tmp_path, capsys):
    code = main(["generate", "backend=onnx", f"ckpt={edm_export.onnx}", f"out={tmp_path / 'o'}",
                 f"autoencoder={tmp_path}"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "backend=onnx" in err, err
    code = main(["generate", "backend=tflite", f"ckpt={edm_export.onnx}", f"out={tmp_path / 'x'}"])
    err = capsys.readouterr().err
    assert code == 2 and "backend must be torch or onnx" in err, err
