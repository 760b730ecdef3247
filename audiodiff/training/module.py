"""``DiffusionModule``: wires representation, denoiser, loss, optimizer and EMA together.

No diffusion math lives here (style habit 4): the loss, the preconditioning and the samplers
are injected or imported. Checkpoints carry the resolved config, so they load without the
run folder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from audiodiff.audio.representation import Representation
from audiodiff.diffusion.loss import EDMLoss
from audiodiff.diffusion.precond import Denoiser
from audiodiff.training.compile import COMPILE_MODES
from audiodiff.training.ema import EMA
from audiodiff.training.export import export

CHECKPOINT_KEY = "audiodiff"
OBSERVATION = "obs"  # cond key of a degraded recording's features (UNet1d.OBSERVATION)


class DiffusionModule(L.LightningModule):
    """Trains a preconditioned ``denoiser`` on ``representation.encode(wav)``.

    ``self.ema.module`` is the averaged denoiser that validation, previews and export use.
    """

    def __init__(
        self,
        denoiser: Denoiser,
        representation: Representation,
        loss: EDMLoss,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
        ema_decay: float = 0.999,
        val_sigmas: Sequence[float] = (0.05, 0.5, 5.0),
        config: dict | None = None,
        compile_mode: str | None = None,
    ) -> None:
        super().__init__()
        self.denoiser = denoiser
        self.ema = EMA(self.denoiser, decay=ema_decay)
        self.representation = representation
        self.loss = loss
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.val_sigmas = tuple(float(s) for s in val_sigmas)
        self.config = config or {}
        self.example_cond: dict[str, Tensor] | None = None  # labels of a validation batch
        if compile_mode not in COMPILE_MODES:
            raise ValueError(f"compile mode must be one of {COMPILE_MODES}, got {compile_mode!r}")
        self.compile_mode = compile_mode
        self._compiled: list[torch.nn.Module] = []  # outside the module tree: no state_dict keys

    def train_denoiser(self) -> torch.nn.Module:
        """The denoiser the training step calls: ``self.denoiser`` itself, or with a
        ``compile_mode`` the same module under ``torch.compile`` (built on first use; it shares
        the parameters, so checkpoints, the EMA and export are unchanged)."""
        if self.compile_mode is None:
            return self.denoiser
        if not self._compiled:
            self._compiled.append(torch.compile(self.denoiser, mode=self.compile_mode))
        return self._compiled[0]

    def features(self, batch: dict) -> Tensor:
        """The model's input x: [B, C, T], cached features or encoded on the fly."""
        if "x" in batch:
            return batch["x"].float()
        with torch.no_grad():
            return self.representation.encode(batch["wav"].float())

    def conditions(self, batch: dict) -> dict[str, Tensor] | None:
        """The batch's labels, plus ``obs`` (the degraded clip's features) when it has one:
        conditional restoration (the net reads obs beside x; see ``UNet1d``)."""
        cond = batch.get("cond")
        if "degraded" not in batch:
            return cond
        with torch.no_grad():
            obs = self.representation.encode(batch["degraded"].float())
        return {**(cond or {}), OBSERVATION: obs}

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        x = self.features(batch)
        loss = self.loss(self.train_denoiser(), x, self.conditions(batch))
        self.log("train/loss", loss, prog_bar=True, batch_size=x.shape[0])
        return loss

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        # the EMA follows every optimizer step inside the step itself, so a checkpoint written
        # at the batch's end (callbacks run before the module's hooks) already includes it
        super().optimizer_step(*args, **kwargs)
        self.ema.update(self.denoiser)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        x = self.features(batch)
        cond = self.conditions(batch)
        if batch_idx == 0 and cond:  # labels for the previews (which draw whole new clips)
            self.example_cond = {k: v.detach() for k, v in cond.items() if k != OBSERVATION}
        generator = torch.Generator(device=x.device).manual_seed(batch_idx)
        losses = self.loss.at_sigmas(self.ema.module, x, cond, self.val_sigmas, generator)
        for sigma, value in losses.items():
            self.log(f"val/loss_sigma_{sigma:g}", value, batch_size=x.shape[0], sync_dist=True)
        mean = torch.stack([torch.as_tensor(v) for v in losses.values()]).mean()
        self.log("val/loss", mean, prog_bar=True, batch_size=x.shape[0], sync_dist=True)

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.denoiser.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CHECKPOINT_KEY] = {"format": 1, "config": self.config}

    def export_to(self, folder: str | Path) -> Path:
        """Write the EMA denoiser and the resolved config (``model.safetensors`` + config.yaml)."""
        return export(self.ema.module, self.config, folder)
