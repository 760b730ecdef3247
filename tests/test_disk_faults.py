"""A full disk mid-way through generate, an export or a checkpoint: one clear line, and no
partial WAV, safetensors or checkpoint under its final name.

The disk is a small tmpfs where the machine allows mounting one (root in a container);
elsewhere the writers are monkeypatched to write half a file and fail with ENOSPC.
"""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest
import soundfile as sf

from audiodiff.cli.main import main


@pytest.fixture
def model(smoke_run) -> Path:
    return smoke_run


def _half_then_enospc(monkeypatch, folder: Path) -> None:
    """Writers under ``folder`` write a little, then fail as a full disk does."""
    from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

    import audiodiff.audio.io as audio_io
    import audiodiff.training.export as export

    def failing(real, path_arg: int):
        def write(*args, **kwargs):
            target = args[path_arg]
            name = target.decode() if isinstance(target, bytes) else str(target)
            if not name.startswith(str(folder)):
                return real(*args, **kwargs)
            Path(name).write_bytes(b"\0" * 100)
            raise OSError(errno.ENOSPC, "No space left on device", name)

        return write

    monkeypatch.setattr(audio_io.sf, "write", failing(sf.write, 0))
    monkeypatch.setattr(export, "save_file", failing(export.save_file, 1))
    save = TorchCheckpointIO.save_checkpoint
    monkeypatch.setattr(TorchCheckpointIO, "save_checkpoint", failing(save, 2))


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    """A folder with room for ~40 kB: a real tmpfs, else monkeypatched writers."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        _half_then_enospc(monkeypatch, folder)
    yield folder
    if mounted.returncode == 0:
        subprocess.run(["umount", str(folder)], check=True)


def one_line(capsys, code: int) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def no_partial_files(folder: Path) -> list[Path]:
    hidden = [p for p in folder.rglob(".*")]
    assert not hidden, f"temporary files left behind: {hidden}"
    return [p for p in folder.rglob("*") if p.is_file()]


def test_generate_on_a_full_disk(model, full_disk, capsys):
    out = full_disk / "gen"
    args = [f"ckpt={model / 'model'}", f"out={out}", "n=8", "seconds=0.5", "steps=2"]
    err = one_line(capsys, main(["generate", *args]))
    assert "space" in err.lower() or "write" in err.lower(), err
    for path in no_partial_files(full_disk):
        if path.suffix == ".wav":  # every clip left under its name is whole
            info = sf.info(str(path))
            assert info.frames == 8000, path
    assert not (out / "metadata.csv").exists()


def test_export_on_a_full_disk(model, full_disk):
    from audiodiff.pipeline import load
    from audiodiff.training.export import export

    pipe = load(model / "model")
    with pytest.raises(OSError) as caught:
        export(pipe.denoiser, pipe.config, full_disk / "export")
    assert caught.value.errno == errno.ENOSPC
    assert not (full_disk / "export" / "model.safetensors").exists()
    no_partial_files(full_disk)


def test_checkpoint_on_a_full_disk(model, full_disk, tmp_path, capsys):
    args = [
        f"run_dir={tmp_path / 'run'}",
        f"paths.data_dir={model.parent / 'data'}",
        f"callbacks.checkpoint.dirpath={full_disk}",
        "callbacks.checkpoint.every_n_train_steps=1",
        "callbacks.preview=null",
        "trainer.max_steps=2",
    ]
    err = one_line(capsys, main(["train", "experiment=smoke", *args]))
    assert "space" in err.lower(), err
    assert not (full_disk / "last.ckpt").exists()
    no_partial_files(full_disk)
