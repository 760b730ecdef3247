"""The conditioning vector every residual block reads: noise-level and label embeddings."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn


class FourierFeatures(nn.Module):
    """[cos(2 pi f x), sin(2 pi f x)] with fixed f ~ N(0, scale^2) (Tancik et al. 2020).

    The frequencies are a persistent buffer, so a checkpoint reproduces them. ``scale=1``
    suits EDM's c_noise = ln(sigma) / 4, which spans about [-1.6, 1.1] (as in k-diffusion).
    """

    def __init__(self, num_channels: int, scale: float = 1.0) -> None:
        super().__init__()
        if num_channels < 2 or num_channels % 2:
            raise ValueError(f"num_channels must be even and >= 2, got {num_channels}")
        self.register_buffer("freqs", torch.randn(num_channels // 2) * scale)

    def forward(self, x: Tensor) -> Tensor:
        # x: [B] -> [B, num_channels]
        phase = 2 * math.pi * x.float()[:, None] * self.freqs.float()[None, :]
        return torch.cat([phase.cos(), phase.sin()], dim=1)


def as_batch(name: str, value: Tensor, batch: int) -> Tensor:
    """cond[name] as a [batch] tensor: a scalar is broadcast, any other shape refused."""
    if value.ndim == 0:
        value = value.expand(batch)
    if value.shape != (batch,):
        raise ValueError(f"cond[{name!r}] must have shape [{batch}], got {list(value.shape)}")
    return value


class NoiseEmbedding(nn.Module):
    """Fourier features of the noise level, then an MLP (Karras et al. 2022, NCSN++ mapping)."""

    def __init__(self, num_features: int, emb_dim: int, scale: float = 1.0) -> None:
        super().__init__()
        self.features = FourierFeatures(num_features, scale=scale)
        self.mlp = nn.Sequential(
            nn.Linear(num_features, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
        )

    def forward(self, noise_level: Tensor) -> Tensor:
        # noise_level: [B] -> [B, emb_dim]
        return self.mlp(self.features(noise_level))


class LabelEmbedding(nn.Module):
    """One learned table per label; their rows for the given ids are summed.

    Id 0 of every label is the null label (classifier-free guidance, Ho & Salimans 2022): it is
    what a label missing from ``cond`` means. Its row starts at zero and is trained like the
    rest; the other rows start N(0, 1) as in ADM's class embedding.
    """

    def __init__(self, label_sizes: Mapping[str, int] | None, emb_dim: int) -> None:
        super().__init__()
        self.emb_dim = emb_dim
        self.sizes: dict[str, int] = {str(k): int(v) for k, v in (label_sizes or {}).items()}
        self.tables = nn.ModuleDict()
        for name, size in self.sizes.items():
            if not name or "." in name:
                raise ValueError(f"label names must be non-empty without '.', got {name!r}")
            if size < 1:
                raise ValueError(f"label {name!r} needs size >= 1 (id 0 is null), got {size}")
            table = nn.Embedding(size, emb_dim)
            with torch.no_grad():
                table.weight[0].zero_()
            self.tables[name] = table

    def forward(
        self, cond: Mapping[str, Tensor] | None, batch: int, device: torch.device
    ) -> Tensor:
        # cond: {label: [B] int ids} -> [B, emb_dim]
        cond = {} if cond is None else cond
        unknown = sorted(set(cond) - set(self.sizes))
        if unknown:
            known = ", ".join(sorted(self.sizes)) or "none"
            raise ValueError(f"unknown label(s) {unknown} in cond; valid labels: {known}")
        out = torch.zeros(batch, self.emb_dim, device=device)
        for name, table in self.tables.items():
            if name in cond:
                ids = self._check_ids(name, cond[name], batch)
            else:
                ids = torch.zeros(batch, dtype=torch.long, device=device)
            out = out + table(ids.to(device))
        return out

    def _check_ids(self, name: str, ids: Tensor, batch: int) -> Tensor:
        if not isinstance(ids, Tensor) or ids.is_floating_point() or ids.dtype == torch.bool:
            got = ids.dtype if isinstance(ids, Tensor) else type(ids).__name__
            raise ValueError(f"cond[{name!r}] must be an integer tensor of ids, got {got}")
        ids = as_batch(name, ids, batch)
        size = self.sizes[name]
        # the range check reads the ids on the host: skipped inside torch.compile (a graph
        # break and a device sync every step); eager calls and the pipeline still check
        if torch.compiler.is_compiling():
            return ids.long()
        if batch and (int(ids.min()) < 0 or int(ids.max()) >= size):
            raise ValueError(
                f"cond[{name!r}] ids must be in [0, {size - 1}] (0 = null), "
                f"got min {int(ids.min())}, max {int(ids.max())}"
            )
        return ids.long()
