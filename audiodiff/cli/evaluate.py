"""``audiodiff evaluate generated=DIR reference=DIR [paired=true] [classifier=DIR]``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig
from rich.console import Console

from audiodiff.cli.output import report_skipped
from audiodiff.errors import ConfigError
from audiodiff.metrics.evaluate import (
    evaluate_paired,
    evaluate_unpaired,
    format_table,
    write_json,
)


@dataclass
class Options:
    generated: str
    reference: str
    paired: bool = False
    sample_rate: int = 16000
    pitch: bool = True
    classifier: str | None = None  # noqa: UP007 (OmegaConf needs Optional)
    out: str | None = None  # noqa: UP007 (OmegaConf needs Optional)


def _skip_line(skip: dict) -> str:
    """'generated: PATH: reason' (a reason from our own errors already names the file)."""
    named = skip["path"] in skip["error"]
    return f"{skip['set']}: {skip['error'] if named else skip['path'] + ': ' + skip['error']}"


def run(cfg: DictConfig) -> None:
    if cfg.paired and cfg.classifier is not None:
        raise ConfigError("classifier= (label accuracy) is for the unpaired evaluation only")
    if cfg.paired:
        result = evaluate_paired(cfg.generated, cfg.reference, sample_rate=cfg.sample_rate)
    else:
        result = evaluate_unpaired(
            cfg.generated,
            cfg.reference,
            sample_rate=cfg.sample_rate,
            pitch=cfg.pitch,
            classifier=cfg.classifier,
        )
    out = write_json(result, cfg.out or Path(cfg.generated) / "evaluate.json")
    report_skipped([_skip_line(s) for s in result["skipped"]])
    console = Console(markup=False, highlight=False, soft_wrap=True)
    console.print(format_table(result))
    console.print(f"report: {out}")
