"""``audiodiff data degrade in=DIR out=DIR [degrade=mix] [seed=0] [n=...]``: a paired set of
clean and degraded clips for restoration, with the operators and parameters of each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console

from audiodiff.audio.io import SAMPLE_RATES
from audiodiff.cli.output import prepare_output_dir, report_skipped
from audiodiff.data.records import read_records
from audiodiff.errors import AudioDiffError, ConfigError
from audiodiff.restore.base import Operator
from audiodiff.restore.pairs import check_folders, write_pairs


@dataclass
class Options:  # and `in`, the input folder (a Python keyword, so checked in run)
    out: str
    seed: int = 0
    n: int | None = None  # noqa: UP007 (OmegaConf needs Optional)
    sample_rate: int = 16000
    noise_dir: str | None = None  # noqa: UP007
    overwrite: bool = False
    subtype: str = "FLOAT"


def _operator(cfg: DictConfig) -> Operator:
    """The ``degrade`` group instantiated; an operator's own error becomes one line."""
    try:
        return instantiate(cfg.degrade, _convert_="all")  # nested operators as objects
    except InstantiationException as e:
        cause = e.__cause__
        if isinstance(cause, AudioDiffError):
            raise ConfigError(f"degrade: {cause}") from None
        raise


def _check(cfg: DictConfig) -> Path:
    root = cfg["in"]
    if isinstance(root, int | float) and not isinstance(root, bool):
        root = str(root)  # a folder named like a number
    if not isinstance(root, str) or not root.strip():
        raise ConfigError(f"in: the input folder, got {root!r}")
    if cfg.n is not None and cfg.n < 1:
        raise ConfigError(f"n must be at least 1, got {cfg.n}")
    low, high = SAMPLE_RATES
    if not low <= cfg.sample_rate <= high:
        raise ConfigError(f"sample_rate must be {low} to {high} Hz, got {cfg.sample_rate}")
    if not sf.check_format("WAV", cfg.subtype):
        raise ConfigError(f"subtype: '{cfg.subtype}' is not a WAV sample format (FLOAT, PCM_16)")
    check_folders(Path(root), Path(cfg.out))
    return Path(root)


def run(cfg: DictConfig) -> None:
    root = _check(cfg)
    records = read_records(root)
    degrade = _operator(cfg)
    out = prepare_output_dir(cfg.out, cfg.overwrite)
    result = write_pairs(
        records,
        root,
        out,
        degrade,
        sample_rate=cfg.sample_rate,
        seed=cfg.seed,
        n=cfg.n,
        subtype=cfg.subtype,
    )
    report_skipped(result.skipped)
    if not result.written:
        raise ConfigError(f"no file of {root} could be read ({len(result.skipped)} skipped)")
    Console(markup=False, highlight=False, soft_wrap=True).print(
        f"degraded {result.written} clips ({len(result.skipped)} unreadable skipped) at "
        f"{cfg.sample_rate} Hz, seed {cfg.seed}: {out / 'clean'}, {out / 'degraded'}, "
        f"{result.metadata}"
    )
