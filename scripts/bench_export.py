"""Benchmark the ONNX export: parity with PyTorch and speed, at the recipes' sizes.

    python scripts/bench_export.py                   # -> outputs/bench/export.json
    python scripts/bench_export.py --quick           # tiny widths, two lengths (a smoke run)

Random weights, so no training is needed and the numbers are about the export, not a model:
the demo U-Net (conf/model/tiny, 80 mel bins) under EDM and flow preconditioning, the
vocoder of vocoder_synth (dim 128, 6 layers, magnitude prior), the conv autoencoder of
conf/codec/autoencoder and the mel-waist decoder of autoencoder_synth, and Griffin-Lim of
conf/representation/mel (16 iterations). Each graph is exported, then run in onnxruntime
and in torch on the same random input at each (batch, frames) of ``--shapes`` (62.5
frames/s: 1 s, 2 s, 8 s, 32 s); per row: the largest |onnxruntime - torch| per shape, the
largest |torch| (the scale those differences are of), and ms per call of each at the
second shape (one warm-up, the median of ``--repeats``). Griffin-Lim decodes a tone's mel
(random mels reach |wav| ~500). The last row generates 2 clips of 2 s through
``audiodiff.load`` and ``load_onnx`` (dpmpp_2m, 20 steps, cfg 2, same seed).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from benchlib import machine, report
from hydra.utils import instantiate

from audiodiff.build import build_denoiser, build_representation
from audiodiff.data.vocab import LabelVocab
from audiodiff.export.layout import onnx_session
from audiodiff.export.onnx_folder import (
    GraphPart,
    decoder_part,
    denoiser_part,
    export_onnx,
    max_difference,
    write_graph,
)
from audiodiff.export.runtime import load_onnx
from audiodiff.pipeline import load
from audiodiff.training.export import export, export_codec

MEL = {"_target_": "audiodiff.audio.mel.MelRepresentation"}
QUICK_MEL = {**MEL, "n_fft": 256, "hop_length": 64, "n_mels": 16, "griffin_lim_iters": 4}
VOCAB = {"instrument": ["<null>", "bell", "organ", "pluck"], "pitch": ["<null>", "48", "60"]}
DENOISERS = {
    "edm": "audiodiff.diffusion.precond.Denoiser",
    "flow": "audiodiff.diffusion.flow.FlowDenoiser",
}
COLUMNS = [
    "graph",
    "params",
    "export s",
    "max |onnx - torch| per shape",
    "max |torch|",
    "torch ms",
    "onnx ms",
]


def perturbed(module: torch.nn.Module, std: float = 0.05) -> torch.nn.Module:
    """Default init plus N(0, std^2) noise: the zero-initialised output layers compute too."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * std)
    return module


