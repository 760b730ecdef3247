import math

import pytest
import torch

from audiodiff.metrics.dnsmos import available, dnsmos

pytestmark = pytest.mark.skipif(not available(), reason="needs the dnsmos extra (speechmos)")


def voiced(seconds: float = 4.0, sr: int = 16000) -> torch.Tensor:
    """A vowel-like buzz: 120 Hz harmonics under two formants, syllables at 4 Hz."""
    t = torch.arange(int(seconds * sr)) / sr
    f0 = 120 * (1 + 0.05 * torch.sin(2 * math.pi * 0.5 * t))
    phase = 2 * math.pi * torch.cumsum(f0, 0) / sr
    wav = torch.zeros_like(t)
    for k in range(1, 40):
        f = 120 * k
        gain = math.exp(-(((f - 700) / 250) ** 2)) + 0.5 * math.exp(-(((f - 1200) / 300) ** 2))
        wav += (gain + 0.01) * torch.sin(k * phase)
    envelope = torch.sin(math.pi * 4 * t).clamp(min=0) ** 2
    return 0.3 * wav * envelope / wav.abs().max()


def test_noise_lowers_the_background_score_and_the_rate_is_handled():
    clean = voiced()
    noisy = clean + 0.05 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    a, b = dnsmos(clean, 16000), dnsmos(noisy, 16000)
    assert set(a) == {"sig", "bak", "ovrl"} and all(1 <= v <= 5 for v in a.values())
    assert b["bak"] < a["bak"] - 0.5, (a, b)
    at_48k = dnsmos(torch.repeat_interleave(clean, 3), 48000)  # resampled back to 16 kHz
    assert abs(at_48k["bak"] - a["bak"]) < 0.3, (a, at_48k)
    with pytest.raises(ValueError, match="finite"):
        dnsmos(torch.tensor([0.0, float("nan")]), 16000)
