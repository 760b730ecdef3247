"""No loading path runs code from a file: every one refuses a booby-trapped checkpoint or
config with one line (exit 2), and the trap's file is never created."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch
import yaml

import audiodiff
from audiodiff.cli.main import main
from audiodiff.errors import AudioDiffError


class Trap:
    """Unpickling this calls os.system('touch MARKER')."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


@pytest.fixture
def model(smoke_run) -> Path:
    return smoke_run


@pytest.fixture
def trap(tmp_path) -> tuple[Path, Path]:
    """(evil.ckpt, the marker its unpickling would create); the trap is shown to be live."""
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "audiodiff": {"config": {}}, "x": Trap(marker)}, evil)
    torch.load(evil, weights_only=False)  # the unsafe way: it does run the code
    assert marker.exists(), "the trap must be live for this test to mean anything"
    marker.unlink()
    return evil, marker


def one_line_error(capsys, code: int, *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def test_generate_refuses_a_trapped_ckpt(trap, tmp_path, capsys):
    evil, marker = trap
    code = main(["generate", f"ckpt={evil}", f"out={tmp_path / 'g'}", "n=1", "seconds=0.2"])
    one_line_error(capsys, code, str(evil), "refused")
    assert not marker.exists() and not (tmp_path / "g").exists()


def test_load_refuses_a_trapped_ckpt(trap):
    evil, marker = trap
    with pytest.raises(AudioDiffError, match="refused"):
        audiodiff.load(evil)
    assert not marker.exists()


def test_resume_refuses_a_trapped_last_ckpt(trap, model, tmp_path, capsys):
    evil, marker = trap
    run = tmp_path / "run"
    shutil.copytree(model, run)
    shutil.copy(evil, run / "checkpoints" / "last.ckpt")
    data = model.parent / "data"
    code = main(["train", "experiment=smoke", f"resume={run}", f"paths.data_dir={data}"])
    one_line_error(capsys, code, "last.ckpt", "refused")
    assert not marker.exists()


def test_training_from_a_trapped_ckpt_path_is_refused(trap, model, tmp_path, capsys):
    evil, marker = trap
    args = [f"run_dir={tmp_path / 'run'}", f"paths.data_dir={model.parent / 'data'}"]
    code = main(["train", "experiment=smoke", f"ckpt_path={evil}", *args])
    one_line_error(capsys, code, "evil.ckpt", "refused")
    assert not marker.exists()


def test_vocoder_autoencoder_and_init_from_refuse_a_pickle(trap, model, tmp_path, capsys):
    """Codec exports are safetensors: a pickle in their place is not readable weights, for
    the vocoder (decoder.ckpt=), the autoencoder (representation.ckpt=) and task.init_from."""
    from audiodiff.codecs.decoders import latent

    evil, marker = trap
    folder = tmp_path / "codec"
    folder.mkdir()
    shutil.copy(evil, folder / "codec.safetensors")
    args = [f"ckpt={model / 'model'}", f"out={tmp_path / 'g'}", "n=1", "seconds=0.2"]
    code = main(["generate", *args, "decoder=vocoder", f"decoder.ckpt={folder}"])
    one_line_error(capsys, code, "codec.safetensors", "not a readable safetensors")
    with pytest.raises(AudioDiffError, match="not a readable safetensors"):
        latent(str(folder), 16000)
    train = ["train", "experiment=codec_smoke", f"run_dir={tmp_path / 'run'}"]
    data = f"paths.data_dir={model.parent / 'data'}"
    code = main([*train, data, f"task.init_from={folder}"])
    one_line_error(capsys, code, "not a readable safetensors")
    assert not marker.exists()


def test_an_export_whose_config_builds_os_system_is_refused(model, tmp_path, capsys):
    marker = tmp_path / "PWNED"
    folder = tmp_path / "export"
    shutil.copytree(model / "model", folder)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["model"] = {"_target_": "os.system", "command": f"touch '{marker}'"}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(AudioDiffError, match="os.system"):
        audiodiff.load(folder)
    code = main(["generate", f"ckpt={folder}", f"out={tmp_path / 'g'}", "n=1", "seconds=0.2"])
    one_line_error(capsys, code, "refused", "os.system")
    assert not marker.exists()


def test_a_codec_export_whose_config_builds_os_system_is_refused(tmp_path):
    from audiodiff.training.export import export_codec, load_codec

    marker = tmp_path / "PWNED"
    codec = torch.nn.Linear(2, 2)
    evil = {"_target_": "os.system", "command": f"touch '{marker}'"}
    folder = export_codec(codec, evil, {}, tmp_path / "codec")
    with pytest.raises(AudioDiffError, match="refused"):
        load_codec(folder)
    assert not marker.exists()


def test_truncated_checkpoint_and_safetensors_are_one_line(model, tmp_path, capsys):
    ckpt = (model / "checkpoints" / "last.ckpt").read_bytes()
    weights = (model / "model" / "model.safetensors").read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(ckpt[: len(ckpt) // 2])
    folder = tmp_path / "cut"
    shutil.copytree(model / "model", folder)
    (folder / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    for target in (tmp_path / "cut.ckpt", folder):
        code = main(["generate", f"ckpt={target}", f"out={tmp_path / 'g'}", "n=1"])
        one_line_error(capsys, code, "not a readable")
