"""Chunked processing equals whole-file processing for a local process; weights sum to 1."""

import pytest
import torch

from audiodiff.restore.chunking import chunk_starts, crossfade_weights, process_in_chunks

CASES = [(1000, 256, 64), (999, 300, 100), (257, 256, 200), (100, 256, 64)]


@pytest.mark.parametrize(("length", "chunk", "overlap"), CASES)
def test_chunks_cover_the_file_and_the_weights_sum_to_one(length, chunk, overlap):
    starts = chunk_starts(length, chunk, overlap)
    weights = crossfade_weights(starts, chunk, length)
    total = torch.zeros(length)
    for start, w in zip(starts, weights, strict=True):
        total[start : start + w.numel()] += w
    assert starts[0] == 0 and starts[-1] + weights[-1].numel() == length
    assert (total > 0).all()
    if len(starts) < 3 or starts[-1] - starts[-2] >= overlap:  # regular: two at a time
        assert torch.allclose(total, torch.ones(length), atol=1e-6)


def test_a_local_filter_gives_the_same_result_chunked_and_whole():
    torch.manual_seed(0)
    wav = torch.randn(1, 5000)
    kernel = torch.randn(1, 1, 33)

    def filt(x):  # [1, 1, L] -> [1, 1, L], a 33-tap FIR, zero-padded at the chunk's edges
        return torch.nn.functional.conv1d(x, kernel, padding=16)

    whole = filt(wav[None])[0]
    calls = []
    chunked = process_in_chunks(
        wav, filt, chunk=1024, overlap=128, on_chunk=lambda i, n: calls.append(n)
    )
    # a quarter of the overlap (32) covers the filter's reach (16): only exact values mix
    assert torch.allclose(chunked, whole, atol=1e-4)
    assert len(calls) == len(chunk_starts(5000, 1024, 128)) > 4


def test_damage_at_the_chunk_edges_never_reaches_the_output():
    wav = torch.ones(1, 4000)

    def edge_sensitive(x):  # ruins the first and last 10 samples of whatever it is given
        y = x.clone()
        y[..., :10] = 0
        y[..., -10:] = 0
        return y

    out = process_in_chunks(wav, edge_sensitive, chunk=1000, overlap=200)
    assert len(chunk_starts(4000, 1000, 200)) == 5
    # inside the file the ruined edges weigh nothing (10 < 200 / 4); the file's own two
    # ends have no neighbour to hide them
    assert torch.equal(out[:, 10:-10], wav[:, 10:-10])
