import math

import torch

from audiodiff.audio.spectral import istft, stft
from audiodiff.codecs.phase_lock import lobe_offset, locked_phase, peak_owner
from audiodiff.codecs.vocoder import VocosVocoder

N_FFT, HOP = 1024, 256


def two_tones() -> torch.Tensor:
    # [1, N]: two steady partials between bin centres, 1 s at 16 kHz
    t = torch.arange(16000) / 16000
    return (torch.sin(2 * math.pi * 440.3 * t + 0.7) + 0.5 * torch.sin(2 * math.pi * 1234.5 * t))[
        None
    ]


def wrap(x: torch.Tensor) -> torch.Tensor:
    return torch.remainder(x + math.pi, 2 * math.pi) - math.pi


def test_each_bin_belongs_to_its_nearest_peak():
    mag = torch.tensor([1.0, 3, 2, 1, 5, 4, 0, 0, 1])[None, :, None]
    # peaks at 1, 4 and 8; bin 6 is 2 from both 4 and 8 and goes to the lower one
    assert peak_owner(mag)[0, :, 0].tolist() == [1, 1, 1, 4, 4, 4, 4, 8, 8]
    flat = torch.ones(1, 5, 2)
    assert peak_owner(flat).eq(4).all()  # all equal: the top bin is the one peak


def test_exact_advances_and_offsets_give_back_the_phase():
    spec = stft(two_tones(), N_FFT, HOP, torch.hann_window(N_FFT))
    phase = spec.angle()
    advance = torch.diff(phase, dim=-1, prepend=torch.zeros_like(phase[..., :1]))
    owner = peak_owner(spec.abs())
    offset = phase - torch.gather(phase, 1, owner)
    assert wrap(locked_phase(advance, offset, owner) - phase).abs().max() < 1e-4


def test_every_bin_its_own_peak_is_the_running_sum():
    advance = torch.rand(2, 7, 9) * 2 * math.pi
    owner = torch.arange(7)[None, :, None].expand(2, 7, 9)
    got = locked_phase(advance, torch.randn(2, 7, 9), owner)
    assert wrap(got - advance.cumsum(-1)).abs().max() < 1e-4


def test_locking_keeps_a_partials_lobe_coherent():
    # The exact per-frame advances of two steady partials, summed from zero phase, leave the
    # bins of each main lobe with unrelated starting phases; locked to the peak with the
    # Hann lobe's pi alternation they resynthesise the input spectrum.
    wav = two_tones()
    window = torch.hann_window(N_FFT)
    spec = stft(wav, N_FFT, HOP, window)
    mag = spec.abs()
    advance = torch.diff(spec.angle(), dim=-1, prepend=torch.zeros_like(mag[..., :1]))
    advance[..., 0] = 0.0  # start every bin at phase 0

    def error(phase: torch.Tensor) -> float:
        out = stft(
            istft(torch.polar(mag, phase), N_FFT, HOP, window, wav.shape[-1]), N_FFT, HOP, window
        )
        return ((out.abs() - mag).norm() / mag.norm()).item()

    owner = peak_owner(mag)
    locked = error(locked_phase(advance, lobe_offset(owner, torch.zeros_like(mag)), owner))
    summed = error(advance.cumsum(-1))
    assert locked < 0.1 < 0.2 < summed


def test_locked_head_shapes_and_gradients():
    voc = VocosVocoder(dim=32, intermediate_dim=64, num_layers=2, phase="locked")
    assert voc.head.out_features == 3 * (N_FFT // 2 + 1)
    mel = torch.randn(2, 80, 12)
    out = voc(mel)
    assert out.shape == (2, 1, 12 * HOP)
    out.pow(2).mean().backward()
    offsets = voc.head.weight.grad[2 * (N_FFT // 2 + 1) :]
    assert offsets.abs().sum() > 0  # the offset outputs are trained
