import shutil

import pytest
import torch

from audiodiff.data.datamodule import AudioDataModule
from audiodiff.data.synth import SynthSpec


def test_builds_missing_synth_and_serves_batches(tmp_path):
    root = tmp_path / "synth"
    dm = AudioDataModule(
        root=str(root),
        labels=["instrument", "pitch"],
        segment_seconds=0.5,
        batch_size=4,
        val_fraction=0.25,
        synth=SynthSpec(n=16, max_seconds=1.0),
    )
    dm.prepare_data()
    assert (root / "metadata.csv").is_file()
    dm.setup("fit")
    assert len(dm.train_set) + len(dm.val_set) == 16
    batch = next(iter(dm.train_dataloader()))
    assert batch["wav"].shape == (4, 1, 8000)
    assert batch["cond"]["instrument"].shape == (4,) and batch["cond"]["pitch"].dtype == torch.long
    assert not (root / "vocab.json").exists()  # no vocab_path: nothing written beside the data
    val = next(iter(dm.val_dataloader()))
    assert val["wav"].shape[1:] == (1, 8000)


def test_skips_unreadable_files_with_a_count(synth_dir, tmp_path, caplog):
    root = tmp_path / "copy"
    shutil.copytree(synth_dir, root)
    (root / "bell").iterdir().__next__().write_bytes(b"broken")
    dm = AudioDataModule(root=str(root), labels=["instrument"], segment_seconds=0.5)
    dm.setup()
    assert len(dm.skipped) == 1 and len(dm.train_set) + len(dm.val_set) == 23
    assert "skipped 1 of 24 clips" in caplog.text


def test_vocab_is_reused_from_disk(synth_dir, tmp_path):
    vocab_path = tmp_path / "vocab.json"
    dm = AudioDataModule(root=str(synth_dir), labels=["instrument"], vocab_path=str(vocab_path))
    dm.setup()
    dm2 = AudioDataModule(root=str(synth_dir), labels=["instrument"], vocab_path=str(vocab_path))
    dm2.setup()
    assert dm.vocab == dm2.vocab and vocab_path.is_file()


def test_bad_segment_length():
    from audiodiff.errors import ConfigError

    with pytest.raises(ConfigError):
        AudioDataModule(root="x", segment_seconds=0)


def test_timing_batches_carry_float_seconds_and_follow_model_timing(synth_dir):
    from audiodiff.cli.config import compose

    dm = AudioDataModule(root=str(synth_dir), labels=["instrument"], segment_seconds=0.5,
                         batch_size=4, timing=True)  # fmt: skip
    batch = next(iter(dm.train_dataloader()))
    for key in ("seconds_start", "seconds_total"):
        assert batch["cond"][key].shape == (4,) and batch["cond"][key].dtype == torch.float32
    start, total = batch["cond"]["seconds_start"], batch["cond"]["seconds_total"]
    assert ((start == 0) | (start + 0.5 <= total + 1e-4)).all()  # a crop lies inside its file
    assert compose("train", ["experiment=smoke", "+model.timing=true"]).data.timing is True
    assert compose("train", ["experiment=smoke"]).data.timing is False  # no key: off
