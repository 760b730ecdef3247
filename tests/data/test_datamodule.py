import shutil
from pathlib import Path

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


def test_text_batches_carry_token_ids_of_a_tokenizer_built_from_the_training_captions(
    synth_dir, tmp_path
):
    import csv

    from audiodiff.errors import ConfigError
    from audiodiff.nn.text import Tokenizer

    root = tmp_path / "copy"
    shutil.copytree(synth_dir, root)
    with open(root / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows):
        row["caption"] = f"a clip number{i}"  # one word of its own per clip
    with open(root / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    path = tmp_path / "tokenizer.json"
    dm = AudioDataModule(root=str(root), segment_seconds=0.5, batch_size=4, val_fraction=0.25,
                         text_column="caption", tokenizer_path=str(path))  # fmt: skip
    dm.setup()
    tok = dm.tokenizer
    train = {Path(r["path"]).name for r in dm.train_set.records}
    own = {w for r in rows if Path(r["path"]).name in train for w in Tokenizer.split(r["caption"])}
    assert set(tok.words) == own  # validation captions' words are unknown to it
    batch = next(iter(dm.train_dataloader()))
    ids = batch["cond"]["text"]
    assert ids.shape == (4, tok.max_tokens) and ids.dtype == torch.long
    assert (ids[:, :3] > 1).all() and not ids[:, 3:].any()  # 3 known words, then padding
    val = next(iter(dm.val_dataloader()))["cond"]["text"]
    assert (val[:, 2] == 1).all()  # "number<i>" of a validation clip: the unknown id
    assert Tokenizer.load(path) == tok
    again = AudioDataModule(root=str(root), val_fraction=0.25, text_column="caption",
                            tokenizer_path=str(path))  # fmt: skip
    again.setup()
    assert again.tokenizer == tok
    more = AudioDataModule(root=str(root), val_fraction=0.0, text_column="caption",
                           tokenizer_path=str(path))  # fmt: skip
    more.setup()  # more training captions: new words get new ids, the old ones keep theirs
    assert more.tokenizer.words[: len(tok.words)] == tok.words
    assert len(more.tokenizer.words) > len(tok.words) and Tokenizer.load(path) == more.tokenizer
    with pytest.raises(ConfigError, match="text column 'words'"):
        AudioDataModule(root=str(root), text_column="words").setup()


def test_text_data_follows_the_text_config(synth_dir):
    from audiodiff.cli.config import compose

    cfg = compose("train", ["experiment=smoke", "text=small"])
    assert cfg.data.text_column == "caption"
    assert cfg.data.tokenizer._target_ == "audiodiff.nn.text.Tokenizer.build"
    plain = compose("train", ["experiment=smoke"]).data
    assert plain.text_column is None and plain.tokenizer is None
