"""Does a negative prompt move away? The classifier's rate of an instrument with and without
that instrument as the negative prompt, for the same seeds.

    python scripts/bench_negative.py --ckpt outputs/formulations/text_synth_flow/model \
        --classifier outputs/classifier_synth --n 24

For each instrument the classifier knows, ``--n`` clips are drawn with ``--prompt`` (default
empty: the unconditional branch) twice with the same seeds: plain, and with
``negative_prompt="a <instrument>"`` (CFG ``--cfg``). Reported: the fraction classified as that
instrument in each case. Prints a table, writes JSON (default outputs/bench/negative_NAME.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from audiodiff.metrics.classifier import LabelClassifier
from audiodiff.pipeline import load


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", required=True, help="a text model")
    p.add_argument("--classifier", required=True)
    p.add_argument("--prompt", default="")
    p.add_argument("--n", type=int, default=24)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--cfg", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = load(args.ckpt, device="cpu")
    classifier = LabelClassifier.load(args.classifier)
    kw = {"n": args.n, "seconds": args.seconds, "steps": args.steps, "cfg_scale": args.cfg,
          "seed": args.seed, "sampler": "dpmpp_2m"}  # fmt: skip
    results = {}
    for value in classifier.classes:
        words = value.replace("_", " ")
        rates = []
        for negative in (None, {"prompt": f"a {words}"}):
            wav = pipe.generate(cond={"prompt": args.prompt}, negative_cond=negative, **kw)
            predicted = classifier.predict(wav, pipe.sample_rate)
            rates.append(sum(v == value for v in predicted) / len(predicted))
        results[value] = {"plain": rates[0], "with_negative": rates[1]}
    print(f"\n{args.ckpt}: prompt {args.prompt!r}, {args.n} clips per row, cfg {args.cfg}\n")
    print("| instrument | rate, plain | rate, negative prompt 'a <instrument>' |")
    print("|---|---:|---:|")
    for value, r in results.items():
        print(f"| {value} | {r['plain']:.2f} | {r['with_negative']:.2f} |")
    keys = ("plain", "with_negative")
    mean = {k: sum(r[k] for r in results.values()) / len(results) for k in keys}
    print(f"| mean | {mean['plain']:.3f} | {mean['with_negative']:.3f} |")
    out = Path(args.out or f"outputs/bench/negative_{Path(args.ckpt).parent.name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "results": results, "mean": mean}, indent=1))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
