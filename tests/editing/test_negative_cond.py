"""Negative conditions and the guidance options through the pipeline."""

import pytest
import torch

from audiodiff.errors import ConfigError
from audiodiff.generation import sample, seeded_noise


def test_negative_cond_is_cfg_with_those_labels(smoke_pipe):
    pipe, scale = smoke_pipe, 3.0
    kwargs = dict(sampler="euler", steps=3, seed=0)
    cond, neg = {"instrument": "bell", "pitch": "60"}, {"instrument": "kick"}
    x = pipe.sample(2, 0.5, cond, cfg_scale=scale, negative_cond=neg, **kwargs)
    assert not torch.allclose(x, pipe.sample(2, 0.5, cond, cfg_scale=scale, **kwargs))
    labels, negative = pipe.encode_cond(cond, 2, 0.5), pipe.encode_cond(neg, 2, 0.5)
    assert negative["pitch"].tolist() == [0, 0]  # labels it does not name: the null id

    def by_hand(x, sigma, c):  # two separate passes: D_neg + s (D_cond - D_neg)
        d_neg = pipe.denoiser(x, sigma, negative)
        return d_neg + scale * (pipe.denoiser(x, sigma, c) - d_neg)

    diffusion = pipe.config["diffusion"]
    shape = tuple(x.shape)
    expected = sample(by_hand, shape, cond=labels, sampler="euler", steps=3,
                      sigma_min=diffusion["sigma_min"], sigma_max=diffusion["sigma_max"],
                      noise=seeded_noise(shape, [0, 1]))  # fmt: skip
    torch.testing.assert_close(x, expected, rtol=1e-4, atol=1e-5)


def test_guidance_options_reach_the_solver(smoke_pipe):
    kwargs = dict(cond={"instrument": "bell"}, sampler="euler", steps=3, cfg_scale=3.0)
    plain = smoke_pipe.sample(1, 0.5, **kwargs)
    assert torch.equal(smoke_pipe.sample(1, 0.5, cfg_rescale=0.0, **kwargs), plain)
    assert not torch.equal(smoke_pipe.sample(1, 0.5, cfg_rescale=0.7, **kwargs), plain)
    nowhere = smoke_pipe.sample(1, 0.5, cfg_interval=[0, 0], **kwargs)  # never guided
    unguided = smoke_pipe.sample(1, 0.5, **{**kwargs, "cfg_scale": 1.0})
    torch.testing.assert_close(nowhere, unguided, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [(dict(cfg_rescale=1.5), "cfg_rescale must be a number in"),
     (dict(cfg_interval=[3, 1]), "cfg_interval must be"),
     (dict(cfg_interval="0.2"), "cfg_interval must be"),
     (dict(negative_cond={"instrument": "kick"}, cfg_scale=1.0), "no effect at cfg_scale=1"),
     (dict(negative_cond={"colour": "red"}, cfg_scale=2.0), "unknown condition 'colour'")],
)  # fmt: skip
def test_bad_guidance_options_are_one_config_error(smoke_pipe, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        smoke_pipe.sample(1, 0.5, {"instrument": "bell"}, steps=1, **kwargs)