def ms_per_call(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(part: GraphPart, path: Path, shapes, repeats: int, inputs=None) -> dict:
    """Differences per shape (``inputs(batch, frames)`` or random) and the speed at shape 2."""
    session = onnx_session(path, threads=torch.get_num_threads())
    gen = torch.Generator().manual_seed(1)
    diffs, peak, timed = [], 0.0, None
    for i, (batch, frames) in enumerate(shapes):
        args = inputs(batch, frames) if inputs else part.make_args(batch, frames, gen)
        with torch.no_grad():
            ref = part.reference(*args)
        diffs.append(max_difference(session, part.inputs, args, ref))
        peak = max(peak, float(ref.abs().max()))
        timed = args if i == min(1, len(shapes) - 1) else timed
    feed = {spec.name: a.numpy() for spec, a in zip(part.inputs, timed, strict=True)}
    with torch.no_grad():
        torch_ms = ms_per_call(lambda: part.reference(*timed), repeats)
    onnx_ms = ms_per_call(lambda: session.run(None, feed), repeats)
    return {"diff": diffs, "peak": peak, "torch_ms": torch_ms, "onnx_ms": onnx_ms}


def denoiser_folder(root: Path, diffusion: str, vocoder: Path, quick: bool) -> Path:
    mel = QUICK_MEL if quick else MEL
    model = {
        "_target_": "audiodiff.nn.unet.UNet1d",
        "_partial_": True,
        "num_heads": 4,
        "channels": 16 if quick else 96,
        "channel_mults": [1, 1, 1],
        "num_res_blocks": 1,
        "attention_levels": [2],
    }
    target = DENOISERS[diffusion]
    config = {
        "representation": mel,
        "decoder": {
            "_target_": "audiodiff.codecs.decoders.vocoder",
            "_partial_": True,
            "ckpt": str(vocoder),
        },
        "model": model,
        "diffusion": {
            "sigma_data": 1.0,
            "sigma_min": 0.002,
            "sigma_max": 80.0,
            "denoiser": {"_target_": target, "_partial_": True, "sigma_data": 1.0},
        },
        "vocab": VOCAB,
        "sampler": {"name": "dpmpp_2m", "steps": 20, "schedule": "karras", "rho": 7.0},
    }
    representation = build_representation(config)
    denoiser = build_denoiser(config, representation, LabelVocab(VOCAB))
    return export(perturbed(denoiser), config, root / diffusion)


def codec_folder(root: Path, name: str, config: dict, codec) -> Path:
    return export_codec(codec, config, codec.export_metadata(), root / name)


def vocoder_folder(root: Path, quick: bool) -> Path:
    mel = QUICK_MEL if quick else MEL
    vocoder = {
        "_target_": "audiodiff.codecs.vocoder.VocosVocoder",
        "magnitude_prior": True,
        "n_mels": 16 if quick else 80,
        "n_fft": 256 if quick else 1024,
        "hop_length": 64 if quick else 256,
        "dim": 16 if quick else 128,
        "num_layers": 1 if quick else 6,
    }
    config = {"_target_": "audiodiff.codecs.mel_vocoder.MelVocoder", "mel": mel, "vocoder": vocoder}
    return codec_folder(root, "vocoder", config, instantiate(config))


def autoencoder_folder(root: Path, name: str, quick: bool, **kwargs) -> Path:
    from audiodiff.codecs.autoencoder_codec import AutoencoderCodec

    small = (
        {"channels": 4, "frame_dim": 16, "frame_layers": 1, "vocoder_dim": 16, "vocoder_layers": 1}
        if quick
        else {}
    )
    ae = {"_target_": "audiodiff.codecs.autoencoder.AudioAutoencoder", **kwargs, **small}
    codec = AutoencoderCodec(instantiate(ae))
    codec.fit_stats([0.1 * torch.randn(2, 1, 16384)])
    config = {
        "_target_": "audiodiff.codecs.autoencoder_codec.AutoencoderCodec",
        "autoencoder": ae,
        "sample_rate": 16000,
    }
    return codec_folder(root, name, config, codec)


def tone_inputs(rep, part: GraphPart) -> Callable[[int, int], tuple[torch.Tensor, ...]]:
    """Griffin-Lim's inputs: the mel of two tones (and the seeded phase), not random x."""

    def inputs(batch: int, frames: int) -> tuple[torch.Tensor, ...]:
        t = torch.arange(frames * rep.hop_length) / rep.sample_rate
        wav = 0.3 * torch.sin(2 * torch.pi * 440 * t) + 0.2 * torch.sin(2 * torch.pi * 1234 * t)
        x = rep.encode(wav.view(1, 1, -1)).expand(batch, -1, -1)
        return x, part.make_args(1, frames, torch.Generator())[1]

    return inputs


def row(name: str, params: int, seconds: float, m: dict) -> list[str]:
    diffs = " / ".join(f"{d:.1e}" for d in m["diff"])
    return [
        name,
        f"{params / 1e6:.2f}M",
        f"{seconds:.1f}",
        diffs,
        f"{m['peak']:.2g}",
        f"{m['torch_ms']:.1f}",
        f"{m['onnx_ms']:.1f}",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="1x62,4x125,1x500,1x2000", help="BxT,BxT,...")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny widths (a smoke run)")
    parser.add_argument("--out", default="outputs/bench/export.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)  # the codecs' default init: the same random weights every run
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    result, rows = {"machine": machine(), "shapes": shapes, "graphs": {}}, []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        vocoder = vocoder_folder(root, args.quick)
        for diffusion in DENOISERS:
            pipe = load(denoiser_folder(root, diffusion, vocoder, args.quick), device="cpu")
            start = time.perf_counter()
            export_onnx(pipe, root / f"{diffusion}.onnx", check=False)
            seconds = time.perf_counter() - start
            part = denoiser_part(pipe.denoiser)
            m = measure(part, root / f"{diffusion}.onnx" / "denoiser.onnx", shapes, args.repeats)
            params = sum(p.numel() for p in pipe.denoiser.parameters())
            result["graphs"][f"denoiser {diffusion}"] = m
            rows.append(row(f"denoiser {diffusion}", params, seconds, m))
        decoders = {
            "vocoder (vocoder_synth)": pipe.representation,  # the last (flow) model's
            "autoencoder conv": build_representation(
                {
                    "representation": {
                        "_target_": "audiodiff.codecs.decoders.latent",
                        "sample_rate": 16000,
                        "ckpt": str(autoencoder_folder(root, "conv", args.quick)),
                    }
                }
            ),
            "autoencoder mel waist": build_representation(
                {
                    "representation": {
                        "_target_": "audiodiff.codecs.decoders.latent",
                        "sample_rate": 16000,
                        "ckpt": str(
                            autoencoder_folder(
                                root,
                                "waist",
                                args.quick,
                                channels=8,
                                res_dilations=[1, 3],
                                encoder="stft",
                                decoder="mel",
                                frame_dim=128,
                                frame_layers=4,
                            )
                        ),
                    }
                }
            ),
            "griffin-lim": build_representation(
                {"representation": QUICK_MEL if args.quick else MEL}
            ),
        }
        for name, rep in decoders.items():
            part = decoder_part(rep)
            path = root / f"{name.split()[0]}-{len(rows)}.onnx"
            start = time.perf_counter()
            make = part.make_args(2, 16, torch.Generator())
            write_graph(part.module, make, part.inputs, part.output, path)
            seconds = time.perf_counter() - start
            tone = tone_inputs(rep, part) if part.meta["kind"] == "griffinlim" else None
            m = measure(part, path, shapes, args.repeats, tone)
            params = sum(p.numel() for p in part.module.parameters())
            result["graphs"][name] = m
            rows.append(row(name, params, seconds, m))
        torch_pipe = pipe
        onnx_pipe = load_onnx(root / "flow.onnx", threads=args.threads)
        kwargs = dict(cond={"instrument": "bell", "pitch": "60"}, cfg_scale=2.0, seed=0)
        a = torch_pipe.generate(2, 2.0, **kwargs)
        b = onnx_pipe.generate(2, 2.0, **kwargs)
        gen = {"diff": [float((a - b).abs().max())], "peak": float(a.abs().max())}
        gen["torch_ms"] = ms_per_call(lambda: torch_pipe.generate(2, 2.0, **kwargs), 1)
        gen["onnx_ms"] = ms_per_call(lambda: onnx_pipe.generate(2, 2.0, **kwargs), 1)
        result["graphs"]["generate 2 x 2 s (flow + vocoder)"] = gen
        rows.append(row("generate 2 x 2 s (flow + vocoder)", 0, 0.0, gen))
    report(result, args.out, f"ONNX export parity and speed ({args.threads} thread)", COLUMNS, rows)


if __name__ == "__main__":
    main()
