"""Build the model's parts from a resolved config; shared by training and loading, so a
checkpoint rebuilds exactly the network it was trained with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from torch import nn

from audiodiff.audio.representation import Representation
from audiodiff.audio.templates import pitch_templates
from audiodiff.data.vocab import LabelVocab
from audiodiff.errors import AudioDiffError, ConfigError
from audiodiff.nn.text import TextTokenizer
from audiodiff.safe_load import check_targets

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


def tokenizer_from_dict(node: Mapping[str, Any], where: str) -> TextTokenizer:
    """The tokenizer a ``to_dict()`` config rebuilds (audiodiff ``_target_`` only)."""
    if not isinstance(node, Mapping) or "_target_" not in node:
        raise ConfigError(f"{where}: not a tokenizer config (no _target_)")
    check_targets(dict(node), where)
    tokenizer = instantiate_part(dict(node), _convert_="all")
    if not isinstance(tokenizer, TextTokenizer):
        raise ConfigError(f"{where}: built a {type(tokenizer).__name__}, not a tokenizer")
    return tokenizer


def build_tokenizer(config: Mapping[str, Any]) -> TextTokenizer | None:
    """A text model's tokenizer from ``config["tokenizer"]`` (what training built from the
    captions; ``audiodiff train`` stores it there); None for a model without ``text``."""
    if not config.get("text"):
        return None
    if not config.get("tokenizer"):
        raise ConfigError(
            "text: the config has no tokenizer (training builds one from the captions: "
            "data.text_column must name the caption column)"
        )
    return tokenizer_from_dict(config["tokenizer"], "tokenizer")


def label_values(
    vocab: LabelVocab, labels: list[str], key: str = "model.numeric_labels"
) -> dict[str, list[float]]:
    """The number of each id of each of ``labels`` (``model.numeric_labels``): NaN for the
    null id 0 and for values that do not parse as numbers."""
    out = {}
    for label in labels:
        if label not in vocab.labels:
            known = ", ".join(vocab.labels) or "none"
            raise ConfigError(f"{key}: {label!r} is not a label (labels: {known})")
        values = [float("nan")]
        for i in range(1, vocab.size(label)):
            try:
                values.append(float(vocab.decode(label, i)))
            except ValueError:
                values.append(float("nan"))
        if all(v != v for v in values):
            raise ConfigError(f"{key}: none of {label!r}'s values is a number")
        out[label] = values
    return out


def build_denoiser(
    config: Mapping[str, Any],
    representation: Representation,
    vocab: LabelVocab,
    tokenizer: TextTokenizer | None = None,
) -> nn.Module:
    """The (untrained) denoiser: ``model`` partial + channels + label sizes, wrapped in
    ``diffusion.denoiser`` (EDM ``Denoiser``, ``VDenoiser`` or ``FlowDenoiser``: each
    D(x, sigma, cond) -> x0_hat in EDM variables).

    With ``observation: true`` in the config (conditional restoration) the net also reads a
    degraded recording's representation, as many channels as x. With ``text`` (conf/text) it
    also gets ``text.encoder`` built on ``tokenizer`` (default: ``build_tokenizer(config)``).
    ``model.pitch_templates`` (numeric labels such as ``main_pitch``) also feed the net the
    representation of a harmonic tone at the asked pitch (``audiodiff.audio.templates``)."""
    make_net = instantiate(config["model"])
    label_sizes = {label: vocab.size(label) for label in vocab.labels}
    extra: dict[str, Any] = (
        {"obs_channels": representation.channels} if config.get("observation") else {}
    )
    numeric = list(config["model"].get("numeric_labels") or [])
    if numeric:
        extra["label_values"] = label_values(vocab, numeric)
    templated = list(config["model"].get("pitch_templates") or [])
    if templated:  # a harmonic tone's representation per pitch id (audio/templates.py)
        values = label_values(vocab, templated, key="model.pitch_templates")
        extra["label_templates"] = {
            k: pitch_templates(representation, v) for k, v in values.items()
        }
    if config.get("text"):
        tokenizer = tokenizer if tokenizer is not None else build_tokenizer(config)
        make_encoder = instantiate_part(config["text"]["encoder"], _partial_=True)
        try:
            extra["text_encoder"] = make_encoder(tokenizer=tokenizer)
        except ValueError as e:  # the encoder's own checks (dim, heads, ...)
            raise ConfigError(f"text.encoder: {e}") from None
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
