"""time_roughness: zero for straight lines, the known constant for white noise."""

import pytest
import torch

from audiodiff.metrics.roughness import NOISE_FACTOR, time_roughness


def test_a_ramp_is_smooth_and_white_noise_reads_its_std():
    ramp = torch.linspace(-1, 2, 50).expand(2, 8, 50)
    assert torch.allclose(time_roughness(ramp), torch.zeros(2), atol=1e-6)
    g = torch.Generator().manual_seed(0)
    noise = 0.6 * torch.randn(3, 64, 2000, generator=g)
    assert torch.allclose(time_roughness(noise), torch.full((3,), 0.6 * NOISE_FACTOR), rtol=0.02)
    line = torch.linspace(-3, 5, 2000).expand(1, 64, 2000)  # a trend adds nothing
    assert torch.allclose(time_roughness(line + noise[:1]), time_roughness(noise[:1]), atol=1e-5)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"\[B, C, T\] with T >= 3"):
        time_roughness(torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match=r"\[B, C, T\]"):
        time_roughness(torch.zeros(3, 10))
