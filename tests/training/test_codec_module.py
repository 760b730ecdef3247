"""Codec training: GAN wiring, the warm-up, export + ``load_codec``, the CLI task."""

from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from audiodiff.audio.mel import MelRepresentation
from audiodiff.cli.main import main
from audiodiff.codecs.autoencoder import AudioAutoencoder
from audiodiff.codecs.autoencoder_codec import AutoencoderCodec
from audiodiff.codecs.discriminators import (
    Discriminators,
    MultiPeriodDiscriminator,
    MultiResolutionDiscriminator,
)
from audiodiff.codecs.losses import MelLoss, MultiResolutionSTFTLoss
from audiodiff.codecs.mel_vocoder import MelVocoder
from audiodiff.codecs.vocoder import VocosVocoder
from audiodiff.errors import ConfigError
from audiodiff.safe_load import read_checkpoint
from audiodiff.training.codec_module import CodecModule
from audiodiff.training.export import export, load_codec

SR = 16000
N = 4096  # 0.256 s: 16 mel frames


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def vocoder_config() -> dict:
    mel = {"_target_": "audiodiff.audio.mel.MelRepresentation", "sample_rate": SR}
    vocoder = {"_target_": "audiodiff.codecs.vocoder.VocosVocoder", "dim": 16, "num_layers": 1}
    return {"_target_": "audiodiff.codecs.mel_vocoder.MelVocoder", "mel": mel, "vocoder": vocoder}


def autoencoder_config() -> dict:
    autoencoder = {
        "_target_": "audiodiff.codecs.autoencoder.AudioAutoencoder",
        "channels": 4,
        "channel_mults": [2, 4],
        "strides": [4, 4],
        "latent_dim": 3,
        "res_dilations": [1],
    }
    return {
        "_target_": "audiodiff.codecs.autoencoder_codec.AutoencoderCodec",
        "sample_rate": SR,
        "autoencoder": autoencoder,
    }


CODECS = {"vocoder": vocoder_config, "autoencoder": autoencoder_config}


def build_codec(name: str) -> torch.nn.Module:
    from hydra.utils import instantiate

    torch.manual_seed(0)
    return instantiate(CODECS[name]())


def tiny_discriminators() -> Discriminators:
    torch.manual_seed(1)
    return Discriminators(
        mpd=MultiPeriodDiscriminator(periods=(2, 3), channels=(4, 8)),
        mrd=MultiResolutionDiscriminator(resolutions=((512, 128),), channels=4, num_layers=2),
    )


def clips(n: int = 8) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    t = torch.arange(N) / SR
    out = []
    for i in range(n):
        f0 = 110.0 * (1 + i)
        wav = 0.3 * torch.sin(2 * torch.pi * f0 * t) + 0.01 * torch.randn(N, generator=g)
        out.append({"wav": wav[None]})  # [1, N]
    return out


def make_module(name: str, discriminators: Discriminators | None, gan_start_step: int):
    data = clips()
    loader = DataLoader(data, batch_size=2)
    module = CodecModule(
        codec=build_codec(name),
        discriminators=discriminators,
        stft_loss=MultiResolutionSTFTLoss(resolutions=((256, 64), (512, 128))),
        mel_loss=MelLoss(MelRepresentation(sample_rate=SR)),
        optimizer=partial(torch.optim.AdamW, lr=1e-3),
        disc_optimizer=partial(torch.optim.AdamW, lr=1e-3),
        aux_weights={"kl": 1e-4},
        gan_start_step=gan_start_step,
        stats_loader=loader,
        stats_batches=2,
        config={"codec": CODECS[name]()},
    )
    return module, loader


def fit(module: CodecModule, loader: DataLoader, steps: int) -> L.Trainer:
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=1,
        check_val_every_n_epoch=1,
        num_sanity_val_steps=0,
    )
    trainer.fit(module, train_dataloaders=loader, val_dataloaders=loader)
    return trainer


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict, module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[k], v) for k, v in module.state_dict().items())


@pytest.mark.parametrize("name", ["vocoder", "autoencoder"])
@pytest.mark.parametrize("gan", [True, False], ids=["gan", "no_gan"])
def test_training_step_updates_the_codec(name, gan):
    module, loader = make_module(name, tiny_discriminators() if gan else None, 0)
    codec_before = snapshot(module.codec)
    disc_before = snapshot(module.discriminators) if gan else None
    trainer = fit(module, loader, steps=1)
    assert trainer.global_step == 1  # generator steps only, even with a discriminator step
    assert changed(codec_before, module.codec)
    if gan:
        assert changed(disc_before, module.discriminators)
    (metrics,) = trainer.validate(module, loader, verbose=False)
    assert metrics["val/loss"] > 0 and metrics["val/mel"] > 0


def test_discriminators_train_only_from_gan_start_step():
    module, loader = make_module("vocoder", tiny_discriminators(), gan_start_step=2)
    before = snapshot(module.discriminators)
    trainer = fit(module, loader, steps=2)
    assert trainer.global_step == 2 and not changed(before, module.discriminators)
    assert "train/disc" not in trainer.callback_metrics
    trainer = fit(module, loader, steps=3)  # a fresh trainer: global_step starts at 0 again
    assert changed(before, module.discriminators)

    module, loader = make_module("vocoder", tiny_discriminators(), gan_start_step=2)
    trainer = fit(module, loader, steps=3)
    assert trainer.global_step == 3 and changed(before, module.discriminators)
    assert "train/disc" in trainer.callback_metrics and "train/feature" in trainer.callback_metrics


