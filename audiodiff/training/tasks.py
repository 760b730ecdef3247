"""What ``audiodiff train`` trains: one function per ``conf/task`` option.

Each takes the resolved run config and the set-up data module (plus its own keyword
arguments from the task config, bound by Hydra as a partial) and returns the LightningModule
and a one-line summary for the console.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from hydra.utils import instantiate

from audiodiff.build import build_denoiser, build_representation, instantiate_part
from audiodiff.codecs.losses import MelLoss, MultiResolutionSTFTLoss, PhaseDerivativeLoss
from audiodiff.data.datamodule import AudioDataModule
from audiodiff.data.sampler import ResumableLoader
from audiodiff.errors import ConfigError
from audiodiff.training.codec_module import CodecModule
from audiodiff.training.module import DiffusionModule

OptimizerFactory = Callable[..., torch.optim.Optimizer]


def _millions(*modules: torch.nn.Module | None) -> float:
    return sum(p.numel() for m in modules if m is not None for p in m.parameters()) / 1e6


def diffusion_task(
    config: dict[str, Any], datamodule: AudioDataModule
) -> tuple[DiffusionModule, str]:
    """A diffusion model on ``representation`` features (``model``, ``diffusion``, ``optim``)."""
    representation = build_representation(config)
    denoiser = build_denoiser(config, representation, datamodule.vocab)
    optim = instantiate(config["optim"])
    module = DiffusionModule(
        denoiser=denoiser,
        representation=representation,
        loss=instantiate(config["diffusion"]["loss"]),
        optimizer=optim.optimizer,
        scheduler=optim.get("scheduler"),
        ema_decay=config["ema_decay"],
        val_sigmas=list(config["val_sigmas"]),
        config=config,
        compile_mode=config["trainer"].get("compile"),
    )
    return module, f"training {_millions(denoiser):.2f}M parameters"


def start_from(codec: torch.nn.Module, path: str) -> None:
    """Load a codec export's weights into ``codec``; a different architecture is one line."""
    from audiodiff.training.export import load_codec

    trained = load_codec(path)  # ConfigError naming the path when it is missing
    if type(trained) is not type(codec):
        raise ConfigError(
            f"{path}: holds a {type(trained).__name__}; this run trains a {type(codec).__name__}"
        )
    try:
        codec.load_state_dict(trained.state_dict())
    except RuntimeError as e:
        lines = str(e).splitlines()
        detail = lines[1].strip() if len(lines) > 1 else lines[0]
        raise ConfigError(f"{path}: other codec settings ({detail})") from None


def codec_task(
    config: dict[str, Any],
    datamodule: AudioDataModule,
    *,
    stft_loss: MultiResolutionSTFTLoss,
    mel_loss: MelLoss,
    optimizer: OptimizerFactory,
    disc_optimizer: OptimizerFactory,
    scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
    stft_weight: float = 1.0,
    mel_weight: float = 45.0,
    gan_weight: float = 1.0,
    feature_weight: float = 1.0,
    aux_weights: Mapping[str, float] | None = None,
    discriminator_weights: Mapping[str, float] | None = None,
    gan_start_step: int = 0,
    grad_clip: float | None = None,
    stats_batches: int = 0,
    phase_loss: PhaseDerivativeLoss | None = None,
    phase_weight: float = 0.0,
    init_from: str | None = None,
) -> tuple[CodecModule, str]:
    """A waveform codec (``codec``) against ``discriminators`` (null: no adversarial loss).

    ``init_from``: a codec export of the same architecture whose weights the codec starts
    from (e.g. a reconstruction-only run, fine-tuned here with the discriminators on).
    """
    codec = instantiate_part(config["codec"])
    if init_from is not None:
        start_from(codec, init_from)
    discriminators = instantiate(config.get("discriminators"))
    # the same seeded crops at every export: no draw from the global RNG between steps
    stats_loader = ResumableLoader(
        datamodule.train_set, batch_size=datamodule.batch_size, seed=datamodule.seed, shuffle=False
    )
    module = CodecModule(
        codec=codec,
        discriminators=discriminators,
        stft_loss=stft_loss,
        mel_loss=mel_loss,
        optimizer=optimizer,
        disc_optimizer=disc_optimizer,
        scheduler=scheduler,
        stft_weight=stft_weight,
        mel_weight=mel_weight,
        gan_weight=gan_weight,
        feature_weight=feature_weight,
        aux_weights=aux_weights,
        discriminator_weights=discriminator_weights,
        gan_start_step=gan_start_step,
        grad_clip=grad_clip,
        stats_loader=stats_loader,
        stats_batches=stats_batches,
        config=config,
        phase_loss=phase_loss,
        phase_weight=phase_weight,
    )
    gan = (
        f"{_millions(discriminators):.2f}M discriminator parameters from step {gan_start_step}"
        if discriminators is not None
        else "no discriminators"
    )
    return module, f"training a {_millions(codec):.2f}M-parameter codec ({gan})"
