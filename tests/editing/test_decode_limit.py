"""Pipeline.decode (generation, the editors, the UI) holds x at the model's
representation.x_max; the representation itself does not, so a loud real recording
round-trips as it is."""

import pytest
import torch

from audiodiff.audio.mel import MelRepresentation
from audiodiff.errors import ConfigError


def test_decode_holds_x_at_x_max_and_leaves_the_rest(gaussian_pipe):
    x = torch.tensor([[[-5.0, 0.5, 3.0, 4.8]]])
    assert gaussian_pipe.x_max is None and torch.equal(gaussian_pipe.decode(x), x)
    gaussian_pipe.config["representation"] = {"x_max": 3.05}
    assert gaussian_pipe.x_max == 3.05
    assert torch.allclose(gaussian_pipe.decode(x), torch.tensor([[[-5.0, 0.5, 3.0, 3.05]]]))


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
