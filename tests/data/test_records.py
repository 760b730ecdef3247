import json
import os

import pytest
import torch

from audiodiff.audio.io import save
from audiodiff.data.folder import check_readable
from audiodiff.data.records import read_records, split_key, split_records
from audiodiff.errors import ConfigError


def write_tree(root):
    for rel in ["dogs/a.wav", "dogs/b.flac", "cats/c.wav", "cats/deep/d.ogg"]:
        save(root / rel, torch.zeros(1, 1600) + 0.1, 16000)


def test_folder_scan_is_recursive_and_labels_folders(tmp_path):
    write_tree(tmp_path)
    records = read_records(tmp_path)
    assert [r["folder"] for r in records] == ["cats", "cats/deep", "dogs", "dogs"]
    assert all(r["path"].startswith(str(tmp_path)) for r in records)


def test_csv_manifest_relative_to_itself(tmp_path):
    write_tree(tmp_path)
    (tmp_path / "list.csv").write_text("path,speaker\ndogs/a.wav,rex\ncats/c.wav,tom\n")
    records = read_records("/nonexistent", manifest=tmp_path / "list.csv")
    assert [r["speaker"] for r in records] == ["rex", "tom"]
    assert records[0]["path"] == str(tmp_path / "dogs/a.wav")


def test_jsonl_manifest_and_autodetect(tmp_path):
    write_tree(tmp_path)
    lines = [{"path": "dogs/a.wav", "pitch": 60}, {"path": str(tmp_path / "cats/c.wav")}]
    (tmp_path / "metadata.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    records = read_records(tmp_path)
    assert records[0]["pitch"] == "60" and "pitch" not in records[1]
    assert records[1]["path"] == str(tmp_path / "cats/c.wav")


@pytest.mark.parametrize(
    "content, match",
    [("path,x\n,1\n", "no 'path'"), ("speaker\nrex\n", "no 'path'")],
)
def test_bad_manifest(tmp_path, content, match):
    (tmp_path / "m.csv").write_text(content)
    with pytest.raises(ConfigError, match=match):
        read_records(tmp_path, manifest=tmp_path / "m.csv")


def test_bad_jsonl_names_line(tmp_path):
    (tmp_path / "m.jsonl").write_text('{"path": "a.wav"}\n{oops\n')
    with pytest.raises(ConfigError, match=r"m.jsonl:2"):
        read_records(tmp_path, manifest=tmp_path / "m.jsonl")


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        read_records(tmp_path / "nope")
    with pytest.raises(ConfigError, match="no audio files"):
        read_records(tmp_path)


def test_split_is_deterministic_stable_and_disjoint(tmp_path):
    records = [{"path": str(tmp_path / f"{i:04d}.wav")} for i in range(1000)]
    train, val = split_records(records, tmp_path, 0.1)
    assert len(train) + len(val) == 1000 and 60 < len(val) < 140
    assert not {r["path"] for r in train} & {r["path"] for r in val}
    # same split from a different root prefix (paths are compared relative to the root)
    moved = [{"path": "/elsewhere/" + r["path"].split("/")[-1]} for r in records]
    _, val_moved = split_records(moved, "/elsewhere", 0.1)
    assert [r["path"].split("/")[-1] for r in val_moved] == [r["path"].split("/")[-1] for r in val]
    # adding clips does not move existing ones
    more = records + [{"path": str(tmp_path / f"new{i}.wav")} for i in range(100)]
    _, val_more = split_records(more, tmp_path, 0.1)
    assert {r["path"] for r in val} <= {r["path"] for r in val_more}
    # another seed gives another split
    _, val_seed = split_records(records, tmp_path, 0.1, seed=1)
    assert {r["path"] for r in val_seed} != {r["path"] for r in val}


def test_split_tiny_set_still_validates(tmp_path):
    records = [{"path": str(tmp_path / f"{i}.wav")} for i in range(3)]
    train, val = split_records(records, tmp_path, 0.01)
    assert len(val) == 1 and len(train) == 2
    with pytest.raises(ConfigError):
        split_records(records, tmp_path, 1.5)


@pytest.mark.parametrize(
    "name, blob, match",
    [
        (
            "m.csv",
            "path,x\nkept.wav,é\n".encode("latin-1"),
            r"m.csv:2: not UTF-8 text \(byte 0xe9\)",
        ),
        ("m.csv", b"file,x\na.wav,1\n", r"no 'path' column \(the header has: file, x\)"),
        ("m.csv", b"path,x\na.wav,1,2\n", r"m.csv:2: 3 cells but the header has 2 columns"),
        ("m.csv", b'path\n"a.wav\nb.wav\n', r"row 1: the path has a line break"),
        ("m.csv", b"path\n", r"lists no clips"),
        ("m.csv", b"", r"lists no clips"),
        ("m.csv", b"path,x\na.wav," + b"y" * 200_000 + b"\n", r"m.csv:\d+: not valid CSV"),
        ("m.jsonl", b'{"path": "a.wav"}\n["b.wav"]\n', r"m.jsonl:2: expected a JSON object"),
        ("m.jsonl", b'{"path": "a.wav"}\n{"path": ["b.wav"]}\n', r"row 2 has no 'path'"),
        ("m.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n", r"m.jsonl:1: (JSON nested|not valid)"),
    ],
)
def test_bad_manifests_are_one_line_errors_naming_the_line(tmp_path, name, blob, match):
    (tmp_path / name).write_bytes(blob)
    with pytest.raises(ConfigError, match=match) as e:
        read_records(tmp_path, manifest=tmp_path / name)
    assert str(tmp_path / name) in str(e.value) and "\n" not in str(e.value)


def test_a_byte_order_mark_is_not_part_of_the_header(tmp_path):
    (tmp_path / "m.csv").write_bytes("\ufeffpath,speaker\na.wav,rex\n".encode())
    assert read_records(tmp_path, manifest=tmp_path / "m.csv")[0]["speaker"] == "rex"


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: os.mkfifo(p), "not a regular file"),
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: os.symlink(p.name, p), "symbolic link loop"),
    ],
)
def test_a_manifest_that_is_not_a_file_is_never_read(tmp_path, make, match):
    make(tmp_path / "m.csv")  # a FIFO would block a plain open() until someone writes
    with pytest.raises(ConfigError, match=match):
        read_records(tmp_path, manifest=tmp_path / "m.csv")


def test_check_readable_drops_and_names_duplicates_and_unreadable_files(tmp_path):
    write_tree(tmp_path)
    (tmp_path / "junk.wav").write_bytes(b"not audio")
    paths = ["dogs/a.wav", "cats/c.wav", "./dogs/a.wav", "junk.wav", "missing.wav"]
    kept, errors = check_readable([{"path": str(tmp_path / p)} for p in paths])
    assert [r["path"] for r in kept] == [str(tmp_path / p) for p in paths[:2]]
    assert len(errors) == 3 and "listed twice" in errors[0]
    assert "junk.wav: unreadable" in errors[1] and "missing.wav: no such file" in errors[2]
    with pytest.raises(ConfigError, match=r"no readable clips: .*junk.wav.* \(and 1 more\)"):
        check_readable([{"path": str(tmp_path / p)} for p in paths[3:]])


def test_split_key_of_a_file_name_that_is_not_utf8(tmp_path):
    record = {"path": str(tmp_path / os.fsdecode(b"\xff.wav"))}
    assert 0 <= split_key(record, tmp_path, 0) < 1
