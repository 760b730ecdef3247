import pytest

from audiodiff.data.vocab import NULL, LabelVocab
from audiodiff.errors import ConfigError

RECORDS = [
    {"path": "a", "instrument": "pluck", "pitch": "60"},
    {"path": "b", "instrument": "bell", "pitch": "9"},
    {"path": "c", "instrument": "kick", "pitch": ""},
    {"path": "d", "instrument": "pluck", "pitch": "100"},
]


def test_build_sorts_values_and_reserves_null():
    vocab = LabelVocab.build(RECORDS, ["instrument", "pitch"])
    assert vocab.values["instrument"] == [NULL, "bell", "kick", "pluck"]
    assert vocab.values["pitch"] == [NULL, "9", "60", "100"]  # numeric order
    assert vocab.encode("pitch", "") == 0 and vocab.encode("pitch", None) == 0
    assert vocab.encode("pitch", 60) == 2 and vocab.decode("pitch", 2) == "60"
    assert vocab.size("instrument") == 4


def test_unknown_values_list_valid_choices():
    vocab = LabelVocab.build(RECORDS, ["instrument"])
    with pytest.raises(ConfigError, match="valid values: bell, kick, pluck"):
        vocab.encode("instrument", "tuba")
    with pytest.raises(ConfigError, match="valid labels: instrument"):
        vocab.encode("speaker", "x")


def test_missing_column_is_an_error():
    with pytest.raises(ConfigError, match="'speaker' is not a metadata column"):
        LabelVocab.build(RECORDS, ["speaker"])


def test_ids_stay_stable_when_values_are_added(tmp_path):
    vocab = LabelVocab.build(RECORDS, ["instrument"])
    path = vocab.save(tmp_path / "vocab.json")
    loaded = LabelVocab.load(path)
    assert loaded == vocab
    more = RECORDS + [{"path": "e", "instrument": "accordion"}]
    grown = LabelVocab.build(more, ["instrument"], base=loaded)
    for v in ["bell", "kick", "pluck"]:
        assert grown.encode("instrument", v) == vocab.encode("instrument", v)
    assert grown.encode("instrument", "accordion") == 4
