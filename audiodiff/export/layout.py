"""The ONNX export folder's file names and format tag, and the two helpers both the writer
(``onnx_folder``) and the runtime (``runtime``) need: an onnxruntime session and Griffin-Lim's
starting phase. Kept apart so the runtime imports none of the exporter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

FORMAT = "audiodiff-onnx-1"
DENOISER, DECODER, METADATA = "denoiser.onnx", "decoder.onnx", "export.json"
PHASE_FRAMES = "frames + 1"  # Griffin-Lim's starting phase has one frame more than x


def onnx_session(path: Path, threads: int | None = None, providers: Sequence[str] | None = None):
    """An onnxruntime session of ``path`` (CPU unless ``providers`` says otherwise)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(
        str(path), options, providers=list(providers or ["CPUExecutionProvider"])
    )


def phase_input(bins: int, frames: int, seed: int) -> Tensor:
    """Griffin-Lim's starting phase [bins, frames + 1], drawn as ``MelRepresentation.decode``
    draws it (``torch.rand`` from a generator seeded with the representation's seed)."""
    return torch.rand((bins, frames + 1), generator=torch.Generator().manual_seed(seed))
