"""Paired metrics: SI-SDR, LSD, spectral convergence, MR-STFT, optional PESQ/STOI."""

import math

import pytest
import torch

from audiodiff.metrics import paired
from audiodiff.metrics.paired import (
    log_spectral_distance,
    multi_resolution_stft_distance,
    optional_metrics_available,
    pesq_score,
    si_sdr,
    spectral_convergence,
    stoi_score,
)

SR = 16000


def _tone(n: int = SR // 2, f0: float = 220.0) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float32) / SR  # [N]
    return sum(0.3 / k * torch.sin(2 * math.pi * f0 * k * t) for k in range(1, 5))


def _noise(n: int = SR // 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed))  # [N]


def test_si_sdr_identical_is_very_high():
    ref = _tone()
    assert si_sdr(ref, ref).item() > 80


def test_si_sdr_scale_and_offset_invariant():
    ref = _tone()
    est = ref + 0.05 * _noise()
    base = si_sdr(est, ref)
    assert torch.allclose(si_sdr(3.7 * est, ref), base, atol=1e-3)
    assert torch.allclose(si_sdr(0.2 * est + 0.1, ref), base, atol=1e-3)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0, 30.0])
def test_si_sdr_matches_known_snr(snr_db):
    ref = _noise(SR, seed=1)
    noise = _noise(SR, seed=2)
    noise = noise * (ref.square().sum() / noise.square().sum() / 10 ** (snr_db / 10)).sqrt()
    assert si_sdr(ref + noise, ref).item() == pytest.approx(snr_db, abs=0.5)


def test_si_sdr_batched_matches_loop():
    ref = torch.stack([_tone(f0=f) for f in (110.0, 220.0, 330.0)])  # [3, N]
    est = ref + torch.stack([s * _noise(seed=i) for i, s in enumerate((0.01, 0.1, 1.0))])
    out = si_sdr(est[None].expand(2, 3, -1), ref[None].expand(2, 3, -1))
    assert out.shape == (2, 3)
    loop = torch.stack([si_sdr(e, r) for e, r in zip(est, ref, strict=True)])
    assert torch.allclose(out[1], loop, atol=1e-4)
    assert out[0, 0] > out[0, 1] > out[0, 2]


@pytest.mark.parametrize(
    "metric", [log_spectral_distance, spectral_convergence, multi_resolution_stft_distance]
)
def test_spectral_metrics_zero_for_identical_and_grow_with_noise(metric):
    ref = _tone()
    assert metric(ref, ref).item() == pytest.approx(0.0, abs=1e-6)
    values = [metric(ref + level * _noise(), ref).item() for level in (1e-3, 1e-2, 1e-1, 1.0)]
    assert all(a < b for a, b in zip(values[:-1], values[1:], strict=True)), values


@pytest.mark.parametrize(
    "metric", [si_sdr, log_spectral_distance, spectral_convergence, multi_resolution_stft_distance]
)
def test_batch_dims_and_length_mismatch(metric):
    ref = torch.stack([_tone(f0=f) for f in (110.0, 220.0, 440.0)]).reshape(3, 1, -1)  # [3,1,N]
    est = ref + 0.1 * _noise(ref.shape[-1]).expand_as(ref)
    out = metric(est, ref)
    assert out.shape == (3, 1)
    loop = torch.stack([metric(e[0], r[0]) for e, r in zip(est, ref, strict=True)])
    assert torch.allclose(out[:, 0], loop, rtol=1e-4, atol=1e-5)
    longer = torch.cat([est, torch.ones(3, 1, 300)], dim=-1)  # extra tail is trimmed away
    assert torch.allclose(metric(longer, ref), out, rtol=1e-5, atol=1e-6)
    assert torch.allclose(metric(ref, longer), metric(ref, est), rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_spectral_metrics_on_cuda_match_cpu():
    ref = torch.stack([_tone(), _tone(f0=330.0)])  # [2, N]
    est = ref + 0.1 * _noise()
    for metric in (si_sdr, log_spectral_distance, multi_resolution_stft_distance):
        out = metric(est.cuda(), ref.cuda())
        assert out.device.type == "cuda"
        assert torch.allclose(out.cpu(), metric(est, ref), rtol=1e-3, atol=1e-4)


def _modulated(n: int = int(1.5 * SR)) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float32) / SR
    return _tone(n) * (0.6 + 0.4 * torch.sin(2 * math.pi * 3 * t))


def test_pesq_stoi_rank_clean_above_noisy_when_installed():
    available = optional_metrics_available()
    ref = _modulated()
    noisy = ref + 0.3 * _noise(ref.shape[-1])
    for name, fn in (("pesq", pesq_score), ("stoi", stoi_score)):
        clean_score, noisy_score = fn(ref, ref, SR), fn(noisy, ref, SR)
        if not available[name]:
            assert clean_score is None and noisy_score is None
            continue
        assert isinstance(clean_score, float) and isinstance(noisy_score, float)
        assert clean_score > noisy_score, name
    if available["pesq"]:  # resampled to 16 kHz internally
        ref_8k = ref[::2]
        assert pesq_score(ref_8k, ref_8k, SR // 2) > 4.0


def test_optional_metrics_return_none_without_packages(monkeypatch):
    monkeypatch.setattr(paired, "_optional", lambda name: None)
    assert optional_metrics_available() == {"pesq": False, "stoi": False}
    ref = _modulated()
    assert pesq_score(ref, ref, SR) is None
    assert stoi_score(ref, ref, SR) is None


@pytest.mark.skipif(not all(optional_metrics_available().values()), reason="pesq/pystoi absent")
@pytest.mark.parametrize(
    "est",
    [_tone(160), _tone(1), torch.full((4000,), 1e-40)],
    ids=["10ms", "1 sample", "denormal"],
)
def test_pesq_and_stoi_give_no_score_instead_of_failing(est):
    ref = _tone(len(est)) if len(est) > 1 else _tone(2)[:1] + 0.1
    assert pesq_score(est, ref, SR) is None
    assert stoi_score(est, ref, SR) is None
