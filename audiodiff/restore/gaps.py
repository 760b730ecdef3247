"""Gaps: spans of samples set to zero (packet loss, dropouts), for gap filling; and the
classical fills a conditional model may read its observation through (``prefill``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from audiodiff.errors import ConfigError
from audiodiff.restore.base import Degraded, check_wav
from audiodiff.restore.ranges import Spec, check_range, draw, draw_int


@dataclass
class Gaps:
    """``count`` non-overlapping spans, each ``seconds`` long (drawn per gap), set to zero;
    at least one sample apart, so they never merge into one longer gap.

    Positions are uniform among the placements that fit: the free samples
    F = N - sum(L_i) - (k - 1) are split at k sorted uniform points p_1 <= ... <= p_k in
    [0, F], and gap i starts at p_i + sum_{j<i} (L_j + 1). When the gaps do not fit the clip,
    the last ones are dropped (``params["count"]`` is the number made).

    ``masks["known"]`` is False inside the gaps; ``params["spans"]`` are [start, end) sample
    indices, ``params["spans_s"]`` the same in seconds. The same gaps for the whole batch.
    """

    count: Spec
    seconds: Spec
    sample_rate: int

    def __post_init__(self) -> None:
        self.count = check_range("Gaps.count", self.count, low=0, integer=True)
        self.seconds = check_range("Gaps.seconds", self.seconds, low=0, low_open=True)
        check_range("Gaps.sample_rate", self.sample_rate, low=1, integer=True)

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        n = wav.shape[-1]
        k = draw_int(self.count, generator)
        lengths = [
            max(1, round(draw(self.seconds, generator) * self.sample_rate)) for _ in range(k)
        ]
        while lengths and sum(lengths) + len(lengths) - 1 > n:
            lengths.pop()
        k = len(lengths)
        free = n - sum(lengths) - max(k - 1, 0)
        points = torch.randint(0, free + 1, (k,), generator=generator).sort().values.tolist()
        known = torch.ones(1, 1, n, dtype=torch.bool, device=wav.device)
        spans, start = [], 0
        for point, length in zip(points, lengths, strict=True):
            begin = point + start
            spans.append([begin, begin + length])
            known[..., begin : begin + length] = False
            start += length + 1
        known = known.expand(wav.shape[0], 1, n)
        degraded = torch.where(known, wav, torch.zeros((), dtype=wav.dtype, device=wav.device))
        params = {
            "op": "Gaps",
            "count": k,
            "spans": spans,
            "spans_s": [[a / self.sample_rate, b / self.sample_rate] for a, b in spans],
        }
        return Degraded(degraded, params, {"known": known})


PREFILLS = ("lpc",)


def check_prefill(method: str | None) -> None:
    """Refuse a ``data.observation_fill`` that is neither null nor one of ``PREFILLS``."""
    if method is not None and method not in PREFILLS:
        raise ConfigError(
            f"data.observation_fill must be null or one of {', '.join(PREFILLS)}, got {method!r}"
        )


def prefill(method: str, wav: Tensor, sample_rate: int, known: Tensor) -> Tensor:
    """wav [B, 1, N] with its gaps (``known`` [B or 1, 1, N] False) filled by a classical
    method: ``"lpc"``, linear prediction from both sides (``baselines.lpc_gap_fill``).

    A gap-filling model trained with ``data.observation_fill=lpc`` reads the recording this
    way, in training and in ``audiodiff restore``: it refines the prediction rather than a
    zero fill, and keeps the known samples as every fill does."""
    from audiodiff.restore.baselines import lpc_gap_fill  # numpy-heavy; only when used

    check_prefill(method)
    return lpc_gap_fill(wav, sample_rate, known.bool()).to(wav.dtype)
