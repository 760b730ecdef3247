"""The README.txt of an ONNX export folder: its graphs' inputs and outputs, in words."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

WIDTH = 96

DECODERS = {
    "vocoder": "the Vocos vocoder (its inverse STFT as a transposed convolution)",
    "autoencoder": "the autoencoder's decoder, after undoing the latent normalisation",
    "stft": "decompression and the inverse STFT of the complex-STFT representation",
    "griffinlim": "NNLS mel inverse and fast Griffin-Lim ({iters} iterations, momentum "
    "{momentum}), STFT and inverse STFT as convolutions",
}


def _inputs(specs: list[Mapping[str, Any]]) -> list[str]:
    width = max(len(s["name"]) for s in specs)
    return [
        f"  {s['name']:<{width}}  {s['dtype']:<7} [{', '.join(map(str, s['shape']))}]  {s['doc']}"
        for s in specs
    ]


def render_readme(meta: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """README.txt text from the export's metadata (``export.json``) and the model's config."""
    den, dec = meta["denoiser"], meta["decoder"]
    axes = dict.fromkeys(d for s in den["inputs"] for d in s["shape"] if isinstance(d, str))
    rep = config.get("representation", {})
    diffusion = config.get("diffusion", {})
    sampler = config.get("sampler", {})
    lines = [
        f"audiodiff ONNX export (format {meta['format']}, opset {meta['opset']}, "
        f"torch {meta['torch']}, audiodiff {meta['audiodiff']})",
        "",
        f"{den['file']}: the denoiser D(x, sigma, cond) -> x0_hat, preconditioning included.",
        f"  Dynamic axes: {', '.join(axes)}; frames may be any length (the U-Net pads it to a "
        f"multiple of {den['downsample_factor']} inside). Inputs:",
        *_inputs(den["inputs"]),
        f"  Output: {den['output']} float32 [batch, {meta['channels']}, frames], the denoised x.",
        "",
        f"{dec['file']}: {DECODERS[dec['kind']]}".format(
            iters=rep.get("griffin_lim_iters"), momentum=rep.get("griffin_lim_momentum")
        ),
        *_inputs(dec["inputs"]),
        f"  Output: {dec['output']} float32 [batch, 1, frames * {meta['hop_length']}] at "
        f"{meta['sample_rate']} Hz.",
    ]
    if "phase_seed" in dec:
        lines.append(
            "  The torch decoder's phase is torch.rand((F, frames + 1), generator="
            f"torch.Generator().manual_seed({dec['phase_seed']})); any uniform phase works."
        )
    lines += [
        "",
        "Sampling: start from x = sigma_max * N(0, 1) with frames = ceil(seconds * "
        f"{meta['sample_rate'] / meta['hop_length']:g}) and run an ODE/SDE solver over a "
        "sigma schedule, calling the denoiser each step; classifier-free guidance is "
        "D_null + s (D_cond - D_null), D_null with every label id 0 (timing NaN, text all 0).",
        f"  The model's defaults: sampler {sampler.get('name', 'dpmpp_2m')}, "
        f"{sampler.get('steps', 20)} steps, {sampler.get('schedule', 'karras')} schedule, "
        f"sigma in [{diffusion.get('sigma_min')}, {diffusion.get('sigma_max')}] (config.yaml).",
        "  audiodiff.export.runtime.load_onnx(folder) does all of this with the torch solvers.",
        "",
        "vocab.json: each label's values; a value's id is its index (index 0 is <null>).",
        "config.yaml: the model's training config. export.json: this file as data.",
    ]
    if meta.get("check"):
        diffs = ", ".join(f"{k} {v:.2g}" for k, v in meta["check"].items())
        lines += ["", f"Checked at export: max |onnxruntime - torch| on random inputs: {diffs}."]
    wrapped = [textwrap.fill(ln, WIDTH, subsequent_indent="    ") if ln else "" for ln in lines]
    return "\n".join(wrapped) + "\n"
