"""ConvISTFT / ConvSTFT (audiodiff.audio.conv_stft) against torch.istft / torch.stft: the
exportable transforms compute the same numbers, at every length and framing used here."""

import pytest
import torch

from audiodiff.audio.conv_stft import ConvISTFT, ConvSTFT

# torch.istft pads (with this warning) where a length runs past the last frame; so does ConvISTFT
pytestmark = pytest.mark.filterwarnings("ignore:The length of signal is shorter")

WINDOWS = {
    "hann 1024/256 (mel, vocoder)": (1024, 256, torch.hann_window(1024)),
    "sqrt-hann 510/128 (stft representation)": (510, 128, torch.hann_window(510).sqrt()),
    "hann 256/64 (autoencoder istft head)": (256, 64, torch.hann_window(256)),
    "odd n_fft 63/16": (63, 16, torch.hann_window(63)),
    "n_fft 48 < 2 hop, padded end": (48, 32, torch.hann_window(48) + 0.1),
}


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("frames", [1, 2, 7, 64])
def test_conv_istft_equals_torch_istft(name, frames):
    n_fft, hop, window = WINDOWS[name]
    gen = torch.Generator().manual_seed(frames)
    real, imag = torch.randn(2, 3, n_fft // 2 + 1, frames, generator=gen)
    ref = torch.istft(torch.complex(real, imag), n_fft, hop, window=window, center=True,
                      length=frames * hop)  # fmt: skip
    out = ConvISTFT(n_fft, hop, window)(real, imag)
    assert out.shape == ref.shape == (3, frames * hop)
    assert (out - ref).abs().max() <= 1e-5


@pytest.mark.parametrize("length", [100, 1000, 1500])
def test_conv_istft_takes_torch_lengths(length):
    n_fft, hop, window = WINDOWS["hann 256/64 (autoencoder istft head)"]
    real, imag = torch.randn(2, 2, 129, 20, generator=torch.Generator().manual_seed(0))
    ref = torch.istft(torch.complex(real, imag), n_fft, hop, window=window, length=length)
    out = ConvISTFT(n_fft, hop, window)(real, imag, length)
    assert out.shape == ref.shape  # past the last frame's end: zeros, as torch pads
    # relative: the last samples divide by the window's vanishing tail (|ref| up to ~100)
    assert ((out - ref).abs() <= 1e-5 * (1 + ref.abs())).all()


@pytest.mark.parametrize("name", list(WINDOWS)[:4])
@pytest.mark.parametrize("samples", [700, 4096])
def test_conv_stft_equals_torch_stft(name, samples):
    n_fft, hop, window = WINDOWS[name]
    wav = torch.randn(2, samples, generator=torch.Generator().manual_seed(samples))
    ref = torch.stft(wav, n_fft, hop, window=window, center=True, pad_mode="reflect",
                     return_complex=True)  # fmt: skip
    real, imag = ConvSTFT(n_fft, hop, window)(wav)
    scale = ref.abs().max()
    assert real.shape == ref.shape
    assert (real - ref.real).abs().max() <= 2e-6 * scale
    assert (imag - ref.imag).abs().max() <= 2e-6 * scale


def test_a_window_of_another_length_is_refused():
    with pytest.raises(ValueError, match="window must have n_fft=64 samples"):
        ConvISTFT(64, 16, torch.hann_window(32))
    with pytest.raises(ValueError, match="window must have n_fft=64 samples"):
        ConvSTFT(64, 16, torch.hann_window(32))
