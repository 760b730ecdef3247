"""Add training levels to a model exported before training kept them (``levels`` in its config).

    python scripts/fit_levels.py --model outputs/mel30/m128/model --data data/music_1500

Reads the clips of ``--data`` (the folder the model was trained on) as training reads them
(the model's sample rate, crop length and loudness setting, the model's labels) and writes the
``levels`` entry that ``audiodiff train`` now fits itself (``audiodiff/data/levels.py``) into
the model's config.yaml, so ``generate level=data`` works on it. Every clip of the folder is
read, validation clips included, up to ``--limit``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from audiodiff.data.folder import AudioFolder
from audiodiff.data.levels import fit_on_dataset
from audiodiff.data.records import read_records
from audiodiff.data.vocab import LabelVocab
from audiodiff.fileio import write_text
from audiodiff.safe_load import read_config


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a model folder (config.yaml + weights)")
    p.add_argument("--data", required=True, help="the folder it was trained on")
    p.add_argument("--limit", type=int, default=2000)
    args = p.parse_args()
    path = Path(args.model) / "config.yaml"
    config = read_config(path)
    data = config["data"]
    sample_rate = int(config["representation"]["sample_rate"])
    folder = AudioFolder(
        read_records(Path(args.data)),
        LabelVocab(config["vocab"]),
        sample_rate,
        round(float(data["segment_seconds"]) * sample_rate),
        random_crop=False,
        loudness_db=data.get("loudness_db"),
    )
    config["levels"] = fit_on_dataset(folder, limit=args.limit)
    write_text(path, yaml.safe_dump(config, sort_keys=False))
    groups = len(config["levels"]["groups"])
    print(f"{path}: levels of {min(len(folder), args.limit)} clips, {groups} label groups")


if __name__ == "__main__":
    main()
