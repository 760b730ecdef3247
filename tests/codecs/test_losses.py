import math

import pytest
import torch

from audiodiff.codecs.losses import (
    MelLoss,
    MultiResolutionSTFTLoss,
    PhaseDerivativeLoss,
    discriminator_hinge_loss,
    feature_matching_loss,
    generator_hinge_loss,
)


def tone(f: float, n: int = 8192, sr: int = 16000) -> torch.Tensor:
    return 0.5 * torch.sin(2 * math.pi * f * torch.arange(n) / sr)[None, None]  # [1, 1, n]


@pytest.fixture(scope="module")
def mrstft() -> MultiResolutionSTFTLoss:
    return MultiResolutionSTFTLoss()


def test_mrstft_zero_for_identical(mrstft):
    x = torch.randn(2, 1, 8192)
    assert mrstft(x, x).item() == 0.0


def test_mrstft_grows_with_difference(mrstft):
    torch.manual_seed(0)
    y = tone(440.0) + 0.05 * torch.randn(1, 1, 8192)  # broadband: no empty bins
    noise = torch.randn_like(y)
    small = mrstft(y + 0.01 * noise, y)
    large = mrstft(y + 0.1 * noise, y)
    other = mrstft(tone(1500.0) + 0.05 * torch.randn_like(y), y)
    assert 0 < small < large < other
    sc, mag = mrstft.terms(y + 0.1 * noise, y)
    assert sc > 0 and mag > 0


def test_mrstft_terms_symmetry_and_scale(mrstft):
    torch.manual_seed(0)
    x, y = torch.randn(1, 1, 8192), torch.randn(1, 1, 8192)
    sc_xy, mag_xy = mrstft.terms(x, y)
    sc_yx, mag_yx = mrstft.terms(y, x)
    torch.testing.assert_close(mag_xy, mag_yx)  # log-magnitude L1 is symmetric
    # Scaling: log-magnitude distance of y and 2y is log 2 everywhere; SC is |2 - 1| = 1.
    sc, mag = mrstft.terms(2 * y, y)
    torch.testing.assert_close(mag, torch.tensor(math.log(2.0)), atol=1e-4, rtol=0)
    torch.testing.assert_close(sc, torch.tensor(1.0), atol=1e-4, rtol=0)


def test_mrstft_gradient_finite(mrstft):
    x = torch.zeros(1, 1, 4096, requires_grad=True)  # silent prediction: |STFT| = 0
    mrstft(x, tone(300.0, 4096)).backward()
    assert torch.isfinite(x.grad).all()


def test_mel_loss():
    torch.manual_seed(0)
    loss = MelLoss()
    y = 0.1 * torch.randn(1, 1, 8192)  # broadband: every mel bin above the log floor
    assert loss(y, y).item() == 0.0
    assert 0 < loss(y * 1.1, y) < loss(tone(2000.0), y)
    assert loss.log_mel(y).shape == (1, 80, 8192 // 256)
    # Uniform gain g shifts every unfloored log-mel bin by log g.
    torch.testing.assert_close(loss(2 * y, y), torch.tensor(math.log(2.0)), atol=1e-3, rtol=0)


def test_hinge_losses_on_known_logits():
    real = [torch.tensor([[2.0, 0.5]]), torch.tensor([[-1.0]])]
    fake = [torch.tensor([[-2.0, 0.0]]), torch.tensor([[0.5]])]
    # disc 1: real relu(1-2)=0, relu(1-.5)=.5 -> .25; fake relu(1-2)=0, relu(1+0)=1 -> .5
    # disc 2: real relu(1+1)=2; fake relu(1.5)=1.5 -> 3.5; mean over discs = (0.75 + 3.5) / 2
    torch.testing.assert_close(discriminator_hinge_loss(real, fake), torch.tensor(2.125))
    # generator: disc 1 relu(1+2)=3, relu(1-0)=1 -> 2; disc 2 relu(1-.5)=.5; mean = 1.25
    torch.testing.assert_close(generator_hinge_loss(fake), torch.tensor(1.25))
    confident = [torch.full((2, 3), 5.0)]
    assert discriminator_hinge_loss(confident, [-c for c in confident]).item() == 0.0
    assert generator_hinge_loss(confident).item() == 0.0


def test_feature_matching():
    torch.manual_seed(0)
    feats = [[torch.randn(2, 4, 8, 2), torch.randn(2, 1, 8, 2)], [torch.randn(2, 3, 5, 5)]]
    assert feature_matching_loss(feats, feats).item() == 0.0
    shifted = [[f + 0.5 for f in fs] for fs in feats]
    # disc 1: two layers of |0.5| -> 1.0; disc 2: 0.5; mean = 0.75
    torch.testing.assert_close(feature_matching_loss(feats, shifted), torch.tensor(0.75))
    fake = [[f.clone().requires_grad_() for f in fs] for fs in shifted]
    real = [[f.clone().requires_grad_() for f in fs] for fs in feats]
    feature_matching_loss(real, fake).backward()
    assert real[0][0].grad is None and fake[0][0].grad is not None  # real side detached


def test_phase_derivative_loss_sees_frequency_not_phase_offset():
    loss = PhaseDerivativeLoss()
    t = torch.arange(16000) / 16000

    def sine(f0: float, phase: float = 0.0) -> torch.Tensor:
        return torch.sin(2 * math.pi * f0 * t + phase)[None, None]

    ref = sine(440.0)
    assert loss(ref, ref).item() == pytest.approx(0.0, abs=1e-5)
    # a constant phase offset and a different gain leave every advance unchanged (up to the
    # reflect-padded edge frames)
    assert loss(0.3 * sine(440.0, 1.0), ref).item() < 0.02
    # a slightly wrong frequency advances the wrong amount every frame
    detuned = loss(sine(445.0), ref).item()
    assert detuned > 0.1, detuned
    # random phases (noise with the target's magnitude is not needed: plain noise) are ~1 off
    noise = loss(torch.randn(1, 1, 16000), ref).item()
    assert 0.5 < noise < 1.5, noise
    assert 0.0 <= detuned <= 2.0


def test_phase_derivative_loss_has_finite_gradients_on_silence():
    loss = PhaseDerivativeLoss(resolutions=((512, 128), (1024, 256)))
    pred = torch.zeros(1, 1, 8000, requires_grad=True)
    target = torch.randn(1, 1, 8000)
    loss(pred, target).backward()
    assert torch.isfinite(pred.grad).all()


def test_group_delay_term_sees_where_a_click_sits_in_the_frame():
    # A click moved by less than a hop: every frame's advance is unchanged (the frames that
    # see it see it moved by the same amount), the phase slope across bins is not.
    click = torch.zeros(1, 1, 16000)
    click[..., 8000] = 1.0
    moved = torch.roll(click, 128, -1)
    plain = PhaseDerivativeLoss()
    with_gd = PhaseDerivativeLoss(group_delay_weight=1.0)
    assert plain(moved, click).item() < 1e-4
    assert with_gd(moved, click).item() > 0.2
    assert with_gd(click, click).item() == pytest.approx(0.0, abs=1e-5)
