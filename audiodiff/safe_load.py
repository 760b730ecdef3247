"""Reading ``.ckpt`` files without running their code.

A ``.ckpt`` is a pickle, and unpickling can call any function the file names (an
``os.system`` in a ``__reduce__``). Every checkpoint audiodiff reads goes through
``read_checkpoint``: ``torch.load(weights_only=True)`` only rebuilds tensors and plain
containers, and refuses anything else before it runs. Checkpoints written by
``audiodiff train`` hold only those, so nothing is allow-listed.
"""

from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from audiodiff.errors import ConfigError


class UnsafeCheckpointError(ConfigError):
    """The file asks to run code (or rebuild objects) while loading; it was not loaded."""


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's dict, loaded on the CPU with ``weights_only=True``.

    Raises ``UnsafeCheckpointError`` for a pickle that would run code and ``ConfigError``
    (one line, naming the file) for a missing, truncated or foreign file.
    """
    path = Path(path)
    if not path.is_file():
        what = "a folder, not a checkpoint file" if path.is_dir() else "no such checkpoint"
        raise ConfigError(f"{path}: {what}")
    try:
        with warnings.catch_warnings():  # "Detected pickle protocol 4": said below instead
            warnings.simplefilter("ignore", UserWarning)
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            raise UnsafeCheckpointError(
                f"{path}: refused: it would run code or rebuild objects while loading "
                f"({_global_named(e)}); only plain tensors and containers are loaded"
            ) from None
        raise ConfigError(f"{path}: not a readable checkpoint (corrupt pickle)") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as e:
        detail = "truncated or corrupt" if not isinstance(e, OSError) else e.strerror or "I/O"
        raise ConfigError(f"{path}: not a readable checkpoint ({detail})") from None
    if not isinstance(ckpt, dict):
        raise ConfigError(f"{path}: not an audiodiff checkpoint (holds a {type(ckpt).__name__})")
    return ckpt


def _global_named(error: Exception) -> str:
    """The refused global's name from torch's message, e.g. 'posix.system'."""
    found = re.search(r"GLOBAL ([\w.]+)", str(error))
    return f"GLOBAL {found.group(1)}" if found else "a non-tensor global"


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of a ``.safetensors`` file; one ``ConfigError`` line for a file
    that is missing, truncated or not safetensors at all (e.g. a pickle renamed)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such weights file")
    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except Exception as e:  # SafetensorError, OSError, ...: the file is not usable weights
        detail = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise ConfigError(f"{path}: not a readable safetensors file ({detail})") from None


def check_targets(node: Any, where: str, prefix: str = "audiodiff.") -> None:
    """Refuse a loaded config whose ``_target_`` names something outside audiodiff: building
    a model from a downloaded config.yaml must not call ``os.system`` either."""
    if isinstance(node, dict):
        target = node.get("_target_")
        if target is not None and not str(target).startswith(prefix):
            raise UnsafeCheckpointError(
                f"{where}: refused: its config builds {target!r}, which is not part of audiodiff"
            )
        for value in node.values():
            check_targets(value, where, prefix)
    elif isinstance(node, list):
        for value in node:
            check_targets(value, where, prefix)


def read_config(path: str | Path) -> dict[str, Any]:
    """A YAML mapping (``yaml.safe_load``: no Python tags); one line if it is not one."""
    import yaml

    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not a readable YAML config ({type(e).__name__})") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: not a config mapping")
    return config
