"""An ONNX export run by onnxruntime behind audiodiff's own interfaces.

    pipe = load_onnx("outputs/export/onnx")        # a folder written by `audiodiff export`
    wav = pipe.generate(4, seconds=2, cond={"instrument": "bell"}, seed=0)  # [4, 1, N]

``OnnxDenoiser`` is ``denoiser(x, sigma, cond) -> x0_hat`` on torch tensors, so
``audiodiff.generation.sample``, every solver and classifier-free guidance run with it
unchanged; ``OnnxDecoder`` is a ``Representation`` whose ``decode`` is decoder.onnx.
``OnnxPipeline`` is ``audiodiff.pipeline.Pipeline`` with those two parts: ``generate``,
``sample``, ``encode_cond`` and ``decode`` are the torch pipeline's own code, so both give
the same audio for the same seed and solver (tests/export/test_runtime.py). The solvers are
torch code, so a deployment still needs torch (CPU is enough), not the trained weights.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from audiodiff.audio.representation import Representation
from audiodiff.build import build_tokenizer
from audiodiff.data.vocab import LabelVocab
from audiodiff.diffusion.precond import batch_sigma
from audiodiff.errors import ConfigError
from audiodiff.export.denoiser import BATCH, FRAMES, TEXT
from audiodiff.export.layout import FORMAT, METADATA, onnx_session, phase_input
from audiodiff.fastpath import FastPath, set_threads
from audiodiff.nn.timing import TIMING_KEYS
from audiodiff.pipeline import Pipeline
from audiodiff.safe_load import read_config

NUMPY_DTYPES = {"float32": np.float32, "int64": np.int64}


def read_metadata(folder: str | Path) -> dict[str, Any]:
    """``export.json`` of an ONNX export folder; a missing or foreign one is one line."""
    path = Path(folder) / METADATA
    if not path.is_file():
        raise ConfigError(f"{folder}: not an ONNX export (no {METADATA}; run audiodiff export)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: unreadable ({type(e).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise ConfigError(f"{path}: format {got!r}, expected {FORMAT}")
    for part in ("denoiser", "decoder"):
        graph = Path(folder) / meta[part]["file"]
        if not graph.is_file():
            raise ConfigError(f"{graph}: not found (the export folder is incomplete)")
    return meta


class OnnxDenoiser(nn.Module):
    """denoiser.onnx as ``D(x, sigma, cond) -> x0_hat`` on torch tensors (any device in,
    the same device out; onnxruntime runs on ``providers``, the CPU by default).

    cond holds any of the graph's condition inputs: label ids [B], seconds_start /
    seconds_total [B] (NaN = null), text [B, L], obs [B, C, T]; a missing one is its null
    (id 0, NaN, the empty prompt, zeros), as in the torch net. An unknown key or an id out of
    range is a ``ValueError``, as the torch net raises.
    """

    def __init__(
        self,
        folder: str | Path,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.spec = read_metadata(folder)["denoiser"]
        self.inputs = self.spec["inputs"]
        self.providers = providers
        self.session = onnx_session(self.folder / self.spec["file"], threads, providers)

    def set_threads(self, threads: int | None) -> None:
        """Rebuild the session with ``threads`` intra-op threads (None: onnxruntime's)."""
        self.session = onnx_session(self.folder / self.spec["file"], threads, self.providers)

    def forward(
        self, x: Tensor, sigma: Tensor | float, cond: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        # x: [B, C, T], sigma: [B] or scalar, cond: {name: tensor} -> x0_hat: [B, C, T] float32
        b, _, t = x.shape
        cond = dict(cond or {})
        names = [spec["name"] for spec in self.inputs[2:]]
        unknown = sorted(set(cond) - set(names))
        if unknown:
            raise ValueError(f"unknown condition(s) {unknown}; the graph takes: {names or 'none'}")
        feed = {
            "x": x.detach().float().cpu().numpy(),
            "sigma": batch_sigma(sigma, b, torch.device("cpu"), torch.float32).numpy(),
        }
        for spec in self.inputs[2:]:
            value = cond.get(spec["name"])
            feed[spec["name"]] = self._value(spec, value, b, t)
        out = self.session.run(None, feed)[0]
        return torch.from_numpy(out).to(x.device)

    @staticmethod
    def _value(spec: Mapping[str, Any], value: Tensor | None, b: int, t: int) -> np.ndarray:
        """cond[name] as the graph's array; None is the input's null."""
        dtype = NUMPY_DTYPES[spec["dtype"]]
        name = spec["name"]
        if value is None:
            if name == TEXT:
                return np.zeros((b, 1), dtype)  # the empty prompt
            shape = [{BATCH: b, FRAMES: t}.get(d, d) for d in spec["shape"]]
            return np.full(shape, np.nan if name in TIMING_KEYS else 0, dtype)
        array = torch.as_tensor(value).detach().cpu()
        if array.ndim == 0 and len(spec["shape"]) == 1:
            array = array.expand(b)
        high = spec.get("high")
        if high is not None and array.numel():
            if array.is_floating_point() or int(array.min()) < 0 or int(array.max()) >= high:
                raise ValueError(f"cond[{name!r}] must hold integer ids in [0, {high - 1}]")
        return array.numpy().astype(dtype, copy=False)


class OnnxDecoder(Representation):
    """decoder.onnx as a ``Representation`` that decodes only (``encode`` is refused: the
    export holds no encoder). For Griffin-Lim the starting phase is drawn as the torch
    decoder draws it, so both give the same audio."""

    def __init__(
        self,
        folder: str | Path,
        config: Mapping[str, Any],
        threads: int | None = None,
        providers: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        meta = read_metadata(folder)
        self.folder = Path(folder)
        self.spec = meta["decoder"]
        self.sample_rate = int(meta["sample_rate"])
        self._channels = int(meta["channels"])
        self._hop = int(meta["hop_length"])
        self._config = dict(config.get("representation") or {})
        self.providers = providers
        self.session = onnx_session(self.folder / self.spec["file"], threads, providers)

    @property
    def channels(self) -> int:
        return self._channels

    @property
    def hop_length(self) -> int:
        return self._hop

    def set_threads(self, threads: int | None) -> None:
        self.session = onnx_session(self.folder / self.spec["file"], threads, self.providers)

    def encode(self, wav: Tensor) -> Tensor:
        raise ConfigError(
            f"{self.folder}: an ONNX export decodes only; encoding audio (restore, edit) "
            "needs the torch model (audiodiff.load)"
        )

    def decode(self, x: Tensor) -> Tensor:
        """x: [B, C, T] -> wav: [B, 1, T * hop_length] (float32, x's device)"""
        feed = {"x": x.detach().float().cpu().numpy()}
        if "phase_seed" in self.spec:
            bins = self.spec["inputs"][1]["shape"][0]
            feed["phase"] = phase_input(bins, x.shape[-1], self.spec["phase_seed"]).numpy()
        return torch.from_numpy(self.session.run(None, feed)[0]).to(x.device)

    def config(self) -> dict[str, Any]:
        return dict(self._config)


class OnnxPipeline(Pipeline):
    """``Pipeline`` over an ONNX export folder: denoiser.onnx, decoder.onnx, vocab.json and
    config.yaml (sampling defaults, a text model's tokenizer); on the CPU, fp32. ``set_fast``
    takes threads and batch_size (precision and compile are torch's and are refused)."""

    def __init__(
        self,
        folder: str | Path,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
    ) -> None:
        folder = Path(folder)
        read_metadata(folder)
        config = read_config(folder / "config.yaml")
        vocab = LabelVocab.load(folder / "vocab.json")
        denoiser = OnnxDenoiser(folder, threads, providers)
        decoder = OnnxDecoder(folder, config, threads, providers)
        super().__init__(denoiser, decoder, vocab, config, device="cpu")
        try:  # a text model's prompts -> token ids, as ``audiodiff.load`` sets it
            self.tokenizer = build_tokenizer(config)
        except ConfigError as e:
            raise ConfigError(f"{folder}: {e}") from None
        self.folder = folder

    def set_fast(self, fast: FastPath) -> OnnxPipeline:
        """Threads (torch's and onnxruntime's) and batch size from ``fast``."""
        if fast.precision != "fp32" or fast.compile is not None:
            raise ConfigError(
                "an ONNX model runs in fp32 without torch.compile: set fast.precision=fp32 "
                "and fast.compile=null"
            )
        set_threads(fast.threads)
        if fast.threads is not None:
            self.denoiser.set_threads(fast.threads)
            self.representation.set_threads(fast.threads)
        self.fast = fast
        return self


def load_onnx(
    folder: str | Path, threads: int | None = None, providers: Sequence[str] | None = None
) -> OnnxPipeline:
    """An ``OnnxPipeline`` of an ``audiodiff export format=onnx`` folder; the same interface
    as ``audiodiff.load`` (``generate``, ``sample``, ``decode``, ``encode_cond``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such ONNX export folder")
    return OnnxPipeline(folder, threads, providers)
