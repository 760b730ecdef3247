"""``audiodiff data encode``: pre-encode a dataset into the feature cache training reads."""

from __future__ import annotations

import time

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from rich.progress import Progress

from audiodiff.errors import ConfigError


def run(cfg: DictConfig) -> None:
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    sets = [s for s in (datamodule.train_set, datamodule.val_set) if s is not None]
    if sets[0].cache is None:
        raise ConfigError("data encode needs a cache folder: set paths.cache_dir or data.cache_dir")
    console = Console(stderr=True)
    start = time.perf_counter()
    with torch.no_grad(), Progress(console=console, disable=not console.is_terminal) as bar:
        for dataset in sets:
            task = bar.add_task("encoding", total=len(dataset))
            for i in range(len(dataset)):
                dataset[i]  # computes and stores the clip's features on a cache miss
                bar.advance(task)
    hits, misses = sum(s.cache.hits for s in sets), sum(s.cache.misses for s in sets)
    rep = datamodule.representation
    Console().print(
        f"encoded {misses} clips ({hits} already cached) with {type(rep).__name__} "
        f"[{rep.channels} x {rep.frame_rate:g} frames/s] in {time.perf_counter() - start:.1f} s; "
        f"cache: {sets[0].cache.directory}"
    )
