"""``last.ckpt``: always the newest state, written atomically, and the RNG state inside it.

Lightning's ``ModelCheckpoint(save_last=True)`` writes ``last.ckpt`` only at a step where it
also writes a top-k checkpoint (lightning >= 2.6), so with a monitored metric that stops
improving, ``last.ckpt`` falls behind and a resume silently repeats steps. Here the two
jobs are split: ``LastCheckpoint`` keeps ``last.ckpt`` current; ``ModelCheckpoint`` (config
``callbacks.best``) keeps only the best-by-validation file.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from rich.console import Console

from audiodiff.errors import AudioDiffError


class TrainingFault(AudioDiffError):
    """Training stopped on a numerical fault (a non-finite loss, gradient or weight)."""


class LastCheckpoint(L.Callback):
    """Write ``dirpath/last.ckpt`` every ``every_n_train_steps`` optimizer steps and/or every
    ``every_n_minutes`` (whichever comes first; null turns one off), at the end of training,
    and when the run is stopped by Ctrl-C or SIGTERM.

    A signal does not kill the step in flight: the step finishes, ``last.ckpt`` is written,
    and training stops (``interrupted`` is then True); a second Ctrl-C aborts at once. Each
    write goes to a temporary file in the same folder, is flushed to disk, then renamed over
    ``last.ckpt``: a kill during a save leaves the previous ``last.ckpt`` whole. Weights that
    are not finite are never written (``TrainingFault``).
    """

    def __init__(
        self,
        dirpath: str,
        every_n_train_steps: int | None = 1000,
        every_n_minutes: float | None = 10.0,
        filename: str = "last.ckpt",
    ) -> None:
        for name, value in (("every_n_train_steps", every_n_train_steps),
                            ("every_n_minutes", every_n_minutes)):  # fmt: skip
            if value is not None and value <= 0:
                raise AudioDiffError(f"checkpoint.{name} must be > 0 or null, got {value}")
        self.path = Path(dirpath) / filename
        self.every_n_train_steps = every_n_train_steps
        self.every_n_minutes = every_n_minutes
        self.saved_step: int | None = None
        self.interrupted = False
        self._stop_requested = False
        self._last_time = time.monotonic()
        self._handlers: dict[int, Any] = {}

    # -- signals --------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stop_requested:  # the second signal: abort now
            self._restore_handlers()
            raise KeyboardInterrupt
        self._stop_requested = True
        Console(stderr=True).print(
            "stopping after this step and saving last.ckpt (Ctrl-C again aborts at once)"
        )

    def _install_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._handlers[signum] = signal.signal(signum, self._on_signal)

    def _restore_handlers(self) -> None:
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)
        self._handlers.clear()

    # -- hooks ----------------------------------------------------------------------------
    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._last_time = time.monotonic()
        self.saved_step = trainer.global_step if self.path.is_file() else None
        self._install_handlers()

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *_: Any) -> None:
        step = trainer.global_step
        due = self._stop_requested
        if self.every_n_train_steps and step % self.every_n_train_steps == 0:
            due = True
        if self.every_n_minutes and time.monotonic() - self._last_time >= 60 * self.every_n_minutes:
            due = True
        if trainer.world_size > 1:  # every process must take part in the save
            due = trainer.strategy.reduce_boolean_decision(due, all=False)
        if due and step != self.saved_step:
            self.save(trainer, module)
        if self._stop_requested:
            self.interrupted = True
            trainer.should_stop = True

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.global_step != self.saved_step:
            self.save(trainer, module)
        self._restore_handlers()

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, error: Any) -> None:
        self._restore_handlers()  # nothing is saved: the state may be mid-step

    # -- writing --------------------------------------------------------------------------
    def save(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        """Write the trainer's full state to ``last.ckpt`` through a temporary file."""
        bad = non_finite_parameter(module)
        if bad is not None:
            raise TrainingFault(
                f"step {trainer.global_step}: parameter {bad} is not finite; last.ckpt keeps "
                f"step {self.saved_step} (the last finite state)"
            )
        tmp = self.path.with_name(f".{self.path.name}.partial")
        try:
            trainer.save_checkpoint(tmp, weights_only=False)  # the full state, not weights only
            if trainer.is_global_zero:
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
        finally:
            if trainer.is_global_zero:
                tmp.unlink(missing_ok=True)
        trainer.strategy.barrier("LastCheckpoint.save")
        self.saved_step = trainer.global_step
        self._last_time = time.monotonic()


def non_finite_parameter(module: torch.nn.Module) -> str | None:
    """The name of the first parameter or buffer holding NaN or inf, or None."""
    tensors = [t for t in module.state_dict().values() if t.is_floating_point()]
    if not tensors or bool(torch.stack(torch._foreach_norm(tensors)).isfinite().all()):
        return None
    for name, t in module.state_dict().items():
        if t.is_floating_point() and not bool(t.isfinite().all()):
            return name
    return None


class RandomState(L.Callback):
    """Carry the global RNGs (torch, CUDA, numpy, random) in every checkpoint and put them
    back when a resumed run starts training, so its noise levels and noise continue the
    sequence the interrupted run would have drawn. (The data order does not need them: see
    ``audiodiff.data.sampler``.) Stored as tensors and plain numbers, so checkpoints still
    load with ``weights_only=True``. In DDP the state saved is rank 0's, and every process
    gets it back (processes start from the same seed anyway).
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        state: dict[str, Any] = {
            "torch": torch.get_rng_state(),
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
            "python": random.getstate(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._pending = state

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        state, self._pending = self._pending, None
        if not state:
            return
        torch.set_rng_state(state["torch"])
        kind, keys, pos, has_gauss, gauss = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
        version, internal, gauss_next = state["python"]
        random.setstate((version, tuple(internal), gauss_next))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
