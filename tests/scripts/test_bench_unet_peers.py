"""scripts/bench_unet_peers.py: our layouts match the peer's size, and the script runs (with
audio-diffusion-pytorch installed) or says how to install it (without). No timing asserted."""

import importlib.util
import json
import sys

import pytest
import torch

from audiodiff.nn.unet import UNet1d


def test_our_layouts_are_within_5_percent_of_the_peers_parameter_count(load_script):
    bench = load_script("bench_unet_peers")
    peer = 10.617e6  # audio-diffusion-pytorch UNetV0 with ADP_CONFIG and 80 channels
    for name in bench.OURS:
        net = UNet1d(80, label_sizes=bench.LABELS, **bench.our_layout(name))
        assert sum(p.numel() for p in net.parameters()) == pytest.approx(peer, rel=0.05), name


def test_the_script_runs_or_names_the_install(tmp_path, load_script, monkeypatch):
    bench = load_script("bench_unet_peers")
    out = tmp_path / "peers.json"
    argv = ["bench_unet_peers.py", "--batch", "1", "--frames", "16", "--repeats", "1"]
    monkeypatch.setattr("sys.argv", [*argv, "--threads", "1", "--out", str(out)])
    threads = torch.get_num_threads()
    installed = importlib.util.find_spec("audio_diffusion_pytorch") is not None
    try:
        with monkeypatch.context() as patch:  # as if it were not installed
            patch.setitem(sys.modules, "audio_diffusion_pytorch", None)
            with pytest.raises(SystemExit, match="`make bench-unet-peers` installs it"):
                bench.main()
        if not installed:
            return
        bench.main()
    finally:
        torch.set_num_threads(threads)
    result = json.loads(out.read_text())
    rows = {r["model"]: r for r in result["rows"]}
    peer = rows.pop("audio-diffusion-pytorch UNetV0")
    assert peer["speed_vs_peer"] == 1 and peer["params_m"] == pytest.approx(10.617, rel=1e-3)
    assert set(rows) == {f"audiodiff {name}" for name in bench.OURS}
    assert all(r["fwd_bwd_ms"] > 0 and len(r["all_ms"]) == 1 for r in rows.values())
