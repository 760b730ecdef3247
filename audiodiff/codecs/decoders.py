"""Which waveform decoder a diffusion model's representation uses, picked by config.

    representation=mel                                   # Griffin-Lim (no training needed)
    representation=mel decoder=vocoder decoder.ckpt=outputs/vocoder/run/model
    representation=latent representation.ckpt=outputs/autoencoder/run/model

A vocoder only changes ``decode``: the mel the diffusion model sees (and the feature cache)
stay the same, so a mel model trained with Griffin-Lim previews generates through a vocoder
by ``audiodiff generate ... decoder=vocoder decoder.ckpt=...``. The run's config records the
decoder and the path of its export; a missing export is a one-line error naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from audiodiff.audio.mel import MelRepresentation
from audiodiff.audio.representation import Representation
from audiodiff.codecs.autoencoder import weights_digest
from audiodiff.errors import ConfigError


def _load(ckpt: str, what: str, override: str):
    from audiodiff.training.export import load_codec

    if not Path(ckpt).exists():
        raise ConfigError(
            f"{ckpt}: {what} export not found (train it first, or point {override}= at the "
            "folder holding codec.safetensors + config.yaml)"
        )
    return load_codec(ckpt)


class VocodedMel(Representation):
    """A ``MelRepresentation`` whose ``decode`` is a trained vocoder instead of Griffin-Lim."""

    def __init__(self, mel: MelRepresentation, vocoder: torch.nn.Module, ckpt: str) -> None:
        super().__init__()
        self.mel = mel
        self.vocoder = vocoder.eval().requires_grad_(False)
        self.sample_rate = mel.sample_rate
        self.ckpt = ckpt

    @property
    def channels(self) -> int:
        return self.mel.channels

    @property
    def hop_length(self) -> int:
        return self.mel.hop_length

    def encode(self, wav: Tensor) -> Tensor:
        """wav: [B, 1, N] -> x: [B, n_mels, N // hop] (exactly the mel representation)."""
        return self.mel.encode(wav)

    @torch.no_grad()
    def decode(self, x: Tensor) -> Tensor:
        """x: [B, n_mels, T] -> wav: [B, 1, T * hop] by the vocoder."""
        return self.vocoder(x.float())

    def config(self) -> dict[str, Any]:
        return self.mel.config()  # encode is the mel's: the feature cache is shared

    def fingerprint(self) -> str:
        return self.mel.fingerprint()


def griffin_lim(representation: Representation) -> Representation:
    """``decoder=griffinlim``: the mel representation's own Griffin-Lim decoder."""
    if not isinstance(representation, MelRepresentation):
        raise ConfigError("decoder=griffinlim needs representation=mel")
    return representation


def vocoder(representation: Representation, ckpt: str) -> VocodedMel:
    """``decoder=vocoder decoder.ckpt=PATH``: decode mels with a vocoder trained by
    ``audiodiff train experiment=vocoder_...``; its mel settings must equal the model's."""
    mel = representation.mel if isinstance(representation, VocodedMel) else representation
    if not isinstance(mel, MelRepresentation):
        raise ConfigError("decoder=vocoder needs representation=mel")
    codec = _load(ckpt, "vocoder", "decoder.ckpt")
    trained_on = getattr(codec, "mel", None)
    if trained_on is None or not hasattr(codec, "vocoder"):
        raise ConfigError(f"{ckpt}: not a vocoder export (it holds a {type(codec).__name__})")
    if trained_on.config() != mel.config():
        diff = sorted(k for k in mel.config() if trained_on.config().get(k) != mel.config()[k])
        raise ConfigError(f"{ckpt}: the vocoder was trained on other mel settings ({diff[0]})")
    return VocodedMel(mel, codec.vocoder, ckpt)


def latent(ckpt: str, sample_rate: int) -> Representation:
    """``representation=latent representation.ckpt=PATH``: normalised autoencoder latents."""
    codec = _load(ckpt, "autoencoder", "representation.ckpt")
    if not hasattr(codec, "latent_representation"):
        raise ConfigError(f"{ckpt}: not an autoencoder export (it holds a {type(codec).__name__})")
    if codec.sample_rate != sample_rate:
        raise ConfigError(
            f"{ckpt}: the autoencoder runs at {codec.sample_rate} Hz, "
            f"representation.sample_rate is {sample_rate}"
        )
    rep = codec.latent_representation()
    rep.checkpoint_id = weights_digest(rep.autoencoder)  # hashed once, not per cache lookup
    return rep
