"""Build the model's parts from a resolved config; shared by training and loading, so a
checkpoint rebuilds exactly the network it was trained with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate

from audiodiff.audio.representation import Representation
from audiodiff.data.vocab import LabelVocab
from audiodiff.diffusion.precond import Denoiser
from audiodiff.errors import AudioDiffError, ConfigError


def instantiate_part(node: Any, **kwargs: Any) -> Any:
    """``instantiate``, re-raising our own errors (a missing export, ...) unwrapped."""
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as e:
        if isinstance(e.__cause__, AudioDiffError):
            raise e.__cause__ from None
        raise


def build_representation(config: Mapping[str, Any]) -> Representation:
    """``representation`` (mel, latent), then ``decoder`` (a partial applied to it) if set."""
    representation = instantiate_part(config["representation"])
    if config.get("decoder"):
        representation = instantiate(config["decoder"])(representation)
    if not isinstance(representation, Representation):
        raise ConfigError(f"representation config built a {type(representation).__name__}")
    return representation


def build_denoiser(
    config: Mapping[str, Any], representation: Representation, vocab: LabelVocab
) -> Denoiser:
    """The (untrained) denoiser: ``model`` partial + channels + label sizes, preconditioned.

    With ``observation: true`` in the config (conditional restoration) the net also reads a
    degraded recording's representation, as many channels as x."""
    make_net = instantiate(config["model"])
    label_sizes = {label: vocab.size(label) for label in vocab.labels}
    extra = {"obs_channels": representation.channels} if config.get("observation") else {}
    try:
        net = make_net(in_channels=representation.channels, label_sizes=label_sizes, **extra)
    except ValueError as e:  # the U-Net's own checks (channels, levels, ...)
        raise ConfigError(f"model: {e}") from None
    return Denoiser(net, sigma_data=float(config["diffusion"]["sigma_data"]))
