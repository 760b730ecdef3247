"""On-disk cache of computed features, so repeated epochs do not recompute mels or latents.

An entry is keyed by a hash of the representation's config (plus any preprocessing that
changes the features) and of the source file's path, size and modification time: editing the
file or the representation makes a new key, and stale entries are simply never read again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import torch

from audiodiff.fileio import atomic_path


class FeatureCache:
    """Tensors stored as ``<dir>/<namespace>/<key>.pt``, written atomically."""

    def __init__(self, directory: str | Path, namespace: str) -> None:
        self.directory = Path(directory) / namespace
        self.hits = 0
        self.misses = 0

    def key(self, source: str | Path) -> str:
        st = Path(source).stat()
        blob = os.fsencode(Path(source).resolve()) + f"|{st.st_size}|{st.st_mtime_ns}".encode()
        return hashlib.sha1(blob).hexdigest()  # fsencode: names that are not UTF-8 hash too

    def path(self, source: str | Path) -> Path:
        return self.directory / f"{self.key(source)}.pt"

    def get_or_compute(
        self, source: str | Path, compute: Callable[[], torch.Tensor]
    ) -> torch.Tensor:
        """Cached tensor for ``source``, computing and storing it on a miss."""
        entry = self.path(source)
        if entry.is_file():
            try:
                value = torch.load(entry, map_location="cpu", weights_only=True)
                self.hits += 1
                return value
            except Exception:  # a truncated or foreign file: recompute and replace it
                entry.unlink(missing_ok=True)
        self.misses += 1
        value = compute()
        with atomic_path(entry) as tmp:
            torch.save(value.detach().cpu().clone(), tmp)
        return value


def namespace(representation_fingerprint: str, extra: str = "") -> str:
    """Cache folder name for a representation plus preprocessing settings."""
    return hashlib.sha1(f"{representation_fingerprint}|{extra}".encode()).hexdigest()[:16]
