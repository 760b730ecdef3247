"""``audiodiff ui ckpt=MODEL [restore_ckpt=MODEL] [port=7860]``: the web page."""

from __future__ import annotations

import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from audiodiff.errors import ConfigError
from audiodiff.ui.actions import Workspace
from audiodiff.ui.uploads import Limits


@dataclass
class Options:
    ckpt: str | None
    restore_ckpt: str | None
    vocoder: str | None
    host: str
    port: int
    work_dir: str | None
    device: str
    threads: int | None


def decoders(cfg: DictConfig, load) -> tuple[object, dict[str, object]]:
    """(the generation pipeline, decoder name -> a function returning the pipeline with that
    decoder): the model's own; Griffin-Lim for a mel model that has another decoder; and
    ``vocoder=`` when given (each loaded on first use)."""
    own = load(cfg.ckpt, cfg.device)
    choices = {"model's own": lambda: own}
    mel = own.config["representation"].get("_target_", "").endswith("MelRepresentation")
    if mel and own.config.get("decoder"):
        gl = {"_target_": "audiodiff.codecs.decoders.griffin_lim", "_partial_": True}
        choices["griffin-lim"] = functools.cache(lambda: load(cfg.ckpt, cfg.device, gl))
    if cfg.vocoder:
        voc = {"_target_": "audiodiff.codecs.decoders.vocoder", "_partial_": True,
               "ckpt": str(cfg.vocoder)}  # fmt: skip
        choices["vocoder"] = functools.cache(lambda: load(cfg.ckpt, cfg.device, voc))
        choices["vocoder"]()  # a bad vocoder folder fails now, not on a visitor's click
    return own, choices


def run(cfg: DictConfig) -> None:
    try:
        from audiodiff.ui.app import build_app
    except ImportError as e:
        raise ConfigError(
            f"audiodiff ui needs gradio ({e.name} is missing): pip install 'audiodiff[ui]'"
        ) from None
    from audiodiff.pipeline import load

    if cfg.ckpt is None and cfg.restore_ckpt is None:
        raise ConfigError("give ckpt= (generation), restore_ckpt= (restoration) or both")
    if not 0 < cfg.port < 65536:
        raise ConfigError(f"port must be in 1..65535, got {cfg.port}")
    limits = Limits(**OmegaConf.to_container(cfg.limits))
    limits.check()
    if cfg.threads is not None:
        import torch

        torch.set_num_threads(int(cfg.threads))
    info, generators = decoders(cfg, load) if cfg.ckpt else (None, None)
    restorer = None
    if cfg.restore_ckpt:
        restore_pipe = load(cfg.restore_ckpt, cfg.device)
        restorer = lambda: restore_pipe  # noqa: E731
    root = Path(cfg.work_dir) if cfg.work_dir else Path(tempfile.mkdtemp(prefix="audiodiff-ui-"))
    work = Workspace(root)
    app = build_app(generators, restorer, work, limits, info)
    try:
        _, url, _ = app.launch(
            server_name=cfg.host,
            server_port=int(cfg.port),
            max_file_size=f"{limits.max_upload_mb:g}mb",
            allowed_paths=[str(root)],
            footer_links=["api"],
            prevent_thread_lock=True,
            quiet=True,
        )
    except OSError as e:
        if not cfg.work_dir:
            shutil.rmtree(root, ignore_errors=True)
        if "port" in str(e).lower():
            raise ConfigError(
                f"port {cfg.port} on {cfg.host} is in use or not allowed; choose another port="
            ) from None
        raise
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(f"audiodiff ui: {url} (Ctrl-C stops it); each request's files go to {root}")
    try:
        app.block_thread()
    finally:
        app.close()
