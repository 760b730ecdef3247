"""Inference speed options: reduced precision, ``torch.compile``, CUDA graphs, CPU threads.

``FastPath`` is what ``conf/generate.yaml``'s ``fast:`` block holds; ``accelerate`` turns a
denoiser into a faster one with the same ``(x, sigma, cond) -> x0_hat`` call. Every option
is off by default; one that does not apply to the device (fp16 or CUDA graphs on a CPU) is
refused or replaced with a warning naming what ran instead, never silently.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from audiodiff.errors import ConfigError

Denoiser = Callable[..., Tensor]

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
COMPILE_MODES = (None, "default", "reduce-overhead", "max-autotune")


@dataclass
class FastPath:
    precision: str = "fp32"  # fp32 | bf16 | fp16 (CUDA only): autocast around the network
    compile: str | None = None  # None | default | reduce-overhead (= CUDA graphs) | max-autotune
    threads: int | None = None  # CPU intra-op threads; None leaves torch's choice
    batch_size: int = 64  # clips per solver call: large batches fill a GPU

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"fast.precision must be one of {list(PRECISIONS)}, got {self.precision!r}"
            )
        if self.compile not in COMPILE_MODES:
            raise ConfigError(
                f"fast.compile must be one of {list(COMPILE_MODES)}, got {self.compile!r}"
            )
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"fast.threads must be >= 1 or null, got {self.threads}")
        if self.batch_size < 1:
            raise ConfigError(f"fast.batch_size must be >= 1, got {self.batch_size}")


def set_threads(threads: int | None) -> None:
    """CPU intra-op threads for this process (None: leave torch's default, one per core)."""
    if threads is not None:
        torch.set_num_threads(threads)


def resolve(fast: FastPath, device: torch.device) -> FastPath:
    """``fast`` with the options that cannot run on ``device`` refused or replaced (warned)."""
    if device.type != "cuda":
        if fast.precision == "fp16":
            raise ConfigError("fast.precision=fp16 needs a CUDA device; use bf16 on a CPU")
        if fast.compile == "reduce-overhead":  # CUDA graphs do not exist on a CPU
            warnings.warn(
                "fast.compile=reduce-overhead uses CUDA graphs; on CPU 'default' runs", stacklevel=3
            )
            fast = FastPath(fast.precision, "default", fast.threads, fast.batch_size)
        if fast.compile and shutil.which("cc") is None and shutil.which("gcc") is None:
            raise ConfigError("fast.compile on a CPU needs a C compiler (cc/gcc) on PATH")
    return fast


def accelerate(denoiser: Denoiser, fast: FastPath, device: torch.device | str) -> Denoiser:
    """``denoiser`` with autocast, compilation and CUDA graphs as ``fast`` asks (fp32 output)."""
    device = torch.device(device)
    fast = resolve(fast, device)
    net = denoiser
    if fast.compile:
        net = torch.compile(denoiser, mode=fast.compile, dynamic=False)
    dtype = PRECISIONS[fast.precision]
    graphs = fast.compile == "reduce-overhead"
    if dtype is None and not graphs and net is denoiser:
        return denoiser

    def fast_denoiser(x: Tensor, sigma: Tensor, cond: Mapping[str, Tensor] | None = None) -> Tensor:
        # x: [B, C, T], sigma: [B] -> x0_hat: [B, C, T] float32
        if graphs:  # each call is a new graph replay; earlier outputs stay valid (cloned below)
            torch.compiler.cudagraph_mark_step_begin()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            out = net(x, sigma, cond)
        # CUDA-graph outputs live in memory the next replay overwrites; multistep solvers keep
        # the previous x0 estimate, so they get their own copy
        return out.float().clone() if graphs else out.float()

    return fast_denoiser
