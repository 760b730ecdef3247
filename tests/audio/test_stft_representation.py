import math

import pytest
import torch

from audiodiff.audio.representation import Representation
from audiodiff.audio.stft_representation import StftRepresentation

SR = 16000
N_FFT, HOP, F = 510, 128, 256


@pytest.fixture(scope="module")
def rep() -> StftRepresentation:
    return StftRepresentation()


def _chirp(n: int) -> torch.Tensor:
    t = torch.arange(n) / SR
    return 0.8 * torch.sin(2 * math.pi * (100 * t + 3900 * t**2))[None, None]  # 100 Hz -> 7.9k


def test_is_a_representation(rep):
    assert isinstance(rep, Representation)
    assert rep.channels == 2 * (N_FFT // 2 + 1) == 512 and rep.n_bins == F
    assert rep.sample_rate == SR and rep.hop_length == HOP and rep.frame_rate == SR / HOP
    assert len(rep.fingerprint()) == 16
    for other in ({"alpha": 1.0}, {"scale": 0.3}, {"window": "sqrt_hann"}, {"n_fft": 512}):
        assert StftRepresentation(**other).fingerprint() != rep.fingerprint(), other


def test_bin_frequencies(rep):
    freqs = rep.bin_frequencies()
    assert freqs.shape == (F,) and freqs[0] == 0 and freqs[-1] == pytest.approx(SR / 2)
    assert freqs[1] == pytest.approx(SR / N_FFT)


@pytest.mark.parametrize(
    "name", ["noise", "loud_noise", "chirp", "silence", "impulse", "short", "odd_batch"]
)
def test_round_trip_is_exact(rep, name):
    gen = torch.Generator().manual_seed(0)
    wav = {
        "noise": lambda: 0.1 * torch.randn(2, 1, SR, generator=gen),
        "loud_noise": lambda: torch.randn(1, 1, 40 * HOP, generator=gen),
        "chirp": lambda: _chirp(SR),
        "silence": lambda: torch.zeros(2, 1, 64 * HOP),
        "impulse": lambda: torch.zeros(1, 1, 20 * HOP).index_fill_(-1, torch.tensor([777]), 1.0),
        "short": lambda: 0.5 * torch.randn(1, 1, HOP, generator=gen),  # one frame
        "odd_batch": lambda: 0.3 * torch.randn(3, 1, 7 * HOP, generator=gen),
    }[name]()
    x = rep.encode(wav)
    assert x.shape == (wav.shape[0], 512, wav.shape[-1] // HOP) and x.dtype == torch.float32
    y = rep.decode(x)
    assert y.shape == wav.shape
    assert (y - wav).abs().max() < 1e-5


def test_length_not_a_multiple_of_hop_is_cropped(rep):
    wav = 0.1 * torch.randn(1, 1, 10 * HOP + 77, generator=torch.Generator().manual_seed(1))
    x = rep.encode(wav)
    assert x.shape[-1] == rep.num_frames(wav.shape[-1]) == 10
    assert torch.equal(x, rep.encode(wav[..., : 10 * HOP]))  # the tail is ignored
    y = rep.decode(x)
    assert y.shape[-1] == 10 * HOP and (y - wav[..., : 10 * HOP]).abs().max() < 1e-5


def test_bad_inputs(rep):
    with pytest.raises(ValueError, match=r"\[B, 1, N\]"):
        rep.encode(torch.zeros(2, SR))
    with pytest.raises(ValueError, match="at least"):
        rep.encode(torch.zeros(1, 1, HOP - 1))
    with pytest.raises(ValueError, match="512"):
        rep.decode(torch.zeros(1, 80, 10))
    with pytest.raises(ValueError, match="window"):
        StftRepresentation(window="kaiser")


def test_channel_order_and_complex_linearity(rep):
    gen = torch.Generator().manual_seed(2)
    y1 = torch.randn(2, F, 9, dtype=torch.cfloat, generator=gen)
    y2 = torch.randn(2, F, 9, dtype=torch.cfloat, generator=gen)
    x1 = rep.from_complex(y1)
    assert torch.equal(x1[:, :F], y1.real) and torch.equal(x1[:, F:], y1.imag)  # [Re; Im]
    assert torch.equal(rep.to_complex(x1), y1)  # exact inverses of each other
    # R-linear both ways, and multiplying by i rotates each (re, im) channel pair
    a, b = 0.7, -2.5
    assert torch.allclose(rep.from_complex(a * y1 + b * y2), a * x1 + b * rep.from_complex(y2))
    x2 = rep.from_complex(y2)
    assert torch.allclose(rep.to_complex(a * x1 + b * x2), a * y1 + b * y2)
    assert torch.equal(rep.from_complex(1j * y1), torch.cat([-y1.imag, y1.real], dim=1))


def test_compression_law_on_a_pure_tone(rep):
    """A bin-centred tone A cos(2 pi k sr / n_fft t) has |X| = A * sum(w) / 2 = A n_fft / 4 at
    bin k in every interior frame (periodic Hann), so |Y| = scale * (A n_fft / 4)^alpha there;
    the phase is the STFT's, and the law holds at every bin above eps."""
    k, amp = 32, 0.3
    t = torch.arange(40 * HOP) / SR
    wav = (amp * torch.cos(2 * math.pi * k * SR / N_FFT * t))[None, None]
    y = rep.to_complex(rep.encode(wav))  # [1, F, T]
    interior = y[0, k, 3:-3]
    expected = 0.15 * (amp * N_FFT / 4) ** 0.5
    assert torch.allclose(interior.abs(), torch.full_like(interior.abs(), expected), rtol=1e-4)
    spec = rep.stft(wav)
    big = spec.abs() > 1e-6
    assert torch.allclose(y.abs()[big], 0.15 * spec.abs()[big] ** 0.5, rtol=1e-4)
    phase_diff = (y[big] * spec[big].conj()).angle()
    assert phase_diff.abs().max() < 1e-4


def test_other_exponents_follow_the_law():
    rep = StftRepresentation(alpha=0.3, scale=0.5)
    wav = 0.2 * torch.randn(1, 1, 16 * HOP, generator=torch.Generator().manual_seed(3))
    spec = rep.stft(wav)
    y = rep.to_complex(rep.encode(wav))
    assert torch.allclose(y.abs(), 0.5 * spec.abs() ** 0.3, rtol=1e-4)
    assert (rep.decode(rep.encode(wav)) - wav).abs().max() < 1e-5
    linear = StftRepresentation(alpha=1.0, scale=1.0)
    assert torch.allclose(linear.to_complex(linear.encode(wav)), spec)


def test_compression_is_invertible_below_eps(rep):
    """The linear piece below |X| = eps is inverted exactly too (tiny but non-zero bins)."""
    mags = torch.logspace(-14, 2, 200)
    spec = (mags * torch.exp(1j * torch.linspace(0, 6, 200)))[None, None]
    back = rep.decompress(rep.compress(spec))
    assert torch.allclose(back, spec, rtol=1e-5, atol=0)


def test_no_nan_gradient_at_silence(rep):
    wav = torch.zeros(1, 1, 16 * HOP, requires_grad=True)
    x = rep.encode(wav)
    assert torch.equal(x, torch.zeros_like(x))
    (x.square().sum() + x.sum()).backward()
    assert torch.isfinite(wav.grad).all()
    # and through decode(encode(.)), as posterior sampling differentiates it
    z = torch.zeros(1, 512, 12, requires_grad=True)
    rep.decode(z).sum().backward()
    assert torch.isfinite(z.grad).all()


def test_partly_silent_input_has_finite_gradients(rep):
    wav = torch.zeros(1, 1, 32 * HOP)
    wav[..., 2000:2400] = torch.randn(400, generator=torch.Generator().manual_seed(4))
    wav.requires_grad_(True)
    rep.encode(wav).abs().sum().backward()
    assert torch.isfinite(wav.grad).all() and wav.grad.abs().sum() > 0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_gpu(rep):
    wav = _chirp(SR)
    x = rep.encode(wav.cuda())
    assert x.is_cuda and torch.allclose(x.cpu(), rep.encode(wav), atol=1e-4)
    assert (rep.decode(x).cpu() - wav).abs().max() < 1e-5
