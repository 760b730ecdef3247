"""Weights-only exports, loadable without Lightning or the run folder.

Diffusion: ``model.safetensors`` (EMA denoiser) + ``config.yaml`` (the resolved run config);
loads with ``audiodiff.load(folder)``. Codec: ``codec.safetensors`` + ``config.yaml`` (the
codec's ``_target_`` config and its metadata, e.g. latent statistics); loads with
``load_codec(folder)``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from safetensors.torch import save_file
from torch import nn

from audiodiff.errors import ConfigError
from audiodiff.fileio import atomic_path, write_text
from audiodiff.safe_load import check_targets, read_config, read_safetensors

WEIGHTS = "model.safetensors"
CONFIG = "config.yaml"
CODEC_WEIGHTS = "codec.safetensors"
CODEC_FORMAT = "audiodiff-codec-1"


def save_weights(state: dict, path: Path, metadata: dict[str, str]) -> None:
    """``save_file`` through a temporary file; its write errors (a full disk, ...) become
    ``OSError`` naming ``path``, which the CLI prints as one line."""
    with atomic_path(path) as tmp:
        try:
            save_file(state, str(tmp), metadata=metadata)
        except OSError:
            raise
        except Exception as e:  # SafetensorError wraps the I/O error in its message
            code = errno.ENOSPC if "os error 28" in str(e) else errno.EIO
            raise OSError(code, os.strerror(code), str(path)) from None


def export(denoiser: nn.Module, config: dict, out_dir: str | Path) -> Path:
    """Write the denoiser's weights and its config into ``out_dir``; returns the folder."""
    out_dir = Path(out_dir)
    state = {k: v.detach().cpu().contiguous() for k, v in denoiser.state_dict().items()}
    save_weights(state, out_dir / WEIGHTS, {"format": "audiodiff-denoiser-1"})
    write_text(out_dir / CONFIG, yaml.safe_dump(config, sort_keys=False))
    return out_dir


def export_codec(
    codec: nn.Module,
    codec_config: Mapping[str, Any],
    metadata: Mapping[str, Any],
    out_dir: str | Path,
) -> Path:
    """Write ``codec.safetensors`` and ``config.yaml`` ({format, codec, **metadata}) into
    ``out_dir``; ``codec_config`` is the resolved ``_target_`` config that rebuilds ``codec``."""
    out_dir = Path(out_dir)
    state = {k: v.detach().cpu().contiguous() for k, v in codec.state_dict().items()}
    save_weights(state, out_dir / CODEC_WEIGHTS, {"format": CODEC_FORMAT})
    config = {"format": CODEC_FORMAT, **metadata, "codec": dict(codec_config)}
    write_text(out_dir / CONFIG, yaml.safe_dump(config, sort_keys=False))
    return out_dir


def load_codec(path: str | Path) -> nn.Module:
    """A trained codec (eval mode, CPU) from an export folder or its ``codec.safetensors``.

    Raises ``ConfigError`` naming the path when it is missing or not a codec export.
    """
    from audiodiff.build import instantiate_part

    path = Path(path)
    weights = path / CODEC_WEIGHTS if path.is_dir() else path
    config_path = weights.parent / CONFIG
    if not weights.is_file():
        raise ConfigError(
            f"{weights}: not found (expected a codec export: {CODEC_WEIGHTS} + {CONFIG})"
        )
    state, metadata = read_safetensors(weights)  # one line if truncated or not safetensors
    fmt = metadata.get("format")
    if fmt != CODEC_FORMAT:
        raise ConfigError(
            f"{weights}: not a codec export (format {fmt!r}, expected {CODEC_FORMAT})"
        )
    if not config_path.is_file():
        raise ConfigError(f"{config_path}: not found (a codec export needs it beside the weights)")
    config = read_config(config_path)
    if not isinstance(config.get("codec"), dict):
        raise ConfigError(f"{config_path}: no 'codec' section")
    check_targets(config["codec"], str(config_path))  # builds audiodiff classes only
    # the weights come from the export, not from the vocoder an autoencoder started from
    start = {"init_vocoder": None} if "init_vocoder" in config["codec"] else {}
    codec = instantiate_part(config["codec"], **start)
    try:
        codec.load_state_dict(state)
    except RuntimeError as e:
        detail = str(e).splitlines()[1].strip() if "\n" in str(e) else str(e)[:120]
        raise ConfigError(f"{weights}: weights do not match its config ({detail})") from None
    return codec.eval()
