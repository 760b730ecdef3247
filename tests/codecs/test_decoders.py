"""Decoders by config: mel + vocoder, autoencoder latents, and a model that names its decoder."""

import pytest
import torch
from omegaconf import OmegaConf

import audiodiff
from audiodiff.build import build_denoiser, build_representation
from audiodiff.cli.config import config_dir
from audiodiff.cli.main import main
from audiodiff.codecs.decoders import VocodedMel
from audiodiff.codecs.mel_vocoder import MelVocoder
from audiodiff.codecs.vocoder import VocosVocoder
from audiodiff.data.vocab import LabelVocab
from audiodiff.errors import ConfigError
from audiodiff.training.export import export, export_codec

MEL = {"_target_": "audiodiff.audio.mel.MelRepresentation", "sample_rate": 16000}
VOCODER = {"_target_": "audiodiff.codecs.vocoder.VocosVocoder", "dim": 16, "num_layers": 1}
AE = {
    "_target_": "audiodiff.codecs.autoencoder.AudioAutoencoder",
    "channels": 4,
    "channel_mults": [1, 1, 1, 1],
    "latent_dim": 8,
}


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture(scope="module")
def vocoder_dir(tmp_path_factory):
    from hydra.utils import instantiate

    torch.manual_seed(0)
    codec = MelVocoder(instantiate(MEL), VocosVocoder(dim=16, num_layers=1))
    config = {"_target_": "audiodiff.codecs.mel_vocoder.MelVocoder", "mel": MEL, "vocoder": VOCODER}
    return export_codec(codec, config, codec.export_metadata(), tmp_path_factory.mktemp("voc"))


def decoder(ckpt) -> dict:
    return {"_target_": "audiodiff.codecs.decoders.vocoder", "_partial_": True, "ckpt": str(ckpt)}


def test_vocoder_decodes_mels_and_keeps_the_mel_encoding(vocoder_dir):
    rep = build_representation({"representation": MEL, "decoder": decoder(vocoder_dir)})
    plain = build_representation({"representation": MEL})
    assert isinstance(rep, VocodedMel) and rep.fingerprint() == plain.fingerprint()
    wav = 0.1 * torch.randn(2, 1, 4096)
    x = rep.encode(wav)
    assert torch.equal(x, plain.encode(wav)) and rep.channels == 80
    out = rep.decode(x)
    assert out.shape == (2, 1, 16 * 256) and not torch.allclose(out, plain.decode(x), atol=1e-3)


def test_vocoder_refuses_other_mel_settings_and_missing_exports(vocoder_dir, tmp_path):
    other = {**MEL, "n_mels": 64}
    with pytest.raises(ConfigError, match="other mel settings"):
        build_representation({"representation": other, "decoder": decoder(vocoder_dir)})
    with pytest.raises(ConfigError, match="nope: vocoder export not found"):
        build_representation({"representation": MEL, "decoder": decoder(tmp_path / "nope")})


def test_latent_representation_from_an_autoencoder_export(autoencoder_export, vocoder_dir):
    cfg = {
        "_target_": "audiodiff.codecs.decoders.latent",
        "ckpt": str(autoencoder_export),
        "sample_rate": 16000,
    }
    rep = build_representation({"representation": cfg})
    wav = 0.1 * torch.randn(2, 1, 4096)
    x = rep.encode(wav)
    assert x.shape == (2, 8, 16) and rep.decode(x).shape == (2, 1, 4096)
    assert len(rep.fingerprint()) == 16
    with pytest.raises(ConfigError, match="not an autoencoder export"):
        build_representation({"representation": {**cfg, "ckpt": str(vocoder_dir)}})
    with pytest.raises(ConfigError, match="runs at 16000 Hz"):
        build_representation({"representation": {**cfg, "sample_rate": 22050}})


def test_latent_config_composes():
    assert OmegaConf.load(config_dir() / "representation" / "latent.yaml").sample_rate == 16000


def model_export(tmp_path, representation: dict, dec: dict | None):
    config = {
        "model": {
            "_target_": "audiodiff.nn.unet.UNet1d",
            "_partial_": True,
            "channels": 16,
            "channel_mults": [1],
            "num_res_blocks": 1,
            "attention_levels": [],
        },
        "representation": representation,
        "decoder": dec,
        "diffusion": {"sigma_data": 1.0, "sigma_min": 0.002, "sigma_max": 80.0},
        "vocab": {"pitch": ["<null>", "60"]},
        "sampler": {"name": "euler", "steps": 2},
    }
    rep = build_representation(config)
    den = build_denoiser(config, rep, LabelVocab(config["vocab"]))
    return export(den, config, tmp_path / "model")


