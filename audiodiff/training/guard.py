"""Stop at the first non-finite loss or gradient, naming the step, the part and the batch."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor

from audiodiff.training.checkpointing import TrainingFault


class NonFiniteGuard(L.Callback):
    """Raise ``TrainingFault`` (one line: step, loss or gradient, the batch's files) before a
    non-finite loss is backpropagated or a non-finite gradient reaches the optimizer.

    The weights are then still those of the last finite step, and ``last.ckpt`` (written only
    by ``LastCheckpoint``, never on a fault) holds the last finite state it saved. Under
    ``16-mixed`` precision the gradient check is left to the grad scaler, which skips such
    steps by design.
    """

    def __init__(self, max_files: int = 4) -> None:
        self.max_files = max_files
        self._batch: Any = None

    def on_train_batch_start(
        self, trainer: L.Trainer, module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._batch = batch

    def on_before_backward(self, trainer: L.Trainer, module: L.LightningModule, loss: Tensor):
        if not bool(torch.isfinite(loss.detach()).all()):
            self._fault(trainer, f"the loss is {loss.detach().float().sum().item()}")

    def on_before_optimizer_step(
        self, trainer: L.Trainer, module: L.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        if str(trainer.precision).startswith("16"):
            return
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]]
        grads = [g for g in grads if g is not None]
        if not grads or bool(torch.stack(torch._foreach_norm(grads)).isfinite().all()):
            return  # one host sync per step, not one per parameter
        names = {id(p): n for n, p in module.named_parameters()}
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None and not bool(p.grad.isfinite().all()):
                    self._fault(trainer, f"the gradient of {names.get(id(p), '?')} is not finite")
        self._fault(trainer, "the gradient norm overflows")

    def _fault(self, trainer: L.Trainer, what: str) -> None:
        step = trainer.global_step + 1  # the step being computed
        raise TrainingFault(f"step {step}: {what} (batch: {self._files(trainer)}); stopped")

    def _files(self, trainer: L.Trainer) -> str:
        index = self._batch.get("index") if isinstance(self._batch, dict) else None
        records = getattr(getattr(trainer.datamodule, "train_set", None), "records", None)
        if index is None or records is None:
            return "unknown files"
        paths = [str(records[int(i)]["path"]) for i in torch.as_tensor(index).flatten()]
        more = len(paths) - self.max_files
        return ", ".join(paths[: self.max_files]) + (f" and {more} more" if more > 0 else "")
