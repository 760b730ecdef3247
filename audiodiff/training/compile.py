"""``trainer.compile``: the training step's denoiser under ``torch.compile``.

Kept apart from the LightningModule so the CLI can check the option without importing
lightning.
"""

from __future__ import annotations

# null: eager; the others are torch.compile's modes ("reduce-overhead" adds CUDA graphs)
COMPILE_MODES = (None, "default", "reduce-overhead", "max-autotune")
