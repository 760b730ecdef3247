"""Composable, seeded degradations for training and evaluating restoration.

Every operator is called as ``op(wav, generator)`` on ``wav: [B, 1, N]`` and returns a
``Degraded`` (see ``audiodiff.restore.base``): it unpacks as ``(degraded, params)``, with
JSON-able params (what was drawn) and boolean observation ``masks`` alongside. A parameter is
a fixed value or a ``[lo, hi]`` range drawn from the generator (``audiodiff.restore.ranges``):
the same generator seed gives the same degradation, bit for bit.

The operators live in files named for what they do and are gathered here:

- ``AddNoise`` (``noise.py``): noise at an SNR on the active signal, from ``ColoredNoise``
  (white, pink, brown), ``MainsHum``, ``FolderNoise`` (music, babble);
- ``HardClip``, ``SoftClip`` (``clipping.py``);
- ``LowPass``, ``IIRLowPass``, ``Resample`` (``bandlimit.py``);
- ``Gaps`` (``gaps.py``); ``Quantize``, ``MuLaw`` (``quantize.py``); ``Reverb`` (``reverb.py``);
- ``Compose`` (each operator with a probability, in order) and ``OneOf`` (one of several),
  below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from audiodiff.errors import ConfigError
from audiodiff.restore.bandlimit import IIRLowPass, LowPass, Resample
from audiodiff.restore.base import Degraded, Operator, check_wav
from audiodiff.restore.clipping import HardClip, SoftClip
from audiodiff.restore.gaps import Gaps
from audiodiff.restore.noise import AddNoise, ColoredNoise, FolderNoise, MainsHum
from audiodiff.restore.quantize import MuLaw, Quantize
from audiodiff.restore.ranges import check_range, draw_choice
from audiodiff.restore.reverb import Reverb

__all__ = [
    "AddNoise",
    "ColoredNoise",
    "Compose",
    "Degraded",
    "FolderNoise",
    "Gaps",
    "HardClip",
    "IIRLowPass",
    "LowPass",
    "MainsHum",
    "MuLaw",
    "OneOf",
    "Operator",
    "Quantize",
    "Resample",
    "Reverb",
    "SoftClip",
    "describe",
]


def _merge_masks(into: dict[str, Tensor], new: Mapping[str, Tensor]) -> None:
    for name, mask in new.items():
        into[name] = into[name] & mask if name in into else mask


def _leaves(name: str, params: Mapping[str, Any]) -> list[str]:
    """'lowpass' -> ['lowpass.iir'] when the step is a OneOf or Compose of its own."""
    inner = params.get("ops")
    return [f"{name}.{leaf}" for leaf in inner] if isinstance(inner, list) else [name]


def _named_ops(owner: str, ops: Mapping[str, Operator]) -> dict[str, Operator]:
    if not isinstance(ops, Mapping):
        raise ConfigError(f"{owner}.ops: expected a mapping name -> operator, got {ops!r}")
    ops = dict(ops)
    for name, op in ops.items():
        if not callable(op):
            raise ConfigError(
                f"{owner}.ops.{name}: not an operator (a config without _target_?): {op!r}"
            )
    return ops


def _per_op(
    owner: str, what: str, values: Mapping[str, float] | None, names: list[str]
) -> dict[str, float]:
    values = dict(values or {})
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(
            f"{owner}.{what}: {', '.join(unknown)} is not an operator here "
            f"(operators: {', '.join(names) or 'none'})"
        )
    return values


@dataclass
class Compose:
    """Apply ``ops`` in their order, each with its probability ``p[name]`` (1 when not given).

    One uniform draw per step decides (u < p applies it), then the step draws its own
    parameters: the same generator seed gives the same result, bit for bit. ``params`` are
    ``{"op": "Compose", "ops": [applied leaf names], "steps": {name: that step's params}}``;
    ``masks`` are the applied steps' masks, merged by name with a logical AND.
    ``Compose(ops={})`` is the identity.
    """

    ops: Mapping[str, Operator]
    p: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        self.ops = _named_ops("Compose", self.ops)
        self.p = _per_op("Compose", "p", self.p, list(self.ops))
        for name, p in self.p.items():
            check_range(f"Compose.p.{name}", p, low=0, high=1)
        self.p = {name: float(self.p.get(name, 1.0)) for name in self.ops}

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        leaves: list[str] = []
        steps: dict[str, Any] = {}
        masks: dict[str, Tensor] = {}
        for name, op in self.ops.items():
            u = torch.rand((), generator=generator, dtype=torch.float64).item()
            if u >= self.p[name]:
                continue
            result = op(wav, generator)
            wav = result.wav
            steps[name] = result.params
            leaves += _leaves(name, result.params)
            _merge_masks(masks, result.masks)
        return Degraded(wav, {"op": "Compose", "ops": leaves, "steps": steps}, masks)


@dataclass
class OneOf:
    """Apply one of ``ops``, chosen with probabilities proportional to ``weights[name]``
    (1 when not given). ``params``: ``{"op": "OneOf", "ops": [chosen leaf], "chosen": name,
    "params": its params}``; the chosen operator's masks."""

    ops: Mapping[str, Operator]
    weights: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        self.ops = _named_ops("OneOf", self.ops)
        if not self.ops:
            raise ConfigError("OneOf.ops: name at least one operator")
        weights = _per_op("OneOf", "weights", self.weights, list(self.ops))
        for name, w in weights.items():
            check_range(f"OneOf.weights.{name}", w, low=0)
        self.weights = {name: float(weights.get(name, 1.0)) for name in self.ops}
        if sum(self.weights.values()) <= 0:
            raise ConfigError("OneOf.weights: at least one weight must be above 0")

    def __call__(self, wav: Tensor, generator: torch.Generator) -> Degraded:
        # wav: [B, 1, N] -> [B, 1, N]
        check_wav(wav)
        names = list(self.ops)
        if len(set(self.weights.values())) == 1:
            name = names[draw_choice(len(names), generator)]
        else:
            w = torch.tensor([self.weights[n] for n in names], dtype=torch.float64)
            name = names[int(torch.multinomial(w, 1, generator=generator).item())]
        result = self.ops[name](wav, generator)
        params = {
            "op": "OneOf",
            "ops": _leaves(name, result.params),
            "chosen": name,
            "params": result.params,
        }
        return Degraded(result.wav, params, dict(result.masks))


def describe(params: Mapping[str, Any]) -> str:
    """A short name for what was done: 'reverb+lowpass.iir+noise', 'none' for nothing, or the
    operator's class for a single operator."""
    if isinstance(params.get("ops"), list):
        return "+".join(params["ops"]) or "none"
    return str(params.get("op", "unknown"))
