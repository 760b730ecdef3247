"""Classifier-free guidance wrapper: the formula, the null labels and one batched call."""

import pytest
import torch

from audiodiff.sampling import classifier_free_guidance, karras_sigmas, sample_dpmpp_2m

B = 3


class FakeDenoiser:
    """Per-example, label-dependent, non-linear in x; counts calls and their batch sizes."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, x, sigma, cond=None):
        self.batches.append(x.shape[0])
        s = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, 1, 1)
        if cond is None:
            return torch.tanh(x) / (1 + s)
        a = cond["instrument"].to(x.dtype).view(-1, 1, 1)
        b = cond["pitch"].to(x.dtype).view(-1, 1, 1)
        return torch.tanh(x * (1 + a)) / (1 + s) + 0.1 * b


def _inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, 2, 5, generator=g, dtype=torch.float64)
    sigma = torch.tensor([0.3, 1.0, 4.0], dtype=torch.float64)
    cond = {"instrument": torch.tensor([1, 2, 3]), "pitch": torch.tensor([40, 50, 60])}
    return x, sigma, cond


def _null(cond):
    return {k: torch.zeros_like(v) for k, v in cond.items()}


def test_scale_one_is_exactly_the_conditional_denoiser():
    den, (x, sigma, cond) = FakeDenoiser(), _inputs()
    out = classifier_free_guidance(den, 1.0)(x, sigma, cond)
    assert torch.equal(out, den(x, sigma, cond))


def test_scale_zero_is_the_null_label_denoiser():
    den, (x, sigma, cond) = FakeDenoiser(), _inputs()
    out = classifier_free_guidance(den, 0.0)(x, sigma, cond)
    torch.testing.assert_close(out, den(x, sigma, _null(cond)), rtol=0, atol=1e-15)


@pytest.mark.parametrize("scale", [2.0, 3.5, -0.5])
@pytest.mark.parametrize("scalar_sigma", [False, True])
def test_general_scale_follows_the_formula_in_one_call_of_batch_2b(scale, scalar_sigma):
    den, (x, sigma, cond) = FakeDenoiser(), _inputs()
    if scalar_sigma:
        sigma = 0.7
    out = classifier_free_guidance(den, scale)(x, sigma, cond)
    assert den.batches == [2 * B]
    d_c, d_n = den(x, sigma, cond), den(x, sigma, _null(cond))
    torch.testing.assert_close(out, d_n + scale * (d_c - d_n))
    assert out.shape == x.shape


def test_negative_cond_replaces_the_null_labels():
    den, (x, sigma, cond) = FakeDenoiser(), _inputs()
    neg = {"instrument": torch.tensor([5, 5, 5])}  # pitch is omitted -> null
    out = classifier_free_guidance(den, 2.0, negative_cond=neg)(x, sigma, cond)
    d_c = den(x, sigma, cond)
    d_n = den(x, sigma, {"instrument": neg["instrument"], "pitch": torch.zeros(B).long()})
    torch.testing.assert_close(out, d_n + 2.0 * (d_c - d_n))
    with pytest.raises(ValueError, match="velocity"):
        classifier_free_guidance(den, 2.0, {"velocity": torch.ones(B).long()})(x, sigma, cond)


def test_no_cond_means_no_guidance():
    den, (x, sigma, _) = FakeDenoiser(), _inputs()
    out = classifier_free_guidance(den, 3.0)(x, sigma, None)
    assert den.batches == [B] and torch.equal(out, den(x, sigma, None))


def test_guided_denoiser_drives_a_solver():
    den, (_, _, cond) = FakeDenoiser(), _inputs()
    sigmas = karras_sigmas(4, dtype=torch.float64)
    x = sigmas[0] * torch.randn(B, 2, 5, dtype=torch.float64)
    out = sample_dpmpp_2m(classifier_free_guidance(den, 3.0), x, sigmas, cond=cond)
    assert out.shape == x.shape and den.batches == [2 * B] * 4


def test_rescale_zero_is_plain_cfg_exactly():
    den, (x, sigma, cond) = FakeDenoiser(), _inputs()
    plain = classifier_free_guidance(den, 3.0)(x, sigma, cond)
    assert torch.equal(classifier_free_guidance(den, 3.0, rescale=0.0)(x, sigma, cond), plain)


def test_rescale_one_has_the_conditional_std_per_sample():
    den, (x, sigma, cond) = FakeDenoiser(), _inputs()
    out = classifier_free_guidance(den, 5.0, rescale=1.0)(x, sigma, cond)
    d_c = den(x, sigma, cond)
    torch.testing.assert_close(out.std((1, 2)), d_c.std((1, 2)))
    plain = classifier_free_guidance(den, 5.0)(x, sigma, cond)
    assert not torch.allclose(plain.std((1, 2)), d_c.std((1, 2)))  # CFG alone does not
    half = classifier_free_guidance(den, 5.0, rescale=0.5)(x, sigma, cond)
    ratio = (d_c.std((1, 2)) / plain.std((1, 2))).view(-1, 1, 1)
    torch.testing.assert_close(half, 0.5 * plain * ratio + 0.5 * plain)  # Lin et al. eq. 16


def test_outside_the_interval_is_the_conditional_denoiser_in_one_pass():
    den, (x, _, cond) = FakeDenoiser(), _inputs()
    guided = classifier_free_guidance(den, 3.0, interval=(0.5, 2.0))
    for sigma in (torch.full((B,), 0.3, dtype=torch.float64), 4.0):
        den.batches.clear()
        out = guided(x, sigma, cond)
        assert den.batches == [B]
        assert torch.equal(out, den(x, sigma, cond))
    den.batches.clear()
    inside = guided(x, 1.0, cond)
    assert den.batches == [2 * B]
    torch.testing.assert_close(inside, classifier_free_guidance(den, 3.0)(x, 1.0, cond))


def test_interval_per_row_guides_only_the_rows_inside():
    den, (x, sigma, cond) = FakeDenoiser(), _inputs()  # sigma = [0.3, 1.0, 4.0]
    out = classifier_free_guidance(den, 3.0, interval=(0.5, 2.0))(x, sigma, cond)
    full = classifier_free_guidance(den, 3.0)(x, sigma, cond)
    d_c = den(x, sigma, cond)
    torch.testing.assert_close(out[1], full[1])
    torch.testing.assert_close(out[[0, 2]], d_c[[0, 2]])
    with pytest.raises(ValueError, match="lo <= hi"):
        classifier_free_guidance(den, 3.0, interval=(2.0, 1.0))
