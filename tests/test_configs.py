"""Every config composes, and every ``_target_`` instantiates: keeps conf/ from going stale."""

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from audiodiff.audio.representation import Representation
from audiodiff.cli.config import compose, config_dir
from audiodiff.cli.main import COMMANDS

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
def test_representations_instantiate(option):
    cfg = compose("roundtrip", [f"representation={option}"])
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
