"""The denoiser D(x, sigma, cond) as a graph: one named input per condition.

A graph has positional inputs, not a dict, so ``DenoiserGraph`` takes x, sigma, then the
conditions in a fixed order (``denoiser_inputs``): each label's ids, the timing seconds of a
timing model, the token ids of a text model, the observation of a restoration model. The
preconditioning (EDM's scalings, or the v / flow change of variables) is part of the graph:
it is the wrapped denoiser's own forward, traced as it runs in torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from audiodiff.errors import ConfigError
from audiodiff.nn.timing import TIMING_KEYS

TEXT = "text"  # the cond keys the U-Net reads besides labels (audiodiff.nn.unet.UNet1d)
OBSERVATION = "obs"
BATCH, FRAMES, TOKENS = "batch", "frames", "tokens"  # the dynamic axes' names


@dataclass(frozen=True)
class GraphInput:
    """One input of a graph: its name, dtype, shape (str = a dynamic axis) and meaning."""

    name: str
    dtype: str  # "float32" or "int64"
    shape: tuple[int | str, ...]
    doc: str
    high: int | None = None  # ids are in [0, high)

    def to_dict(self) -> dict:
        return {**asdict(self), "shape": list(self.shape)}


def denoiser_inputs(denoiser: nn.Module) -> list[GraphInput]:
    """The graph inputs of ``denoiser`` (a ``Preconditioned`` around a ``UNet1d``), in order."""
    net = denoiser.net
    channels = net.in_channels
    inputs = [
        GraphInput("x", "float32", (BATCH, channels, FRAMES), "noisy input x = x0 + sigma n"),
        GraphInput("sigma", "float32", (BATCH,), "noise level (EDM sigma, > 0)"),
    ]
    for label, size in net.label_embedding.sizes.items():
        doc = f"{label} ids in [0, {size - 1}], 0 = null (vocab.json)"
        inputs.append(GraphInput(label, "int64", (BATCH,), doc, high=size))
    if getattr(net, "timing_embedding", None) is not None:
        for key in TIMING_KEYS:
            inputs.append(GraphInput(key, "float32", (BATCH,), "seconds >= 0, NaN = null"))
    encoder = getattr(net, "text_encoder", None)
    if encoder is not None:
        doc = f"token ids, L <= {encoder.tokenizer.max_tokens}, 0 = pad (all 0 = empty prompt)"
        high = encoder.tokenizer.vocab_size
        inputs.append(GraphInput(TEXT, "int64", (BATCH, TOKENS), doc, high=high))
    if getattr(net, "obs_channels", 0):
        doc = "observed (degraded) recording's representation, zeros = none"
        inputs.append(GraphInput(OBSERVATION, "float32", (BATCH, net.obs_channels, FRAMES), doc))
    names = [i.name for i in inputs]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ConfigError(f"label {clash[0]!r} clashes with a graph input of that name")
    return inputs


class DenoiserGraph(nn.Module):
    """``denoiser(x, sigma, cond)`` with cond's entries as positional inputs after sigma.

    x: [B, C, T], sigma: [B], then one tensor per ``inputs[2:]`` -> x0_hat: [B, C, T]."""

    def __init__(self, denoiser: nn.Module, inputs: list[GraphInput]) -> None:
        super().__init__()
        self.denoiser = denoiser
        self.names = [i.name for i in inputs[2:]]

    def forward(self, x: Tensor, sigma: Tensor, *conds: Tensor) -> Tensor:
        # x: [B, C, T], sigma: [B], conds: as ``denoiser_inputs`` -> x0_hat: [B, C, T]
        cond = dict(zip(self.names, conds, strict=True))
        return self.denoiser(x, sigma, cond or None)


def example_inputs(
    denoiser: nn.Module,
    inputs: list[GraphInput],
    batch: int,
    frames: int,
    generator: torch.Generator,
) -> tuple[Tensor, ...]:
    """Random valid inputs of ``inputs`` for a batch and frame count (tracing and checks):
    sigma log-uniform over [0.0025, 80], ids over each label's range (null included), row 0
    of each timing input null, text rows of random length, obs unit noise."""
    net = denoiser.net
    out = []
    for spec in inputs:
        shape = [{BATCH: batch, FRAMES: frames}.get(d, d) for d in spec.shape]
        if spec.name == "sigma":
            out.append(torch.exp(torch.empty(batch).uniform_(-6.0, 4.4, generator=generator)))
        elif spec.name in TIMING_KEYS:
            seconds = 10 * torch.rand(batch, generator=generator)
            out.append(torch.where(torch.arange(batch) == 0, torch.nan, seconds))
        elif spec.name == TEXT:
            tokenizer = net.text_encoder.tokenizer
            ids = torch.randint(
                1, tokenizer.vocab_size, (batch, tokenizer.max_tokens), generator=generator
            )
            lengths = torch.randint(0, tokenizer.max_tokens + 1, (batch, 1), generator=generator)
            out.append(torch.where(torch.arange(tokenizer.max_tokens) < lengths, ids, 0))
        elif spec.dtype == "int64":
            size = net.label_embedding.sizes[spec.name]
            out.append(torch.randint(0, size, shape, generator=generator))
        else:
            out.append(torch.randn(shape, generator=generator))
    return tuple(out)
