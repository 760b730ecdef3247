"""``AudioFolder``: a map-style dataset of fixed-length segments with integer condition labels."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from torch.utils.data import Dataset

from audiodiff.audio.io import info, load
from audiodiff.audio.loudness import normalize_loudness
from audiodiff.audio.representation import Representation
from audiodiff.data.cache import FeatureCache, namespace
from audiodiff.data.vocab import LabelVocab
from audiodiff.errors import AudioFileError, ConfigError, EmptyAudioError
from audiodiff.nn.text import TextTokenizer

log = logging.getLogger(__name__)


def check_readable(records: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[str]]:
    """Drop records whose file is missing, not a regular file, has an unreadable header or
    zero frames, or repeats an earlier record's file; returns (kept, one line per dropped).

    Raises ``ConfigError`` naming the first file's problem when none is left."""
    kept, errors, seen = [], [], set()
    for r in records:
        try:
            key = os.path.normpath(r["path"])
            if key in seen:
                raise AudioFileError(r["path"], "listed twice; the first is kept")
            seen.add(key)
            if info(r["path"]).frames == 0:
                raise EmptyAudioError(r["path"])
            kept.append(r)
        except AudioFileError as e:
            errors.append(str(e))
    if errors and not kept:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"no readable clips: {errors[0]}{more}")
    return kept, errors


def fit_length(x: torch.Tensor, length: int, start: int) -> torch.Tensor:
    """Crop x[..., start:start + length], zero-padding on the right when x is too short."""
    x = x[..., start : start + length]
    if x.shape[-1] < length:
        x = torch.nn.functional.pad(x, (0, length - x.shape[-1]))
    return x


class AudioFolder(Dataset):
    """Segments of ``segment_samples`` from each record, as waveforms or encoded features.

    Item: {"wav": [1, N]} (or {"x": [C, T]} when a ``representation`` is given), "cond":
    {label: id tensor}, "index". Training crops at random; validation (``random_crop=False``)
    from the start, so it is the same every epoch. With ``timing`` "cond" also holds
    ``seconds_start`` (where the crop starts in its file) and ``seconds_total`` (the file's
    real length, padding not counted), float tensors in seconds (``audiodiff.nn.timing``).
    With a ``tokenizer`` "cond" also holds ``text``: the ``text_column`` of the record (its
    caption; empty when missing) as token ids [max_tokens] (``audiodiff.nn.text``).
    A file that fails to load mid-epoch is counted in ``failures``, logged once, and replaced
    by the next clip.
    """

    def __init__(
        self,
        records: list[dict[str, str]],
        vocab: LabelVocab,
        sample_rate: int,
        segment_samples: int,
        random_crop: bool = True,
        loudness_db: float | None = None,
        representation: Representation | None = None,
        cache_dir: str | Path | None = None,
        timing: bool = False,
        tokenizer: TextTokenizer | None = None,
        text_column: str = "caption",
    ) -> None:
        if not records:
            raise ConfigError("dataset is empty: no readable clips")
        if representation is not None and representation.sample_rate != sample_rate:
            raise ConfigError(
                f"representation runs at {representation.sample_rate} Hz but the data at "
                f"{sample_rate} Hz"
            )
        self.records = records
        self.vocab = vocab
        self.sample_rate = sample_rate
        self.segment_samples = segment_samples
        self.random_crop = random_crop
        self.loudness_db = loudness_db
        self.representation = representation
        self.timing = timing
        self.tokenizer = tokenizer
        self.text_column = text_column
        self.durations: dict[str, float] = {}  # seconds of each file read so far
        self.cache = None
        if representation is not None and cache_dir is not None:
            extra = f"sr={sample_rate}|seg={segment_samples}|loud={loudness_db}"
            self.cache = FeatureCache(cache_dir, namespace(representation.fingerprint(), extra))
        self.failures: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.records)

    def _load(self, path: str) -> torch.Tensor:
        wav, _ = load(path, sample_rate=self.sample_rate)  # [1, N]
        self.durations[path] = wav.shape[-1] / self.sample_rate
        if self.loudness_db is not None:
            wav = normalize_loudness(wav, self.loudness_db)
        if wav.shape[-1] < self.segment_samples:
            wav = fit_length(wav, self.segment_samples, 0)
        return wav

    def first_crop(self, index: int) -> torch.Tensor:
        """The clip's first ``segment_samples`` at its own level (``loudness_db`` not applied:
        the level the recording had), [1, N]."""
        wav, _ = load(self.records[index]["path"], sample_rate=self.sample_rate)
        return fit_length(wav, self.segment_samples, 0)

    def _features(self, path: str) -> torch.Tensor:
        assert self.representation is not None

        def compute() -> torch.Tensor:
            with torch.no_grad():
                return self.representation.encode(self._load(path)[None])[0]  # [C, T]

        return self.cache.get_or_compute(path, compute) if self.cache else compute()

    def _start(self, total: int, length: int, crop_seed: int | None) -> int:
        if not self.random_crop or total <= length:
            return 0
        g = None if crop_seed is None else torch.Generator().manual_seed(crop_seed)
        return int(torch.randint(0, total - length + 1, (), generator=g).item())

    def _seconds_total(self, path: str) -> float:
        if path not in self.durations:  # features from the cache: the header's length
            header = info(path)
            self.durations[path] = header.frames / header.samplerate
        return self.durations[path]

    def _item(self, index: int, crop_seed: int | None) -> dict:
        record = self.records[index]
        cond = {
            label: torch.tensor(self.vocab.encode(label, record.get(label)), dtype=torch.long)
            for label in self.vocab.labels
        }
        if self.tokenizer is not None:
            cond["text"] = self.tokenizer.encode([record.get(self.text_column) or ""])[0]
        item: dict = {"cond": cond, "index": index}
        if self.representation is None:
            wav = self._load(record["path"])
            start = self._start(wav.shape[-1], self.segment_samples, crop_seed)
            item["wav"] = fit_length(wav, self.segment_samples, start)
            seconds_start = start / self.sample_rate
        else:
            x = self._features(record["path"])
            frames = self.representation.num_frames(self.segment_samples)
            start = self._start(x.shape[-1], frames, crop_seed)
            item["x"] = fit_length(x, frames, start)
            seconds_start = start / self.representation.frame_rate
        if self.timing:
            cond["seconds_start"] = torch.tensor(seconds_start, dtype=torch.float32)
            total = self._seconds_total(record["path"])
            cond["seconds_total"] = torch.tensor(total, dtype=torch.float32)
        return item

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        """``key``: an index (crops from the global RNG) or (index, crop_seed) as
        ``EpochSampler`` yields them (the crop depends on the seed alone)."""
        index, crop_seed = key if isinstance(key, tuple) else (key, None)
        for attempt in range(len(self.records)):
            i = (index + attempt) % len(self.records)
            try:
                return self._item(i, crop_seed)
            except AudioFileError as e:
                path = self.records[i]["path"]
                if path not in self.failures:
                    self.failures[path] = str(e)
                    log.warning("skipping unreadable clip (%d so far): %s", len(self.failures), e)
        first = next(iter(self.failures.values()), "unknown")
        which = "training" if self.random_crop else "validation"
        raise ConfigError(f"no clip of the {which} set could be read (first: {first})")
