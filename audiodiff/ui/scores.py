"""The Restore tab's scores: the input and the output against a clean reference."""

from __future__ import annotations

import torch

from audiodiff.audio.io import resample
from audiodiff.metrics.paired import (
    log_spectral_distance,
    multi_resolution_stft_distance,
    pesq_score,
    si_sdr,
    stoi_score,
)


def scores(est: torch.Tensor, ref: torch.Tensor, sr: int) -> dict[str, float | None]:
    """SI-SDR, PESQ-WB, ESTOI, LSD and MR-STFT of est against ref ([N] each, same rate);
    PESQ / ESTOI are None without their packages (the ``metrics`` extra)."""
    est, ref = est.double(), ref.double()
    return {
        "SI-SDR (dB)": float(si_sdr(est, ref)),
        "PESQ-WB": pesq_score(est, ref, sr),
        "ESTOI": stoi_score(est, ref, sr, extended=True),
        "LSD": float(log_spectral_distance(est, ref)),
        "MR-STFT": float(multi_resolution_stft_distance(est[None], ref[None])),
    }


def score_table(
    degraded: torch.Tensor, restored: torch.Tensor, sr: int, reference: tuple[torch.Tensor, int]
) -> str:
    """A markdown table: the degraded input and the restored output ([C, N] at ``sr``,
    channels averaged) scored against the clean ``reference`` (wav [C, N], its rate),
    cut to the shorter length."""
    ref, ref_sr = reference
    ref = ref.mean(0)
    if ref_sr != sr:
        ref = resample(ref[None], ref_sr, sr)[0]
    rows = {
        name: scores(w.mean(0), ref, sr)
        for name, w in (("input", degraded), ("restored", restored))
    }
    metrics = list(rows["input"])
    lines = ["| | " + " | ".join(metrics) + " |", "|---|" + "---:|" * len(metrics)]
    for name, values in rows.items():
        cells = ["n/a" if v is None else f"{v:.2f}" for v in values.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
