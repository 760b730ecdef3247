"""``export_onnx(pipe, out)``: a loaded model as an ONNX export folder.

    denoiser.onnx   D(x, sigma, cond) with its preconditioning (``export.denoiser``)
    decoder.onnx    the representation's decode (``export.decoders``)
    config.yaml     the model's resolved config (sampling defaults, sigma range, ...)
    vocab.json      the label vocabulary (value -> id; id 0 is null)
    export.json     the graphs' inputs and outputs, read by ``export.runtime``
    README.txt      the same, for a person

Graphs go through ``torch.onnx.export(dynamo=True)`` (``torch.export`` traced, then
onnxscript) with dynamic batch, frame and token axes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import yaml
from torch import Tensor, nn

import audiodiff
from audiodiff.audio.representation import Representation
from audiodiff.errors import ConfigError
from audiodiff.export.decoders import decoder_graph
from audiodiff.export.denoiser import (
    BATCH,
    FRAMES,
    DenoiserGraph,
    GraphInput,
    denoiser_inputs,
    example_inputs,
)
from audiodiff.export.layout import (
    DECODER,
    DENOISER,
    FORMAT,
    METADATA,
    PHASE_FRAMES,
    onnx_session,
    phase_input,
)
from audiodiff.export.readme import render_readme
from audiodiff.fileio import write_text

if TYPE_CHECKING:
    from audiodiff.pipeline import Pipeline

OPSET = 18  # the lowest opset whose exporter covers every op used (GroupNorm, SDPA, ...)
CHECK_SHAPES = ((1, 13), (3, 32))  # (batch, frames) the written graphs are checked at


def require_onnx() -> None:
    """One ``ConfigError`` line when the exporter's packages are missing."""
    missing = [
        m for m in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise ConfigError(
            f"format=onnx needs the {', '.join(missing)} package(s): pip install 'audiodiff[onnx]'"
        )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter's progress lines, warnings and log records, kept off the console."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def write_graph(
    module: nn.Module,
    args: tuple[Tensor, ...],
    inputs: Sequence[GraphInput],
    output: str,
    path: Path,
    *,
    opset: int = OPSET,
    optimize: bool = False,
    varargs_from: int | None = None,
) -> Path:
    """``module(*args)`` as an ONNX graph at ``path``, its inputs named and shaped as
    ``inputs`` (str axes dynamic). ``varargs_from``: the index of a ``*args`` parameter.

    ``torch.export`` runs with ``Dim.DYNAMIC`` axes: the U-Net's padding to its downsampling
    factor and the text length's bound become guards it keeps symbolic (named ``Dim``s
    refuse them, and ``torch.onnx.export``'s retry then fixes frames to a multiple of the
    factor); the axes get ``inputs``' names afterwards."""
    import onnx

    shapes: list[Any] = [
        {i: torch.export.Dim.DYNAMIC for i, d in enumerate(spec.shape) if isinstance(d, str)}
        for spec in inputs
    ]
    if varargs_from is not None:
        shapes = [*shapes[:varargs_from], tuple(shapes[varargs_from:])]
    with torch.no_grad(), _quiet():
        program = torch.export.export(
            module.eval(), args, dynamic_shapes=tuple(shapes), strict=False
        )
        onnx_program = torch.onnx.export(
            program,
            args,
            input_names=[spec.name for spec in inputs],
            output_names=[output],
            dynamo=True,
            opset_version=opset,
            optimize=optimize,
            verbose=False,
        )
    model = onnx_program.model_proto
    _name_axes(model, inputs)
    onnx.save_model(model, str(path))
    return path


def _name_axes(model: Any, inputs: Sequence[GraphInput]) -> None:
    """Rename the exporter's symbols (s0, s13, ...) on the graph's inputs and outputs to
    the axis names of ``inputs``; an output axis such as "64*s53" becomes "64*frames"."""
    names: dict[str, str] = {}
    for value, spec in zip(model.graph.input, inputs, strict=True):
        for dim, axis in zip(value.type.tensor_type.shape.dim, spec.shape, strict=True):
            if isinstance(axis, str) and dim.dim_param:
                names[dim.dim_param] = axis
    for value in [*model.graph.input, *model.graph.output]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = re.sub(
                    r"\bs\d+\b", lambda m: names.get(m.group(0), m.group(0)), dim.dim_param
                )


def max_difference(session, inputs: Sequence[GraphInput], args: Sequence[Tensor], ref: Tensor):
    """max |onnxruntime(args) - ref| (``ref`` the torch output for the same args)."""
    feed = {spec.name: a.numpy() for spec, a in zip(inputs, args, strict=True)}
    out = session.run(None, feed)[0]
    return float(np.abs(out - ref.float().numpy()).max())


@dataclass
class ExportReport:
    """What ``export_onnx`` wrote and each graph's max |onnxruntime - torch| on check inputs."""

    folder: Path
    files: list[str]
    difference: dict[str, float] = field(default_factory=dict)


@dataclass
class GraphPart:
    """One graph of the export: the module traced, its inputs, random inputs for a (batch,
    frames), and the torch function its output must equal (for the check)."""

    file: str
    module: nn.Module
    inputs: list[GraphInput]
    output: str
    make_args: Callable[[int, int, torch.Generator], tuple[Tensor, ...]]
    reference: Callable[..., Tensor]
    varargs_from: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        inputs = [spec.to_dict() for spec in self.inputs]
        return {"file": self.file, "inputs": inputs, "output": self.output, **self.meta}


