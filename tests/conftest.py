from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from hydra.utils import instantiate
from torch import nn

from audiodiff.build import build_denoiser, build_representation
from audiodiff.data.synth import SynthSpec, build_synth
from audiodiff.data.vocab import LabelVocab
from audiodiff.training.export import export, export_codec

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture(scope="session")
def load_script():
    """load_script(name) -> the module scripts/NAME.py, imported as a script runs (its
    neighbours, e.g. benchlib, importable)."""

    def load(name: str):
        if str(SCRIPTS) not in sys.path:
            sys.path.insert(0, str(SCRIPTS))
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def one_thread():
    """One intra-op thread: tiny convolutions only lose to OpenMP sync on a 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    """A small built-in synth set (24 clips, 3 of each instrument), built once per session."""
    root = tmp_path_factory.mktemp("synth")
    return build_synth(root, SynthSpec(n=24, max_seconds=1.2), progress=False)


@pytest.fixture(scope="session")
def autoencoder_export(tmp_path_factory) -> Path:
    """An untrained tiny autoencoder export (8 latent channels, hop 256, 16 kHz) with stats,
    of the recipe's kind (spectral encoder, iSTFT decoder)."""
    import torch
    from hydra.utils import instantiate

    from audiodiff.codecs.autoencoder_codec import AutoencoderCodec
    from audiodiff.training.export import export_codec

    ae = {
        "_target_": "audiodiff.codecs.autoencoder.AudioAutoencoder",
        "channels": 4,
        "channel_mults": [1, 1, 1, 1],
        "latent_dim": 8,
        "encoder": "stft",
        "decoder": "istft",
        "frame_dim": 16,
        "frame_layers": 1,
    }
    torch.manual_seed(0)
    codec = AutoencoderCodec(instantiate(ae), sample_rate=16000)
    codec.fit_stats([0.1 * torch.randn(2, 1, 4096)])
    config = {
        "_target_": "audiodiff.codecs.autoencoder_codec.AutoencoderCodec",
        "autoencoder": ae,
        "sample_rate": 16000,
    }
    folder = tmp_path_factory.mktemp("autoencoder")
    return export_codec(codec, config, codec.export_metadata(), folder)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """A two-step run of the smoke model (previews off): its folder, with checkpoints/ and
    model/; its data under the folder's parent, in data/."""
    from audiodiff.cli.main import main

    tmp = tmp_path_factory.mktemp("smoke_run")
    args = [f"run_dir={tmp / 'run'}", f"paths.data_dir={tmp / 'data'}", "trainer.max_steps=2"]
    assert main(["train", "experiment=smoke", "callbacks.preview=null", *args]) == 0
    return tmp / "run"


# Tiny models written as `audiodiff train` writes them (model.safetensors + config.yaml,
# codec exports) with random weights, so every graph computes something (the `tiny` fixture).
MEL = {
    "_target_": "audiodiff.audio.mel.MelRepresentation",
    "sample_rate": 16000,
    "n_fft": 256,
    "hop_length": 64,
    "n_mels": 16,
    "griffin_lim_iters": 4,
    "nnls_iters": 4,
}
STFT = {
    "_target_": "audiodiff.audio.stft_representation.StftRepresentation",
    "n_fft": 62,
    "hop_length": 16,
}
VOCAB = {"instrument": ["<null>", "bell", "organ", "pluck"], "pitch": ["<null>", "48", "60"]}
TEXT = {  # a small text encoder and the tokenizer training would have built (conf/text/small)
    "text": {
        "column": "caption",
        "encoder": {"_target_": "audiodiff.nn.text.SmallTextEncoder", "_partial_": True,
                    "dim": 16, "layers": 1, "heads": 2},
    },
    "tokenizer": {"_target_": "audiodiff.nn.text.Tokenizer", "max_tokens": 6,
                  "words": ["a", "bell", "bright", "organ", "soft"]},
}  # fmt: skip
DENOISERS = {
    "edm": "audiodiff.diffusion.precond.Denoiser",
    "vpred": "audiodiff.diffusion.vpred.VDenoiser",
    "flow": "audiodiff.diffusion.flow.FlowDenoiser",
}


