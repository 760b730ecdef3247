"""Pitch templates (``model.pitch_templates``): the representation of a harmonic tone at the
asked pitch, fed to the net as extra input channels."""

from __future__ import annotations

import math

import pytest
import torch
from omegaconf import OmegaConf

from audiodiff.audio.mel import MelRepresentation
from audiodiff.audio.templates import TEMPLATE_RMS_DB, harmonic_tone, pitch_templates
from audiodiff.build import build_denoiser, build_representation
from audiodiff.cli.config import compose
from audiodiff.data.vocab import LabelVocab
from audiodiff.errors import ConfigError
from audiodiff.nn.unet import UNet1d

NAN = float("nan")


def test_a_harmonic_tone_has_its_fundamental_and_the_training_level():
    sr = 16000
    wav = harmonic_tone(torch.tensor([45.0, 69.0]), sr, seconds=1.0)  # A2 = 110 Hz, A4 = 440
    assert wav.shape == (2, 1, sr)
    rms_db = 20 * torch.log10(wav.square().mean(-1).sqrt()).flatten()
    torch.testing.assert_close(rms_db, torch.full((2,), TEMPLATE_RMS_DB), atol=0.01, rtol=0)
    spectrum = torch.fft.rfft(wav[:, 0]).abs()  # 1 Hz bins over one second
    assert spectrum.argmax(-1).tolist() == [110, 440]  # 1/k amplitudes: the fundamental leads
    assert spectrum[0, 7990:].max() < 1e-3 * spectrum[0].max()  # nothing near Nyquist


def test_templates_tell_neighbouring_semitones_apart_and_null_is_zero():
    rep = MelRepresentation(n_mels=128)
    t = pitch_templates(rep, [NAN, 40.0, 41.0, 40.0, 72.0])
    assert t.shape == (5, 128)
    assert not t[0].any()  # the null id (and any non-number) feeds zeros
    assert torch.equal(t[1], t[3])  # one pitch, one template
    assert (t[1] - t[2]).abs().max() > 0.5  # E2 and F2 differ where their harmonics fall
    # the loudest bin of C5 (523 Hz) lies above that of E2 (82 Hz)
    assert int(t[4].argmax()) > int(t[1].argmax())


def net(**kw) -> UNet1d:
    torch.manual_seed(0)
    table = torch.randn(3, 4)
    table[0] = 0
    defaults = dict(
        in_channels=4, channels=16, channel_mults=(1, 2), num_res_blocks=1,
        attention_levels=(), label_sizes={"main_pitch": 3},
        pitch_templates=["main_pitch"], label_templates={"main_pitch": table},
    )  # fmt: skip
    return UNet1d(**(defaults | kw))


def test_the_template_reaches_the_net_when_the_label_rows_are_equal():
    model = net().eval()
    with torch.no_grad():  # the same table row for every id: only the template differs
        model.label_embedding.tables["main_pitch"].weight.zero_()
        model.out[-1].weight.normal_(std=0.1)  # the zero-started output conv
    x, s = torch.randn(1, 4, 8).expand(3, -1, -1), torch.ones(3)
    out = model(x, s, {"main_pitch": torch.tensor([0, 1, 2])})
    assert not torch.allclose(out[0], out[1]) and not torch.allclose(out[1], out[2])
    missing = model(x[:1], s[:1], {})  # no label: the null id, zeros
    torch.testing.assert_close(missing[0], out[0])
    assert model.input_conv.in_channels == 4 + 4
    assert "template_main_pitch" in model.state_dict()


def test_bad_templates_are_refused():
    with pytest.raises(ValueError, match="need label_templates"):
        net(label_templates=None)
    with pytest.raises(ValueError, match=r"must be \[3, C\]"):
        net(label_templates={"main_pitch": torch.zeros(2, 4)})


def test_the_model_config_key_builds_templates_from_the_representation():
    cfg = compose("train", ["experiment=smoke", "+model.pitch_templates=[main_pitch]"])
    config = OmegaConf.to_container(cfg, resolve=True)
    rep = build_representation(config)
    rows = [{"path": str(i), "main_pitch": p, "kind": k} for i, (p, k) in enumerate(
        [("60", "note"), ("", "drums"), ("40", "chord")]
    )]  # fmt: skip
    vocab = LabelVocab.build(rows, ["main_pitch", "kind"])
    state = build_denoiser(config, rep, vocab).state_dict()
    table = next(v for k, v in state.items() if k.endswith("template_main_pitch"))
    assert table.shape == (vocab.size("main_pitch"), rep.channels)
    expect = pitch_templates(rep, [NAN] + [float(vocab.decode("main_pitch", i)) for i in (1, 2)])
    torch.testing.assert_close(table, expect)
    with pytest.raises(ConfigError, match="model.pitch_templates: none of 'kind'"):
        cfg = compose("train", ["experiment=smoke", "+model.pitch_templates=[kind]"])
        build_denoiser(OmegaConf.to_container(cfg, resolve=True), rep, vocab)
    assert math.isfinite(float(table.sum()))
