import math

import pytest
import torch

from audiodiff.audio.mel import MelRepresentation
from audiodiff.audio.representation import Representation
from audiodiff.codecs.autoencoder import (
    AudioAutoencoder,
    LatentRepresentation,
    Snake,
    kl_to_standard_normal,
    latent_stats,
    snake,
)
from audiodiff.codecs.losses import MultiResolutionSTFTLoss

SR = 16000


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def tiny(
    bottleneck: str = "kl",
    strides: tuple[int, ...] = (2, 4),
    decoder: str = "conv",
    encoder: str = "conv",
) -> AudioAutoencoder:
    torch.manual_seed(0)
    return AudioAutoencoder(
        channels=4,
        channel_mults=tuple(2 ** (i + 1) for i in range(len(strides))),
        strides=strides,
        latent_dim=3,
        res_dilations=(1, 3),
        bottleneck=bottleneck,
        decoder=decoder,
        encoder=encoder,
        frame_dim=16,
        frame_layers=2,
    )


def tone(seconds: float = 0.5, f0: float = 220.0) -> torch.Tensor:
    t = torch.arange(int(seconds * SR)) / SR
    wav = 0.5 * torch.sin(2 * math.pi * f0 * t) + 0.25 * torch.sin(2 * math.pi * 2 * f0 * t)
    return wav[None, None]


# ---- Snake --------------------------------------------------------------------------------


def test_snake_matches_formula_and_has_gradients():
    act = Snake(5)
    with torch.no_grad():
        act.alpha.copy_(torch.tensor([0.3, 0.7, 1.0, 2.5, -1.2])[None, :, None])
    x = torch.randn(2, 5, 11, requires_grad=True)
    y = act(x)
    assert y.shape == x.shape
    a = act.alpha.detach()
    ref = x.detach() + torch.sin(a * x.detach()) ** 2 / a
    torch.testing.assert_close(y.detach(), ref, rtol=1e-5, atol=1e-6)
    with torch.no_grad():  # the no-grad fast path agrees too
        torch.testing.assert_close(act(x), ref, rtol=1e-5, atol=1e-6)
    y.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(act.alpha.grad).all()
    # d/dx = 1 + sin(2 alpha x)
    torch.testing.assert_close(x.grad, 1 + torch.sin(2 * a * x.detach()), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 1e-12, -1e-12, 1e-6])
