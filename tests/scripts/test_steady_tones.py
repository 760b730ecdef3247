"""scripts/steady_tones.py: one row per f0 with a finite RMS ratio and distance."""

import importlib.util
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from audiodiff.codecs.mel_vocoder import MelVocoder
from audiodiff.codecs.vocoder import VocosVocoder
from audiodiff.training.export import export_codec

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "steady_tones.py"
MEL = {"_target_": "audiodiff.audio.mel.MelRepresentation", "sample_rate": 16000}
VOCODER = {"_target_": "audiodiff.codecs.vocoder.VocosVocoder", "dim": 16, "num_layers": 1}

pytestmark = pytest.mark.usefixtures("one_thread")


def test_one_row_per_tone(tmp_path, capsys):
    torch.manual_seed(0)
    codec = MelVocoder(instantiate(MEL), VocosVocoder(dim=16, num_layers=1))
    config = {"_target_": "audiodiff.codecs.mel_vocoder.MelVocoder", "mel": MEL, "vocoder": VOCODER}
    folder = export_codec(codec, config, codec.export_metadata(), tmp_path / "voc")
    spec = importlib.util.spec_from_file_location("steady_tones", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([str(folder), "--f0", "220", "440"])
    rows = capsys.readouterr().out.strip().splitlines()[1:]
    assert [float(r.split()[0]) for r in rows] == [220.0, 440.0]
    for row in rows:
        ratio, distance = map(float, row.split()[1:])
        assert ratio >= 0 and distance > 0  # an untrained vocoder is far from the tone
