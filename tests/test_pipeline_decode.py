"""Pipeline.decode holds generated x at the model's representation.x_max; the representation
itself does not (a loud real recording round-trips as it is)."""

import pytest
import torch
from torch import nn

from audiodiff.audio.mel import MelRepresentation
from audiodiff.audio.representation import Representation
from audiodiff.data.vocab import LabelVocab
from audiodiff.errors import ConfigError
from audiodiff.pipeline import Pipeline


class Identity(Representation):
    sample_rate = 100

    @property
    def channels(self) -> int:
        return 1

    @property
    def hop_length(self) -> int:
        return 1

    def encode(self, wav):
        return wav.float()

    def decode(self, x):
        return x.float()

    def config(self):
        return {}


def pipeline(x_max) -> Pipeline:
    config = {"representation": {"x_max": x_max}, "model": {}, "diffusion": {}}
    return Pipeline(nn.Identity(), Identity(), LabelVocab({}), config, device="cpu")


def test_decode_holds_x_at_x_max_and_leaves_the_rest():
    x = torch.tensor([[[-5.0, 0.5, 3.0, 4.8]]])
    assert torch.allclose(pipeline(3.05).decode(x), torch.tensor([[[-5.0, 0.5, 3.0, 3.05]]]))
    assert torch.equal(pipeline(None).decode(x), x)  # no limit: as sampled
    assert pipeline(None).x_max is None and pipeline(3).x_max == 3.0


def test_x_max_is_checked_and_does_not_change_the_features():
    plain = MelRepresentation(n_mels=16)
    limited = MelRepresentation(n_mels=16, x_max=3.05)
    assert limited.x_max == 3.05 and plain.x_max is None
    assert limited.fingerprint() == plain.fingerprint()  # the feature cache is shared
    wav = 20.0 * torch.sin(torch.arange(4096.0) * 0.3)[None, None]  # loud: x above 3.05
    x = limited.encode(wav)
    assert x.max() > 3.05 and torch.equal(limited.decode(x), plain.decode(x))
    with pytest.raises(ConfigError, match="x_max must be a number or null"):
        MelRepresentation(x_max="high")
