import os
import stat

import pytest

from audiodiff.fileio import atomic_path, write_text


def test_atomic_write_replaces_and_uses_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_text(tmp_path / "sub" / "a.txt", "one")
        write_text(path, "two")
    finally:
        os.umask(old)
    assert path.read_text() == "two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_failed_write_keeps_old_file_and_leaves_no_debris(tmp_path):
    path = write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
