"""``AudioDataModule``: records -> vocabulary -> split -> ``AudioFolder`` loaders."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning as L

from audiodiff.audio.representation import Representation
from audiodiff.data.degraded import DegradedFolder, task_vocab
from audiodiff.data.folder import AudioFolder, check_readable
from audiodiff.data.records import read_records, split_records
from audiodiff.data.sampler import ResumableLoader
from audiodiff.data.synth import SynthSpec, ensure_synth
from audiodiff.data.vocab import LabelVocab
from audiodiff.errors import ConfigError
from audiodiff.fileio import write_text
from audiodiff.nn.text import TextTokenizer, Tokenizer

TokenizerFactory = Callable[..., TextTokenizer]  # (captions, base=None) -> tokenizer

log = logging.getLogger(__name__)


class AudioDataModule(L.LightningDataModule):
    """Loaders for a folder or manifest of clips.

    ``labels`` names metadata columns that become integer conditions. With ``vocab_path``
    their vocabulary is read from and saved to that file (ids of known values never change;
    ``audiodiff train`` keeps it in the run folder); without it, nothing is written. With
    ``synth`` set, a missing ``root`` is built as the built-in synthetic set first (never
    into a folder that holds other files). Batches come from ``ResumableLoader``: seeded by
    ``seed`` and the epoch, so a resumed run sees the batches an uninterrupted one sees.
    With ``timing`` items also carry the crop's ``seconds_start`` and the file's
    ``seconds_total`` (for a ``model.timing`` net; ``AudioFolder``).
    With ``text_column`` (a metadata column of captions, e.g. "caption") items also carry
    ``text`` token ids: ``tokenizer(train_captions, base=saved)`` builds the tokenizer from the
    TRAINING split's captions (default ``Tokenizer.build``); with ``tokenizer_path`` it is
    read from and saved to that file, as the vocabulary (``audiodiff train`` keeps it in the
    run folder). ``self.tokenizer`` is the result.
    """

    def __init__(
        self,
        root: str,
        manifest: str | None = None,
        labels: list[str] | tuple[str, ...] = (),
        sample_rate: int = 16000,
        segment_seconds: float = 1.5,
        loudness_db: float | None = None,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        batch_size: int = 16,
        num_workers: int = 0,
        representation: Representation | None = None,
        cache_dir: str | None = None,
        synth: SynthSpec | None = None,
        vocab_path: str | None = None,
        seed: int = 0,
        degrade: Any = None,
        observation_fill: str | None = None,
        timing: bool = False,
        text_column: str | None = None,
        tokenizer: TokenizerFactory | None = None,
        tokenizer_path: str | None = None,
    ) -> None:
        super().__init__()
        if segment_seconds <= 0:
            raise ConfigError(f"segment_seconds must be positive, got {segment_seconds}")
        if loudness_db is not None and (
            isinstance(loudness_db, bool) or not isinstance(loudness_db, int | float)
        ):
            raise ConfigError(
                f"data.loudness_db must be a number (dBFS) or null, got {loudness_db!r}"
            )
        if batch_size < 1 or num_workers < 0:
            raise ConfigError(
                f"need batch_size >= 1 and num_workers >= 0, got {batch_size}, {num_workers}"
            )
        if synth is not None and not isinstance(synth, SynthSpec):
            # an experiment's data.synth settings, left over after data=folder: they do not apply
            log.warning("data.synth is ignored: it configures the built-in set, not a folder")
            synth = None
        self.root = Path(root)
        self.manifest = manifest
        self.labels = list(labels)
        self.sample_rate = sample_rate
        self.segment_samples = round(segment_seconds * sample_rate)
        self.loudness_db = loudness_db
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.representation = representation
        self.cache_dir = cache_dir
        self.synth = synth
        self.vocab_path = Path(vocab_path) if vocab_path else None
        self.seed = seed
        self.timing = bool(timing)
        self.text_column = text_column or None
        self.tokenizer_factory = tokenizer or Tokenizer.build
        self.tokenizer_path = Path(tokenizer_path) if tokenizer_path else None
        self.tokenizer: TextTokenizer | None = None
        self.degrade = degrade  # an operator or {task: operator}: serves (clean, degraded)
        self.observation_fill = observation_fill  # gaps of the degraded clip filled so
        self.vocab: LabelVocab | None = None
        self.train_set: AudioFolder | None = None
        self.val_set: AudioFolder | None = None
        self.skipped: list[str] = []

    def prepare_data(self) -> None:
        """Build the synth set when ``synth`` is set and ``root`` holds no dataset yet.

        A synth set already there is used as it is, whatever spec it was built with.
        """
        if self.synth is not None and self.manifest is None:
            if not (self.root / "metadata.csv").is_file():
                ensure_synth(self.root, self.synth)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        records, self.skipped = check_readable(read_records(self.root, self.manifest))
        if self.skipped:
            log.warning(
                "skipped %d of %d clips that could not be read; first: %s",
                len(self.skipped),
                len(records) + len(self.skipped),
                self.skipped[0],
            )
        saved = self.vocab_path is not None and self.vocab_path.is_file()
        base = LabelVocab.load(self.vocab_path) if saved else None
        self.vocab = LabelVocab.build(records, self.labels, base=base)
        if self.degrade is not None:
            tasks = self.degrade if isinstance(self.degrade, Mapping) else None
            self.vocab = task_vocab(self.vocab, tasks)
        if self.vocab_path is not None and self.vocab != base:
            self.vocab.save(self.vocab_path)
        train, val = split_records(records, self.root, self.val_fraction, self.split_seed)
        if self.text_column is not None:
            self.tokenizer = self._tokenizer(train)
        common = dict(
            vocab=self.vocab,
            sample_rate=self.sample_rate,
            segment_samples=self.segment_samples,
            loudness_db=self.loudness_db,
            representation=self.representation,
            cache_dir=self.cache_dir,
            timing=self.timing,
            tokenizer=self.tokenizer,
            text_column=self.text_column or "caption",
        )
        self.train_set = self._degraded(AudioFolder(train, random_crop=True, **common))
        self.val_set = (
            self._degraded(AudioFolder(val, random_crop=False, **common)) if val else None
        )

    def _tokenizer(self, train: list[dict[str, str]]) -> TextTokenizer:
        """The tokenizer of the training captions (the saved one's ids kept), saved if new."""
        column = self.text_column
        if not any(column in r for r in train):
            raise ConfigError(f"text column '{column}' is not a metadata column of this dataset")
        captions = [r.get(column) or "" for r in train]
        saved = self.tokenizer_path is not None and self.tokenizer_path.is_file()
        base = _load_tokenizer(self.tokenizer_path) if saved else None
        tokenizer = self.tokenizer_factory(captions, base=base)
        if not isinstance(tokenizer, TextTokenizer):
            raise ConfigError(f"data.tokenizer built a {type(tokenizer).__name__}, not a tokenizer")
        full = int((tokenizer.encode(captions)[:, -1] != 0).sum()) if captions else 0
        if full:
            log.warning(
                "%d of %d training captions fill all %d tokens (longer ones are cut; raise "
                "text.tokenizer.max_tokens)",
                full,
                len(captions),
                tokenizer.max_tokens,
            )
        changed = base is None or base.to_dict() != tokenizer.to_dict()
        if self.tokenizer_path is not None and changed:
            write_text(self.tokenizer_path, json.dumps(tokenizer.to_dict(), indent=1) + "\n")
        return tokenizer

    def _degraded(self, folder: AudioFolder) -> AudioFolder | DegradedFolder:
        if self.degrade is None:
            return folder
        return DegradedFolder(
            folder,
            self.degrade,
            self.vocab,
            level_db=self.loudness_db,
            fill=self.observation_fill,
        )

    def _loader(self, dataset: AudioFolder, shuffle: bool) -> ResumableLoader:
        trainer = self.trainer  # DDP: each process loads its share (use_distributed_sampler off)
        return ResumableLoader(
            dataset,
            batch_size=self.batch_size,
            seed=self.seed,
            shuffle=shuffle,
            num_workers=self.num_workers,
            drop_last=shuffle and len(dataset) >= self.batch_size,
            persistent_workers=self.num_workers > 0,
            replicas=trainer.world_size if trainer is not None else 1,
            rank=trainer.global_rank if trainer is not None else 0,
        )

    def train_dataloader(self) -> ResumableLoader:
        self.setup()
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> ResumableLoader | list:
        self.setup()
        return self._loader(self.val_set, shuffle=False) if self.val_set else []


def _load_tokenizer(path: Path) -> TextTokenizer:
    """A tokenizer file written by ``AudioDataModule`` (its ``to_dict()`` as JSON)."""
    from audiodiff.build import tokenizer_from_dict

    try:
        node = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: not a tokenizer file ({type(e).__name__})") from None
    return tokenizer_from_dict(node, str(path))
