"""The exportable decoder graphs (audiodiff.export.decoders) in PyTorch: with ConvISTFT /
ConvSTFT switched in, each decoder gives the output of the representation's own decode."""

import pytest
import torch

from audiodiff.audio.mel import MelRepresentation
from audiodiff.build import build_representation
from audiodiff.codecs.autoencoder import Snake, snake
from audiodiff.errors import ConfigError
from audiodiff.export.decoders import GraphSnake, decoder_graph, exportable_copy
from audiodiff.export.layout import phase_input

pytestmark = pytest.mark.usefixtures("one_thread")
FRAMES = [1, 7, 40]


def decode_both(rep, frames, seed=0):
    x = torch.randn(2, rep.channels, frames, generator=torch.Generator().manual_seed(seed))
    graph = decoder_graph(rep)
    args = (x, phase_input(rep.n_fft // 2 + 1, frames, rep.seed)) if graph.takes_phase else (x,)
    with torch.no_grad():
        return graph.module(*args), rep.decode(x)


@pytest.mark.parametrize("phase", ["increment", "absolute"])
@pytest.mark.parametrize("prior", [False, True])
def test_vocoder_with_conv_istft_equals_the_vocoder(tiny, tmp_path, phase, prior):
    folder = tiny.vocoder_folder(tmp_path / "voc", phase=phase, magnitude_prior=prior)
    rep = build_representation(
        {"representation": tiny.MEL, "decoder": tiny.vocoder_decoder(folder)}
    )
    for frames in FRAMES:
        out, ref = decode_both(rep, frames)
        assert out.shape == ref.shape == (2, 1, frames * 64) and ref.abs().max() > 0
        assert (out - ref).abs().max() <= 1e-5 * max(1, ref.abs().max())  # peaks up to ~50


@pytest.mark.parametrize("kind", ["conv", "istft", "mel"])
def test_autoencoder_decoder_graph_equals_decode(tiny, tmp_path, kind):
    folder = tiny.autoencoder_folder(tmp_path / kind, decoder=kind)
    rep = build_representation({"representation": tiny.latent_representation(folder)})
    for frames in FRAMES:
        out, ref = decode_both(rep, frames)
        assert out.shape == ref.shape == (2, 1, frames * 64)
        assert ref.abs().max() > 0 and (out - ref).abs().max() <= 1e-5 * max(1, ref.abs().max())
    if kind == "conv":  # the copy's weight norm and Snakes are its own
        assert (rep.decode(torch.zeros(1, 8, 3)) == rep.decode(torch.zeros(1, 8, 3))).all()


def test_stft_representation_graph_equals_decode(tiny):
    rep = build_representation({"representation": tiny.STFT})
    for frames in FRAMES:
        out, ref = decode_both(rep, frames)
        assert out.shape == ref.shape and (out - ref).abs().max() <= 1e-5 * ref.abs().max()


@pytest.mark.parametrize("frames", [3, 20])
def test_griffin_lim_graph_follows_the_torch_griffin_lim(frames):
    """The same iterations with matmul transforms in place of FFTs: momentum 0.99 amplifies
    their float32 rounding differences, so the two agree to ~1e-4 of the peak (measured
    6e-5 at 20 frames), not to 1e-7 as the other decoders do."""
    rep = MelRepresentation(n_fft=256, hop_length=64, n_mels=32)
    t = torch.arange(frames * 64) / 16000
    wav = (0.5 * torch.sin(2 * torch.pi * 440 * t)).view(1, 1, -1)
    x = rep.encode(wav)
    graph = decoder_graph(rep)
    with torch.no_grad():
        out = graph.module(x, phase_input(129, x.shape[-1], rep.seed))
    ref = rep.decode(x)
    assert graph.kind == "griffinlim" and out.shape == ref.shape
    assert (out - ref).abs().max() <= 1e-3 * ref.abs().max()
    assert (out - ref).square().mean().sqrt() <= 1e-4 * ref.square().mean().sqrt()


def test_a_locked_phase_vocoder_is_refused_in_one_line(tiny, tmp_path):
    folder = tiny.vocoder_folder(tmp_path / "voc", phase="locked")
    rep = build_representation(
        {"representation": tiny.MEL, "decoder": tiny.vocoder_decoder(folder)}
    )
    with pytest.raises(ConfigError, match="phase=locked vocoder does not export") as info:
        decoder_graph(rep)
    assert "\n" not in str(info.value)


def test_graph_snake_is_snake_at_every_alpha():
    module = Snake(5)
    with torch.no_grad():
        module.alpha.copy_(torch.tensor([1.0, -2.0, 0.0, -0.0, 1e-12]).view(1, 5, 1))
    x = torch.randn(3, 5, 50, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(GraphSnake(module)(x), snake(x, module.alpha), atol=1e-6)
    copy = exportable_copy(torch.nn.Sequential(module))
    assert isinstance(copy[0], GraphSnake) and isinstance(module, Snake)
