"""How a conditional U-Net reads an observation laid out as a complex spectrogram.

A U-Net whose first convolution mixes all 2F channels of a [Re; Im] spectrogram sees each
bin's phase as noise: a linear map of random-phase values cannot tell how loud a bin is, and
an output of width C cannot paint F independent phases. So the observation's own phase is
used twice:

- ``features``: log |Y| of each observed bin, read beside x and the observation (a noise
  floor is a level per bin, which a convolution over these features can estimate);
- ``apply``: the net's output gains one real gain per bin, which multiplies that bin's
  observed real and imaginary part alike (a phase-preserving mask, as spectral gating and
  most predictive enhancers use), on top of the net's own residual output.

With the gain convolution at zero (as the U-Net's output starts) the head adds nothing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

HEADS = ("none", "complex_gain")


class ComplexGain(nn.Module):
    """Per-bin log-magnitude features in, per-bin gain on the observation out.

    ``obs``: [B, 2F, T] = [Re Y; Im Y] (two blocks of F bins, as ``StftRepresentation``).
    """

    def __init__(self, obs_channels: int, floor: float = 1e-3) -> None:
        super().__init__()
        if obs_channels < 2 or obs_channels % 2:
            raise ValueError(
                f"obs_head=complex_gain needs an even number of obs channels ([Re; Im] "
                f"blocks), got {obs_channels}"
            )
        self.bins = obs_channels // 2
        self.floor = floor

    @property
    def feature_channels(self) -> int:
        return self.bins

    def features(self, obs: Tensor) -> Tensor:
        # obs [B, 2F, T] -> log-magnitude [B, F, T]
        re, im = obs[:, : self.bins], obs[:, self.bins :]
        return torch.log(torch.sqrt(re.square() + im.square()) + self.floor)

    def apply(self, residual: Tensor, gain: Tensor, obs: Tensor) -> Tensor:
        # residual [B, 2F, T], gain [B, F, T], obs [B, 2F, T] -> [B, 2F, T]
        return residual + gain.repeat(1, 2, 1) * obs


def make_head(name: str, obs_channels: int) -> ComplexGain | None:
    """The observation head called ``name`` ("none" -> None)."""
    if name not in HEADS:
        raise ValueError(f"obs_head must be one of {', '.join(HEADS)}, got {name!r}")
    if name == "none" or obs_channels == 0:
        return None
    return ComplexGain(obs_channels)
