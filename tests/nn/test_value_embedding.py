"""Numeric labels (``model.numeric_labels``): a label's ids also embedded by their values."""

from __future__ import annotations

import math

import pytest
import torch
from omegaconf import OmegaConf

from audiodiff.build import build_denoiser, build_representation, label_values
from audiodiff.cli.config import compose
from audiodiff.data.vocab import LabelVocab
from audiodiff.errors import ConfigError
from audiodiff.nn.embedding import LabelEmbedding, ValueEmbedding
from audiodiff.nn.unet import UNet1d

NAN = float("nan")


def pitch_vocab() -> LabelVocab:
    rows = [{"path": str(i), "main_pitch": p, "kind": k} for i, (p, k) in enumerate(
        [("60", "note"), ("62", "note"), ("40", "chord"), ("", "drums"), ("61", "note")]
    )]  # fmt: skip
    return LabelVocab.build(rows, ["main_pitch", "kind"])


def test_values_come_from_the_vocabulary_with_nan_for_null_and_words():
    vocab = pitch_vocab()
    values = label_values(vocab, ["main_pitch"])["main_pitch"]
    assert math.isnan(values[0])  # the null id
    assert values[1:] == [float(vocab.decode("main_pitch", i)) for i in range(1, 5)]
    assert sorted(values[1:]) == [40.0, 60.0, 61.0, 62.0]
    with pytest.raises(ConfigError, match="none of 'kind'"):
        label_values(vocab, ["kind"])  # note / chord / drums: no numbers
    with pytest.raises(ConfigError, match="'tempo' is not a label"):
        label_values(vocab, ["tempo"])


def test_null_and_non_numbers_embed_to_zero_and_numbers_do_not():
    emb = ValueEmbedding(torch.tensor([NAN, 40.0, 60.0, NAN]), emb_dim=16)
    out = emb(torch.tensor([0, 1, 2, 3]))
    assert out.shape == (4, 16)
    assert torch.equal(out[0], torch.zeros(16)) and torch.equal(out[3], torch.zeros(16))
    assert out[1].abs().sum() > 0 and not torch.allclose(out[1], out[2])


def test_neighbouring_values_get_closer_embeddings_than_distant_ones():
    """Measured on 5 seeds: the distance 60 -> 61 is 0.22-0.32 of 60 -> 84 at init."""
    for seed in range(5):
        torch.manual_seed(seed)
        emb = ValueEmbedding(torch.tensor([NAN, 60.0, 61.0, 84.0]), emb_dim=64)
        e = emb(torch.tensor([1, 2, 3]))
        assert (e[0] - e[1]).norm() < 0.5 * (e[0] - e[2]).norm()


def test_the_value_embedding_is_added_to_the_label_row():
    torch.manual_seed(0)
    plain = LabelEmbedding({"main_pitch": 3}, 8)
    torch.manual_seed(0)
    numeric = LabelEmbedding({"main_pitch": 3}, 8, {"main_pitch": [NAN, 48.0, 50.0]})
    ids = {"main_pitch": torch.tensor([0, 1, 2])}
    a, b = plain(ids, 3, torch.device("cpu")), numeric(ids, 3, torch.device("cpu"))
    assert torch.equal(a[0], b[0])  # the null row alone, as before
    added = numeric.values["main_pitch"](ids["main_pitch"])
    assert torch.allclose(b, a + added) and added[1:].abs().sum() > 0


def test_bad_numeric_labels_are_refused():
    with pytest.raises(ValueError, match="not a label of this net"):
        LabelEmbedding({"kind": 3}, 8, {"main_pitch": [NAN, 1.0]})
    with pytest.raises(ValueError, match="2 values for 3 ids"):
        LabelEmbedding({"main_pitch": 3}, 8, {"main_pitch": [NAN, 1.0]})
    with pytest.raises(ValueError, match="need label_values"):
        UNet1d(in_channels=4, channels=8, label_sizes={"main_pitch": 3},
               numeric_labels=["main_pitch"])  # fmt: skip


def test_the_model_config_key_builds_a_numeric_net_that_saves_its_values():
    cfg = compose("train", ["experiment=smoke", "+model.numeric_labels=[main_pitch]"])
    config = OmegaConf.to_container(cfg, resolve=True)
    rep = build_representation(config)
    vocab = pitch_vocab()
    denoiser = build_denoiser(config, rep, vocab)
    state = denoiser.state_dict()
    key = next(k for k in state if k.endswith("label_embedding.values.main_pitch.values"))
    assert state[key].tolist() == [0.0, 40.0, 60.0, 61.0, 62.0]  # finite: 0 where none
    known = state[key.replace(".values.main_pitch.values", ".values.main_pitch.known")]
    assert known.tolist() == [False, True, True, True, True]
