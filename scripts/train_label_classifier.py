"""Train the label classifier behind ``audiodiff evaluate ... classifier=DIR``.

    python scripts/train_label_classifier.py --data /tmp/synth400 --heldout /tmp/synth_h200 \
        --label instrument --out /tmp/instrument_classifier

Prints train and held-out accuracy and the held-out confusion (true -> predicted counts);
writes classifier.safetensors + classifier.json into --out (the JSON is the report).
"""

from __future__ import annotations

import argparse
import sys

import torch

from audiodiff.errors import ConfigError
from audiodiff.metrics.classifier import train_label_classifier


def _confusion_lines(classes: list[str], confusion: list[list[int]]) -> list[str]:
    lines = []
    for i, row in enumerate(confusion):
        wrong = ", ".join(f"{classes[j]} {n}" for j, n in enumerate(row) if j != i and n)
        lines.append(
            f"  {classes[i]:<14} {row[i]}/{sum(row)}" + (f"  (as {wrong})" if wrong else "")
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", required=True, help="labelled training folder (metadata.csv)")
    p.add_argument("--heldout", help="labelled held-out folder")
    p.add_argument("--label", default="instrument", help="metadata column to predict")
    p.add_argument("--out", required=True, help="folder for classifier.safetensors/.json")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        info = train_label_classifier(
            args.data,
            label=args.label,
            out_dir=args.out,
            heldout=args.heldout,
            steps=args.steps,
            batch_size=args.batch_size,
            seed=args.seed,
        )
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    acc, train = info["accuracy"], info["train"]
    print(
        f"{info['label']}: {len(info['classes'])} classes, {train['n_clips']} clips,"
        f" {info['n_parameters']} parameters, {train['steps']} steps in {train['seconds']} s"
    )
    print(f"train accuracy    {acc['train']:.4f}")
    if "heldout" in acc:
        print(f"held-out accuracy {acc['heldout']:.4f} (n={acc['n_heldout']})")
        print("held-out confusion (correct/total per true value):")
        print("\n".join(_confusion_lines(info["classes"], acc["heldout_confusion"])))
    print(f"classifier: {args.out}/classifier.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
