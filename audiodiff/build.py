"""Build the model's parts from a resolved config; shared by training and loading, so a
checkpoint rebuilds exactly the network it was trained with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from torch import nn

from audiodiff.audio.representation import Representation
from audiodiff.data.vocab import LabelVocab
from audiodiff.errors import AudioDiffError, ConfigError

EDM_DENOISER = "audiodiff.diffusion.precond.Denoiser"


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


def denoiser_config(diffusion: Mapping[str, Any]) -> Mapping[str, Any]:
    """``diffusion.denoiser``; a config saved before formulations existed (no such key) is
    EDM's ``Denoiser`` with the config's ``sigma_data``, as it was trained (the node
    conf/diffusion/edm.yaml resolves to)."""
    node = diffusion.get("denoiser")
    if node is None:
        sigma_data = float(diffusion["sigma_data"])
        return {"_target_": EDM_DENOISER, "_partial_": True, "sigma_data": sigma_data}
    return node


def build_denoiser(
    config: Mapping[str, Any], representation: Representation, vocab: LabelVocab
) -> nn.Module:
    """The (untrained) denoiser: ``model`` partial + channels + label sizes, wrapped in
    ``diffusion.denoiser`` (EDM ``Denoiser``, ``VDenoiser`` or ``FlowDenoiser``: each
    D(x, sigma, cond) -> x0_hat in EDM variables).

    With ``observation: true`` in the config (conditional restoration) the net also reads a
    degraded recording's representation, as many channels as x."""
    make_net = instantiate(config["model"])
    label_sizes = {label: vocab.size(label) for label in vocab.labels}
    extra = {"obs_channels": representation.channels} if config.get("observation") else {}
    try:
        net = make_net(in_channels=representation.channels, label_sizes=label_sizes, **extra)
    except ValueError as e:  # the U-Net's own checks (channels, levels, ...)
        raise ConfigError(f"model: {e}") from None
    make_denoiser = instantiate_part(denoiser_config(config["diffusion"]), _partial_=True)
    try:
        denoiser = make_denoiser(net)
    except ValueError as e:  # sigma_data <= 0, ...
        raise ConfigError(f"diffusion.denoiser: {e}") from None
    if not isinstance(denoiser, nn.Module):
        raise ConfigError(f"diffusion.denoiser built a {type(denoiser).__name__}, not a module")
    return denoiser
