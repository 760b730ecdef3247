"""What every benchmark script shares: the machine description, JSON output, the table."""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table


def machine(device: str = "cpu") -> dict:
    """Device name, CPU threads and torch version, recorded with every result."""
    name = torch.cuda.get_device_name() if device == "cuda" else platform.machine()
    return {"device": name, "threads": torch.get_num_threads(), "torch": torch.__version__}


def report(
    result: dict, out: str | Path, title: str, columns: Sequence[str], rows: list[list[str]]
) -> Path:
    """Write ``result`` as JSON to ``out`` and print ``rows`` as a table."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print(f"written: {out}")
    return out
