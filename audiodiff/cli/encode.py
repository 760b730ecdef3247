"""``audiodiff data encode``: pre-encode a dataset into the feature cache training reads."""

from __future__ import annotations

import time

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from rich.progress import Progress

from audiodiff.cli.output import report_skipped
from audiodiff.errors import ConfigError


def run(cfg: DictConfig) -> None:
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    sets = [s for s in (datamodule.train_set, datamodule.val_set) if s is not None]
    if sets[0].cache is None:
        raise ConfigError("data encode needs a cache folder: set paths.cache_dir or data.cache_dir")
    console = Console(stderr=True)
    clips = [(s, r["path"]) for s in sets for r in s.records]
    cached = sum(s.cache.path(path).is_file() for s, path in clips)
    start = time.perf_counter()
    with torch.no_grad(), Progress(console=console, disable=not console.is_terminal) as bar:
        for dataset in sets:
            task = bar.add_task("encoding", total=len(dataset))
            for i in range(len(dataset)):
                bar.advance(task)
                if dataset.records[i]["path"] in dataset.failures:
                    continue  # failed already, as the stand-in for an earlier clip
                try:
                    dataset[i]  # computes and stores the clip's features on a cache miss
                except ConfigError:  # no clip of this set from i on can be read
                    if not dataset.failures:
                        raise
                    break
    # unreadable headers were dropped at setup; clips that failed to decode, while encoding
    skipped = list(datamodule.skipped) + [e for s in sets for e in s.failures.values()]
    report_skipped(skipped, "clips")
    encoded = len(clips) - cached - sum(len(s.failures) for s in sets)
    rep = datamodule.representation
    Console(markup=False, highlight=False, soft_wrap=True).print(
        f"encoded {encoded} clips ({cached} already cached, {len(skipped)} skipped) with "
        f"{type(rep).__name__} [{rep.channels} x {rep.frame_rate:g} frames/s] in "
        f"{time.perf_counter() - start:.1f} s; cache: {sets[0].cache.directory}"
    )
