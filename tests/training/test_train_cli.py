"""End to end: `audiodiff train` (smoke experiment), resume, export, generate."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import audiodiff
import audiodiff.audio.io
from audiodiff.audio.loudness import rms_db
from audiodiff.cli.main import main
from audiodiff.data.levels import LevelStats
from audiodiff.safe_load import read_checkpoint


def train(tmp: Path, *extra: str) -> int:
    return main(
        [
            "train",
            "experiment=smoke",
            f"run_dir={tmp / 'run'}",
            f"paths.data_dir={tmp / 'data'}",
            *extra,
        ]
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("train")
    assert train(tmp) == 0
    return tmp / "run"


def test_run_folder_has_checkpoint_export_samples_and_logs(run):
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "model" / "model.safetensors").is_file()
    assert (run / "model" / "config.yaml").is_file()
    assert list((run / "samples").glob("epoch_*/00.wav"))
    assert list((run / "samples").glob("epoch_*/spectrograms.png"))
    index = (run / "samples" / "samples.csv").read_text().splitlines()
    assert index[0] == "epoch,step,path,labels" and len(index) == 1 + 2 * 2  # 2 previews x 2
    assert (run / "csv" / "metrics.csv").is_file()
    assert list((run / "tensorboard").glob("events.*"))
    ckpt = read_checkpoint(run / "checkpoints" / "last.ckpt")
    config = ckpt["audiodiff"]["config"]
    assert config["vocab"]["instrument"][0] == "<null>" and config["model"]["channels"] == 16
    assert ckpt["global_step"] == 4 and int(ckpt["state_dict"]["ema.num_updates"]) == 4


def test_resume_continues_step_count_and_ema(tmp_path, capsys):
    assert train(tmp_path) == 0
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    before = read_checkpoint(last)
    code = main(
        [
            "train",
            "experiment=smoke",
            f"resume={tmp_path / 'run'}",
            f"paths.data_dir={tmp_path / 'data'}",
            "trainer.max_steps=6",
        ]
    )
    assert code == 0
    after = read_checkpoint(last)
    assert after["global_step"] == 6 and int(after["state_dict"]["ema.num_updates"]) == 6
    # the EMA continued from the saved average: it moved, but only a little (decay ~0.999
    # ramps from (1+t)/(10+t)), not restarted from the raw weights
    key = next(k for k in before["state_dict"] if k.startswith("ema.module.net.") and "weight" in k)
    assert not torch.equal(before["state_dict"][key], after["state_dict"][key])
    assert after["optimizer_states"][0]["state"], "optimizer state restored and continued"


def test_a_new_run_does_not_write_over_an_earlier_one(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("model: {}\n")
    (run_dir / "stale.txt").write_text("from the earlier run")
    assert train(tmp_path, "trainer.max_steps=1") == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and f"resume={run_dir}" in err
    assert (run_dir / "stale.txt").is_file()  # untouched
    assert train(tmp_path, "trainer.max_steps=1", "overwrite=true") == 0
    assert not (run_dir / "stale.txt").exists() and (run_dir / "model").is_dir()


def test_resume_refuses_a_different_model(run, capsys):
    code = main(["train", "experiment=smoke", f"resume={run}", "model.channels=32"])
    err = capsys.readouterr().err
    assert code == 2 and "model.channels" in err and "16" in err


def test_generate_from_export_equals_generate_from_checkpoint(run):
    from_ckpt = audiodiff.load(str(run / "checkpoints" / "last.ckpt"), device="cpu")
    from_export = audiodiff.load(str(run / "model"), device="cpu")
    kwargs = dict(n=2, seconds=0.6, cond={"instrument": "bell", "pitch": 60}, steps=3, seed=7)
    a, b = from_ckpt.generate(**kwargs), from_export.generate(**kwargs)
    assert a.shape == (2, 1, round(0.6 * from_ckpt.sample_rate))
    assert torch.equal(a, b)
    # clip i depends on seed + i only, not on n or its place in the batch
    pair = from_export.sample(**kwargs)
    single = from_export.sample(**{**kwargs, "n": 1, "seed": 8})
    assert torch.allclose(single[0], pair[1], atol=1e-4)
    assert not torch.allclose(pair[0], pair[1], atol=1e-2)


def test_generate_cli(run, tmp_path, capsys):
    out = tmp_path / "gen"
    args = [
        "generate",
        f"ckpt={run / 'model'}",
        "n=2",
        "seconds=2.5",
        "steps=2",
        "cond.instrument=organ",
        "cond.pitch=60",
        f"out={out}",
        "device=cpu",
    ]
    assert main(args) == 0
    assert len(list(out.glob("*.wav"))) == 2
    assert (out / "spectrograms.png").is_file()
    request = json.loads((out / "generate.json").read_text())
    assert request["steps"] == 2 and request["clips"] == 2 and request["seconds"] == 2.5
    meta = (out / "metadata.csv").read_text().splitlines()
    assert meta[0] == "path,instrument,pitch,seed" and meta[1].endswith(",organ,60,0")
    capsys.readouterr()
    assert main(args) == 2  # the output folder exists now
    assert "exists" in capsys.readouterr().err
    assert request["level"] == "auto"


def test_generate_level_option(run, tmp_path, capsys):
    base = ["generate", f"ckpt={run / 'model'}", "n=1", "seconds=0.5", "steps=2", "device=cpu"]
    assert main([*base, "level=-33", f"out={tmp_path / 'a'}"]) == 0
    (wav,) = [audiodiff.audio.io.load(p)[0] for p in (tmp_path / "a").glob("*.wav")]
    assert float(rms_db(wav)) == pytest.approx(-33, abs=0.1)
    # level=data: the run kept its clips' levels; each clip lands inside its labels' range
    assert main([*base, "n=2", "level=data", "cond.instrument=organ", f"out={tmp_path / 'd'}"]) == 0
    levels = LevelStats.from_dict(audiodiff.load(run / "model", device="cpu").config["levels"])
    quantiles = levels.quantiles_for({"instrument": "organ"})
    for path in (tmp_path / "d").glob("*.wav"):
        level = float(rms_db(audiodiff.audio.io.load(path)[0]))
        assert quantiles[0] - 0.1 <= level <= quantiles[-1] + 0.1
    capsys.readouterr()
    assert main([*base, "level=loud", f"out={tmp_path / 'b'}"]) == 2
    err = capsys.readouterr().err
    assert "level must be" in err and err.count("\n") == 1 and not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("cond.instrument=tuba", "valid values: bell"),
        ("cond.colour=red", "valid labels: instrument, pitch"),
        ("cond.pitch=99", "valid values: "),
    ],
)
def test_generate_bad_labels(run, tmp_path, capsys, override, fragment):
    code = main(["generate", f"ckpt={run / 'model'}", override, f"out={tmp_path / 'g'}"])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and err.count("\n") == 1
    assert not (tmp_path / "g").exists()


def test_generate_missing_checkpoint(tmp_path, capsys):
    code = main(["generate", f"ckpt={tmp_path / 'nope.ckpt'}", f"out={tmp_path / 'g'}"])
    assert code == 2 and "nope.ckpt" in capsys.readouterr().err


def test_ddp_two_cpu_processes(tmp_path):
    """Lightning's DDP strategy with 2 CPU processes over gloo trains and saves."""
    cmd = [
        sys.executable,
        "-m",
        "audiodiff",
        "train",
        "experiment=smoke",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.precision=32-true",
        "trainer.max_steps=2",
        f"run_dir={tmp_path / 'run'}",
        f"paths.data_dir={tmp_path / 'data'}",
        "callbacks.preview=null",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 2
    assert "world_size=2" in proc.stdout + proc.stderr or "2 processes" in proc.stdout + proc.stderr


def test_generate_from_prompts(run, tmp_path):
    prompts = tmp_path / "p.csv"
    prompts.write_text("instrument,pitch,n\nbell,60,2\nkick,,1\n")
    out = tmp_path / "gen"
    args = [
        "generate",
        f"ckpt={run / 'model'}",
        f"prompts={prompts}",
        "seconds=0.5",
        "steps=2",
        f"out={out}",
        "device=cpu",
    ]
    assert main(args) == 0
    rows = (out / "metadata.csv").read_text().splitlines()
    assert rows[1:] == [
        "0000_bell_60.wav,bell,60,0",
        "0001_bell_60.wav,bell,60,1",
        "0002_kick.wav,kick,,2",
    ]


def test_shipped_prompts_are_valid_for_the_synth_vocabulary():
    from audiodiff.cli.generate import find_prompts, read_prompts
    from audiodiff.data.synth import INSTRUMENTS

    rows = read_prompts(find_prompts("synth_grid"), 1)
    assert {c["instrument"] for c, _ in rows} == set(INSTRUMENTS)
    pitched = [c for c, _ in rows if INSTRUMENTS[c["instrument"]].pitched]
    assert all(48 <= int(c["pitch"]) <= 72 for c in pitched)


def test_bf16_mixed_precision_trains(tmp_path):
    """precision comes from the config; bf16 autocast also runs on the CPU."""
    assert train(tmp_path, "trainer.precision=bf16-mixed", "callbacks.preview=null") == 0
    ckpt = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert ckpt["audiodiff"]["config"]["trainer"]["precision"] == "bf16-mixed"
    assert all(
        torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point()
    )


def test_stochastic_sampler_is_reproducible_from_the_seed(run):
    pipe = audiodiff.load(str(run / "model"), device="cpu")
    kwargs = dict(n=2, seconds=0.3, sampler="euler_ancestral", steps=4, cond={"instrument": "bell"})
    torch.manual_seed(1)
    a = pipe.sample(**kwargs, seed=3)
    torch.manual_seed(2)  # the global state does not matter, the seed does
    b = pipe.sample(**kwargs, seed=3)
    c = pipe.sample(**kwargs, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_sampler_options_reach_the_solver(run):
    pipe = audiodiff.load(str(run / "model"), device="cpu")
    kwargs = dict(n=2, seconds=0.3, steps=4, cond={"instrument": "bell"}, seed=1)
    euler = pipe.sample(**kwargs, sampler="euler")
    ddim0 = pipe.sample(**kwargs, sampler="ddim", options={"eta": 0.0})
    ddim1 = pipe.sample(**kwargs, sampler="ddim", options={"eta": 1.0})
    assert torch.allclose(euler, ddim0, atol=1e-5) and not torch.allclose(euler, ddim1, atol=1e-2)
    with pytest.raises(audiodiff.errors.ConfigError, match="no option 'eta'; it takes: no"):
        pipe.sample(**kwargs, sampler="heun", options={"eta": 1.0})


def test_batched_generation_equals_one_batch(run):
    from audiodiff.fastpath import FastPath

    pipe = audiodiff.load(str(run / "model"), device="cpu")
    kwargs = dict(n=5, seconds=0.3, steps=3, cond={"instrument": "bell"}, seed=2)
    whole = pipe.sample(**kwargs)
    chunked = pipe.set_fast(FastPath(batch_size=2)).sample(**kwargs)  # 2 + 2 + 1
    assert chunked.shape == whole.shape and torch.allclose(chunked, whole, atol=1e-4)


def test_generate_cli_sampler_options_and_fast_block(run, tmp_path, capsys):
    out = tmp_path / "gen"
    base = ["generate", f"ckpt={run / 'model'}", "n=1", "seconds=0.5", "device=cpu"]
    args = [
        *base,
        "sampler=ddim",
        "sampler.options.eta=0.5",
        "fast.precision=bf16",
        "fast.batch_size=1",
        "fast.threads=2",
        f"out={out}",
    ]
    assert main(args) == 0
    request = json.loads((out / "generate.json").read_text())
    assert request["options"] == {"eta": 0.5} and request["fast"]["precision"] == "bf16"
    capsys.readouterr()
    assert main([*base, "fast.precision=fp16", f"out={tmp_path / 'g2'}"]) == 2
    assert "needs a CUDA device" in capsys.readouterr().err
    assert main([*base, "sampler.options.eta=1", f"out={tmp_path / 'g3'}"]) == 2
    assert "sampler.options.eta" in capsys.readouterr().err  # dpmpp_2m has no options


def test_schedule_settings_reach_the_sampler(run):
    pipe = audiodiff.load(str(run / "model"), device="cpu")
    kwargs = dict(n=1, seconds=0.3, steps=4, cond={"instrument": "bell"}, seed=1, sampler="lms")
    karras = pipe.sample(**kwargs)
    assert torch.equal(karras, pipe.sample(**kwargs, schedule="karras", rho=7.0))
    for change in ({"schedule": "exponential"}, {"sigma_min": 0.05}, {"rho": 3.0}):
        assert not torch.allclose(karras, pipe.sample(**kwargs, **change), atol=1e-4), change


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_an_experiment_switched_to_a_folder_trains_and_writes_nothing_there(
    synth_dir, tmp_path, capsys
):
    """experiment=smoke configures data.synth; with data=folder that block does not apply,
    and the user's folder is only read."""
    import shutil

    folder = tmp_path / "my clips"
    for wav in sorted(synth_dir.rglob("*.wav"))[:12]:
        (folder / wav.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(wav, folder / wav.parent.name / wav.name)
    before = _snapshot(folder)
    args = [f"data.root={folder}", "data.labels=[folder]", "trainer.max_steps=2"]
    assert train(tmp_path, "data=folder", "data.num_workers=0", *args) == 0
    assert _snapshot(folder) == before
    assert (tmp_path / "run" / "vocab.json").is_file()  # the labels live with the run


def test_the_synth_set_is_never_built_into_someone_elses_folder(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my data")
    assert train(tmp_path, f"data.root={folder}") == 2
    err = capsys.readouterr().err.strip()
    assert "not a synth folder" in err and len(err.splitlines()) == 1, err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
