"""Training speed of audiodiff's U-Net against audio-diffusion-pytorch's UNetV0, in one process.

    python scripts/bench_unet_peers.py [--batch 8] [--channels 80] [--frames 256] [--threads 2]
        [--repeats 12] [--ours NAME,...] [--compile] [--out outputs/bench/unet_peers.json]

Each model runs forward + backward of its own library's training loss (audiodiff: flow
matching through ``FlowDenoiser`` / ``FlowLoss``; audio-diffusion-pytorch: its
``DiffusionModel`` with ``VDiffusion``) on the same random batch. The models take turns, one
step each, so a slower or busier moment of the machine falls on all of them alike; the table
gives the median of ``--repeats`` turns after two warm-up turns, and each model's speed
relative to the peer.

audio-diffusion-pytorch is a benchmark extra, installed without its dependencies (it asks for
torchaudio, whose registry builds need CUDA torch): ``make bench-unet-peers`` installs it.
Its module imports ``torchaudio.transforms`` for a mel class this benchmark does not use, so a
placeholder module stands in for it here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
from collections.abc import Callable

import torch
from benchlib import machine, report
from omegaconf import OmegaConf

from audiodiff.cli.config import config_dir
from audiodiff.diffusion.flow import FlowDenoiser, FlowLoss
from audiodiff.nn.unet import UNet1d

LABELS = {"instrument": 14, "pitch": 64}

# The peer at 10.6M parameters with 80 input channels: the layout of its README's example
# (channels per level, one factor-2 downsampling per level, two blocks per level, attention
# at the coarsest level, 8 heads of 64 features).
ADP_CONFIG = dict(
    channels=[128, 128, 256],
    factors=[1, 2, 2],
    items=[2, 2, 2],
    attentions=[0, 0, 1],
    attention_heads=8,
    attention_features=64,
)

# Our U-Net at about the peer's parameter count, laid out in two ways: the peer's own layout,
# and conf/model/deep.yaml (five levels, the parameters at the coarse ones).
OURS = {
    "peer_layout": dict(
        channels=128, channel_mults=[1, 1, 2], num_res_blocks=2, attention_levels=[2], num_heads=8
    ),
    "deep": "deep",  # a conf/model file
}


def our_layout(name: str) -> dict:
    layout = OURS[name]
    if isinstance(layout, str):
        node = OmegaConf.load(config_dir() / "model" / f"{layout}.yaml")
        return {k: v for k, v in OmegaConf.to_container(node).items() if not k.startswith("_")}
    return layout


def adp_model(in_channels: int) -> torch.nn.Module:
    if "torchaudio" not in sys.modules:  # placeholder for the unused mel class's import
        placeholder = types.ModuleType("torchaudio")
        placeholder.transforms = types.ModuleType("torchaudio.transforms")
        sys.modules["torchaudio"] = placeholder
        sys.modules["torchaudio.transforms"] = placeholder.transforms
    try:
        from audio_diffusion_pytorch import DiffusionModel, UNetV0, VDiffusion, VSampler
    except ImportError as e:
        raise SystemExit(
            f"audio-diffusion-pytorch is not installed ({e}); `make bench-unet-peers` installs it"
        ) from None
    return DiffusionModel(
        net_t=UNetV0,
        in_channels=in_channels,
        diffusion_t=VDiffusion,
        sampler_t=VSampler,
        **ADP_CONFIG,
    )


def our_step(name: str, x: torch.Tensor, compile_net: bool) -> tuple[Callable[[], None], int]:
    net = UNet1d(x.shape[1], label_sizes=LABELS, **our_layout(name))
    denoiser = FlowDenoiser(torch.compile(net) if compile_net else net)
    loss_fn = FlowLoss()
    cond = {k: torch.randint(0, n, (x.shape[0],)) for k, n in LABELS.items()}

    def step() -> None:
        denoiser.zero_grad(set_to_none=True)
        loss_fn(denoiser, x, cond).backward()

    return step, sum(p.numel() for p in net.parameters())


def peer_step(x: torch.Tensor) -> tuple[Callable[[], None], int]:
    model = adp_model(x.shape[1])

    def step() -> None:
        model.zero_grad(set_to_none=True)
        model(x).backward()

    return step, sum(p.numel() for p in model.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--channels", type=int, default=80)
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=12)
    parser.add_argument("--ours", default=",".join(OURS), help=f"of {', '.join(OURS)}")
    parser.add_argument(
        "--compile", action="store_true", help="also time each of ours under torch.compile"
    )
    parser.add_argument("--out", default="outputs/bench/unet_peers.json")
    args = parser.parse_args()
    unknown = sorted(set(args.ours.split(",")) - set(OURS))
    if unknown:
        raise SystemExit(f"--ours: unknown {unknown}; known: {', '.join(OURS)}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.channels, args.frames)

    steps: dict[str, tuple[Callable[[], None], int]] = {
        "audio-diffusion-pytorch UNetV0": peer_step(x)
    }
    for name in args.ours.split(","):
        steps[f"audiodiff {name}"] = our_step(name, x, False)
        if args.compile:
            steps[f"audiodiff {name}, torch.compile"] = our_step(name, x, True)
    compile_s = {}
    for label, (step, _) in steps.items():  # warm-up (and compilation)
        t0 = time.perf_counter()
        step()
        compile_s[label] = time.perf_counter() - t0
        step()
    times: dict[str, list[float]] = {label: [] for label in steps}
    for _ in range(args.repeats):
        for label, (step, _) in steps.items():
            t0 = time.perf_counter()
            step()
            times[label].append(time.perf_counter() - t0)

    peer_ms = 1000 * statistics.median(times["audio-diffusion-pytorch UNetV0"])
    rows = []
    for label, (_, params) in steps.items():
        ms = 1000 * statistics.median(times[label])
        rows.append(
            {
                "model": label,
                "params_m": params / 1e6,
                "fwd_bwd_ms": ms,
                "speed_vs_peer": peer_ms / ms,
                "first_step_s": compile_s[label],
                "all_ms": [1000 * t for t in times[label]],
            }
        )
    result = {
        **machine(),
        "input": [args.batch, args.channels, args.frames],
        "repeats": args.repeats,
        "peer_config": ADP_CONFIG,
        "ours_configs": {name: our_layout(name) for name in args.ours.split(",")},
        "rows": rows,
    }
    title = (
        f"forward + backward of each library's loss, input {result['input']}, "
        f"{args.threads} threads, median of {args.repeats}"
    )
    table = [
        [
            r["model"],
            f"{r['params_m']:.2f}",
            f"{r['fwd_bwd_ms']:.0f}",
            f"{r['speed_vs_peer']:.2f}x",
            f"{r['first_step_s']:.1f}",
        ]
        for r in rows
    ]
    columns = ["model", "params (M)", "fwd+bwd (ms)", "speed vs peer", "first step (s)"]
    report(result, args.out, title, columns, table)


if __name__ == "__main__":
    main()
