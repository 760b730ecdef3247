"""Every config composes, and every ``_target_`` instantiates: keeps conf/ from going stale."""

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from audiodiff.audio.representation import Representation
from audiodiff.cli.config import compose, config_dir
from audiodiff.cli.main import COMMANDS
from audiodiff.data.synth import COLUMNS as SYNTH_COLUMNS

CONF = config_dir()
PRIMARY = sorted(p.stem for p in CONF.glob("*.yaml"))
GROUPS = {d.name: sorted(p.stem for p in d.glob("*.yaml")) for d in CONF.iterdir() if d.is_dir()}
REQUIRED = {"evaluate": ["generated=a", "reference=b"]}


def test_every_command_has_a_config():
    assert {name for _, name, _ in COMMANDS.values()} <= set(PRIMARY)


@pytest.mark.parametrize("name", PRIMARY)
def test_primary_configs_compose_and_resolve(name):
    cfg = compose(name, REQUIRED.get(name, []))
    OmegaConf.resolve(cfg)  # every interpolation resolves
    assert cfg.paths.data_dir


@pytest.mark.parametrize("option", GROUPS["representation"])
def test_representations_instantiate(option, autoencoder_export):
    cfg = compose("roundtrip", [f"representation={option}"])
    if cfg.representation.get("ckpt"):  # latents need a trained autoencoder's export
        cfg.representation.ckpt = str(autoencoder_export)
    rep = instantiate(cfg.representation)
    assert isinstance(rep, Representation) and rep.sample_rate == cfg.representation.sample_rate


@pytest.mark.parametrize("option", GROUPS["data"])
def test_data_configs_instantiate(option, tmp_path):
    from audiodiff.data.datamodule import AudioDataModule

    cfg = compose("roundtrip", [f"data={option}", f"data.root={tmp_path}"])
    dm = instantiate(cfg.data)
    assert isinstance(dm, AudioDataModule) and Path(dm.root) == tmp_path
    assert dm.sample_rate == cfg.representation.sample_rate


def test_synth_data_config_points_at_the_built_in_set():
    cfg = compose("roundtrip", ["data=synth"])
    dm = instantiate(cfg.data)
    assert dm.synth is not None and dm.synth.n == 800 and dm.labels == ["instrument", "pitch"]
    assert dm.synth.sample_rate == dm.sample_rate


EXPERIMENTS = GROUPS["experiment"]


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiments_compose_and_state_only_changes(experiment):
    cfg = compose("train", [f"experiment={experiment}"])
    OmegaConf.resolve(cfg)
    assert cfg.model._target_ == "audiodiff.nn.unet.UNet1d"
    text = (CONF / "experiment" / f"{experiment}.yaml").read_text()
    assert text.startswith("# @package _global_")


@pytest.mark.parametrize("option", GROUPS["model"])
def test_models_instantiate(option):
    cfg = compose("train", [f"model={option}"])
    net = instantiate(cfg.model)(in_channels=80, label_sizes={"instrument": 3})
    assert sum(p.numel() for p in net.parameters()) > 1e6


@pytest.mark.parametrize("option", GROUPS["text"])
def test_text_configs_build_a_tokenizer_and_an_encoder(option):
    cfg = compose(
        "train", [f"text={option}", *(["text.path=/models/t5"] if option == "hf" else [])]
    )
    OmegaConf.resolve(cfg)
    assert cfg.data.text_column == cfg.text.column == "caption" and "text" in cfg.resume_parts
    assert OmegaConf.to_container(cfg.data.tokenizer) == OmegaConf.to_container(cfg.text.tokenizer)
    if option == "hf":  # needs a local model folder: checked in tests/nn/test_text.py
        assert cfg.text.tokenizer.path == "/models/t5"
        return
    tokenizer = instantiate(cfg.data.tokenizer)(["a soft bell", "a loud kick"])
    encoder = instantiate(cfg.text.encoder)(tokenizer=tokenizer)
    net = instantiate(cfg.model)(in_channels=80, label_sizes={}, text_encoder=encoder)
    assert net.cross_attention_levels == list(cfg.model.attention_levels)


@pytest.mark.parametrize("option", GROUPS["sampler"])
def test_samplers_exist(option):
    from audiodiff.sampling.solvers import SAMPLERS

    cfg = compose("generate", [f"sampler={option}", "ckpt=x"])
    assert cfg.sampler.name in SAMPLERS and cfg.steps == cfg.sampler.steps


@pytest.mark.parametrize("option", GROUPS["trainer"])
def test_trainers_instantiate(option, tmp_path):
    overrides = [f"trainer={option}", f"run_dir={tmp_path}"]
    if option != "cpu":  # no GPU here: check the same config on the CPU
        overrides += ["trainer.accelerator=cpu", "trainer.precision=32-true", "trainer.devices=1"]
    if option == "ddp":
        overrides += ["trainer.strategy=auto"]
    cfg = compose("train", overrides)
    from audiodiff.cli.train import lightning_trainer

    trainer = instantiate(lightning_trainer(cfg.trainer), logger=False, callbacks=[])
    assert trainer.max_steps == cfg.trainer.max_steps
    assert "compile" in cfg.trainer and "compile" not in lightning_trainer(cfg.trainer)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_trains_one_step(experiment, synth_dir, autoencoder_export, tmp_path):
    """A CPU fast_dev_run of each experiment (style habit 7: keeps _target_ strings fresh)."""
    from audiodiff.cli.main import main

    overrides = [
        f"experiment={experiment}",
        f"run_dir={tmp_path}",
        f"data.root={synth_dir}",
        "+trainer.fast_dev_run=1",
        "trainer.accelerator=cpu",
        "trainer.devices=1",
        "trainer.precision=32-true",
        f"paths.cache_dir={tmp_path / 'cache'}",
        "data.num_workers=0",
        "data.synth=null",
        f"data.vocab_path={tmp_path / 'v.json'}",
        "callbacks.preview=null",
        "data.batch_size=2",
    ]
    cfg = compose("train", [f"experiment={experiment}"])
    if cfg.representation.get("ckpt"):
        overrides.append(f"representation.ckpt={autoencoder_export}")  # latent models
    if set(cfg.data.get("labels") or []) - set(SYNTH_COLUMNS):  # e.g. the real-music labels
        overrides.append("data.labels=[instrument]")
    if (cfg.get("codec") or {}).get("init_vocoder"):
        overrides.append("codec.init_vocoder=null")  # no trained vocoder to start from here
    if cfg.get("noise_dir"):  # restoration recipes: talkers and music to mix in as noise
        noise = tmp_path / "noise"
        noise.mkdir()
        for name in ("speech", "music"):
            (noise / name).symlink_to(synth_dir, target_is_directory=True)
        overrides.append(f"noise_dir={noise}")
    assert main(["train", *overrides]) == 0


def test_autoencoder_without_its_vocoder_is_one_clear_line(synth_dir, tmp_path, capsys):
    from audiodiff.cli.main import main

    overrides = [
        "experiment=autoencoder_synth",
        f"run_dir={tmp_path / 'run'}",
        f"data.root={synth_dir}",
        "data.synth=null",
        "data.num_workers=0",
        f"paths.cache_dir={tmp_path / 'cache'}",
        f"data.vocab_path={tmp_path / 'v.json'}",
        f"codec.init_vocoder={tmp_path / 'gone'}",
    ]
    assert main(["train", *overrides]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "gone: vocoder export not found" in err
    assert "experiment=vocoder_synth" in err
