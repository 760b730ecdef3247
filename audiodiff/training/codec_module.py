"""``CodecModule``: trains a waveform codec (vocoder, autoencoder) as a GAN, manual optimisation.

Wiring only (style habit 4): the codec, the discriminators, the losses and the optimizer
partials are injected; the loss functions live in ``audiodiff.codecs.losses``. The generator
objective is the Vocos / HiFi-GAN one:

    L_G = stft_weight * MR-STFT + mel_weight * mel L1 + sum_k aux_weights[k] * aux[k]
          (the codec's own terms by name, e.g. the autoencoder's "kl" and "waist")
          + sum_d w_d * (gan_weight * hinge_G(d) + feature_weight * feature matching(d))

with the adversarial terms (and the discriminator updates) only from ``gan_start_step`` on.
``trainer.global_step`` counts generator steps: the discriminator step goes straight to the
strategy, so ``max_steps``, the LR schedule and ``gan_start_step`` all count the same thing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import lightning as L
import torch
from torch import Tensor, nn

from audiodiff.codecs.discriminators import Discriminators
from audiodiff.codecs.losses import (
    MelLoss,
    MultiResolutionSTFTLoss,
    PhaseDerivativeLoss,
    discriminator_hinge_loss,
    feature_matching_loss,
    generator_hinge_loss,
)
from audiodiff.training.export import export_codec
from audiodiff.training.module import CHECKPOINT_KEY


class Codec(Protocol):
    """What the module needs of a codec (``MelVocoder``, ``AutoencoderCodec``)."""

    def reconstruct(self, wav: Tensor) -> tuple[Tensor, Tensor]:
        """wav: [B, 1, N] -> (wav_hat [B, 1, N'] with N' <= N, {name: aux loss scalar})."""

    def fit_stats(self, wavs: Iterable[Tensor]) -> None:
        """Fit whatever normalisation the export needs from training waveforms."""

    def export_metadata(self) -> dict[str, Any]:
        """JSON-able facts written beside the weights (sample rate, hop, latent stats)."""


def _no_closure() -> None:
    return None


class CodecModule(L.LightningModule):
    """GAN training of ``codec`` against ``discriminators`` (None: reconstruction losses only).

    ``discriminator_weights`` scales each discriminator's adversarial and feature terms by its
    name in ``Discriminators.forward`` (Vocos: mpd 1, mrd 0.1; absent names weigh 1).
    ``stats_loader``: training batches for ``codec.fit_stats`` before every export (the first
    ``stats_batches`` of them).
    """

    def __init__(
        self,
        codec: nn.Module,
        discriminators: Discriminators | None,
        stft_loss: MultiResolutionSTFTLoss,
        mel_loss: MelLoss,
        optimizer: Callable[..., torch.optim.Optimizer],
        disc_optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
        stft_weight: float = 1.0,
        mel_weight: float = 45.0,
        gan_weight: float = 1.0,
        feature_weight: float = 1.0,
        aux_weights: Mapping[str, float] | None = None,
        discriminator_weights: Mapping[str, float] | None = None,
        gan_start_step: int = 0,
        grad_clip: float | None = None,
        stats_loader: Iterable[dict] | None = None,
        stats_batches: int = 0,
        config: dict | None = None,
        phase_loss: PhaseDerivativeLoss | None = None,
        phase_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.codec = codec
        self.discriminators = discriminators
        self.stft_loss = stft_loss
        self.mel_loss = mel_loss
        self.optimizer_factory = optimizer
        self.disc_optimizer_factory = disc_optimizer
        self.scheduler_factory = scheduler
        self.stft_weight = stft_weight
        self.mel_weight = mel_weight
        self.gan_weight = gan_weight
        self.feature_weight = feature_weight
        self.aux_weights = dict(aux_weights or {})
        self.discriminator_weights = dict(discriminator_weights or {})
        self.gan_start_step = gan_start_step
        self.grad_clip = grad_clip
        self.stats_loader = stats_loader
        self.stats_batches = stats_batches
        self.config = config or {}
        self.phase_loss = phase_loss
        self.phase_weight = phase_weight
        self.aux_names: tuple[str, ...] | None = None  # the codec's aux terms, seen at step 1

    def adversarial(self) -> bool:
        """Whether this step trains the GAN: discriminators exist and the warm-up is over."""
        return self.discriminators is not None and self.global_step >= self.gan_start_step

    def reconstruction_losses(self, wav: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """wav: [B, 1, N] -> (wav_hat [B, 1, N'], {"stft", "mel", the codec's aux terms,
        "phase"}) against wav[..., :N']."""
        wav_hat, aux = self.codec.reconstruct(wav)
        if self.aux_names is None:
            self.aux_names = tuple(aux)
        target = wav[..., : wav_hat.shape[-1]]
        losses = {
            "stft": self.stft_loss(wav_hat, target),
            "mel": self.mel_loss(wav_hat, target),
            **aux,
        }
        if self.phase_loss is not None:
            losses["phase"] = self.phase_loss(wav_hat, target)
        return wav_hat, losses

    def _weighted(self, per_disc: dict[str, Tensor]) -> Tensor:
        return sum(self.discriminator_weights.get(k, 1.0) * v for k, v in per_disc.items())

    def _backward(self, optimizer: Any, loss: Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if self.grad_clip is not None:
            self.clip_gradients(optimizer, self.grad_clip, gradient_clip_algorithm="norm")

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        wav = batch["wav"].float()  # [B, 1, N]
        optimizers = self.optimizers()
        opt_g, *opt_d = optimizers if isinstance(optimizers, list) else [optimizers]
        adversarial = self.adversarial()
        wav_hat, losses = self.reconstruction_losses(wav)
        target = wav[..., : wav_hat.shape[-1]]
        log = {f"train/{k}": v.detach() for k, v in losses.items()}

        if adversarial:  # discriminator step first (Vocos), on the detached reconstruction
            real, fake = self.discriminators(target), self.discriminators(wav_hat.detach())
            d_loss = self._weighted(
                {k: discriminator_hinge_loss(real[k].logits, fake[k].logits) for k in real}
            )
            self._backward(opt_d[0], d_loss)
            # not opt_d[0].step(): that would count as a trainer step (see the module doc)
            self.trainer.strategy.optimizer_step(opt_d[0].optimizer, _no_closure)
            log["train/disc"] = d_loss.detach()

        g_loss = (
            self.stft_weight * losses["stft"]
            + self.mel_weight * losses["mel"]
            + sum(self.aux_weights.get(k, 1.0) * losses[k] for k in self.aux_names)
        )
        if "phase" in losses:
            g_loss = g_loss + self.phase_weight * losses["phase"]
        if adversarial:
            self.discriminators.requires_grad_(False)  # no discriminator grads from L_G
            with torch.no_grad():
                real = self.discriminators(target)
            fake = self.discriminators(wav_hat)
            gen = self._weighted({k: generator_hinge_loss(fake[k].logits) for k in fake})
            feat = self._weighted(
                {k: feature_matching_loss(real[k].features, fake[k].features) for k in fake}
            )
            g_loss = g_loss + self.gan_weight * gen + self.feature_weight * feat
            log["train/gen"], log["train/feature"] = gen.detach(), feat.detach()
        self._backward(opt_g, g_loss)
        opt_g.step()
        if adversarial:
            self.discriminators.requires_grad_(True)

        # each schedule counts its own optimizer's steps: the discriminators' starts with the GAN
        schedulers = self.lr_schedulers()
        schedulers = schedulers if isinstance(schedulers, list) else [schedulers]
        for scheduler, stepped in zip(schedulers, (True, adversarial), strict=False):
            if scheduler is not None and stepped:
                scheduler.step()
        self.log("train/loss", g_loss.detach(), prog_bar=True, batch_size=wav.shape[0])
        self.log_dict(log, batch_size=wav.shape[0])
        return g_loss.detach()

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        wav = batch["wav"].float()  # [B, 1, N]
        _, losses = self.reconstruction_losses(wav)
        n = wav.shape[0]
        self.log("val/loss", losses["stft"], prog_bar=True, batch_size=n, sync_dist=True)
        self.log("val/mel", losses["mel"], batch_size=n, sync_dist=True)
        for name in (*self.aux_names, "phase"):
            if name in losses:
                self.log(f"val/{name}", losses[name], batch_size=n, sync_dist=True)

    def configure_optimizers(self) -> Any:
        optimizers = [self.optimizer_factory(self.codec.parameters())]
        if self.discriminators is not None:
            optimizers.append(self.disc_optimizer_factory(self.discriminators.parameters()))
        if self.scheduler_factory is None:
            return optimizers
        schedulers = [
            {"scheduler": self.scheduler_factory(opt), "interval": "step"} for opt in optimizers
        ]
        return optimizers, schedulers

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CHECKPOINT_KEY] = {"format": 1, "config": self.config}

    @torch.no_grad()
    def fit_stats(self) -> None:
        """``codec.fit_stats`` on the first ``stats_batches`` batches of ``stats_loader``."""
        if self.stats_loader is None or self.stats_batches <= 0:
            return
        batches = itertools.islice(self.stats_loader, self.stats_batches)
        was_training = self.codec.training
        self.codec.eval()
        self.codec.fit_stats(b["wav"].float().to(self.device) for b in batches)
        self.codec.train(was_training)

    def export_to(self, folder: str | Path) -> Path:
        """Fit the codec's statistics, then write ``codec.safetensors`` + ``config.yaml``."""
        self.fit_stats()
        return export_codec(self.codec, self.config["codec"], self.codec.export_metadata(), folder)
