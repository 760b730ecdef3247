"""The training clips' loudness, by label value: what a generated clip's level is drawn from.

A diffusion model can learn a clip's shape and miss its level: on real struck instruments
the tiny model's notes decay as the data's do but start 20-60 dB lower (docs/music.md). The
level is one number per clip, so it is modelled apart, as data statistics fitted before
training (like the label vocabulary): quantiles of the RMS level (dBFS) of the training
clips that share a clip's labels, as recorded (before any ``data.loudness_db``
normalisation, which a recipe may train with). ``generate level=data`` draws each clip's level
from the quantiles of its labels and scales the clip to it. Released generators normalise
their output as well (a fixed loudness or peak); this keeps the spread of the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch

from audiodiff.audio.loudness import SILENCE_DB, level_gain, rms_db
from audiodiff.errors import AudioFileError

QUANTILES = 21  # 0, 5, ..., 100 %
_GRID = np.linspace(0, 1, QUANTILES)  # the probabilities of the stored quantiles
MIN_CLIPS = 5  # a label value seen in fewer clips draws from the whole set


class LevelStats:
    """Quantiles of training clips' RMS dBFS: overall, and for each prefix of the label
    values in label order (instrument; instrument and kind; ...) seen in at least
    ``MIN_CLIPS`` clips. A clip's level is drawn from its longest known prefix, backing off
    to shorter ones (and to the whole set) where the data is thin."""

    def __init__(
        self,
        labels: Sequence[str],
        overall: Sequence[float],
        groups: Mapping[tuple[str, ...], Sequence[float]],
    ) -> None:
        self.labels = list(labels)
        self.overall = np.asarray(overall, dtype=np.float64)
        self.groups = {tuple(k): np.asarray(q, dtype=np.float64) for k, q in groups.items()}

    @classmethod
    def fit(
        cls, clips: Iterable[tuple[torch.Tensor, Mapping[str, str | None]]], labels: Sequence[str]
    ) -> LevelStats:
        """From (wav [..., N], {label: value}) pairs; silent clips (below SILENCE_DB) are
        left out."""
        levels: list[float] = []
        groups: dict[tuple[str, ...], list[float]] = {}
        for wav, row in clips:
            level = float(rms_db(wav.flatten()))
            if level <= SILENCE_DB:
                continue
            levels.append(level)
            for key in _prefixes(row, labels):
                groups.setdefault(key, []).append(level)
        if not levels:
            raise ValueError("no clip above the silence level to fit levels on")

        def quantiles(xs: list[float]) -> list[float]:
            return [round(float(v), 2) for v in np.quantile(xs, _GRID)]

        kept = {k: quantiles(xs) for k, xs in groups.items() if len(xs) >= MIN_CLIPS}
        return cls(labels, quantiles(levels), kept)

    def to_dict(self) -> dict:
        groups = [{"values": list(k), "quantiles": q.tolist()} for k, q in self.groups.items()]
        return {"labels": self.labels, "overall": self.overall.tolist(), "groups": groups}

    @classmethod
    def from_dict(cls, d: Mapping) -> LevelStats:
        groups = {tuple(g["values"]): g["quantiles"] for g in d.get("groups", [])}
        return cls(d.get("labels", []), d["overall"], groups)

    def quantiles_for(self, row: Mapping[str, str | int | None]) -> np.ndarray:
        """The quantiles of the longest known prefix of the row's label values, else overall."""
        for key in reversed(_prefixes(row, self.labels)):
            if key in self.groups:
                return self.groups[key]
        return self.overall

    def draw(self, rows: Sequence[Mapping[str, str | None]], seeds: Sequence[int]) -> torch.Tensor:
        """One level (dBFS) per row, [len(rows)]: inverse-CDF draws, seed i for row i."""
        out = []
        for row, seed in zip(rows, seeds, strict=True):
            u = np.random.default_rng(seed).uniform()
            out.append(float(np.interp(u, _GRID, self.quantiles_for(row))))
        return torch.tensor(out)


def _prefixes(row: Mapping[str, str | int | None], labels: Sequence[str]) -> list[tuple[str, ...]]:
    """(v1,), (v1, v2), ...: the row's values in label order, up to the first missing one."""
    out, values = [], []
    for label in labels:
        value = row.get(label)
        if value is None or value == "":
            break
        values.append(str(value))
        out.append(tuple(values))
    return out


def fit_on_dataset(dataset, limit: int = 2000) -> dict | None:
    """The ``levels`` config entry of a model trained on ``dataset`` (an AudioFolder, or a
    degraded one: its clean clips), from the first crops of up to ``limit`` clips at their
    own level (before ``data.loudness_db``, so a model trained on normalised clips gives
    back the levels the recordings had); None when every clip is silent or unreadable."""
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
        return LevelStats.fit(clips(), list(base.vocab.labels)).to_dict()
    except ValueError:
        return None


GENERATED_SILENCE_DB = -95.0  # a generated clip quieter than this is left silent
KNEE = 0.5  # the soft limiter leaves samples below KNEE * peak as they are


def soft_limit(wav: torch.Tensor, peak: float = 0.99, knee: float = KNEE) -> torch.Tensor:
    """Samples above ``knee * peak`` bent smoothly (tanh, slope 1 at the knee) to stay under
    ``peak``; the rest untouched. wav: [...] -> [...]"""
    t = knee * peak
    over = (wav.abs() - t).clamp_min(0)
    bent = t + (peak - t) * torch.tanh(over / (peak - t))
    return torch.where(wav.abs() > t, wav.sign() * bent, wav)


def apply_levels(
    wav: torch.Tensor, levels_db: torch.Tensor, peak: float = 0.99, iters: int = 6
) -> torch.Tensor:
    """wav [B, 1, N] at levels_db [B] RMS dBFS, its peaks under ``peak``.

    A clip that would pass ``peak`` at its level goes through ``soft_limit`` instead of
    being turned down, and its gain is raised until the limited clip has the level (a few
    fixed-point steps, at most +12 dB over the plain gain). Turning it down instead left
    loud sustained notes 3-6 dB under their level, because a decoded clip's peaks stand
    higher over its RMS than a recording's. Only digital silence is left alone: the quiet
    clips this is for sit at -80 dBFS.
    """
    targets = levels_db.to(wav.dtype).view(-1, 1)
    gain = level_gain(wav, targets, GENERATED_SILENCE_DB)[..., None]  # [B, 1, 1]
    most = gain * 10 ** (12 / 20)
    for _ in range(iters):
        out = soft_limit(wav * gain, peak)
        miss = (targets - rms_db(out))[..., None]  # [B, 1, 1] dB short of the level
        gain = torch.minimum(gain * 10 ** (miss / 20), most)
    return soft_limit(wav * gain, peak)
