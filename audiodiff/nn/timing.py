"""Absolute-time conditioning: where the crop starts in its file and how long the file is.

As in Stable Audio (Evans et al. 2024, sec. 3.2): ``seconds_start`` and ``seconds_total``
are number conditions, each embedded and added to the noise embedding. So a one-shot model
learns that a clip starting at 0 s starts with the onset, and a clip knows its file's length.
NaN (or a key missing from ``cond``) is the null value of classifier-free guidance: it reads
a learned null vector, as id 0 reads a label's null row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from audiodiff.nn.embedding import FourierFeatures, as_batch

TIMING_KEYS = ("seconds_start", "seconds_total")  # the cond keys of a timing model


class NumberEmbedding(nn.Module):
    """Fourier features of log(1 + seconds), then an MLP; NaN reads the learned null vector.

    log1p spreads the seconds that matter most for onsets (0 against a fraction of a second)
    and still tells a 10 s file from a 300 s one, with no maximum length to configure. The
    last layer starts N(0, (4 / sqrt(emb_dim))^2), so a fresh embedding has about unit
    variance per component, as a label row (N(0, 1)) has. With the default init it was ~0.15,
    and the tiny net of tests/nn/test_timing.py missed onsets on 4 of 8 seeds after 200 steps
    (none of 10 with this init).
    """

    def __init__(self, num_features: int, emb_dim: int) -> None:
        super().__init__()
        self.features = FourierFeatures(num_features)
        self.mlp = nn.Sequential(
            nn.Linear(num_features, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
        )
        nn.init.normal_(self.mlp[-1].weight, std=4 / math.sqrt(emb_dim))
        nn.init.zeros_(self.mlp[-1].bias)
        self.null = nn.Parameter(torch.zeros(emb_dim))  # starts at zero, like a null label row

    def forward(self, seconds: Tensor) -> Tensor:
        # seconds: [B] float, NaN = null -> [B, emb_dim]
        null = seconds.isnan()
        emb = self.mlp(self.features(torch.log1p(seconds.float().nan_to_num(0.0).clamp_min(0))))
        return torch.where(null[:, None], self.null.to(emb.dtype), emb)


class TimingEmbedding(nn.Module):
    """The sum of one ``NumberEmbedding`` per timing key, read from ``cond``."""

    def __init__(self, num_features: int, emb_dim: int) -> None:
        super().__init__()
        self.numbers = nn.ModuleDict(
            {k: NumberEmbedding(num_features, emb_dim) for k in TIMING_KEYS}
        )

    def forward(
        self, cond: Mapping[str, Tensor] | None, batch: int, device: torch.device
    ) -> Tensor:
        # cond: {seconds_start: [B] float, seconds_total: [B] float, ...} -> [B, emb_dim]
        cond = {} if cond is None else cond
        out = 0
        for name, embedding in self.numbers.items():
            if name in cond:
                seconds = self._check(name, cond[name], batch)
            else:
                seconds = torch.full((batch,), float("nan"))
            out = out + embedding(seconds.to(device))
        return out

    def _check(self, name: str, seconds: Tensor, batch: int) -> Tensor:
        if not isinstance(seconds, Tensor) or not seconds.is_floating_point():
            got = seconds.dtype if isinstance(seconds, Tensor) else type(seconds).__name__
            raise ValueError(f"cond[{name!r}] must be a float tensor of seconds, got {got}")
        seconds = as_batch(name, seconds, batch)
        # as LabelEmbedding's range check: read on the host, so skipped inside torch.compile
        if torch.compiler.is_compiling():
            return seconds
        bad = ~seconds.isnan() & ~(seconds.isfinite() & (seconds >= 0))
        if bad.any():
            value = float(seconds[bad][0])
            raise ValueError(f"cond[{name!r}] must be seconds >= 0 or NaN (null), got {value}")
        return seconds
