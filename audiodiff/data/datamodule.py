"""``AudioDataModule``: records -> vocabulary -> split -> ``AudioFolder`` loaders."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader

from audiodiff.audio.representation import Representation
from audiodiff.data.folder import AudioFolder, check_readable
from audiodiff.data.records import read_records, split_records
from audiodiff.data.synth import SynthSpec, ensure_synth
from audiodiff.data.vocab import LabelVocab
from audiodiff.errors import ConfigError

log = logging.getLogger(__name__)


class AudioDataModule(L.LightningDataModule):
    """Loaders for a folder or manifest of clips.

    ``labels`` names metadata columns that become integer conditions; their vocabulary is
    saved as ``vocab.json`` beside the data (ids of known values never change) unless
    ``vocab_path`` says where. With ``synth`` set, a missing ``root`` is built as the
    built-in synthetic set first.
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
    ) -> None:
        super().__init__()
        if segment_seconds <= 0:
            raise ConfigError(f"segment_seconds must be positive, got {segment_seconds}")
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
        self.vocab_path = Path(vocab_path) if vocab_path else self.root / "vocab.json"
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
        base = LabelVocab.load(self.vocab_path) if self.vocab_path.is_file() else None
        self.vocab = LabelVocab.build(records, self.labels, base=base)
        if self.vocab != base:
            self.vocab.save(self.vocab_path)
        train, val = split_records(records, self.root, self.val_fraction, self.split_seed)
        common = dict(
            vocab=self.vocab,
            sample_rate=self.sample_rate,
            segment_samples=self.segment_samples,
            loudness_db=self.loudness_db,
            representation=self.representation,
            cache_dir=self.cache_dir,
        )
        self.train_set = AudioFolder(train, random_crop=True, **common)
        self.val_set = AudioFolder(val, random_crop=False, **common) if val else None

    def _loader(self, dataset: AudioFolder, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            drop_last=shuffle and len(dataset) >= self.batch_size,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        self.setup()
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        self.setup()
        return self._loader(self.val_set, shuffle=False) if self.val_set else []
