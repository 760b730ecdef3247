"""Batches that can be drawn again: a seeded epoch sampler and a loader that resumes mid-epoch.

The order of epoch e and every item's crop seed come from ``(seed, e)`` alone, never from
the global RNG or a worker's RNG. So a run killed mid-epoch and resumed from its checkpoint
sees exactly the batches an uninterrupted run sees, whatever ``num_workers`` is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

# Item keys are (index, crop_seed); AudioFolder crops with torch.Generator(crop_seed).
Key = tuple[int, int]


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator for epoch ``epoch`` of a run seeded ``seed`` (a fixed mix of the two)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (2**63 - 1))


class EpochSampler(Sampler[Key]):
    """Yields (index, crop_seed) for each of ``n`` items: shuffled per epoch, or in order.

    ``set_epoch`` (Lightning calls it at each epoch start) picks the permutation;
    ``skip(k)`` makes the next pass start at item ``k`` of this process's share (a resume).
    With ``replicas`` > 1 (DDP), process ``rank`` takes every replicas-th key of the epoch,
    the epoch padded from its start to a multiple of ``replicas`` (as DistributedSampler).
    """

    def __init__(
        self, n: int, seed: int = 0, shuffle: bool = True, replicas: int = 1, rank: int = 0
    ) -> None:
        if not 0 <= rank < replicas:
            raise ValueError(f"rank {rank} out of range for {replicas} replicas")
        self.n = n
        self.seed = seed
        self.shuffle = shuffle
        self.replicas = replicas
        self.rank = rank
        self.epoch = 0
        self._skip: tuple[int, int] | None = None  # (epoch, items) to skip once

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def skip(self, items: int) -> None:
        """Start the next pass of *this* epoch at item ``items``. If the next pass is of
        another epoch (the saved one had ended), it starts at 0."""
        self._skip = (self.epoch, max(0, int(items)))

    def keys(self) -> list[Key]:
        """This process's keys of the epoch, in order."""
        g = epoch_generator(self.seed, self.epoch)
        order = torch.randperm(self.n, generator=g) if self.shuffle else torch.arange(self.n)
        crops = torch.randint(0, 2**62, (self.n,), generator=g)
        keys = [(int(i), int(c)) for i, c in zip(order, crops, strict=True)]
        if self.replicas > 1:
            keys += keys[: len(self) * self.replicas - self.n]
            keys = keys[self.rank :: self.replicas]
        return keys

    def __iter__(self) -> Iterator[Key]:
        skip, self._skip = self._skip, None
        start = skip[1] if skip is not None and skip[0] == self.epoch else 0
        yield from self.keys()[start:]

    def __len__(self) -> int:
        return -(-self.n // self.replicas)


class ResumableLoader(DataLoader):
    """A ``DataLoader`` over an ``EpochSampler`` with Lightning's ``state_dict`` interface.

    The state is (epoch, batches handed out this pass). Lightning saves it in every
    checkpoint and loads it before the resumed epoch starts, so the loader skips exactly the
    batches already trained on. Lightning reads the state with no batch prefetched (the loader
    has a length), so "handed out" is "trained on".
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
        num_workers: int = 0,
        replicas: int = 1,
        rank: int = 0,
        **kwargs: Any,
    ) -> None:
        sampler = kwargs.pop("sampler", None) or EpochSampler(
            len(dataset), seed, shuffle, replicas, rank
        )
        # the base seed of worker processes: from this generator, not the global RNG
        generator = kwargs.pop("generator", None) or torch.Generator().manual_seed(seed)
        super().__init__(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            drop_last=drop_last,
            num_workers=num_workers,
            generator=generator,
            **kwargs,
        )
        self.served = 0

    def __iter__(self) -> Iterator[Any]:
        self.served = 0
        for batch in super().__iter__():
            self.served += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        epoch = getattr(self.sampler, "epoch", 0)
        return {"epoch": int(epoch), "batches": int(self.served)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        epoch, batches = int(state.get("epoch", 0)), int(state.get("batches", 0))
        if batches >= len(self):  # saved at the end of an epoch: the next one starts afresh
            epoch, batches = epoch + 1, 0
        if isinstance(self.sampler, EpochSampler):
            # set here, not only by Lightning's set_epoch: worker processes start drawing
            # keys as soon as the resumed loader's iterator is made, before that call
            self.sampler.set_epoch(epoch)
            self.sampler.skip(batches * int(self.batch_size or 1))
