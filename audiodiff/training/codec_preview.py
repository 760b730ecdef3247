"""``CodecPreview``: listen to (and look at) what a codec in training makes of real clips.

The first ``n`` clips of the run's first validation batch are kept (on the CPU) and, every
``every_n_epochs`` validation epochs, put through ``codec.reconstruct`` in eval mode. Written
to ``<run>/samples/epoch_XXXX/``: ``NN_input.wav`` and ``NN_output.wav`` per clip, and
``spectrograms.png`` (log-mels, input beside output, the output titled with its MR-STFT
distance to the input); one row per clip is appended to ``<run>/samples/samples.csv``.
With a TensorBoard logger the outputs and the sheet are logged too.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import lightning as L
import torch

from audiodiff.audio.io import save
from audiodiff.audio.mel import MelRepresentation
from audiodiff.codecs.losses import MultiResolutionSTFTLoss
from audiodiff.viz import save_spectrogram_sheet


class CodecPreview(L.Callback):
    """Every ``every_n_epochs`` validations, reconstruct the same ``n`` validation clips."""

    def __init__(self, every_n_epochs: int = 5, n: int = 4) -> None:
        self.every_n_epochs = every_n_epochs
        self.n = n
        self.clips: torch.Tensor | None = None  # [n, 1, N] on the CPU, fixed for the run

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        module: L.LightningModule,
        outputs: Any,
        batch: dict,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self.clips is None and batch_idx == 0 and dataloader_idx == 0:
            self.clips = batch["wav"][: self.n].detach().float().cpu()

    def on_validation_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or self.every_n_epochs <= 0:
            return
        if (trainer.current_epoch + 1) % self.every_n_epochs or self.clips is None:
            return
        codec = module.codec
        sr = int(codec.sample_rate)
        was_training = codec.training
        codec.eval()
        try:
            with torch.no_grad():
                wav_hat, _ = codec.reconstruct(self.clips.to(module.device))
        finally:
            codec.train(was_training)
        out_wav = wav_hat.float().clamp(-1, 1).cpu()  # [n, 1, N']
        in_wav = self.clips[..., : out_wav.shape[-1]]
        mel, stft = MelRepresentation(sample_rate=sr), MultiResolutionSTFTLoss()
        out = Path(trainer.default_root_dir) / "samples" / f"epoch_{trainer.current_epoch:04d}"
        images, titles, rows = [], [], []  # input and output side by side
        for i in range(len(out_wav)):
            distance = float(stft(out_wav[i : i + 1], in_wav[i : i + 1]))
            pair = [(f"clip {i} input", "input", self.clips[i])]
            pair += [(f"clip {i} output (MR-STFT {distance:.3f})", "output", out_wav[i])]
            for title, kind, wav in pair:
                path = save(out / f"{i:02d}_{kind}.wav", wav, sr, overwrite=True)
                images.append(mel.encode(wav[None])[0])  # [n_mels, T]
                titles.append(title)
                rows.append([path.relative_to(out.parent), title])
        sheet = save_spectrogram_sheet(
            out / "spectrograms.png", images, titles, frame_rate=sr / mel.hop_length, ncols=2
        )
        index = out.parent / "samples.csv"  # one row per wav, as SamplePreview's
        new = not index.exists()
        with index.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["epoch", "step", "path", "labels"])
            for row in rows:
                writer.writerow([trainer.current_epoch, trainer.global_step, *row])
        for logger in trainer.loggers:
            writer = getattr(logger, "experiment", None)
            if hasattr(writer, "add_audio"):
                step = trainer.global_step
                for i in range(len(out_wav)):
                    writer.add_audio(f"reconstructions/{i:02d}", out_wav[i, 0], step, sr)
                import matplotlib.image

                writer.add_image(
                    "reconstructions/spectrograms",
                    matplotlib.image.imread(str(sheet)),
                    step,
                    dataformats="HWC",
                )
