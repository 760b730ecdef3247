"""last.ckpt is the newest state whatever validation does; saves are atomic; NaN stops a run."""

from __future__ import annotations

import errno
from pathlib import Path

import lightning as L
import pytest
import torch

from audiodiff.cli.main import main
from audiodiff.safe_load import read_checkpoint
from audiodiff.training.codec_module import CodecModule
from audiodiff.training.module import DiffusionModule


def train(tmp: Path, experiment: str, *extra: str) -> int:
    return main(
        [
            "train",
            f"experiment={experiment}",
            f"run_dir={tmp / 'run'}",
            f"paths.data_dir={tmp / 'data'}",
            "callbacks.preview=null",
            *extra,
        ]
    )


def rising_validation(monkeypatch, module_class) -> None:
    """Validation loss = the step: it never improves after the first validation."""

    def validation_step(self, batch, batch_idx):
        value = torch.tensor(float(self.global_step))
        self.log("val/loss", value, batch_size=1)

    monkeypatch.setattr(module_class, "validation_step", validation_step)


@pytest.mark.parametrize(
    ("experiment", "module_class"),
    [("smoke", DiffusionModule), ("codec_smoke", CodecModule)],
)
def test_last_ckpt_is_the_newest_step_when_validation_loss_rises(
    tmp_path, monkeypatch, experiment, module_class
):
    rising_validation(monkeypatch, module_class)
    assert train(tmp_path, experiment, "trainer.max_steps=6") == 0
    checkpoints = tmp_path / "run" / "checkpoints"
    assert read_checkpoint(checkpoints / "last.ckpt")["global_step"] == 6
    best = sorted(p.name for p in checkpoints.glob("best-*.ckpt"))
    assert best == ["best-step0000002.ckpt"], best  # the first validation stays the best
    assert read_checkpoint(checkpoints / best[0])["global_step"] == 2


def test_last_ckpt_every_n_steps(tmp_path, monkeypatch):
    saved = []
    real = L.Trainer.save_checkpoint

    def spy(self, path, *args, **kwargs):
        if ".last.ckpt" in str(path):
            saved.append(self.global_step)
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(L.Trainer, "save_checkpoint", spy)
    args = ["trainer.max_steps=7", "callbacks.checkpoint.every_n_train_steps=3"]
    assert train(tmp_path, "smoke", *args) == 0
    assert saved == [3, 6, 7]  # every 3 steps, and the end


def test_every_n_minutes_saves_by_the_clock(tmp_path, monkeypatch):
    import audiodiff.training.checkpointing as checkpointing

    clock = iter(range(0, 10_000, 45))  # each call: 45 s later
    monkeypatch.setattr(checkpointing.time, "monotonic", lambda: float(next(clock)))
    saved = []
    real = checkpointing.LastCheckpoint.save

    def spy(self, trainer, module):
        saved.append(trainer.global_step)
        real(self, trainer, module)

    monkeypatch.setattr(checkpointing.LastCheckpoint, "save", spy)
    args = [
        "trainer.max_steps=4",
        "callbacks.checkpoint.every_n_train_steps=null",
        "callbacks.checkpoint.every_n_minutes=1.0",
    ]
    assert train(tmp_path, "smoke", *args) == 0
    assert 1 <= len([s for s in saved if s < 4]) < 4 and saved[-1] == 4


def test_a_failed_save_leaves_the_previous_last_ckpt_whole(tmp_path, monkeypatch, capsys):
    real = L.Trainer.save_checkpoint
    calls = []

    def full_disk(self, path, *args, **kwargs):
        calls.append(self.global_step)
        if len(calls) == 2:  # the second save: half a file, then the disk is full
            Path(path).write_bytes(b"PK\x03\x04 half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(L.Trainer, "save_checkpoint", full_disk)
    args = ["trainer.max_steps=6", "callbacks.checkpoint.every_n_train_steps=2"]
    assert train(tmp_path, "smoke", *args) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    checkpoints = tmp_path / "run" / "checkpoints"
    assert read_checkpoint(checkpoints / "last.ckpt")["global_step"] == 2
    assert not list(checkpoints.glob(".last.ckpt*")), "the partial file was not cleaned up"


@pytest.mark.parametrize("part", ["loss", "gradient"])
def test_a_non_finite_loss_or_gradient_stops_with_one_line(tmp_path, monkeypatch, capsys, part):
    from audiodiff.diffusion.loss import EDMLoss

    real = EDMLoss.__call__
    calls = []

    def poisoned(self, *args, **kwargs):
        loss = real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 5:  # step 5
            if part == "loss":
                return loss * float("nan")
            p = next(args[0].parameters())  # finite value, infinite slope: a NaN gradient
            return loss + 0.0 * (p - p.detach()).abs().sqrt().sum()
        return loss

    monkeypatch.setattr(EDMLoss, "__call__", poisoned)
    args = ["trainer.max_steps=8", "callbacks.checkpoint.every_n_train_steps=2"]
    assert train(tmp_path, "smoke", *args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "step 5:" in err and ("loss is nan" in err if part == "loss" else "gradient" in err)
    assert ".wav" in err  # names the batch's files
    ckpt = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 4  # the last finite state
    assert all(
        torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point()
    )

    # a resumed run starts from the finite state (and runs on when the fault is gone)
    monkeypatch.setattr(EDMLoss, "__call__", real)
    code = main(
        [
            "train",
            "experiment=smoke",
            f"resume={tmp_path / 'run'}",
            f"paths.data_dir={tmp_path / 'data'}",
            "callbacks.preview=null",
            *args,
        ]
    )
    assert code == 0
    ckpt = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 8
    assert all(
        torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point()
    )


def test_a_run_saved_before_diffusion_denoiser_existed_resumes_as_edm(tmp_path):
    from omegaconf import OmegaConf

    assert train(tmp_path, "smoke", "trainer.max_steps=2") == 0
    saved = tmp_path / "run" / "config.yaml"
    config = OmegaConf.load(saved)
    assert config.diffusion.denoiser._target_.endswith("precond.Denoiser")
    del config.diffusion["denoiser"]  # what runs of older versions saved
    OmegaConf.save(config, saved)
    resume = [f"resume={tmp_path / 'run'}", f"paths.data_dir={tmp_path / 'data'}"]
    assert main(["train", "experiment=smoke", *resume, "callbacks.preview=null",
                 "trainer.max_steps=3"]) == 0  # fmt: skip
    assert read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")["global_step"] == 3
    # another formulation is another model: refused
    code = main(["train", "experiment=smoke", *resume, "diffusion=flow", "trainer.max_steps=4"])
    assert code == 2
