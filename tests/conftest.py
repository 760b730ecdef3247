from pathlib import Path

import pytest

from audiodiff.data.synth import SynthSpec, build_synth


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
