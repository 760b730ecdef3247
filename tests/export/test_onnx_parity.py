"""onnxruntime against PyTorch on random inputs at several batch sizes and frame counts:
the denoiser graphs (EDM with labels and timing, v-prediction and flow, a restoration model's
observation, text tokens) and every decoder graph agree to 1e-4 (fp32)."""

import pytest
import torch

pytest.importorskip("onnx", reason="the export needs onnx (pip install 'audiodiff[onnx]')")
pytest.importorskip("onnxscript", reason="the export needs onnxscript")
pytest.importorskip("onnxruntime", reason="the parity checks need onnxruntime")

from audiodiff.build import build_representation  # noqa: E402
from audiodiff.export.layout import onnx_session  # noqa: E402
from audiodiff.export.onnx_folder import (  # noqa: E402
    GraphPart,
    decoder_part,
    denoiser_part,
    max_difference,
    write_graph,
)
from audiodiff.pipeline import load  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
SHAPES = [(1, 1), (1, 13), (2, 16), (5, 33)]  # (batch, frames): odd, even, below the trace's


def largest_difference(part: GraphPart, path, shapes=SHAPES, seed=1) -> float:
    session = onnx_session(path, threads=1)
    gen = torch.Generator().manual_seed(seed)
    diffs = []
    for batch, frames in shapes:
        args = part.make_args(batch, frames, gen)
        with torch.no_grad():
            ref = part.reference(*args)
        diffs.append(max_difference(session, part.inputs, args, ref))
    return max(diffs)


def written(part: GraphPart, path, frames: int = 8):
    args = part.make_args(2, frames, torch.Generator().manual_seed(0))
    return write_graph(part.module, args, part.inputs, part.output, path,
                       varargs_from=part.varargs_from)  # fmt: skip


def test_edm_denoiser_with_labels_and_timing(edm_export):
    pipe = load(edm_export.model, device="cpu")
    part = denoiser_part(pipe.denoiser)
    assert [i.name for i in part.inputs] == [
        "x", "sigma", "instrument", "pitch", "seconds_start", "seconds_total"
    ]  # fmt: skip
    assert largest_difference(part, edm_export.onnx / "denoiser.onnx") <= 1e-4


def test_the_exported_vocoder_matches_it(edm_export):
    pipe = load(edm_export.model, device="cpu")
    part = decoder_part(pipe.representation)
    assert part.meta["kind"] == "vocoder"
    assert largest_difference(part, edm_export.onnx / "decoder.onnx") <= 1e-4


@pytest.mark.parametrize("diffusion", ["flow", pytest.param("vpred", marks=pytest.mark.slow)])
def test_path_denoisers(tiny, tmp_path, diffusion):
    config = tiny.model_config(diffusion=diffusion, labels=True)
    pipe = load(tiny.model_folder(tmp_path / "model", config), device="cpu")
    part = denoiser_part(pipe.denoiser)
    assert largest_difference(part, written(part, tmp_path / "d.onnx")) <= 1e-4


@pytest.mark.slow
def test_an_unconditional_restoration_model_reads_its_observation(tiny, tmp_path):
    config = tiny.model_config(labels=False, observation=True, mults=(1, 2, 2))
    pipe = load(tiny.model_folder(tmp_path / "model", config), device="cpu")
    part = denoiser_part(pipe.denoiser)
    assert [i.name for i in part.inputs] == ["x", "sigma", "obs"]
    assert largest_difference(part, written(part, tmp_path / "d.onnx", frames=16)) <= 1e-4


@pytest.mark.slow
def test_a_text_model_takes_token_ids(tiny, tmp_path):
    from audiodiff.export.onnx_folder import export_onnx
    from audiodiff.export.runtime import load_onnx

    config = tiny.model_config(text=True, timing=True)
    pipe = load(tiny.model_folder(tmp_path / "model", config), device="cpu")
    assert pipe.text
    report = export_onnx(pipe, tmp_path / "onnx")
    part = denoiser_part(pipe.denoiser)
    assert part.inputs[-1].name == "text" and part.inputs[-1].shape == ("batch", "tokens")
    assert report.difference["denoiser.onnx"] <= 1e-4
    path = tmp_path / "onnx" / "denoiser.onnx"
    assert largest_difference(part, path) <= 1e-4
    session, gen = onnx_session(path, threads=1), torch.Generator().manual_seed(2)
    for length in (1, 3):  # fewer tokens than the tokenizer pads to
        args = list(part.make_args(2, 9, gen))
        args[-1] = args[-1][:, :length]
        with torch.no_grad():
            ref = part.reference(*args)
        assert max_difference(session, part.inputs, args, ref) <= 1e-4
    onnx_pipe = load_onnx(tmp_path / "onnx", threads=1)
    for prompt in ("a soft bell", ["a bright organ", None]):
        kwargs = dict(cond={"prompt": prompt}, cfg_scale=2.0, seed=3)
        a, b = pipe.generate(2, 0.2, **kwargs), onnx_pipe.generate(2, 0.2, **kwargs)
        assert (a - b).abs().max() <= 1e-3


@pytest.mark.parametrize("kind", ["conv", "istft", "mel"])
def test_autoencoder_decoders(tiny, tmp_path, kind):
    folder = tiny.autoencoder_folder(tmp_path / kind, decoder=kind)
    part = decoder_part(
        build_representation({"representation": tiny.latent_representation(folder)})
    )
    assert largest_difference(part, written(part, tmp_path / "dec.onnx")) <= 1e-4


def test_stft_representation_decoder(tiny, tmp_path):
    part = decoder_part(build_representation({"representation": tiny.STFT}))
    # |wav| reaches ~50 on random x: float32 rounding is relative
    assert largest_difference(part, written(part, tmp_path / "dec.onnx")) <= 1e-6 * 50


def test_griffin_lim_decoder(tiny, tmp_path):
    rep = build_representation({"representation": tiny.MEL})
    part = decoder_part(rep)
    assert part.meta == {"kind": "griffinlim", "phase_seed": 0}
    path = written(part, tmp_path / "dec.onnx")
    t = torch.arange(20 * 64) / 16000
    x = rep.encode((0.5 * torch.sin(2 * torch.pi * 440 * t)).view(1, 1, -1))
    session = onnx_session(path, threads=1)
    ref = rep.decode(x)  # random x reaches |wav| ~500, so a sine's mel: |wav| ~0.5
    args = (x, part.make_args(1, x.shape[-1], torch.Generator())[1])
    assert max_difference(session, part.inputs, args, ref) <= 1e-3 * ref.abs().max()
