"""Label vocabularies: metadata values -> integer ids, with id 0 reserved as the null label."""

from __future__ import annotations

import json
from pathlib import Path

from audiodiff.errors import ConfigError
from audiodiff.fileio import write_text

NULL = "<null>"


def _sort_values(values: set[str]) -> list[str]:
    def key(v: str) -> tuple[int, float, str]:
        try:
            return (0, float(v), v)
        except ValueError:
            return (1, 0.0, v)

    return sorted(values, key=key)


class LabelVocab:
    """For each label (metadata column) the list of its values; a value's id is its index.

    Index 0 of every label is ``<null>``: the id for a missing value (e.g. the pitch of a
    drum) and the "no condition" id that classifier-free guidance uses.
    """

    def __init__(self, values: dict[str, list[str]]) -> None:
        self.values = {k: list(v) for k, v in values.items()}
        for label, vals in self.values.items():
            if not vals or vals[0] != NULL:
                self.values[label] = [NULL] + [v for v in vals if v != NULL]
        self._index = {k: {v: i for i, v in enumerate(vals)} for k, vals in self.values.items()}

    @classmethod
    def build(
        cls, records: list[dict[str, str]], labels: list[str], base: LabelVocab | None = None
    ) -> LabelVocab:
        """Vocabulary of ``labels`` over ``records``; values already in ``base`` keep their ids."""
        values: dict[str, list[str]] = {}
        for label in labels:
            missing = [r["path"] for r in records if label not in r]
            if len(missing) == len(records):
                raise ConfigError(f"label '{label}' is not a metadata column of this dataset")
            seen = {r.get(label, "") for r in records} - {""}
            old = base.values.get(label, [NULL]) if base else [NULL]
            values[label] = old + _sort_values(seen - set(old))
        return cls(values)

    @property
    def labels(self) -> list[str]:
        return list(self.values)

    def size(self, label: str) -> int:
        """Number of ids of ``label``, the null id included (the embedding table size)."""
        return len(self.values[label])

    def encode(self, label: str, value: str | int | None) -> int:
        """Id of ``value``; empty or None gives the null id 0."""
        if label not in self._index:
            raise ConfigError(f"unknown label '{label}'; valid labels: {', '.join(self.labels)}")
        if value is None or str(value) == "":
            return 0
        try:
            return self._index[label][str(value)]
        except KeyError:
            valid = ", ".join(self.values[label][1:])
            raise ConfigError(f"unknown {label} '{value}'; valid values: {valid}") from None

    def decode(self, label: str, index: int) -> str:
        return self.values[label][index]

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.values.items()}

    def save(self, path: str | Path) -> Path:
        return write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> LabelVocab:
        with Path(path).open() as f:
            return cls(json.load(f))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelVocab) and self.values == other.values

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v) - 1}" for k, v in self.values.items())
        return f"LabelVocab({sizes})"
