"""Quality versus steps on a trained model: every solver against a 250-step Heun reference.

    python scripts/bench_samplers.py --ckpt outputs/demo/run/model --prompts synth_grid \
        --reference-dir data/synth_heldout --name demo
    python scripts/bench_samplers.py --ckpt outputs/music/run/model \
        --reference-dir data/music_heldout --seconds 2 --name music

A fixed set of initial noises (clip i: seed i) and conditions is solved once with Heun at
``--reference-steps`` steps (the reference) and by each solver at NFE 5, 10, 20, 50. For each
run: relative error in the model's space ||x - x_ref|| / ||x_ref|| (mean over clips),
multi-resolution STFT distance to the reference after decoding (the same deterministic
decoder for both), and for ``--eval-solvers`` at ``--eval-nfe`` the ``evaluate`` metrics
(FD against ``--reference-dir``; pitch hit rate when the prompts carry a ``pitch``).
A solver spec is ``name[:key=value...]``: ``schedule=``, ``rho=``, ``sigma_min=`` and
``sigma_max=`` set the step schedule,
other keys are solver options, e.g. ``unipc:order=3`` or ``dpmpp_2m:schedule=exponential``.
Stochastic solvers draw other samples than the ODE: their distance to the reference is not a
convergence measure (marked in the table). Writes JSON, a Markdown table and a PNG plot.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import tempfile
import time
from pathlib import Path

import torch
from benchlib import machine, report

import audiodiff
from audiodiff.audio.io import save
from audiodiff.cli.generate import find_prompts, read_prompts
from audiodiff.generation import sample, seeded_noise
from audiodiff.metrics.evaluate import evaluate_unpaired
from audiodiff.metrics.paired import multi_resolution_stft_distance
from audiodiff.sampling.solvers import nfe

DETERMINISTIC = "euler,heun,dpmpp_2m,dpmpp_2s,dpmpp_3m,unipc,unipc:order=3,lms,plms"
LOW_NFE = (
    "lms:schedule=exponential:sigma_min=0.05,dpmpp_2m:schedule=exponential:sigma_min=0.05,"
    "unipc:schedule=exponential,dpmpp_2m:schedule=exponential"
)
STOCHASTIC = {"euler_ancestral", "dpmpp_2m_sde", "edm_stochastic"}
TWO_EVALS = {"heun", "dpmpp_2s", "edm_stochastic"}
SCHEDULE_KEYS = ("schedule", "rho", "sigma_min", "sigma_max")


def parse_spec(spec: str) -> tuple[str, dict, dict]:
    """'unipc:order=3:schedule=exponential' -> (name, schedule kwargs, solver options)."""
    name, *pairs = spec.split(":")
    schedule, options = {}, {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        value = float(value) if "." in value else int(value) if value.isdigit() else value
        (schedule if key in SCHEDULE_KEYS else options)[key] = value
    return name, schedule, options


def steps_for(name: str, target_nfe: int) -> int:
    """Most steps whose NFE does not exceed the target (2N - 1 evaluations for 2-stage ones)."""
    return max(1, (target_nfe + 1) // 2) if name in TWO_EVALS else target_nfe


def conditions(pipe, prompts: str | None, n: int) -> dict | None:
    """{label: [n values]} cycling through the prompt rows, or through the first label."""
    if not pipe.vocab.labels:
        return None
    if prompts:
        rows = [c for c, _ in read_prompts(find_prompts(prompts), 1)]
    else:
        label = pipe.vocab.labels[0]
        rows = [{label: v} for v in pipe.labels[label]]
    picked = list(itertools.islice(itertools.cycle(rows), n))
    return {k: [row.get(k) for row in picked] for k in pipe.vocab.labels}


def decode(pipe, x: torch.Tensor) -> torch.Tensor:
    torch.manual_seed(0)  # whatever randomness a decoder has, the same for every run
    # a diverged run (huge x) decodes to inf/NaN: count it as silence, not as a crash
    return pipe.decode(x).nan_to_num(0.0, 0.0, 0.0).clamp(-1, 1)


def evaluate(pipe, wav: torch.Tensor, cond: dict | None, reference_dir: str) -> dict:
    """FD (and pitch hits when the prompts have a pitch) of ``wav`` via ``evaluate_unpaired``."""
    has_pitch = bool(cond) and "pitch" in cond
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for i in range(len(wav)):
            save(Path(tmp) / f"{i:03d}.wav", wav[i], pipe.sample_rate)
            pitch = cond["pitch"][i] if has_pitch else None
            rows.append({"path": f"{i:03d}.wav", "pitch": "" if pitch is None else pitch})
        with open(Path(tmp) / "metadata.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["path", "pitch"])
            writer.writeheader()
            writer.writerows(rows)
        result = evaluate_unpaired(tmp, reference_dir, pipe.sample_rate, has_pitch, False)
    out = {"fd": result["fd"], "fd_floor": result["fd_floor"]}
    if has_pitch and result["pitch"]:
        out["pitch_hit_rate"] = result["pitch"].get("hit_rate")
    return out


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    specs = list(dict.fromkeys(r["spec"] for r in rows))
    colors = plt.cm.tab20(range(len(specs)))
    for spec, color in zip(specs, colors, strict=True):
        pts = sorted((r["nfe"], r["rel_error"], r["mrstft"]) for r in rows if r["spec"] == spec)
        style = "--" if parse_spec(spec)[0] in STOCHASTIC else "-"
        for ax, k in zip(axes, (1, 2), strict=True):
            ax.plot(
                [p[0] for p in pts], [p[k] for p in pts], style, marker="o", label=spec, c=color
            )
    for ax, ylabel in zip(axes, ("relative error in model space", "MR-STFT distance"), strict=True):
        ax.set(xscale="log", yscale="log", xlabel="network evaluations (NFE)", ylabel=ylabel)
        ax.grid(True, which="both", alpha=0.3)
        nfes = {r["nfe"] for r in rows}
        ticks = sorted(n for n in nfes if n + 1 not in nfes)  # 2-stage solvers run 2N - 1
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
    axes[0].axhline(0.05, color="grey", lw=0.8)
    axes[0].axhline(0.15, color="grey", lw=0.8)
    axes[1].legend(fontsize=7, ncol=2)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(rows: list[dict], reference: dict) -> str:
    lines = [
        "| solver | NFE | rel. error | MR-STFT | FD | pitch hits |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def cell(x, fmt):
        return "" if x is None else format(x, fmt)

    for r in rows:
        mark = " (stochastic)" if parse_spec(r["spec"])[0] in STOCHASTIC else ""
        lines.append(
            f"| {r['spec']}{mark} | {r['nfe']} | {r['rel_error']:.3f} | {r['mrstft']:.3f} | "
            f"{cell(r.get('fd'), '.1f')} | {cell(r.get('pitch_hit_rate'), '.2f')} |"
        )
    lines.append(
        f"| heun reference | {reference['nfe']} | 0 | 0 | {cell(reference.get('fd'), '.1f')} | "
        f"{cell(reference.get('pitch_hit_rate'), '.2f')} |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--name", default="model", help="used in output file names")
    parser.add_argument("--prompts", default=None, help="prompts CSV or shipped name")
    parser.add_argument("--reference-dir", default=None, help="real clips for FD; none: skip")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--cfg-scale", type=float, default=2.0)
    parser.add_argument("--solvers", default=f"{DETERMINISTIC},{LOW_NFE},dpmpp_2m_sde")
    parser.add_argument("--nfe", default="5,10,20,50")
    parser.add_argument("--reference-steps", type=int, default=250)
    parser.add_argument("--eval-solvers", default="euler,heun,dpmpp_2m,dpmpp_3m,unipc")
    parser.add_argument("--eval-nfe", default="10,20")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    parser.add_argument("--out", default=None, help="JSON (default outputs/bench/samplers_NAME)")
    parser.add_argument("--md", default=None, help="Markdown table (default next to the JSON)")
    parser.add_argument("--png", default=None, help="plot (default docs/img/samplers_NAME.png)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out or f"outputs/bench/samplers_{args.name}.json")
    md_path = Path(args.md or out.with_suffix(".md"))
    png = Path(args.png or f"docs/img/samplers_{args.name}.png")

    pipe = audiodiff.load(args.ckpt, device=args.device)
    diffusion = pipe.config["diffusion"]
    frames = max(1, math.ceil(args.seconds * pipe.representation.frame_rate))
    shape = (args.n, pipe.representation.channels, frames)
    cond = conditions(pipe, args.prompts, args.n)
    labels = pipe.encode_cond(cond, args.n) if cond else None
    noise = seeded_noise(shape, list(range(args.n)))

    sigma_range = {k: float(diffusion[k]) for k in ("sigma_min", "sigma_max")}

    def run(name: str, steps: int, schedule: dict, options: dict) -> torch.Tensor:
        chunks = []
        for s in range(0, args.n, args.batch):
            part = {k: v[s : s + args.batch] for k, v in labels.items()} if labels else None
            chunks.append(
                sample(
                    pipe.denoiser,
                    noise[s : s + args.batch].shape,
                    cond=part,
                    sampler=name,
                    steps=steps,
                    options=options,
                    cfg_scale=args.cfg_scale,
                    noise=noise[s : s + args.batch],
                    seed=s,
                    device=args.device,
                    **{**sigma_range, **schedule},
                ).cpu()
            )
        return torch.cat(chunks)

    t0 = time.perf_counter()
    x_ref = run("heun", args.reference_steps, {}, {})
    wav_ref = decode(pipe, x_ref)
    reference = {"nfe": nfe("heun", args.reference_steps), "seconds": time.perf_counter() - t0}
    if args.reference_dir:
        reference.update(evaluate(pipe, wav_ref, cond, args.reference_dir))
    print(f"reference: Heun {args.reference_steps} steps in {reference['seconds']:.0f} s")

    eval_solvers, eval_nfe = (
        args.eval_solvers.split(","),
        [int(v) for v in args.eval_nfe.split(",")],
    )
    rows = []
    for spec in args.solvers.split(","):
        name, schedule, options = parse_spec(spec)
        for target in (int(v) for v in args.nfe.split(",")):
            steps = steps_for(name, target)
            t0 = time.perf_counter()
            x = run(name, steps, schedule, options)
            seconds = time.perf_counter() - t0
            rel = ((x - x_ref).flatten(1).norm(dim=1) / x_ref.flatten(1).norm(dim=1)).mean()
            wav = decode(pipe, x)
            mr = multi_resolution_stft_distance(wav[:, 0], wav_ref[:, 0]).mean()
            row = {
                "spec": spec,
                "steps": steps,
                "nfe": nfe(name, steps),
                "rel_error": rel.item(),
                "mrstft": mr.item(),
                "seconds": seconds,
            }
            if args.reference_dir and spec in eval_solvers and target in eval_nfe:
                row.update(evaluate(pipe, wav, cond, args.reference_dir))
            rows.append(row)
            print(f"{spec:34s} NFE {row['nfe']:3d}  rel {row['rel_error']:.4f}  mr {mr:.3f}")

    result = {
        **machine(args.device),
        "ckpt": args.ckpt,
        "n": args.n,
        "seconds": args.seconds,
        "cfg_scale": args.cfg_scale,
        "reference": {"solver": "heun", "steps": args.reference_steps, **reference},
        "rows": rows,
    }
    title = f"{args.name}: {args.n} x {args.seconds:g} s, cfg {args.cfg_scale:g}"
    table = [
        [
            r["spec"],
            str(r["nfe"]),
            f"{r['rel_error']:.3f}",
            f"{r['mrstft']:.3f}",
            "" if r.get("fd") is None else f"{r['fd']:.1f}",
            "" if r.get("pitch_hit_rate") is None else f"{r['pitch_hit_rate']:.2f}",
        ]
        for r in rows
    ]
    report(result, out, title, ["solver", "NFE", "rel. error", "MR-STFT", "FD", "pitch"], table)
    md_path.write_text(markdown(rows, result["reference"]))
    plot(rows, png, title)
    print(f"written: {md_path}, {png}")
    print(json.dumps({"reference": result["reference"]}))


if __name__ == "__main__":
    main()
