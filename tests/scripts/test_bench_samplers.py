"""scripts/bench_samplers.py on an untrained exported model: runs, writes JSON/Markdown/PNG,
and its numbers mean what they say (a converged solver is near the reference)."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from omegaconf import OmegaConf

from audiodiff.build import build_denoiser, build_representation
from audiodiff.cli.config import config_dir
from audiodiff.data.vocab import LabelVocab
from audiodiff.training.export import export

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script():
    sys.path.insert(0, str(SCRIPTS))  # for `benchlib`
    spec = importlib.util.spec_from_file_location("bench_samplers", SCRIPTS / "bench_samplers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_samplers"] = module
    spec.loader.exec_module(module)
    return module


def tiny_export(folder: Path) -> Path:
    conf = config_dir()
    model = OmegaConf.to_container(OmegaConf.load(conf / "model" / "tiny.yaml"))
    model.update(channels=16, attention_levels=[])
    diffusion = OmegaConf.load(conf / "diffusion" / "edm.yaml")
    config = {
        "model": model,
        "representation": OmegaConf.to_container(
            OmegaConf.load(conf / "representation" / "mel.yaml")
        ),
        "diffusion": {k: diffusion[k] for k in ("sigma_data", "sigma_min", "sigma_max")},
        "vocab": {"pitch": ["<null>", "60", "67"]},
        "sampler": {"name": "dpmpp_2m", "steps": 4},
    }
    torch.manual_seed(0)
    denoiser = build_denoiser(config, build_representation(config), LabelVocab(config["vocab"]))
    for p in denoiser.parameters():  # untrained but not zero: a non-trivial ODE
        if p.ndim > 1:
            p.data.normal_(0, 0.05)
    return export(denoiser, config, folder)


def test_parse_spec_and_steps():
    bench = load_script()
    assert bench.parse_spec("unipc:order=3:schedule=exponential") == (
        "unipc",
        {"schedule": "exponential"},
        {"order": 3},
    )
    assert bench.parse_spec("dpmpp_2m:rho=3.5") == ("dpmpp_2m", {"rho": 3.5}, {})
    assert bench.steps_for("heun", 10) == 5 and bench.steps_for("dpmpp_2m", 10) == 10


def test_bench_samplers_end_to_end(tmp_path):
    bench = load_script()
    model = tiny_export(tmp_path / "model")
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        sf.write(ref_dir / f"{i}.wav", 0.1 * rng.standard_normal(8000), 16000)
    out = tmp_path / "s.json"
    bench.main(
        [
            "--ckpt",
            str(model),
            "--n",
            "3",
            "--seconds",
            "0.3",
            "--nfe",
            "2,20",
            "--solvers",
            "euler,dpmpp_2m,heun",
            "--reference-steps",
            "40",
            "--eval-solvers",
            "dpmpp_2m",
            "--eval-nfe",
            "20",
            "--reference-dir",
            str(ref_dir),
            "--out",
            str(out),
            "--png",
            str(tmp_path / "s.png"),
        ]
    )
    result = json.loads(out.read_text())
    rows = {(r["spec"], r["nfe"]): r for r in result["rows"]}
    assert set(rows) == {
        ("euler", 2),
        ("euler", 20),
        ("dpmpp_2m", 2),
        ("dpmpp_2m", 20),
        ("heun", 1),
        ("heun", 19),
    }
    # more steps -> closer to the 79-NFE Heun reference, in model space and after decoding
    for spec, few, many in (("euler", 2, 20), ("dpmpp_2m", 2, 20), ("heun", 1, 19)):
        assert rows[spec, many]["rel_error"] < rows[spec, few]["rel_error"]
    assert rows["dpmpp_2m", 20]["rel_error"] < rows["euler", 20]["rel_error"]
    assert rows["dpmpp_2m", 20]["fd"] is not None and "fd" not in rows["euler", 20]
    assert "| dpmpp_2m | 20 |" in out.with_suffix(".md").read_text()
    assert (tmp_path / "s.png").stat().st_size > 10_000
