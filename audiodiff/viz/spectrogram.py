"""Spectrogram sheets: a grid of [C, T] images (mels or latents) saved as one PNG."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from audiodiff.fileio import atomic_path


def save_spectrogram_sheet(
    path: str | Path,
    images: Sequence[torch.Tensor | np.ndarray],
    titles: Sequence[str] | None = None,
    frame_rate: float | None = None,
    ncols: int = 4,
    vmin: float | None = None,
    vmax: float | None = None,
    ylabel: str = "mel bin",
    colorbar_label: str = "normalised log-magnitude",
) -> Path:
    """Save a grid of spectrograms (each [C, T], low channel at the bottom) as a PNG.

    One colour scale for the whole sheet (``vmin``/``vmax`` default to the 1st and 99.5th
    percentiles of all images) so images can be compared by eye. Written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arrays = [np.asarray(torch.as_tensor(im).detach().float().cpu()) for im in images]
    if not arrays:
        raise ValueError("no images to draw")
    if any(a.ndim != 2 for a in arrays):
        raise ValueError("each image must be [C, T]")
    values = np.concatenate([a.ravel() for a in arrays])
    vmin = float(np.percentile(values, 1)) if vmin is None else vmin
    vmax = float(np.percentile(values, 99.5)) if vmax is None else vmax
    ncols = max(1, min(ncols, len(arrays)))
    nrows = math.ceil(len(arrays) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False, constrained_layout=True
    )
    for i, ax in enumerate(axes.flat):
        if i >= len(arrays):
            ax.axis("off")
            continue
        a = arrays[i]
        extent = (0, a.shape[1] / frame_rate, 0, a.shape[0]) if frame_rate else None
        im = ax.imshow(
            a,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=vmin,
            vmax=vmax,
            extent=extent,
            interpolation="nearest",
        )
        if titles is not None and i < len(titles):
            ax.set_title(titles[i], fontsize=8)
        ax.tick_params(labelsize=6)
        if i % ncols == 0:
            ax.set_ylabel(ylabel, fontsize=7)
        if i // ncols == nrows - 1:
            ax.set_xlabel("seconds" if frame_rate else "frame", fontsize=7)
    fig.colorbar(im, ax=axes, shrink=0.6, label=colorbar_label)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    finally:
        plt.close(fig)
    return Path(path)
