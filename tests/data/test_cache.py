import os

import torch

from audiodiff.data.cache import FeatureCache


def test_cache_key_follows_file_changes(tmp_path):
    src = tmp_path / "a.wav"
    src.write_bytes(b"1234")
    cache = FeatureCache(tmp_path / "c", "ns")
    calls = []

    def compute():
        calls.append(1)
        return torch.full((2, 3), float(len(calls)))

    a = cache.get_or_compute(src, compute)
    b = cache.get_or_compute(src, compute)
    assert torch.equal(a, b) and len(calls) == 1
    src.write_bytes(b"12345")  # size changes -> new key
    c = cache.get_or_compute(src, compute)
    assert len(calls) == 2 and not torch.equal(a, c)
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # mtime changes -> new key
    cache.get_or_compute(src, compute)
    assert len(calls) == 3


def test_corrupt_entry_is_recomputed(tmp_path):
    src = tmp_path / "a.wav"
    src.write_bytes(b"x")
    cache = FeatureCache(tmp_path / "c", "ns")
    cache.get_or_compute(src, lambda: torch.ones(2))
    cache.path(src).write_bytes(b"truncated")
    value = cache.get_or_compute(src, lambda: torch.zeros(2))
    assert torch.equal(value, torch.zeros(2)) and cache.misses == 2
    assert not [p for p in cache.directory.iterdir() if p.name.startswith(".tmp")]
