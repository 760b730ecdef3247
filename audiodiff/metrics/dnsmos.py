"""DNSMOS P.835 (Reddy et al. 2022): a non-intrusive speech quality estimate, no reference.

Through the ``speechmos`` package, which ships Microsoft's DNSMOS ONNX models and runs them
with onnxruntime (``pip install 'audiodiff[dnsmos]'``). Scores are on a 1-5 MOS scale:
``sig`` (speech distortion), ``bak`` (background noise intrusiveness), ``ovrl`` (overall).
Its mel features come from librosa, whose first call compiles with numba (~17 s).
"""

from __future__ import annotations

import numpy as np
import torch

from audiodiff.audio.io import resample

RATE = 16000  # the models' only rate


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import speechmos  # noqa: F401
    except ImportError:
        return False
    return True


def dnsmos(wav: torch.Tensor | np.ndarray, sample_rate: int) -> dict[str, float] | None:
    """{"sig", "bak", "ovrl"} of one mono clip [N] (or [1, N]); None without the extra.

    Resampled to 16 kHz; peaks above 1 are scaled down to 1 (the models read [-1, 1]).
    Clips shorter than the models' 9 s window are repeated to fill it (speechmos's rule).
    """
    if not available():
        return None
    from speechmos import dnsmos as model

    wav = torch.as_tensor(wav, dtype=torch.float32).reshape(-1)
    if wav.numel() == 0 or not torch.isfinite(wav).all():
        raise ValueError("dnsmos needs a non-empty, finite clip")
    if sample_rate != RATE:
        wav = resample(wav[None], sample_rate, RATE)[0]
    peak = float(wav.abs().max())
    audio = (wav / peak if peak > 1 else wav).numpy().astype(np.float32)
    scores = model.run(audio, sr=RATE)
    return {k: float(scores[f"{k}_mos"]) for k in ("sig", "bak", "ovrl")}