@pytest.mark.parametrize("name", ["vocoder", "autoencoder"])
def test_export_and_load_codec_round_trip(name, tmp_path):
    module, loader = make_module(name, None, 0)
    fit(module, loader, steps=2)
    folder = module.export_to(tmp_path / "model")
    assert (folder / "codec.safetensors").is_file() and (folder / "config.yaml").is_file()
    loaded = load_codec(folder)
    also = load_codec(folder / "codec.safetensors")
    wav = next(iter(loader))["wav"]
    module.codec.eval()
    with torch.no_grad():
        expected, _ = module.codec.reconstruct(wav)
        assert torch.equal(loaded.reconstruct(wav)[0], expected)
        assert torch.equal(also.reconstruct(wav)[0], expected)
    meta = loaded.export_metadata()
    assert meta["sample_rate"] == SR
    if name == "autoencoder":  # the latent statistics were fitted and travel with the export
        assert torch.equal(loaded.latent_mean, module.codec.latent_mean)
        assert not torch.equal(loaded.latent_std, torch.ones_like(loaded.latent_std))
        rep = loaded.latent_representation()
        with torch.no_grad():
            x = rep.encode(wav)
        assert x.shape == (2, 3, N // 16) and abs(float(x.mean())) < 0.5


def test_load_codec_errors_name_the_path(tmp_path):
    for path in (tmp_path / "nope", tmp_path / "nope.safetensors"):
        with pytest.raises(ConfigError, match="nope") as info:
            load_codec(path)
        assert "\n" not in str(info.value)
    export(torch.nn.Linear(2, 2), {"model": {}}, tmp_path / "diffusion")
    with pytest.raises(ConfigError, match="not found"):
        load_codec(tmp_path / "diffusion")  # a diffusion export folder has no codec weights
    with pytest.raises(ConfigError, match="not a codec export"):
        load_codec(tmp_path / "diffusion" / "model.safetensors")


def cli_train(tmp: Path, synth_dir: Path, *extra: str) -> int:
    return main(
        [
            "train",
            "experiment=codec_smoke",
            f"run_dir={tmp / 'run'}",
            f"data.root={synth_dir}",
            "data.synth=null",
            f"data.vocab_path={tmp / 'v.json'}",
            *extra,
        ]
    )


@pytest.mark.parametrize(
    "extra",
    [[], ["discriminators=none"], ["discriminators=none", "codec.vocoder.phase=locked"]],
    ids=["gan", "no_gan", "no_gan_locked"],
)
def test_cli_trains_a_codec_and_exports_it(extra, synth_dir, tmp_path, capsys):
    assert cli_train(tmp_path, synth_dir, *extra) == 0
    run = tmp_path / "run"
    ckpt = read_checkpoint(run / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 4
    config = ckpt["audiodiff"]["config"]
    assert config["codec"]["vocoder"]["dim"] == 32
    assert (config["discriminators"] is None) == bool(extra)
    codec = load_codec(run / "model")
    assert isinstance(codec, MelVocoder) and isinstance(codec.vocoder, VocosVocoder)
    assert codec.vocoder.phase == (
        "locked" if "codec.vocoder.phase=locked" in extra else "increment"
    )
    state = {k[len("codec.") :]: v for k, v in ckpt["state_dict"].items() if k.startswith("codec.")}
    assert all(torch.equal(codec.state_dict()[k], v) for k, v in state.items())
    # resuming refuses another codec, naming the key
    capsys.readouterr()
    code = main(["train", "experiment=codec_smoke", f"resume={run}", "codec.vocoder.dim=64"])
    err = capsys.readouterr().err
    assert code == 2 and "codec.vocoder.dim" in err


def test_autoencoder_codec_fit_stats_normalises():
    codec = build_codec("autoencoder")
    wavs = [c["wav"][None] for c in clips(4)]
    codec.fit_stats(wavs)
    assert isinstance(codec, AutoencoderCodec)
    assert isinstance(codec.autoencoder, AudioAutoencoder)
    z = torch.cat([codec.encode(w) for w in wavs]).detach()  # [4, C, T]
    x = (z - codec.latent_mean[:, None]) / codec.latent_std[:, None]
    assert torch.allclose(x.mean(dim=(0, 2)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(x.std(dim=(0, 2)), torch.ones(3), atol=1e-3)


def test_start_from_an_export_copies_weights_and_refuses_others(tmp_path):
    from hydra.utils import instantiate

    from audiodiff.codecs.autoencoder_codec import AutoencoderCodec
    from audiodiff.errors import ConfigError
    from audiodiff.training.export import export_codec
    from audiodiff.training.tasks import start_from

    mel = {"_target_": "audiodiff.audio.mel.MelRepresentation"}
    voc = {"_target_": "audiodiff.codecs.vocoder.VocosVocoder", "dim": 16, "num_layers": 1}
    config = {"_target_": "audiodiff.codecs.mel_vocoder.MelVocoder", "mel": mel, "vocoder": voc}
    torch.manual_seed(0)
    trained = instantiate(config)
    folder = export_codec(trained, config, trained.export_metadata(), tmp_path / "voc")
    torch.manual_seed(1)
    fresh = instantiate(config)
    assert not torch.equal(fresh.vocoder.head.weight, trained.vocoder.head.weight)
    start_from(fresh, str(folder))
    for name, value in fresh.state_dict().items():
        assert torch.equal(value, trained.state_dict()[name]), name
    wider = instantiate({**config, "vocoder": {**voc, "dim": 32}})
    with pytest.raises(ConfigError, match="other codec settings"):
        start_from(wider, str(folder))
    ae = AutoencoderCodec(
        instantiate({"_target_": "audiodiff.codecs.autoencoder.AudioAutoencoder", "channels": 4})
    )
    with pytest.raises(ConfigError, match="this run trains a AutoencoderCodec"):
        start_from(ae, str(folder))
    with pytest.raises(ConfigError, match="gone"):
        start_from(fresh, str(tmp_path / "gone"))
