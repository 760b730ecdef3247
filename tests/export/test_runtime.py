"""audiodiff.export.runtime: the onnxruntime denoiser behind audiodiff.generation.sample and
every solver, and OnnxPipeline.generate against the torch Pipeline.generate (same seed, same
solver: the same audio to 1e-3)."""

import json

import pytest
import torch

pytest.importorskip("onnxruntime", reason="the runtime needs onnxruntime")

from audiodiff.errors import ConfigError  # noqa: E402
from audiodiff.export.runtime import OnnxDenoiser, load_onnx, read_metadata  # noqa: E402
from audiodiff.fastpath import FastPath  # noqa: E402
from audiodiff.generation import sample  # noqa: E402
from audiodiff.pipeline import load  # noqa: E402
from audiodiff.sampling.solvers import SAMPLERS  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pipes(edm_export):
    return load(edm_export.model, device="cpu"), load_onnx(edm_export.onnx, threads=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cond": {"instrument": "bell", "pitch": "60"}, "cfg_scale": 2.0},
        {"sampler": "heun", "steps": 3, "cfg_scale": 1.0},
        {"cond": {"instrument": ["organ", None], "seconds_start": 0.5}, "sampler": "lms"},
        {"cond": {"seconds_total": None}, "sampler": "dpmpp_2m_sde", "cfg_scale": 3.0},
    ],
)  # fmt: skip
def test_onnx_pipeline_generates_the_torch_pipelines_audio(pipes, kwargs):
    torch_pipe, onnx_pipe = pipes
    a = torch_pipe.generate(2, seconds=0.3, seed=5, **kwargs)
    b = onnx_pipe.generate(2, seconds=0.3, seed=5, **kwargs)
    assert a.shape == b.shape == (2, 1, 4800) and a.abs().max() > 0.1
    assert (a - b).abs().max() <= 1e-3


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_solver_runs_the_onnx_denoiser_unchanged(pipes, sampler):
    torch_pipe, onnx_pipe = pipes
    cond = {"instrument": torch.tensor([1, 3]), "seconds_start": torch.tensor([0.0, 1.0])}
    noise = torch.randn(2, 16, 9, generator=torch.Generator().manual_seed(0))
    kwargs = dict(cond=cond, sampler=sampler, steps=3, cfg_scale=2.0, noise=noise, seed=1)
    a = sample(torch_pipe.denoiser, (2, 16, 9), **kwargs)
    b = sample(onnx_pipe.denoiser, (2, 16, 9), **kwargs)
    assert torch.isfinite(a).all() and (a - b).abs().max() <= 1e-3


def test_missing_conditions_read_as_the_nets_nulls(pipes):
    torch_pipe, onnx_pipe = pipes
    x, sigma = torch.randn(3, 16, 10), torch.tensor(2.0)  # a scalar sigma, as solvers pass
    with torch.no_grad():
        ref = torch_pipe.denoiser(x, sigma, None)
    assert (onnx_pipe.denoiser(x, sigma, None) - ref).abs().max() <= 1e-4
    assert (onnx_pipe.denoiser(x, sigma, {"pitch": torch.tensor(0)}) - ref).abs().max() <= 1e-4


def test_bad_conditions_raise_as_the_torch_net_does(pipes):
    denoiser = pipes[1].denoiser
    x = torch.randn(2, 16, 4)
    with pytest.raises(ValueError, match="unknown condition"):
        denoiser(x, torch.ones(2), {"mood": torch.zeros(2, dtype=torch.long)})
    with pytest.raises(ValueError, match=r"cond\['pitch'\] must hold integer ids in \[0, 2\]"):
        denoiser(x, torch.ones(2), {"pitch": torch.tensor([0, 3])})


def test_the_pipeline_reads_its_labels_and_refuses_torch_only_options(pipes, edm_export):
    onnx_pipe = pipes[1]
    assert onnx_pipe.labels == {"instrument": ["bell", "organ", "pluck"], "pitch": ["48", "60"]}
    assert onnx_pipe.timing and onnx_pipe.sample_rate == 16000
    assert onnx_pipe.set_fast(FastPath(threads=1, batch_size=1)).fast.batch_size == 1
    with pytest.raises(ConfigError, match="fast.precision=fp32"):
        onnx_pipe.set_fast(FastPath(precision="bf16"))
    with pytest.raises(ConfigError, match="decodes only"):
        onnx_pipe.representation.encode(torch.zeros(1, 1, 640))
    with pytest.raises(ConfigError, match="unknown instrument 'harp'"):
        onnx_pipe.generate(1, 0.1, cond={"instrument": "harp"})


def test_a_folder_that_is_not_an_export_is_one_line(tmp_path, edm_export):
    with pytest.raises(ConfigError, match="no such ONNX export folder"):
        load_onnx(tmp_path / "nothing")
    with pytest.raises(ConfigError, match="not an ONNX export"):
        load_onnx(edm_export.model)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "export.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ConfigError, match="format 'other'"):
        read_metadata(bad)
    meta = json.loads((edm_export.onnx / "export.json").read_text())
    (bad / "export.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="denoiser.onnx: not found"):
        OnnxDenoiser(bad)