def denoiser_part(denoiser: nn.Module) -> GraphPart:
    """denoiser.onnx: ``DenoiserGraph`` of the (EMA) denoiser; its reference is itself."""
    inputs = denoiser_inputs(denoiser)
    graph = DenoiserGraph(denoiser, inputs)
    factor = int(getattr(denoiser.net, "downsample_factor", 1))
    return GraphPart(
        DENOISER,
        graph,
        inputs,
        "x0",
        lambda batch, frames, gen: example_inputs(denoiser, inputs, batch, frames, gen),
        graph,
        varargs_from=2,
        meta={"downsample_factor": factor},
    )


def decoder_part(representation: Representation) -> GraphPart:
    """decoder.onnx: the representation's ``decoder_graph``; its reference is ``decode``."""
    decoder = decoder_graph(representation)
    channels = representation.channels
    doc = "the sampled x (representation space)"
    inputs = [GraphInput("x", "float32", (BATCH, channels, FRAMES), doc)]
    meta: dict[str, Any] = {"kind": decoder.kind}
    bins = getattr(representation, "n_fft", 0) // 2 + 1
    if decoder.takes_phase:
        doc = "Griffin-Lim's starting phase / 2 pi, uniform in [0, 1)"
        inputs.append(GraphInput("phase", "float32", (bins, PHASE_FRAMES), doc))
        meta["phase_seed"] = representation.seed

    def make_args(batch: int, frames: int, gen: torch.Generator) -> tuple[Tensor, ...]:
        x = torch.randn(batch, channels, frames, generator=gen)
        return (x, phase_input(bins, frames, meta["phase_seed"])) if decoder.takes_phase else (x,)

    def reference(x: Tensor, *phase: Tensor) -> Tensor:
        return representation.decode(x)

    return GraphPart(DECODER, decoder.module, inputs, "wav", make_args, reference, meta=meta)


def check_part(part: GraphPart, path: Path, gen: torch.Generator) -> float:
    """max |onnxruntime - torch| of a written graph over ``CHECK_SHAPES``."""
    session = onnx_session(path)
    diffs = []
    for batch, frames in CHECK_SHAPES:
        args = part.make_args(batch, frames, gen)
        with torch.no_grad():
            ref = part.reference(*args)
        diffs.append(max_difference(session, part.inputs, args, ref))
    return max(diffs)


def check_out(out: str | Path, overwrite: bool) -> Path:
    """``out`` as an export's destination: a file, or a non-empty folder without
    ``overwrite``, is one ``ConfigError`` line."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: output folder is a file")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"{out}: output folder exists and is not empty (add overwrite=true)")
    return out


@contextlib.contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """A fresh folder beside ``out`` to write into; on success it replaces ``out`` (an
    interrupted or failed export leaves ``out`` as it was)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name[:40]}.", dir=out.parent))
    try:
        yield stage
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(stage, 0o777 & ~mask)  # mkdtemp's 0700 is for the staging only
        if out.exists():
            shutil.rmtree(out)
        os.replace(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def export_onnx(
    pipe: Pipeline,
    out: str | Path,
    *,
    overwrite: bool = False,
    opset: int = OPSET,
    optimize: bool = False,
    check: bool = True,
    seed: int = 0,
) -> ExportReport:
    """Write ``pipe`` (a loaded model) as an ONNX export folder ``out`` (module doc), which
    must be new or empty unless ``overwrite``; it is written beside ``out`` and moved into
    place at the end. With ``check``, each graph runs in onnxruntime at ``CHECK_SHAPES`` and
    its largest difference from the torch model (``pipe.denoiser``,
    ``pipe.representation.decode``) is reported; nothing is compared against a tolerance
    here (tests/export do)."""
    require_onnx()
    out = check_out(out, overwrite)
    representation = pipe.representation.cpu().eval()
    parts = {  # both built before anything is written: a decoder without a graph stops here
        "denoiser": denoiser_part(pipe.denoiser.cpu().eval()),
        "decoder": decoder_part(representation),
    }
    with _staged(out) as folder:
        report = _write(pipe, parts, folder, opset, optimize, check, seed)
    report.folder = out
    return report


def _write(
    pipe: Pipeline,
    parts: dict[str, GraphPart],
    folder: Path,
    opset: int,
    optimize: bool,
    check: bool,
    seed: int,
) -> ExportReport:
    representation = pipe.representation
    gen = torch.Generator().manual_seed(seed)
    report = ExportReport(folder, [])
    for part in parts.values():
        path = folder / part.file
        args = part.make_args(2, 4 * parts["denoiser"].meta["downsample_factor"], gen)
        options = {"opset": opset, "optimize": optimize, "varargs_from": part.varargs_from}
        write_graph(part.module, args, part.inputs, part.output, path, **options)
        report.files.append(part.file)
        if check:
            report.difference[part.file] = check_part(part, path, gen)
    meta = {
        "format": FORMAT,
        "audiodiff": audiodiff.__version__,
        "torch": torch.__version__,
        "opset": opset,
        "sample_rate": representation.sample_rate,
        "hop_length": representation.hop_length,
        "channels": representation.channels,
        **{name: part.to_dict() for name, part in parts.items()},
        "check": {name: float(f"{d:.3g}") for name, d in report.difference.items()},
    }
    write_text(folder / "config.yaml", yaml.safe_dump(pipe.config, sort_keys=False))
    pipe.vocab.save(folder / "vocab.json")
    write_text(folder / METADATA, json.dumps(meta, indent=1) + "\n")
    write_text(folder / "README.txt", render_readme(meta, pipe.config))
    report.files += ["config.yaml", "vocab.json", METADATA, "README.txt"]
    return report
