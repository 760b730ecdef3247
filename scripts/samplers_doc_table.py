"""Side-by-side Markdown tables of two bench_samplers.py runs (e.g. the demo and music models).

    python scripts/samplers_doc_table.py outputs/bench/samplers_demo.json \
        outputs/bench/samplers_music.json
"""

from __future__ import annotations

import argparse
import json

SPECS = (
    "euler,heun,dpmpp_2m,dpmpp_2s,dpmpp_3m,unipc,unipc:order=3,lms,plms,"
    "dpmpp_2m:schedule=exponential,unipc:schedule=exponential,dpmpp_2m_sde"
)
TWO_EVALS = ("heun", "dpmpp_2s", "edm_stochastic")


def nfe_for(spec: str, target: int) -> int:
    return 2 * ((target + 1) // 2) - 1 if spec.split(":")[0] in TWO_EVALS else target


def table(runs: list[dict], specs: list[str], targets: list[int], metric: str) -> str:
    def cell(row: dict | None) -> str:
        if row is None:
            return "–"
        value = row[metric]
        if value != value:  # NaN: the run diverged
            return "diverged"
        return f"{100 * value:.1f}%" if metric == "rel_error" else f"{value:.2f}"

    lines = [
        "| solver | " + " | ".join(f"NFE {t}" for t in targets) + " |",
        "|---|" + "---:|" * len(targets),
    ]
    for spec in specs:
        cells = []
        for t in targets:
            rows = [run.get((spec, nfe_for(spec, t))) for run in runs]
            cells.append(" / ".join(cell(r) for r in rows))
        lines.append(f"| `{spec}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--specs", default=SPECS)
    parser.add_argument("--nfe", default="5,10,20,50")
    args = parser.parse_args()
    runs = [{(r["spec"], r["nfe"]): r for r in json.load(open(path))["rows"]} for path in args.runs]
    specs, targets = args.specs.split(","), [int(t) for t in args.nfe.split(",")]
    for metric in ("rel_error", "mrstft"):
        print(table(runs, specs, targets, metric) + "\n")


if __name__ == "__main__":
    main()
