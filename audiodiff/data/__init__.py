"""Datasets: the built-in synth set, folders and manifests, label vocabularies, feature cache.

The Lightning data module lives in ``audiodiff.data.datamodule`` (importing Lightning is slow,
so it is not imported here).
"""

from audiodiff.data.folder import AudioFolder
from audiodiff.data.records import read_records, split_records
from audiodiff.data.vocab import LabelVocab

__all__ = ["AudioFolder", "LabelVocab", "read_records", "split_records"]
