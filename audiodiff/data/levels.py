"""The training clips' loudness, by label value: what a generated clip's level is drawn from.

A diffusion model can learn a clip's shape and miss its level: on real struck instruments
the tiny model's notes decay as the data's do but start 20-60 dB lower (docs/music.md). The
level is one number per clip, so it is modelled apart, as data statistics fitted before
training (like the label vocabulary): for every label value, quantiles of the RMS level
(dBFS) of the training clips that have it. ``generate level=data`` draws each clip's level
from the quantiles of its labels and scales the clip to it. Released generators normalise
their output as well (a fixed loudness or peak); this keeps the spread of the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch

from audiodiff.audio.loudness import SILENCE_DB, normalize_loudness, rms_db
from audiodiff.errors import AudioFileError

QUANTILES = 21  # 0, 5, ..., 100 %
MIN_CLIPS = 5  # a label value seen in fewer clips draws from the whole set


class LevelStats:
    """Quantiles of training clips' RMS dBFS: overall and per (label, value)."""

    def __init__(
        self, overall: Sequence[float], by_label: Mapping[str, Mapping[str, Sequence[float]]]
    ) -> None:
        self.overall = np.asarray(overall, dtype=np.float64)
        self.by_label = {k: {v: np.asarray(q, dtype=np.float64) for v, q in d.items()}
                         for k, d in by_label.items()}  # fmt: skip

    @classmethod
    def fit(cls, clips: Iterable[tuple[torch.Tensor, Mapping[str, str | None]]]) -> LevelStats:
        """From (wav [..., N], {label: value}) pairs; silent clips (below SILENCE_DB) are
        left out."""
        levels: list[float] = []
        groups: dict[str, dict[str, list[float]]] = {}
        for wav, labels in clips:
            level = float(rms_db(wav.flatten()))
            if level <= SILENCE_DB:
                continue
            levels.append(level)
            for label, value in labels.items():
                if value not in (None, ""):
                    groups.setdefault(label, {}).setdefault(str(value), []).append(level)
        if not levels:
            raise ValueError("no clip above the silence level to fit levels on")
        q = np.linspace(0, 1, QUANTILES)

        def quantiles(xs: list[float]) -> list[float]:
            return [round(float(v), 2) for v in np.quantile(xs, q)]

        by_label = {label: {v: quantiles(xs) for v, xs in d.items() if len(xs) >= MIN_CLIPS}
                    for label, d in groups.items()}  # fmt: skip
        return cls(quantiles(levels), by_label)

    def to_dict(self) -> dict:
        by_label = {k: {v: q.tolist() for v, q in d.items()} for k, d in self.by_label.items()}
        return {"overall": self.overall.tolist(), "by_label": by_label}

    @classmethod
    def from_dict(cls, d: Mapping) -> LevelStats:
        return cls(d["overall"], d.get("by_label", {}))

    def quantiles_for(self, labels: Mapping[str, str | None]) -> np.ndarray:
        """The narrowest (10-90 % range) quantiles among the clip's label values, else overall."""
        best, width = self.overall, np.inf
        for label, value in labels.items():
            q = self.by_label.get(label, {}).get(str(value)) if value not in (None, "") else None
            if q is not None and q[-3] - q[2] < width:
                best, width = q, q[-3] - q[2]
        return best

    def draw(self, rows: Sequence[Mapping[str, str | None]], seeds: Sequence[int]) -> torch.Tensor:
        """One level (dBFS) per row, [len(rows)]: inverse-CDF draws, seed i for row i."""
        q = np.linspace(0, 1, QUANTILES)
        out = []
        for row, seed in zip(rows, seeds, strict=True):
            u = np.random.default_rng(seed).uniform()
            out.append(float(np.interp(u, q, self.quantiles_for(row))))
        return torch.tensor(out)


def fit_on_dataset(dataset, limit: int = 2000) -> dict | None:
    """The ``levels`` config entry of a model trained on ``dataset`` (an AudioFolder, or a
    degraded one: its clean clips), from the first crops of up to ``limit`` clips; None
    when every clip is silent or unreadable."""
    base = getattr(dataset, "base", dataset)

    def clips():
        for i in range(min(len(base), limit)):
            record = base.records[i]
            try:
                wav = base.first_crop(i)
            except AudioFileError:
                continue
            yield wav, {label: record.get(label) for label in base.vocab.labels}

    try:
        return LevelStats.fit(clips()).to_dict()
    except ValueError:
        return None


GENERATED_SILENCE_DB = -95.0  # a generated clip quieter than this is left silent


def apply_levels(wav: torch.Tensor, levels_db: torch.Tensor, peak: float = 0.99) -> torch.Tensor:
    """wav [B, 1, N] scaled to levels_db [B] RMS dBFS, then down where a peak passes ``peak``.
    Only digital silence is left alone: the quiet clips this is for sit at -80 dBFS."""
    targets = levels_db.to(wav.dtype).view(-1, 1)
    return normalize_loudness(wav, targets, peak=peak, silence_db=GENERATED_SILENCE_DB)