def test_a_model_that_names_its_decoder_generates_through_it(vocoder_dir, tmp_path):
    folder = model_export(tmp_path, MEL, decoder(vocoder_dir))
    pipe = audiodiff.load(folder, device="cpu")
    assert isinstance(pipe.representation, VocodedMel)
    assert pipe.generate(1, seconds=0.2, seed=0).shape == (1, 1, 3200)
    # generate swaps the decoder back to Griffin-Lim, or fails in one line when it is gone
    griffin = {"_target_": "audiodiff.codecs.decoders.griffin_lim", "_partial_": True}
    assert not isinstance(audiodiff.load(folder, "cpu", decoder=griffin).representation, VocodedMel)
    out = tmp_path / "g"
    args = ["generate", f"ckpt={folder}", "n=1", "seconds=0.2", "device=cpu", f"out={out}"]
    assert main([*args, "decoder=vocoder", f"decoder.ckpt={tmp_path / 'gone'}"]) == 2


def test_generate_with_a_missing_decoder_checkpoint_is_one_clear_line(
    vocoder_dir, tmp_path, capsys
):
    import shutil

    moved = tmp_path / "voc"
    shutil.copytree(vocoder_dir, moved)
    folder = model_export(tmp_path, MEL, decoder(moved))
    shutil.rmtree(moved)
    code = main(["generate", f"ckpt={folder}", "n=1", "device=cpu", f"out={tmp_path / 'g'}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "voc: vocoder export not found" in err
    assert "decoder.ckpt=" in err and not (tmp_path / "g").exists()


def test_latent_model_generates_and_autoencoder_override(autoencoder_export, tmp_path):
    cfg = {
        "_target_": "audiodiff.codecs.decoders.latent",
        "ckpt": str(tmp_path / "moved"),
        "sample_rate": 16000,
    }
    import shutil

    shutil.copytree(autoencoder_export, tmp_path / "moved")
    folder = model_export(tmp_path, cfg, None)
    shutil.rmtree(tmp_path / "moved")
    with pytest.raises(ConfigError, match="autoencoder export not found"):
        audiodiff.load(folder, device="cpu")
    pipe = audiodiff.load(folder, device="cpu", autoencoder=str(autoencoder_export))
    assert pipe.representation.channels == 8
    assert pipe.generate(1, seconds=0.2, seed=0).shape == (1, 1, 3200)


def test_mel_waist_autoencoder_starts_from_a_vocoder(vocoder_dir, tmp_path):
    from hydra.utils import instantiate

    from audiodiff.codecs.autoencoder_codec import AutoencoderCodec
    from audiodiff.training.export import load_codec

    ae = {**AE, "encoder": "stft", "decoder": "mel", "frame_dim": 16, "frame_layers": 1}
    ae |= {"vocoder_dim": 16, "vocoder_layers": 1}
    codec = AutoencoderCodec(instantiate(ae), init_vocoder=str(vocoder_dir))
    trained = load_codec(vocoder_dir).vocoder.state_dict()
    for name, value in codec.autoencoder.decoder.vocoder.state_dict().items():
        assert torch.equal(value, trained[name]), name
    # training sees the waist's own term: L1 of its log-mel to the input's
    wav = 0.1 * torch.randn(2, 1, 4096)
    wav_hat, aux = codec.train().reconstruct(wav)
    assert wav_hat.shape == wav.shape and set(aux) == {"kl", "waist"}
    mel_hat = codec.autoencoder.decoder.to_mel(codec.autoencoder.encode(wav))
    expected = (mel_hat - codec.autoencoder.decoder.mel.encode(wav)).abs().mean()
    torch.testing.assert_close(codec.eval().reconstruct(wav)[1]["waist"], expected)
    # an export names the vocoder it started from, but loads from its own weights even
    # when that vocoder is gone
    config = {
        "_target_": "audiodiff.codecs.autoencoder_codec.AutoencoderCodec",
        "autoencoder": ae,
        "sample_rate": 16000,
        "init_vocoder": str(tmp_path / "gone"),
    }
    with torch.no_grad():
        codec.autoencoder.decoder.proj.weight.add_(1.0)  # differs from any fresh start
    folder = export_codec(codec, config, codec.export_metadata(), tmp_path / "ae")
    loaded = load_codec(folder)
    z = torch.randn(1, 8, 5)
    torch.testing.assert_close(loaded.decode(z), codec.eval().decode(z))
    with pytest.raises(ConfigError, match="gone: vocoder export not found"):
        AutoencoderCodec(instantiate(ae), init_vocoder=str(tmp_path / "gone"))
    with pytest.raises(ConfigError, match="does not fit"):
        AutoencoderCodec(instantiate({**ae, "vocoder_dim": 32}), init_vocoder=str(vocoder_dir))
    with pytest.raises(ConfigError, match="vocoder_phase=increment"):
        AutoencoderCodec(
            instantiate({**ae, "vocoder_phase": "locked"}), init_vocoder=str(vocoder_dir)
        )
    with pytest.raises(ConfigError, match="decoder=mel"):
        AutoencoderCodec(instantiate(AE), init_vocoder=str(vocoder_dir))
