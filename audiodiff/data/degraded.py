"""Clean clips and their degraded versions, made on the fly, for conditional restoration.

``DegradedFolder`` wraps an ``AudioFolder``: each item keeps the clean ``wav`` and adds
``degraded`` (the same clip through a degradation operator, ``audiodiff.restore``). The
operator's randomness comes from the item's crop seed (``audiodiff.data.sampler``), so the
pair is the same in every epoch's replay, resume or worker. With several named tasks one is
drawn per item and given as the ``task`` label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch.utils.data import Dataset

from audiodiff.audio.loudness import level_gain
from audiodiff.data.folder import AudioFolder
from audiodiff.data.vocab import LabelVocab
from audiodiff.errors import ConfigError
from audiodiff.restore.gaps import check_prefill, prefill

TASK = "task"  # the label naming the degradation of a multi-task model


def task_vocab(vocab: LabelVocab, tasks: Mapping[str, Any] | None) -> LabelVocab:
    """``vocab`` plus a ``task`` label over the task names (when there are several)."""
    if not tasks or len(tasks) < 2:
        return vocab
    if TASK in vocab.labels:
        raise ConfigError(f"the data already has a '{TASK}' label; rename it to train tasks")
    return LabelVocab({**vocab.values, TASK: ["<null>", *tasks]})


class DegradedFolder(Dataset):
    """Items of ``base`` with ``degraded`` [1, N] added (and ``cond["task"]`` with tasks).

    ``degrade``: one operator (``op(wav [B, 1, N], generator) -> Degraded``), or a mapping
    of task names to operators, one drawn uniformly per item. With ``level_db`` both clips
    are scaled by the one gain that brings the degraded clip to that RMS level (dBFS): the
    level a user's recording is brought to before restoration (``match_level``), whatever
    the noise added to it.
    """

    def __init__(
        self,
        base: AudioFolder,
        degrade: Any,
        vocab: LabelVocab,
        level_db: float | None = None,
        fill: str | None = None,
    ) -> None:
        if base.representation is not None:
            raise ConfigError(
                "restoration training degrades waveforms: set data.representation=null"
            )
        self.base = base
        self.tasks = dict(degrade) if isinstance(degrade, Mapping) else {"": degrade}
        self.vocab = vocab
        self.level_db = level_db
        check_prefill(fill)
        self.fill = fill  # the gaps of ``degraded`` filled this way (the model reads that)
        self.records = base.records

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        item = self.base[key]
        seed = key[1] if isinstance(key, tuple) else int(torch.randint(0, 2**62, ()).item())
        g = torch.Generator().manual_seed(seed ^ 0x5DEECE66D)  # not the crop's own stream
        names = list(self.tasks)
        name = (
            names[int(torch.randint(len(names), (), generator=g))] if len(names) > 1 else names[0]
        )
        with torch.no_grad():
            out = self.tasks[name](item["wav"][None].float(), g)
        degraded = out.wav[0].to(item["wav"].dtype)  # [1, N]
        if self.fill is not None and "known" in out.masks:
            rate, known = self.base.sample_rate, out.masks["known"]
            degraded = prefill(self.fill, degraded[None], rate, known)[0]
        if self.level_db is not None:
            gain = level_gain(degraded.flatten(), self.level_db)
            item["wav"], degraded = item["wav"] * gain, degraded * gain
        item["degraded"] = degraded
        if TASK in self.vocab.labels:
            item["cond"] = {**item["cond"], TASK: torch.tensor(self.vocab.encode(TASK, name))}
        return item
