"""Long files in overlapping chunks, crossfaded: bounded memory whatever the length.

The model sees ``chunk`` samples at a time; consecutive chunks overlap by ``overlap``
samples and are joined by complementary ramps over the middle half of each overlap (the two
weights sum to 1; the outer quarters, where a chunk meets its own edge, weigh 0). So a
process whose reach is under a quarter of the overlap gives the same result chunked and
whole.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def chunk_starts(length: int, chunk: int, overlap: int) -> list[int]:
    """Start sample of each chunk covering [0, length): hop = chunk - overlap."""
    if chunk <= 0 or not 0 <= overlap < chunk:
        raise ValueError(f"need chunk > overlap >= 0, got chunk={chunk}, overlap={overlap}")
    if length <= chunk:
        return [0]
    hop = chunk - overlap
    starts = list(range(0, length - chunk, hop))
    return [*starts, length - chunk]  # the last chunk ends at the file's end


def _ramp(span: int) -> Tensor:
    """0 over the first quarter of ``span``, linear over the middle half, 1 over the last
    quarter: a chunk's first samples (where a model sees its edge) never count."""
    q = span // 4
    rise = span - 2 * q
    return torch.cat([torch.zeros(q), (torch.arange(rise) + 0.5) / rise, torch.ones(q)])


def crossfade_weights(starts: list[int], chunk: int, length: int) -> list[Tensor]:
    """One weight curve per chunk: 1 inside, complementary ramps (``_ramp``) where it
    overlaps a neighbour, so two overlapping curves sum to 1."""
    weights = []
    for i, start in enumerate(starts):
        n = min(chunk, length - start)
        w = torch.ones(n)
        if i > 0:  # fade in over the overlap with the previous chunk
            fade = max(0, min(n, starts[i - 1] + chunk - start))
            if fade:
                w[:fade] = _ramp(fade)
        if i + 1 < len(starts):  # fade out over the overlap with the next chunk
            fade = max(0, min(n, start + chunk - starts[i + 1]))
            if fade:
                w[n - fade :] = torch.minimum(w[n - fade :], 1 - _ramp(fade))
        weights.append(w)
    return weights


def process_in_chunks(
    wav: Tensor,
    fn: Callable[[Tensor], Tensor],
    chunk: int,
    overlap: int,
    on_chunk: Callable[[int, int], None] | None = None,
) -> Tensor:
    """``fn`` over overlapping chunks of ``wav``, crossfaded back into one signal.

    ``fn`` maps [1, C, L] to [1, C, L] (one chunk at a time, so peak memory is one chunk's
    work plus the output); ``on_chunk(i, n)`` reports progress.
    """
    # wav: [C, N] -> [C, N]
    length = wav.shape[-1]
    starts = chunk_starts(length, chunk, overlap)
    weights = crossfade_weights(starts, chunk, length)
    out = torch.zeros_like(wav, dtype=torch.float32)
    total = torch.zeros(length)  # the weights' sum: 1 except where a short last hop overlaps 3
    for i, (start, w) in enumerate(zip(starts, weights, strict=True)):
        piece = wav[..., start : start + w.numel()]
        if piece.shape[-1] < chunk:  # a file shorter than one chunk: pad, then crop
            padded = torch.nn.functional.pad(piece, (0, chunk - piece.shape[-1]))
            result = fn(padded[None])[0][..., : piece.shape[-1]]
        else:
            result = fn(piece[None])[0]
        out[..., start : start + w.numel()] += w * result.float()
        total[start : start + w.numel()] += w
        if on_chunk is not None:
            on_chunk(i, len(starts))
    return out / total