def test_snake_is_safe_as_alpha_goes_to_zero(alpha):
    x = torch.linspace(-3, 3, 13)[None, None].requires_grad_(True)
    a = torch.full((1, 1, 1), alpha, requires_grad=True)
    y = snake(x, a)
    # sin^2(ax)/a -> a x^2 as a -> 0
    torch.testing.assert_close(y.detach(), x.detach() + alpha * x.detach() ** 2)
    y.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(a.grad).all()
    torch.testing.assert_close(a.grad.reshape(()), (x.detach() ** 2).sum(), rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        y_fast = snake(x, a)
    assert torch.isfinite(y_fast).all()
    torch.testing.assert_close(y_fast, x.detach(), rtol=0, atol=1e-5)


# ---- shapes and lengths -------------------------------------------------------------------


def test_default_size_and_hop():
    ae = AudioAutoencoder()
    assert ae.hop_length == math.prod(ae.strides) == 256
    n_params = sum(p.numel() for p in ae.parameters())
    assert 1e6 <= n_params <= 5e6
    wav = torch.randn(1, 1, 4 * 256)
    with torch.no_grad():
        z = ae.encode(wav)
        assert z.shape == (1, 32, 4)
        assert ae.decode(z).shape == (1, 1, 4 * 256)


# (encoder, decoder); "mel" needs hop 256 (its waist is the 80-bin mel at FFT 4 * hop)
KINDS = [("conv", "conv"), ("conv", "istft"), ("stft", "istft")]


@pytest.mark.parametrize(("encoder", "decoder"), KINDS)
@pytest.mark.parametrize("strides", [(2, 4), (3, 1, 5)])
@pytest.mark.parametrize("frames", [1, 5])
def test_exact_lengths_for_multiples_of_hop(strides, frames, encoder, decoder):
    ae = tiny(strides=strides, decoder=decoder, encoder=encoder)
    n = frames * ae.hop_length
    wav = torch.randn(2, 1, n)
    mean, logvar = ae.encode_dist(wav)
    assert mean.shape == logvar.shape == (2, 3, frames)
    assert ae.decode(mean).shape == (2, 1, n)
    recon, kl = ae(wav)
    assert recon.shape == wav.shape and kl.dim() == 0


@pytest.mark.parametrize(("encoder", "decoder"), KINDS)
@pytest.mark.parametrize("n", [1, 13, 61, 65])
def test_other_lengths_are_padded_then_cropped(n, encoder, decoder):
    ae = tiny(decoder=decoder, encoder=encoder)  # hop 8
    wav = torch.randn(1, 1, n)
    z = ae.encode(wav)
    assert z.shape[-1] == math.ceil(n / 8)
    recon, _ = ae(wav)
    assert recon.shape == (1, 1, n)
    # padding is at the end: the frames covering the original samples are the same
    padded = torch.nn.functional.pad(wav, (0, -n % 8))
    torch.testing.assert_close(ae.encode(padded), z)


def test_rejects_bad_input():
    ae = tiny()
    with pytest.raises(ValueError):
        ae.encode(torch.randn(1, 2, 16))
    with pytest.raises(ValueError):
        AudioAutoencoder(channel_mults=(2, 4), strides=(2, 4, 4))
    with pytest.raises(ValueError):
        AudioAutoencoder(bottleneck="vq")
    with pytest.raises(ValueError, match="decoder"):
        AudioAutoencoder(decoder="wavenet")
    with pytest.raises(ValueError, match="encoder"):
        AudioAutoencoder(encoder="mel")


def test_mel_waist_decoder_runs_the_vocoder_on_a_log_mel():
    ae = AudioAutoencoder(
        encoder="stft", decoder="mel", frame_dim=32, frame_layers=1, vocoder_dim=16
    )
    assert ae.hparams()["decoder"] == "mel" and ae.hparams()["vocoder_dim"] == 16
    z = torch.randn(2, 32, 6)
    mel = ae.decoder.to_mel(z)
    assert mel.shape == (2, 80, 6)
    torch.testing.assert_close(ae.decode(z), ae.decoder.vocoder(mel))
    assert ae.decode(z).shape == (2, 1, 6 * 256)
    assert ae.decoder.vocoder.magnitude_prior
    # the waist's mel is the representation's default mel at this hop and sample rate
    assert ae.decoder.mel.config() == MelRepresentation().config()
    assert AudioAutoencoder(decoder="mel", sample_rate=22050).decoder.mel.sample_rate == 22050


def test_istft_decoder_is_a_vocoder_on_the_latents():
    ae = AudioAutoencoder(decoder="istft", frame_dim=64, frame_layers=3)
    assert ae.decoder.n_fft == 4 * 256 and ae.decoder.hop_length == 256
    assert ae.decoder.n_mels == ae.latent_dim and ae.decoder.phase == "increment"
    assert ae.hparams()["decoder"] == "istft" and ae.hparams()["encoder"] == "conv"
    z = torch.randn(2, 32, 6)
    assert ae.decode(z).shape == (2, 1, 6 * 256)
    # frame t of the spectral encoder is the centred STFT frame t, like the decoder's
    spectral = AudioAutoencoder(encoder="stft", decoder="istft", frame_dim=32, frame_layers=1)
    assert spectral.encode(torch.randn(1, 1, 6 * 256)).shape == (1, 32, 6)
    assert spectral.encoder.n_fft == 1024
    # the hparams rebuild the same architecture
    clone = AudioAutoencoder(**ae.hparams())
    clone.load_state_dict(ae.state_dict())
    torch.testing.assert_close(clone.decode(z), ae.decode(z))


# ---- bottleneck ---------------------------------------------------------------------------


def test_kl_closed_form():
    zeros = torch.zeros(2, 3, 4)
    assert kl_to_standard_normal(zeros, zeros).item() == 0.0
    torch.manual_seed(1)
    mean, logvar = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    kl = kl_to_standard_normal(mean, logvar)
    assert kl.item() > 0
    q = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    torch.testing.assert_close(kl, torch.distributions.kl_divergence(q, p).mean())
    assert kl_to_standard_normal(torch.zeros(3), torch.full((3,), 0.5)).item() > 0


def test_forward_kl_matches_posterior_and_sampling_uses_variance():
    ae = tiny()
    wav = torch.randn(2, 1, 32)
    mean, logvar = ae.encode_dist(wav)
    _, kl = ae(wav)
    torch.testing.assert_close(kl, kl_to_standard_normal(mean, logvar))
    torch.testing.assert_close(ae.encode(wav), mean)
    g = torch.Generator().manual_seed(0)
    sample = ae.encode(wav, sample=True, generator=g)
    assert not torch.allclose(sample, mean)
    noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(sample, mean + (0.5 * logvar).exp() * noise)


def test_plain_bottleneck():
    ae = tiny("plain")
    wav = torch.randn(2, 1, 32)
    mean, logvar = ae.encode_dist(wav)
    assert logvar is None and mean.shape == (2, 3, 4)
    torch.testing.assert_close(ae.encode(wav, sample=True), mean)
    recon, kl = ae(wav)
    assert kl.item() == 0.0
    torch.testing.assert_close(recon, ae.decode(mean))
    assert ae.encoder[-1].out_channels == 3  # no log-variance head


# ---- it learns ----------------------------------------------------------------------------


@pytest.mark.parametrize(("encoder", "decoder"), KINDS)
def test_tiny_autoencoder_fits_a_clip(encoder, decoder):
    # The conv decoder is judged on the waveform; the iSTFT decoder makes its own phase, so
    # on spectral distance (the loss it is trained with).
    torch.manual_seed(0)
    ae = AudioAutoencoder(
        channels=8,
        channel_mults=(2, 4),
        strides=(4, 4),
        latent_dim=8,
        res_dilations=(1, 3),
        decoder=decoder,
        encoder=encoder,
        frame_dim=32,
        frame_layers=2,
    )
    wav = tone(0.5)
    if decoder == "conv":
        distance, factor = (lambda a, b: (a - b).abs().mean()), 5
    else:
        distance, factor = MultiResolutionSTFTLoss(((256, 64), (512, 128))), 2
    with torch.no_grad():
        start = distance(ae.decode(ae.encode(wav)), wav).item()
    opt = torch.optim.Adam(ae.parameters(), lr=3e-3)
    for _ in range(100):
        opt.zero_grad()
        recon, kl = ae(wav)
        (distance(recon, wav) + 1e-4 * kl).backward()
        opt.step()
    with torch.no_grad():
        end = distance(ae.decode(ae.encode(wav)), wav).item()
    assert end < start / factor, (start, end)


# ---- LatentRepresentation -----------------------------------------------------------------


@pytest.fixture()
def rep() -> LatentRepresentation:
    return LatentRepresentation(tiny(), sample_rate=SR)


def test_latent_representation_interface(rep):
    assert isinstance(rep, Representation)
    assert rep.channels == 3 and rep.hop_length == 8 and rep.frame_rate == SR / 8
    assert not any(p.requires_grad for p in rep.parameters())
    assert {"latent_mean", "latent_std"} <= set(rep.state_dict())
    x = rep.encode(torch.randn(2, 1, 8 * 6 + 5))
    assert x.shape == (2, 3, 6)  # T = N // hop
    assert rep.decode(x).shape == (2, 1, 48)
    with pytest.raises(ValueError):
        rep.encode(torch.randn(1, 1, 7))


def test_fit_stats_normalises_and_decode_undoes_it(rep):
    torch.manual_seed(2)
    wav = torch.randn(4, 1, 8 * 64)
    with torch.no_grad():
        raw = rep.autoencoder.encode(wav)
        rep.fit_stats(raw)
        x = rep.encode(wav)
    torch.testing.assert_close(x.mean(dim=(0, 2)), torch.zeros(3), rtol=0, atol=1e-4)
    torch.testing.assert_close(x.std(dim=(0, 2)), torch.ones(3), rtol=0, atol=1e-4)
    expected = rep.autoencoder.decode(raw)
    torch.testing.assert_close(rep.decode(x), expected, rtol=1e-5, atol=1e-6)

    rep.fit_stats(raw, per_channel=False)
    assert torch.all(rep.latent_std == rep.latent_std[0])
    assert abs(rep.encode(wav).std().item() - 1) < 1e-3


def test_latent_stats_floor():
    mean, std = latent_stats(torch.ones(2, 3, 5))
    torch.testing.assert_close(mean, torch.ones(3))
    assert torch.all(std > 0)


def test_fingerprint_tracks_stats_weights_and_checkpoint_id(rep):
    fp = rep.fingerprint()
    assert fp == LatentRepresentation(tiny(), sample_rate=SR).fingerprint()
    rep.fit_stats(torch.randn(2, 3, 10))
    fp_stats = rep.fingerprint()
    assert fp_stats != fp
    with torch.no_grad():
        rep.autoencoder.decoder[-1].bias.add_(1.0)
    assert rep.fingerprint() != fp_stats
    assert LatentRepresentation(tiny(), sample_rate=8000).fingerprint() != fp
    named = LatentRepresentation(tiny(), checkpoint_id="ae-v1")
    assert named.config()["weights"] == "ae-v1"
