"""The conditioning vector every residual block reads: noise-level and label embeddings."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

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


class ValueEmbedding(nn.Module):
    """A numeric label's ids embedded by their values: sinusoids of the value, then an MLP.

    ``values`` [size] holds each id's number (NaN for the null id 0 and for values that are
    not numbers; those embed to zero). The periods are geometric from 6 to 4x the values'
    span, in the label's own unit (for MIDI pitch: from half an octave to several octaves),
    so neighbouring values get neighbouring embeddings and a value seen rarely in training
    borrows from the values around it, which a table row cannot; the table row still tells
    neighbours apart. (With periods down to 2, values one apart were 0.56-0.83 as far apart
    as values 24 apart at init, so nothing was shared; from 6, 0.22-0.32.) The last layer
    starts as ``NumberEmbedding``'s (about unit variance per component).
    """

    def __init__(self, values: Tensor, emb_dim: int, num_features: int = 32) -> None:
        super().__init__()
        values = torch.as_tensor(values, dtype=torch.float32)
        finite = values[values.isfinite()]
        if finite.numel() == 0:
            raise ValueError("a numeric label needs at least one value that is a number")
        span = float(finite.max() - finite.min()) + 1.0
        periods = torch.logspace(math.log10(6.0), math.log10(4 * span), num_features // 2)
        # stored finite (0 where there is no number), with the mask beside: checkpoints and
        # the trainer's finiteness check see no NaN
        self.register_buffer("values", values.nan_to_num(0.0))
        self.register_buffer("known", values.isfinite())
        self.register_buffer("omega", 2 * math.pi / periods)
        self.mlp = nn.Sequential(
            nn.Linear(num_features, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
        )
        nn.init.normal_(self.mlp[-1].weight, std=4 / math.sqrt(emb_dim))
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, ids: Tensor) -> Tensor:
        # ids: [B] long -> [B, emb_dim]
        phase = self.values[ids][:, None] * self.omega[None, :]
        emb = self.mlp(torch.cat([phase.cos(), phase.sin()], dim=1))
        return torch.where(self.known[ids][:, None], emb, torch.zeros((), dtype=emb.dtype))


class LabelEmbedding(nn.Module):
    """One learned table per label; their rows for the given ids are summed.

    Id 0 of every label is the null label (classifier-free guidance, Ho & Salimans 2022): it is
    what a label missing from ``cond`` means. Its row starts at zero and is trained like the
    rest; the other rows start N(0, 1) as in ADM's class embedding.

    A label in ``label_values`` (a number per id, NaN where there is none) is also numeric:
    ``ValueEmbedding`` of its value is added to its table row.
    """

    def __init__(
        self,
        label_sizes: Mapping[str, int] | None,
        emb_dim: int,
        label_values: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
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
        self.values = nn.ModuleDict()
        for name, values in (label_values or {}).items():
            if name not in self.sizes:
                raise ValueError(f"numeric label {name!r} is not a label of this net")
            if len(values) != self.sizes[name]:
                raise ValueError(
                    f"numeric label {name!r} has {len(values)} values for {self.sizes[name]} ids"
                )
            self.values[name] = ValueEmbedding(torch.tensor(values), emb_dim)

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
            if name in self.values:
                out = out + self.values[name](ids.to(device))
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
