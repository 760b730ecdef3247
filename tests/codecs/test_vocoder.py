import math

import pytest
import torch

from audiodiff.audio.mel import MelRepresentation
from audiodiff.audio.spectral import stft
from audiodiff.codecs.losses import MultiResolutionSTFTLoss
from audiodiff.codecs.vocoder import VocosVocoder

HOP = 256


def tiny() -> VocosVocoder:
    return VocosVocoder(dim=32, intermediate_dim=64, num_layers=2)


def harmonic_clip(n: int, f0: float = 220.0, sr: int = 16000) -> torch.Tensor:
    t = torch.arange(n) / sr
    wav = sum(0.3 / k * torch.sin(2 * math.pi * k * f0 * t + k) for k in range(1, 5))
    return (wav * torch.hann_window(n, periodic=False) ** 0.25)[None, None]  # [1, 1, n]


@pytest.mark.parametrize("frames", [1, 2, 7, 63])
def test_output_length_is_frames_times_hop(frames):
    torch.manual_seed(0)
    wav = tiny()(torch.randn(2, 80, frames))
    assert wav.shape == (2, 1, frames * HOP)
    assert torch.isfinite(wav).all()


def test_default_size_and_shape_check():
    voc = VocosVocoder()
    assert voc.head.out_features == 2 * (1024 // 2 + 1)
    assert 3e6 < voc.num_parameters < 4e6
    with pytest.raises(ValueError):
        voc(torch.randn(1, 64, 10))


def test_synthesis_inverts_the_true_spectrum():
    # The head's parameter-free half: true log|S| and angle(S) of the repo's centred frames
    # (frame t centred on sample t * hop, the mel framing) must give back the waveform.
    voc = tiny()
    frames = 40
    wav = harmonic_clip(frames * HOP) + 0.01 * torch.randn(1, 1, frames * HOP)
    spec = stft(wav[:, 0], 1024, HOP, torch.hann_window(1024))[..., :frames]
    out = voc.synthesize(spec.abs().clamp_min(1e-12).log(), spec.angle())
    assert out.shape == wav.shape
    torch.testing.assert_close(out, wav, atol=1e-4, rtol=0)


def test_head_output_flows_through_synthesis():
    # A head that outputs the true log-magnitude/phase (set through its bias) reproduces one
    # stationary frame's content: checks the split into (log_mag, phase) and its order.
    voc = VocosVocoder(dim=32, intermediate_dim=64, num_layers=2, phase="absolute")
    frames = 12
    wav = harmonic_clip(frames * HOP)
    spec = stft(wav[:, 0], 1024, HOP, torch.hann_window(1024))[..., :frames]
    target = torch.cat([spec.abs().clamp_min(1e-12).log(), spec.angle()], dim=1)  # [1, 2F, T]
    with torch.no_grad():
        voc.head.weight.zero_()
        voc.head.bias.copy_(target[0, :, 5])  # every frame gets frame 5's spectrum
        out = voc(torch.randn(1, 80, frames))
        direct = voc.synthesize(*target[..., 5:6].expand(-1, -1, frames).chunk(2, dim=1))
    torch.testing.assert_close(out, direct)


def steady_tone_rms(phase: str, bin_index: int = 10) -> float:
    """RMS of the middle of a vocoder output whose head emits, every frame, bin ``bin_index``
    of a steady bin-centred tone's spectrum (the other bins silent) and a zero phase output,
    over the RMS of that one bin synthesised with its true phases."""
    voc = VocosVocoder(dim=32, intermediate_dim=64, num_layers=2, phase=phase)
    frames, n_fft = 64, 1024
    t = torch.arange(frames * HOP) / 16000
    wav = torch.sin(2 * math.pi * bin_index * 16000 / n_fft * t)[None, None]
    spec = stft(wav[:, 0], n_fft, HOP, torch.hann_window(n_fft))[..., :frames]
    one_bin = torch.full_like(spec.real, -30.0)
    one_bin[:, bin_index] = spec[:, bin_index].abs().log()
    reference = voc.synthesize(one_bin, spec.angle())
    with torch.no_grad():
        voc.head.weight.zero_()
        phases = torch.zeros(voc.head.out_features - (n_fft // 2 + 1))  # advances (+ offsets)
        voc.head.bias.copy_(torch.cat([one_bin[0, :, frames // 2], phases]))
        out = voc(torch.randn(1, 80, frames))
    mid = slice(16 * HOP, 48 * HOP)
    return (out[..., mid].pow(2).mean().sqrt() / reference[..., mid].pow(2).mean().sqrt()).item()


def test_increment_phase_holds_a_steady_tone():
    # A shift-equivariant trunk outputs the same thing every frame on a steady input. With
    # phase increments that is a steady advance, which overlap-adds to the steady tone; with
    # absolute phases (Vocos) a tone whose advance is pi per frame (bin 10, hop n_fft/4)
    # cancels itself.
    assert 0.99 < steady_tone_rms("increment") < 1.01
    assert 0.99 < steady_tone_rms("locked") < 1.01
    assert steady_tone_rms("absolute") < 0.05
    with pytest.raises(ValueError, match="phase"):
        VocosVocoder(phase="wrapped")


def test_magnitude_prior_is_the_mel_pseudo_inverse():
    rep = MelRepresentation()
    wav = harmonic_clip(32 * HOP) + 0.01 * torch.randn(1, 1, 32 * HOP)
    mel = rep.encode(wav)
    voc = VocosVocoder(dim=32, intermediate_dim=64, num_layers=2, magnitude_prior=True)
    with pytest.raises(RuntimeError, match="use_mel_prior"):
        voc(mel)
    voc.use_mel_prior(rep)
    prior = voc.prior_log_magnitude(mel)
    assert prior.shape == (1, 1024 // 2 + 1, 32)
    # mapped back through the filter bank it gives the input mel where the mel has energy
    back = rep.filters @ prior.exp()
    true = rep.to_mel_magnitude(mel)
    loud = true > 1e-3 * true.max()
    rel = ((back - true).abs() / true)[loud]
    assert rel.median() < 0.05, rel.median()
    # an untrained head (near-zero output) already outputs roughly that magnitude
    with torch.no_grad():
        voc.head.weight.zero_()
        voc.head.bias.zero_()
    out_mel = rep.mel_magnitude(voc(mel))
    assert torch.isfinite(out_mel).all()
    with pytest.raises(ValueError, match="does not match"):
        voc.use_mel_prior(MelRepresentation(n_mels=64))


@pytest.fixture
def one_thread():
    # Many tiny ops: one thread avoids OpenMP stalls when the cores are shared (~5x faster).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_few_steps_lower_the_stft_loss(one_thread):
    torch.manual_seed(0)
    rep = MelRepresentation()
    wav = harmonic_clip(16 * HOP) + 0.01 * torch.randn(1, 1, 16 * HOP)  # no empty bins
    mel = rep.encode(wav)
    voc = tiny()
    loss_fn = MultiResolutionSTFTLoss(resolutions=((512, 128), (1024, 256)))
    opt = torch.optim.Adam(voc.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss = loss_fn(voc(mel), wav)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert min(losses[-3:]) < 0.85 * losses[0], losses
