"""Callbacks: preview samples during training, and keep the weights-only export current."""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path
from typing import Protocol

import lightning as L
import torch

from audiodiff.audio.io import save
from audiodiff.errors import ConfigError
from audiodiff.generation import sample
from audiodiff.training.module import DiffusionModule
from audiodiff.viz import save_spectrogram_sheet


class SamplePreview(L.Callback):
    """Every ``every_n_epochs`` validations, sample ``n`` clips with the EMA weights.

    Labels come from the first validation batch, so previews show what the data shows.
    Clips and a spectrogram sheet go to ``<run>/samples/epoch_XXXX/``; with a TensorBoard
    logger they are also logged as audio and an image. Seeded: the same noise every time.
    """

    def __init__(
        self,
        every_n_epochs: int = 5,
        n: int = 4,
        seconds: float = 1.5,
        sampler: str = "dpmpp_2m",
        steps: int = 20,
        cfg_scale: float = 2.0,
        seed: int = 0,
    ) -> None:
        if n < 1 or seconds <= 0 or steps < 1:
            raise ConfigError(
                f"callbacks.preview: need n >= 1, seconds > 0, steps >= 1 "
                f"(got {n}, {seconds}, {steps})"
            )
        self.every_n_epochs = every_n_epochs
        self.n = n
        self.seconds = seconds
        self.sampler = sampler
        self.steps = steps
        self.cfg_scale = cfg_scale
        self.seed = seed

    def on_validation_epoch_end(self, trainer: L.Trainer, module: DiffusionModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or self.every_n_epochs <= 0:
            return
        if (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        rep = module.representation
        cond = module.example_cond
        n = self.n if cond is None else min(self.n, len(next(iter(cond.values()))))
        cond = {k: v[:n] for k, v in cond.items()} if cond else None
        diffusion = module.config.get("diffusion", {})
        frames = max(1, round(self.seconds * rep.frame_rate))
        x = sample(
            module.ema.module,
            (n, rep.channels, frames),
            cond=cond,
            sampler=self.sampler,
            steps=self.steps,
            cfg_scale=self.cfg_scale,
            sigma_min=diffusion.get("sigma_min", 0.002),
            sigma_max=diffusion.get("sigma_max", 80.0),
            generator=torch.Generator().manual_seed(self.seed),
            device=module.device,
        )
        wav = rep.decode(x).float().clamp(-1, 1).cpu()  # [n, 1, N]
        out = Path(trainer.default_root_dir) / "samples" / f"epoch_{trainer.current_epoch:04d}"
        vocab = module.config.get("vocab", {})
        titles = []
        for i in range(n):
            parts = [vocab[k][int(v[i])] for k, v in (cond or {}).items() if k in vocab]
            titles.append(" ".join(parts) or f"sample {i}")
            save(out / f"{i:02d}.wav", wav[i], rep.sample_rate, overwrite=True)
        sheet = save_spectrogram_sheet(
            out / "spectrograms.png", x.float().cpu(), titles, frame_rate=rep.frame_rate
        )
        index = out.parent / "samples.csv"  # one row per preview clip, for the CSV-minded
        new = not index.exists()
        with index.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["epoch", "step", "path", "labels"])
            for i, title in enumerate(titles):
                path = (out / f"{i:02d}.wav").relative_to(out.parent)
                writer.writerow([trainer.current_epoch, trainer.global_step, path, title])
        for logger in trainer.loggers:
            writer = getattr(logger, "experiment", None)
            if hasattr(writer, "add_audio"):
                step = trainer.global_step
                for i in range(n):
                    writer.add_audio(f"samples/{i:02d}", wav[i, 0], step, rep.sample_rate)
                import matplotlib.image

                writer.add_image(
                    "samples/spectrograms",
                    matplotlib.image.imread(str(sheet)),
                    step,
                    dataformats="HWC",
                )


class Exportable(Protocol):
    def export_to(self, folder: str | Path) -> Path: ...


class ExportWeights(L.Callback):
    """Keep the weights-only export current in ``out_dir``: ``module.export_to(out_dir)``.

    ``DiffusionModule`` writes ``model.safetensors`` (EMA weights) + ``config.yaml``;
    ``CodecModule`` writes ``codec.safetensors`` + ``config.yaml``.
    """

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    def _export(self, trainer: L.Trainer, module: Exportable) -> None:
        if trainer.is_global_zero and not trainer.sanity_checking:
            module.export_to(self.out_dir)

    def on_validation_epoch_end(self, trainer: L.Trainer, module: Exportable) -> None:
        self._export(trainer, module)

    def on_train_end(self, trainer: L.Trainer, module: Exportable) -> None:
        self._export(trainer, module)


class BatchLog(L.Callback):
    """Append one line per optimizer step to ``path`` (default ``<run>/batches.csv``):
    step, the clips' dataset indices and a hash of the batch tensor. Shows which clips a step
    saw (e.g. before a fault) and lets a test check that a resumed run saw the same batches.
    Off by default: ``+callbacks.batch_log._target_=audiodiff.training.callbacks.BatchLog``.
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._line = ""

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch, i):
        data = batch.get("x", batch.get("wav"))
        digest = hashlib.sha1(data.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
        index = " ".join(str(int(j)) for j in torch.as_tensor(batch["index"]).flatten())
        self._line = f"{index},{digest[:16]}"

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *_) -> None:
        if not trainer.is_global_zero:
            return
        path = Path(self.path or Path(trainer.default_root_dir) / "batches.csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:  # one write per line: a kill never leaves half a line in the middle
            os.write(fd, f"{trainer.global_step},{self._line}\n".encode())
        finally:
            os.close(fd)
