"""What every degradation operator returns, and the interface they share.

An operator is called as ``op(wav, generator)`` on a batch ``wav: [B, 1, N]`` and returns a
``Degraded``: it unpacks as ``(degraded, params)``, and carries ``masks`` alongside.

- ``params`` is JSON-able (numbers, strings, lists, dicts): the parameters actually drawn,
  with ``"op"`` (the class name), so a metadata.csv can say what was done. Parameters are
  drawn once per call and shared by the batch; what depends on each clip (its peak, the
  noise gain) is a list with one entry per batch item. Call once per clip for per-clip draws.
- ``masks`` holds boolean tensors [B, 1, N] where an operator has an observation mask
  (True = the sample is observed unchanged): ``"known"`` (the samples outside the gaps of
  ``Gaps``), ``"unclipped"`` (the samples a clipper left untouched). The low-pass cut-off is a
  number, ``params["cutoff_hz"]``. ``Compose`` merges masks of the same name with a logical
  AND. A mask describes its own operator's output: an operator applied after it (noise after
  the gaps, say) changes those samples.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor


@dataclass(frozen=True)
class Degraded:
    """A degraded batch: ``wav`` [B, 1, N], JSON-able ``params``, boolean ``masks`` [B, 1, N].

    Iterating gives ``(wav, params)``, so ``y, params = op(x, generator)`` works."""

    wav: Tensor
    params: dict[str, Any]
    masks: dict[str, Tensor] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.wav, self.params))


class Operator(Protocol):
    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        """wav: [B, 1, N] -> Degraded(wav [B, 1, N], params, masks)."""


def check_wav(wav: Tensor) -> None:
    """Refuse anything that is not a floating-point [B, 1, N] batch (a programming error)."""
    if not isinstance(wav, Tensor) or wav.ndim != 3 or wav.shape[1] != 1:
        shape = tuple(wav.shape) if isinstance(wav, Tensor) else type(wav).__name__
        raise ValueError(f"expected a waveform batch [B, 1, N], got {shape}")
    if not wav.is_floating_point():
        raise ValueError(f"expected a floating-point waveform, got {wav.dtype}")


def peak(wav: Tensor) -> Tensor:
    """max |x| of each clip; wav: [B, 1, N] -> [B, 1, 1]."""
    return wav.abs().amax(dim=-1, keepdim=True)


def floats(values: Tensor) -> list[float]:
    """A per-clip tensor ([B] or [B, 1, 1]) as a JSON-able list."""
    return [float(v) for v in values.reshape(-1).tolist()]
