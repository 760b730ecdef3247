"""How much noise a trained denoiser removes at each noise level, on held-out real clips.

For each model and each sigma: take the held-out clips in the model's own representation
(x0: [N, C, T], the first ``--seconds`` of each), add sigma * noise, ask the denoiser for
x0 with the clips' own labels, and report the fraction of the noise left,
``MSE(D(x0 + sigma n), x0) / MSE(x0 + sigma n, x0)`` (1: nothing removed; 0: all of it).
A sampler's last steps run at small sigma, so a model that leaves most of the noise there
leaves it in every sample (the roughness column of ``bench_formulations.py``). Same noise
draw for every model.

    python scripts/probe_denoiser.py --run a=outputs/x/model --run b=outputs/y/model \
        --heldout data/music_notes_heldout --n 32 --name lownoise
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_formulations import encode_real, load_heldout, parse_runs  # noqa: E402
from benchlib import machine, report  # noqa: E402

from audiodiff.pipeline import load  # noqa: E402

SIGMAS = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def noise_left(pipe, x0: torch.Tensor, rows: list[dict], sigmas, seed: int) -> list[float]:
    """For each sigma, MSE(D(x0 + sigma n), x0) / MSE(x0 + sigma n, x0), with the rows'
    labels: the fraction of this noise draw's energy that the denoiser leaves."""
    cond = {label: [row.get(label) or None for row in rows] for label in pipe.labels}
    labels = pipe.encode_cond(cond, len(rows)) if pipe.conditioned else None
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    left = []
    with torch.no_grad():
        for sigma in sigmas:
            d = pipe.denoiser(x0 + sigma * noise, sigma, labels)
            left.append(float(((d - x0) ** 2).mean() / (sigma * noise).pow(2).mean()))
    return left


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", action="append", required=True, help="NAME=CKPT (repeatable)")
    p.add_argument("--heldout", required=True, type=Path, help="folder with metadata.csv")
    p.add_argument("--n", type=int, default=32, help="clips (the first n rows)")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--sigmas", type=float, nargs="+", default=list(SIGMAS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--name", default="probe")
    p.add_argument("--out", type=Path, default=Path("outputs/bench"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows, clips = load_heldout(args.heldout, args.n, args.seconds)
    if not rows:
        raise SystemExit(f"{args.heldout}: no clips in metadata.csv")
    results = {}
    for name, ckpt in parse_runs(args.run).items():
        pipe = load(ckpt, device="cpu")
        x0 = encode_real(pipe, clips)
        results[name] = {"ckpt": ckpt, "noise_left": noise_left(pipe, x0, rows, args.sigmas,
                                                                args.seed)}  # fmt: skip
    columns = ["model", *(f"sigma {s:g}" for s in args.sigmas)]
    table = [[name, *(f"{v:.3f}" for v in r["noise_left"])] for name, r in results.items()]
    result = {"machine": machine(), "heldout": str(args.heldout), "n": len(rows),
              "sigmas": args.sigmas, "runs": results}  # fmt: skip
    report(
        result,
        args.out / f"probe_{args.name}.json",
        f"noise left, MSE(D, x0) / MSE(x, x0), on {len(rows)} held-out clips",
        columns,
        table,
    )


if __name__ == "__main__":
    main()
