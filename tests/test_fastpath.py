"""The inference fast path: precision, compile, CUDA graphs, threads, refusals on CPU."""

import pytest
import torch

from audiodiff.diffusion.precond import Denoiser
from audiodiff.errors import ConfigError
from audiodiff.fastpath import FastPath, accelerate, resolve
from audiodiff.generation import sample
from audiodiff.nn.unet import UNet1d


def small_denoiser(seed: int = 0) -> Denoiser:
    torch.manual_seed(seed)
    net = UNet1d(
        in_channels=8,
        channels=16,
        channel_mults=[1, 2],
        num_res_blocks=1,
        attention_levels=[1],
        num_heads=2,
        label_sizes={"pitch": 5},
    )
    for p in net.parameters():  # the output layer starts at zero: give it real weights
        p.data.normal_(0, 0.05) if p.ndim > 1 else None
    return Denoiser(net).eval()


def call(den, x, sigma, cond):
    with torch.no_grad():
        return den(x, sigma, cond)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"precision": "fp8"}, "fast.precision"),
        ({"compile": "fast"}, "fast.compile"),
        ({"threads": 0}, "fast.threads"),
        ({"batch_size": 0}, "fast.batch_size"),
    ],
)
def test_bad_options_are_refused(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        FastPath(**kwargs)


def test_cpu_refuses_fp16_and_replaces_cuda_graphs():
    cpu = torch.device("cpu")
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        resolve(FastPath(precision="fp16"), cpu)
    with pytest.warns(UserWarning, match="CUDA graphs"):
        assert resolve(FastPath(compile="reduce-overhead"), cpu).compile == "default"
    assert resolve(FastPath(precision="bf16"), cpu) == FastPath(precision="bf16")


def test_defaults_leave_the_denoiser_untouched():
    den = small_denoiser()
    assert accelerate(den, FastPath(), "cpu") is den


def test_bf16_autocast_on_cpu_is_close_to_fp32_and_returns_fp32():
    den = small_denoiser()
    fast = accelerate(den, FastPath(precision="bf16"), "cpu")
    x, sigma = torch.randn(3, 8, 40), torch.tensor([0.1, 1.0, 10.0])
    cond = {"pitch": torch.tensor([1, 2, 3])}
    ref, out = call(den, x, sigma, cond), call(fast, x, sigma, cond)
    assert out.dtype == torch.float32 and not torch.equal(out, ref)  # it did run in bf16
    assert (out - ref).norm() / ref.norm() < 0.03
    # and a whole sampling run stays close
    a = sample(den, (3, 8, 40), cond=cond, steps=8, cfg_scale=2.0, generator=torch.Generator())
    b = sample(fast, (3, 8, 40), cond=cond, steps=8, cfg_scale=2.0, generator=torch.Generator())
    assert (a - b).norm() / a.norm() < 0.05


@pytest.mark.slow  # inductor compiles C++ for the CPU: ~1 min
def test_compiled_denoiser_matches_eager_on_cpu():
    den = small_denoiser()
    fast = accelerate(den, FastPath(compile="default"), "cpu")
    x, sigma = torch.randn(2, 8, 32), torch.tensor([0.5, 2.0])
    cond = {"pitch": torch.tensor([1, 4])}
    torch.testing.assert_close(
        call(fast, x, sigma, cond), call(den, x, sigma, cond), rtol=1e-4, atol=1e-5
    )


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("compile_mode", [None, "default", "reduce-overhead"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_gpu_fast_path_samples_like_eager(compile_mode, precision):
    den = small_denoiser().cuda()
    fast = accelerate(den, FastPath(precision=precision, compile=compile_mode), "cuda")
    cond = {"pitch": torch.tensor([1, 2, 3, 4])}
    kwargs = dict(cond=cond, steps=10, cfg_scale=2.0, device="cuda", sampler="dpmpp_2m")
    a = sample(den, (4, 8, 64), generator=torch.Generator().manual_seed(0), **kwargs)
    b = sample(fast, (4, 8, 64), generator=torch.Generator().manual_seed(0), **kwargs)
    tol = 1e-3 if precision == "fp32" else 0.05
    assert ((a - b).norm() / a.norm()).item() < tol
