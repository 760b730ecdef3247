"""``audiodiff export ckpt=PATH format=onnx out=DIR``: a trained model as ONNX graphs."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from audiodiff.errors import ConfigError

FORMATS = ("onnx",)
WARN_ABOVE = 1e-3  # the largest check difference printed without a warning (NaN is flagged)


@dataclass
class Options:
    ckpt: str
    format: str
    out: str
    overwrite: bool
    opset: int
    optimize: bool
    check: bool
    autoencoder: str | None


def run(cfg: DictConfig) -> None:
    from audiodiff.export.onnx_folder import OPSET, check_out, export_onnx, require_onnx
    from audiodiff.pipeline import load

    if cfg.format not in FORMATS:
        raise ConfigError(f"unknown format '{cfg.format}'; choose from {', '.join(FORMATS)}")
    if cfg.opset < OPSET:
        raise ConfigError(f"opset must be >= {OPSET}, got {cfg.opset}")
    require_onnx()
    check_out(cfg.out, cfg.overwrite)  # before loading; replaced only once all is written
    decoder = OmegaConf.to_container(cfg.decoder, resolve=True) if cfg.get("decoder") else None
    pipe = load(cfg.ckpt, "cpu", decoder, cfg.autoencoder)
    options = {"opset": cfg.opset, "optimize": cfg.optimize, "check": cfg.check}
    report = export_onnx(pipe, cfg.out, overwrite=cfg.overwrite, **options)
    console = Console()
    for name, diff in report.difference.items():
        flag = "" if diff <= WARN_ABOVE else " (more than expected: compare before deploying)"
        console.print(f"{name}: max |onnxruntime - torch| = {diff:.2g} on random inputs{flag}")
    console.print(f"wrote {', '.join(report.files)} to {report.folder}")