def randomize(module: nn.Module, seed: int = 0, std: float = 0.2) -> nn.Module:
    """Every parameter N(0, std^2): an untrained U-Net outputs exactly 0 (zero output conv)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * std)
    return module


def model_config(
    representation: dict[str, Any] = MEL,
    diffusion: str = "edm",
    labels: bool = True,
    timing: bool = False,
    decoder: dict[str, Any] | None = None,
    mults: tuple[int, ...] = (1, 2),
    observation: bool = False,
    text: bool = False,
) -> dict[str, Any]:
    """A model config (the keys a run's config.yaml has that loading reads): a U-Net of
    width 16 with attention at its coarsest level, sigma_data 0.5, a 4-step sampler."""
    model = {
        "_target_": "audiodiff.nn.unet.UNet1d",
        "_partial_": True,
        "channels": 16,
        "channel_mults": list(mults),
        "num_res_blocks": 1,
        "attention_levels": [len(mults) - 1],
        "num_heads": 4,
    }
    if timing:
        model["timing"] = True
    target = DENOISERS[diffusion]
    return {
        "representation": dict(representation),
        **({"decoder": decoder} if decoder else {}),
        "model": model,
        "diffusion": {
            "sigma_data": 0.5,
            "sigma_min": 0.002,
            "sigma_max": 80.0,
            "denoiser": {"_target_": target, "_partial_": True, "sigma_data": 0.5},
        },
        "vocab": VOCAB if labels else {},
        **({"observation": True} if observation else {}),
        **(TEXT if text else {}),
        "sampler": {
            "name": "dpmpp_2m",
            "steps": 4,
            "schedule": "karras",
            "rho": 7.0,
            "options": {},
        },
    }


def model_folder(folder: Path, config: dict[str, Any], seed: int = 0) -> Path:
    """A model export (``audiodiff.load``-able) of ``config`` with random weights."""
    representation = build_representation(config)
    denoiser = build_denoiser(config, representation, LabelVocab(config["vocab"]))
    return export(randomize(denoiser, seed), config, folder)


def vocoder_folder(folder: Path, phase: str = "increment", magnitude_prior: bool = False) -> Path:
    """A MelVocoder codec export on ``MEL`` (dim 16, one ConvNeXt layer), random weights."""
    vocoder = {
        "_target_": "audiodiff.codecs.vocoder.VocosVocoder",
        "n_mels": MEL["n_mels"],
        "dim": 16,
        "num_layers": 1,
        "n_fft": MEL["n_fft"],
        "hop_length": MEL["hop_length"],
        "phase": phase,
        "magnitude_prior": magnitude_prior,
    }
    config = {"_target_": "audiodiff.codecs.mel_vocoder.MelVocoder", "mel": MEL, "vocoder": vocoder}
    codec = instantiate(config)
    randomize(codec, std=0.1)
    return export_codec(codec, config, codec.export_metadata(), folder)


def autoencoder_folder(folder: Path, decoder: str = "conv") -> Path:
    """An AutoencoderCodec export (8 latents, hop 64) with random weights and fitted stats."""
    from audiodiff.codecs.autoencoder_codec import AutoencoderCodec

    ae = {
        "_target_": "audiodiff.codecs.autoencoder.AudioAutoencoder",
        "channels": 4,
        "channel_mults": [1, 2, 2],
        "strides": [4, 4, 4],
        "latent_dim": 8,
        "res_dilations": [1, 3],
        "decoder": decoder,
        "frame_dim": 16,
        "frame_layers": 1,
        "vocoder_dim": 16,
        "vocoder_layers": 1,
    }
    codec = AutoencoderCodec(instantiate(ae), sample_rate=16000)
    randomize(codec.autoencoder, std=0.1)
    codec.fit_stats([0.1 * torch.randn(2, 1, 4096)])
    config = {
        "_target_": "audiodiff.codecs.autoencoder_codec.AutoencoderCodec",
        "autoencoder": ae,
        "sample_rate": 16000,
    }
    return export_codec(codec, config, codec.export_metadata(), folder)


def latent_representation(ckpt: Path) -> dict[str, Any]:
    return {"_target_": "audiodiff.codecs.decoders.latent", "ckpt": str(ckpt), "sample_rate": 16000}


def vocoder_decoder(ckpt: Path) -> dict[str, Any]:
    return {"_target_": "audiodiff.codecs.decoders.vocoder", "_partial_": True, "ckpt": str(ckpt)}


@pytest.fixture(scope="session")
def tiny() -> SimpleNamespace:
    """This module's builders, for the test modules (a conftest cannot be imported)."""
    return SimpleNamespace(
        MEL=MEL,
        STFT=STFT,
        VOCAB=VOCAB,
        randomize=randomize,
        model_config=model_config,
        model_folder=model_folder,
        vocoder_folder=vocoder_folder,
        autoencoder_folder=autoencoder_folder,
        latent_representation=latent_representation,
        vocoder_decoder=vocoder_decoder,
    )
