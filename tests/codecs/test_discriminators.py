import pytest
import torch

from audiodiff.codecs.discriminators import (
    Discriminators,
    MultiPeriodDiscriminator,
    MultiResolutionDiscriminator,
)

PERIODS = (2, 3, 5, 7, 11)
RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


def small() -> Discriminators:
    return Discriminators(
        mpd=MultiPeriodDiscriminator(periods=PERIODS, channels=(4, 8, 8)),
        mrd=MultiResolutionDiscriminator(resolutions=RESOLUTIONS, channels=4, num_layers=3),
    )


@pytest.mark.parametrize("n", [2048, 4097, 8000])
def test_output_structure(n):
    torch.manual_seed(0)
    out = small()(torch.randn(2, 1, n))
    assert set(out) == {"mpd", "mrd"}
    assert len(out["mpd"].logits) == len(out["mpd"].features) == len(PERIODS)
    assert len(out["mrd"].logits) == len(out["mrd"].features) == len(RESOLUTIONS)
    for logits, feats in zip(out["mpd"].logits, out["mpd"].features, strict=True):
        assert logits.dim() == 2 and logits.shape[0] == 2
        assert len(feats) == 4  # 3 convs + the output map
        assert all(f.shape[0] == 2 and f.dim() == 4 for f in feats)
    for p, feats in zip(PERIODS, out["mpd"].features, strict=True):
        assert feats[0].shape[-1] == p  # folded by period
    for (n_fft, _), feats in zip(RESOLUTIONS, out["mrd"].features, strict=True):
        assert len(feats) == 4
        assert feats[0].shape[2] == (n_fft // 2 + 1 + 1) // 2  # frequency halved by the first conv
    for logits in out["mrd"].logits:
        assert logits.dim() == 2 and torch.isfinite(logits).all()


def test_gradients_reach_input_and_every_parameter():
    torch.manual_seed(0)
    disc = small()
    wav = torch.randn(1, 1, 4096, requires_grad=True)
    out = disc(wav)
    total = sum(torch.cat(o.logits, dim=1).sum() for o in out.values())
    total.backward()
    assert wav.grad is not None and wav.grad.abs().sum() > 0
    for name, p in disc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_either_can_be_disabled():
    wav = torch.randn(1, 1, 4096)
    assert set(Discriminators(mpd=MultiPeriodDiscriminator(channels=(4, 4)))(wav)) == {"mpd"}
    only_mrd = Discriminators(mrd=MultiResolutionDiscriminator(channels=4, num_layers=2))
    assert set(only_mrd(wav)) == {"mrd"}
    with pytest.raises(ValueError):
        Discriminators()


def test_default_sizes():
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert 40e6 < n(MultiPeriodDiscriminator()) < 42e6  # HiFi-GAN's MPD
    assert n(MultiResolutionDiscriminator()) < 1e6
