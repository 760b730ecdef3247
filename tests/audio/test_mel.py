import math

import numpy as np
import pytest
import torch

from audiodiff.audio.griffinlim import griffin_lim
from audiodiff.audio.mel import MelRepresentation
from audiodiff.audio.representation import Representation
from audiodiff.audio.spectral import stft
from audiodiff.data.synth import INSTRUMENTS, SynthSpec, make_clip
from audiodiff.metrics.paired import log_spectral_distance, spectral_convergence

SR = 16000


@pytest.fixture(scope="module")
def rep() -> MelRepresentation:
    return MelRepresentation()


@pytest.fixture(scope="module")
def synth_clips() -> list[torch.Tensor]:
    spec = SynthSpec(n=len(INSTRUMENTS))
    return [torch.from_numpy(make_clip(spec, i)[0])[None, None] for i in range(spec.n)]


def test_is_a_representation(rep):
    assert isinstance(rep, Representation)
    assert rep.channels == 80 and rep.sample_rate == SR and rep.frame_rate == SR / 256
    assert len(rep.fingerprint()) == 16
    assert rep.fingerprint() != MelRepresentation(n_mels=64).fingerprint()


def test_shapes(rep):
    wav = torch.randn(3, 1, SR) * 0.1
    x = rep.encode(wav)
    assert x.shape == (3, 80, SR // 256)
    y = rep.decode(x)
    assert y.shape == (3, 1, x.shape[-1] * 256)


def test_bad_input_shape(rep):
    with pytest.raises(ValueError, match=r"\[B, 1, N\]"):
        rep.encode(torch.zeros(2, SR))


def test_normalisation_is_well_scaled(rep, synth_clips):
    x = torch.cat([rep.encode(w) for w in synth_clips], dim=-1)
    assert abs(x.mean().item()) < 1.0
    assert 0.5 < x.std().item() < 2.0


def test_encode_matches_a_numpy_stft_mel(rep):
    """Our torch mel equals one built from numpy's FFT: frames of the signal reflect-padded
    by n_fft / 2 at both ends, every hop samples, times a periodic Hann window, magnitude,
    then librosa's Slaney filter bank (no numba compile, unlike librosa's own STFT)."""
    import librosa.filters

    n_fft, hop = 1024, 256
    wav = torch.randn(1, 1, 8000, generator=torch.Generator().manual_seed(0)) * 0.1
    y = np.pad(wav[0, 0].double().numpy(), n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    frames = np.stack([y[t * hop : t * hop + n_fft] for t in range(8000 // hop)], axis=1)
    magnitude = np.abs(np.fft.rfft(frames * window[:, None], axis=0))  # [F, T]
    fb = librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=80)
    ref = fb @ magnitude
    ours = rep.mel_magnitude(wav)[0].numpy()
    assert ours.shape == ref.shape == (80, 8000 // hop)
    assert abs(ours - ref).max() / ref.max() < 1e-4


@pytest.mark.slow  # librosa's STFT compiles with numba on its first call (~25 s)
def test_encode_matches_reference_mel(rep):
    """Our torch mel equals librosa's for the same STFT settings (magnitude, not power)."""
    import librosa

    wav = torch.randn(1, 1, 8000) * 0.1
    ref = librosa.feature.melspectrogram(
        y=wav[0, 0].numpy(),
        sr=SR,
        n_fft=1024,
        hop_length=256,
        n_mels=80,
        power=1.0,
        pad_mode="reflect",
    )[:, : 8000 // 256]
    ours = rep.mel_magnitude(wav)[0].numpy()
    assert ours.shape == ref.shape
    assert abs(ours - ref).max() / ref.max() < 1e-4


def test_griffin_lim_recovers_a_consistent_spectrogram():
    """With the exact linear magnitude (no mel loss), FGLA reaches low spectral convergence."""
    t = torch.arange(SR) / SR
    wav = sum(torch.sin(2 * math.pi * 220 * k * t) / k for k in range(1, 6))[None] * 0.2
    window = torch.hann_window(1024)
    mag = stft(wav, 1024, 256, window).abs()
    gen = torch.Generator().manual_seed(0)
    out = griffin_lim(mag, 1024, 256, window, SR, n_iter=64, generator=gen)
    assert spectral_convergence(out, wav, n_fft=1024, hop=256).item() < 0.1
    few = griffin_lim(mag, 1024, 256, window, SR, n_iter=2, generator=gen)
    assert spectral_convergence(few, wav, 1024, 256) > spectral_convergence(out, wav, 1024, 256)


def test_mel_inverse_of_synth_clips_within_bound(rep, synth_clips):
    """Stated bound (README): Griffin-Lim from the 80-bin mel of each built-in instrument gives
    spectral convergence < 0.6 and LSD < 4 per clip, < 0.45 and < 3 on average, and beats
    the same magnitudes with random phase (no Griffin-Lim iterations)."""
    random_phase = MelRepresentation(griffin_lim_iters=0)
    scs, lsds, scs_random = [], [], []
    for wav in synth_clips:
        y = rep.decode(rep.encode(wav))
        ref = wav[0, 0, : y.shape[-1]]
        scs.append(spectral_convergence(y[0, 0], ref, n_fft=1024, hop=256).item())
        lsds.append(log_spectral_distance(y[0, 0], ref).item())
        y0 = random_phase.decode(rep.encode(wav))
        scs_random.append(spectral_convergence(y0[0, 0], ref, n_fft=1024, hop=256).item())
        # the decoded audio encodes back to nearly the same normalised mel
        assert (rep.encode(y) - rep.encode(wav[..., : y.shape[-1]])).abs().mean() < 0.3
    assert max(scs) < 0.6 and max(lsds) < 4.0, (scs, lsds)
    assert sum(scs) / len(scs) < 0.45 and sum(lsds) / len(lsds) < 3.0
    assert sum(scs) < 0.8 * sum(scs_random), (scs, scs_random)


def test_decode_is_deterministic(rep, synth_clips):
    x = rep.encode(synth_clips[0])
    assert torch.equal(rep.decode(x), rep.decode(x))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_gpu(rep, synth_clips):
    wav = synth_clips[0].cuda()
    x = rep.encode(wav)
    assert x.is_cuda and torch.allclose(x.cpu(), rep.encode(synth_clips[0]), atol=1e-3)
    assert rep.decode(x).is_cuda
