"""scripts/bench_decoders.py on tiny untrained exports: every decoder gets a row of finite
numbers, and the metrics rank a real decoder (Griffin-Lim) above an untrained vocoder."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from hydra.utils import instantiate

from audiodiff.codecs.autoencoder_codec import AutoencoderCodec
from audiodiff.codecs.mel_vocoder import MelVocoder
from audiodiff.codecs.vocoder import VocosVocoder
from audiodiff.training.export import export_codec

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
MEL = {"_target_": "audiodiff.audio.mel.MelRepresentation", "sample_rate": 16000}
VOCODER = {"_target_": "audiodiff.codecs.vocoder.VocosVocoder", "dim": 16, "num_layers": 1}
AE = {
    "_target_": "audiodiff.codecs.autoencoder.AudioAutoencoder",
    "channels": 4,
    "channel_mults": [1, 1, 1, 1],
    "latent_dim": 8,
}


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def load_script():
    sys.path.insert(0, str(SCRIPTS))  # for `benchlib`
    spec = importlib.util.spec_from_file_location("bench_decoders", SCRIPTS / "bench_decoders.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_decoders"] = module
    spec.loader.exec_module(module)
    return module


def vocoder_export(folder: Path) -> Path:
    torch.manual_seed(0)
    codec = MelVocoder(instantiate(MEL), VocosVocoder(dim=16, num_layers=1))
    config = {"_target_": "audiodiff.codecs.mel_vocoder.MelVocoder", "mel": MEL, "vocoder": VOCODER}
    return export_codec(codec, config, codec.export_metadata(), folder)


def autoencoder_export(folder: Path) -> Path:
    torch.manual_seed(0)
    codec = AutoencoderCodec(instantiate(AE), sample_rate=16000)
    codec.fit_stats([0.1 * torch.randn(2, 1, 4096)])
    config = {
        "_target_": "audiodiff.codecs.autoencoder_codec.AutoencoderCodec",
        "autoencoder": AE,
        "sample_rate": 16000,
    }
    return export_codec(codec, config, codec.export_metadata(), folder)


def sine_clips(folder: Path) -> Path:
    folder.mkdir()
    t = np.arange(8000) / 16000  # 0.5 s
    for i, freq in enumerate((220.0, 440.0, 880.0)):
        sf.write(folder / f"{i}.wav", 0.5 * np.sin(2 * np.pi * freq * t), 16000)
    return folder


def test_bench_decoders_end_to_end(tmp_path):
    bench = load_script()
    out = tmp_path / "d.json"
    args = ["--clips", str(sine_clips(tmp_path / "clips")), "--n", "3", "--seconds", "0.5"]
    args += ["--vocoder", str(vocoder_export(tmp_path / "voc"))]
    args += ["--autoencoder", str(autoencoder_export(tmp_path / "ae"))]
    sheet = tmp_path / "sheet.png"
    args += ["--sheet", str(sheet), "--sheet-clips", "2"]
    bench.main([*args, "--speed-seconds", "1", "--repeats", "2", "--out", str(out)])
    assert sheet.stat().st_size > 1000  # input + 3 decoders for 2 clips
    result = json.loads(out.read_text())
    rows = {r["decoder"]: r for r in result["rows"]}
    assert set(rows) == {"griffin_lim", "vocoder", "autoencoder"}
    assert result["n"] == 3 and result["seconds"] == 31 * 256 / 16000 and result["notes"] == []
    for r in rows.values():
        for key in ("decode_x_realtime", "encode_x_realtime", "mr_stft", "mel_l1", "lsd"):
            assert math.isfinite(r[key]) and r[key] > 0, (r["decoder"], key, r[key])
        assert r["pesq"] is None and r["stoi"] is None  # no --speech
        assert r["pitch_kept"] is None  # no --pitch
    assert rows["griffin_lim"]["params"] == 0 and rows["vocoder"]["params"] > 0
    # Griffin-Lim rebuilds a sine well; an untrained vocoder does not
    assert rows["griffin_lim"]["mr_stft"] < rows["vocoder"]["mr_stft"]
    assert rows["griffin_lim"]["mel_l1"] < rows["vocoder"]["mel_l1"]


def test_missing_exports_are_skipped_with_a_note(tmp_path):
    bench = load_script()
    out = tmp_path / "d.json"
    clips = sine_clips(tmp_path / "clips")
    args = ["--clips", str(clips), "--n", "2", "--seconds", "0.5", "--speech", "--pitch"]
    args += ["--vocoder", str(tmp_path / "gone"), "--speed-seconds", "1", "--repeats", "1"]
    bench.main([*args, "--out", str(out)])
    result = json.loads(out.read_text())
    assert [r["decoder"] for r in result["rows"]] == ["griffin_lim"]
    assert result["rows"][0]["pitch_kept"] == 1.0  # Griffin-Lim keeps a sine's pitch
    assert any("gone not found, skipped" in note for note in result["notes"])
    assert any(note.startswith("autoencoder: no export given") for note in result["notes"])
