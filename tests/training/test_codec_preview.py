"""``CodecPreview``: what it writes, when it writes, and that it shows the same clips."""

import csv
from functools import partial
from types import SimpleNamespace

import lightning as L
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from audiodiff.audio.mel import MelRepresentation
from audiodiff.codecs.losses import MelLoss, MultiResolutionSTFTLoss
from audiodiff.codecs.mel_vocoder import MelVocoder
from audiodiff.codecs.vocoder import VocosVocoder
from audiodiff.training.codec_module import CodecModule
from audiodiff.training.codec_preview import CodecPreview

SR = 16000
N = 4196  # not a multiple of the hop (256): the reconstruction is 16 * 256 = 4096 samples
N_OUT = 4096

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def clips(n: int = 6) -> list[dict]:
    t = torch.arange(N) / SR
    return [{"wav": (0.3 * torch.sin(2 * torch.pi * 110.0 * (1 + i) * t))[None]} for i in range(n)]


def make_module() -> CodecModule:
    torch.manual_seed(0)
    return CodecModule(
        codec=MelVocoder(MelRepresentation(sample_rate=SR), VocosVocoder(dim=16, num_layers=1)),
        discriminators=None,
        stft_loss=MultiResolutionSTFTLoss(resolutions=((256, 64),)),
        mel_loss=MelLoss(MelRepresentation(sample_rate=SR)),
        optimizer=partial(torch.optim.AdamW, lr=1e-3),
        disc_optimizer=partial(torch.optim.AdamW, lr=1e-3),
    )


def fit(root, callbacks, epochs: int, sanity: int = 0, val_loader=None) -> L.Trainer:
    loader = DataLoader(clips(), batch_size=4)
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=epochs,
        limit_train_batches=1,  # one step an epoch
        limit_val_batches=1,
        check_val_every_n_epoch=1,
        num_sanity_val_steps=sanity,
        default_root_dir=root,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
    )
    trainer.fit(make_module(), train_dataloaders=loader, val_dataloaders=val_loader or loader)
    return trainer


@pytest.mark.filterwarnings("ignore:.*shuffling enabled")
def test_writes_clips_sheet_and_index_of_the_same_clips(tmp_path):
    # a shuffled validation loader: a new first batch every epoch, yet the preview keeps its own
    shuffled = torch.Generator().manual_seed(0)  # first batches: clips 5 1 0 3, then 3 2 4 0
    val = DataLoader(clips(), batch_size=4, shuffle=True, generator=shuffled)
    fit(tmp_path, [CodecPreview(every_n_epochs=1, n=3)], epochs=2, val_loader=val)
    samples = tmp_path / "samples"
    epochs = sorted(p.name for p in samples.iterdir() if p.is_dir())
    assert epochs == ["epoch_0000", "epoch_0001"]
    for name in epochs:
        files = sorted(p.name for p in (samples / name).iterdir())
        wavs = [f"{i:02d}_{k}.wav" for i in range(3) for k in ("input", "output")]
        assert files == sorted([*wavs, "spectrograms.png"])
        assert (samples / name / "spectrograms.png").stat().st_size > 1000
        for i in range(3):
            inp, out = samples / name / f"{i:02d}_input.wav", samples / name / f"{i:02d}_output.wav"
            assert sf.info(inp).samplerate == SR and sf.info(out).samplerate == SR
            assert sf.info(inp).frames == N and sf.info(out).frames == N_OUT
            audio = sf.read(out, dtype="float32")[0]
            assert abs(audio).max() <= 1.0 and not (audio == 0).all()
    first = [sf.read(samples / "epoch_0000" / f"{i:02d}_input.wav")[0] for i in range(3)]
    again = [sf.read(samples / "epoch_0001" / f"{i:02d}_input.wav")[0] for i in range(3)]
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    assert not (first[0][:N_OUT] == first[1][:N_OUT]).all()  # different clips
    out0 = sf.read(samples / "epoch_0000" / "00_output.wav")[0]
    out1 = sf.read(samples / "epoch_0001" / "00_output.wav")[0]
    assert not (out0 == out1).all()  # the codec trained a step in between

    with (samples / "samples.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "step", "path", "labels"]
    assert len(rows) == 1 + 2 * 3 * 2  # 2 previews x 3 clips x (input, output)
    assert [r[:2] for r in rows[1:]] == [["0", "1"]] * 6 + [["1", "2"]] * 6
    assert all((samples / r[2]).is_file() for r in rows[1:])
    assert rows[1][3] == "clip 0 input" and rows[2][3].startswith("clip 0 output (MR-STFT ")
    assert float(rows[2][3].split()[-1].rstrip(")")) > 0


class SamplesProbe(L.Callback):
    """Records whether samples/ existed when the sanity check ended (after the preview ran)."""

    def __init__(self, root) -> None:
        self.root = root
        self.after_sanity = None

    def on_sanity_check_end(self, trainer, module) -> None:
        self.after_sanity = (self.root / "samples").exists()


def test_nothing_during_the_sanity_check(tmp_path):
    probe = SamplesProbe(tmp_path)
    fit(tmp_path, [CodecPreview(every_n_epochs=1, n=2), probe], epochs=1, sanity=1)
    assert probe.after_sanity is False
    assert (tmp_path / "samples" / "epoch_0000" / "01_output.wav").is_file()  # but after it


def test_only_every_n_epochs(tmp_path):
    fit(tmp_path, [CodecPreview(every_n_epochs=2, n=1)], epochs=3)
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "epoch_0001",
        "samples.csv",
    ]


class Writer:
    """Stands in for a TensorBoard SummaryWriter: records what is logged."""

    def __init__(self) -> None:
        self.audio, self.images, self.peaks = [], [], []

    def add_audio(self, tag, wav, step, sample_rate) -> None:
        self.audio.append((tag, tuple(wav.shape), step, sample_rate))
        self.peaks.append(float(wav.abs().max()))

    def add_image(self, tag, image, step, dataformats) -> None:
        self.images.append((tag, image.shape, step, dataformats))


def test_logs_to_tensorboard_clamps_and_restores_train_mode(tmp_path):
    module = make_module()
    module.codec.train()
    reconstruct = module.codec.reconstruct
    module.codec.reconstruct = lambda wav: (5 * reconstruct(wav)[0], None)  # loud: past +-1
    writer = Writer()
    trainer = SimpleNamespace(
        sanity_checking=False,
        is_global_zero=True,
        current_epoch=4,
        global_step=7,
        default_root_dir=str(tmp_path),
        loggers=[SimpleNamespace(experiment=writer), SimpleNamespace(experiment=None)],
    )
    preview = CodecPreview(every_n_epochs=5, n=2)
    preview.on_validation_epoch_end(trainer, module)  # no validation batch seen yet: nothing
    assert not (tmp_path / "samples").exists()
    batch = {"wav": torch.stack([c["wav"] for c in clips(3)])}
    preview.on_validation_batch_end(trainer, module, None, batch, 0)
    preview.on_validation_epoch_end(trainer, module)
    assert module.codec.training
    assert len(list((tmp_path / "samples" / "epoch_0004").glob("*.wav"))) == 4
    assert writer.audio == [(f"reconstructions/{i:02d}", (N_OUT,), 7, SR) for i in range(2)]
    assert max(writer.peaks) == 1.0  # clamped
    ((tag, shape, step, fmt),) = writer.images
    assert tag == "reconstructions/spectrograms" and step == 7 and fmt == "HWC" and shape[2] >= 3
