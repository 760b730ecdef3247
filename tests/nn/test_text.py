"""Text conditioning: the word tokenizer, the text encoders, cross-attention in the U-Net, the
empty prompt as the null, and prompt dropout with the labels."""

import json

import pytest
import torch

from audiodiff.build import tokenizer_from_dict
from audiodiff.diffusion.loss import EDMLoss, drop_labels
from audiodiff.errors import ConfigError
from audiodiff.nn.blocks import CrossAttentionBlock
from audiodiff.nn.text import (
    PAD_ID,
    UNKNOWN_ID,
    PooledText,
    SmallTextEncoder,
    TextTokenizer,
    Tokenizer,
    _swap_pad,
    masked_mean,
    pitch_value,
)
from audiodiff.nn.unet import UNet1d

CAPTIONS = [
    "A soft FM bell playing C4 (MIDI 60)",
    "a loud kick drum hit",
    "Something plucked in A3",
]


def tokenizer(max_tokens: int = 8) -> Tokenizer:
    return Tokenizer.build(CAPTIONS, max_tokens=max_tokens)


def encoder(max_tokens: int = 8, **kwargs) -> SmallTextEncoder:
    torch.manual_seed(0)
    return SmallTextEncoder(tokenizer(max_tokens), dim=16, layers=2, heads=2, **kwargs).eval()


SMALL_NET = dict(channels=16, channel_mults=(1, 2), num_res_blocks=1, attention_levels=(1,))


def text_unet(enc, **overrides) -> UNet1d:
    """A small U-Net over 4 channels reading ``enc``'s prompts (the caller seeds)."""
    return UNet1d(4, text_encoder=enc, **(SMALL_NET | overrides))


def net(text: bool = True, **overrides) -> UNet1d:
    enc = encoder() if text else None
    torch.manual_seed(1)
    return text_unet(enc, label_sizes={"instrument": 3}, **overrides)


def trained_like(model: torch.nn.Module) -> torch.nn.Module:
    """Values for every all-zero parameter (zero-initialised convs, null rows and vectors)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.any() and "token_embedding" not in name:
                p.normal_(std=0.3)
    return model.eval()


def test_words_are_lowercase_runs_of_letters_and_digits():
    assert Tokenizer.split("A soft C4 (MIDI 60), a3!") == ["a", "soft", "c4", "midi", "60", "a3"]
    assert Tokenizer.split("C#4 hi-hat snare_drum") == ["c#4", "hi", "hat", "snare", "drum"]
    assert Tokenizer.split("  ,. ") == []


def test_tokenizer_ids_padding_unknown_words_and_truncation():
    tok = tokenizer(max_tokens=6)
    assert isinstance(tok, TextTokenizer) and tok.words == sorted(tok.words)
    assert tok.vocab_size == len(tok.words) + 2
    ids = tok.encode(["a soft bell", "", "a purple bell", "a soft bell playing c4 midi 60 loud"])
    assert ids.dtype == torch.long and ids.shape == (4, 6)  # always padded to max_tokens
    a, soft, bell = (tok.words.index(w) + 2 for w in ("a", "soft", "bell"))
    assert ids[0].tolist() == [a, soft, bell, PAD_ID, PAD_ID, PAD_ID]
    assert not ids[1].any()  # the empty prompt is all pad: guidance's null
    assert ids[2].tolist()[:3] == [a, UNKNOWN_ID, bell]
    assert ids[3].all()  # cut to its first 6 words
    assert tok.decode(ids[2]) == "a <unk> bell"
    with pytest.raises(TypeError, match="list of texts"):
        tok.encode("a soft bell")


def test_tokenizer_json_round_trip_and_stable_ids(tmp_path):
    tok = tokenizer()
    path = tok.save(tmp_path / "tokenizer.json")
    assert json.loads(path.read_text())["_target_"] == "audiodiff.nn.text.Tokenizer"
    for again in (Tokenizer.load(path), tokenizer_from_dict(json.loads(path.read_text()), "t")):
        assert again == tok
        prompts = ["a soft bell playing c4", "something unheard", ""]
        assert torch.equal(again.encode(prompts), tok.encode(prompts))
    grown = Tokenizer.build(["an airy pad"], base=tok, max_tokens=8)  # known words keep ids
    assert grown.words[: len(tok.words)] == tok.words and "airy" in grown.words
    assert torch.equal(grown.encode(["a soft bell"]), tok.encode(["a soft bell"]))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="not a tokenizer file"):
        Tokenizer.load(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="not part of audiodiff"):
        tokenizer_from_dict({"_target_": "os.system", "command": "true"}, "t")


def test_encoder_gives_finite_zeros_for_the_empty_prompt_and_ignores_padding():
    enc = encoder(max_tokens=12)
    ids = enc.tokenizer.encode(["a soft bell playing c4", ""])[:, :8]  # [2, 8]
    tokens, mask = enc(ids)
    assert tokens.shape == (2, 8, 16) and torch.equal(mask, ids != 0)
    assert torch.isfinite(tokens).all() and not tokens[1].any()  # fully masked row
    assert not tokens[0, ~mask[0]].any()  # zero at padding
    padded = torch.nn.functional.pad(ids, (0, 4))  # 4 more pad tokens: [2, 12]
    more, more_mask = enc(padded)
    torch.testing.assert_close(more[:, :8], tokens, atol=1e-6, rtol=1e-5)
    pool = trained_like(PooledText(16, 32))
    torch.testing.assert_close(pool(more, more_mask), pool(tokens, mask), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(masked_mean(more, more_mask), masked_mean(tokens, mask))
    assert torch.equal(pool(tokens, mask)[1], pool.null)  # the empty prompt: the null vector
    alone, _ = enc(ids[:1])  # rows do not see each other
    torch.testing.assert_close(alone[0], tokens[0], atol=1e-6, rtol=1e-5)
    texts, _ = enc.encode(["a soft bell playing c4", ""])
    torch.testing.assert_close(texts[:, :8], tokens, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(
    "word, midi",
    [("c4", 60), ("c#4", 61), ("bb3", 58), ("a0", 21), ("e2", 40), ("60", 60), ("127", 127)],
)
def test_pitch_words_name_midi_numbers(word, midi):
    assert pitch_value(word) == midi


@pytest.mark.parametrize("word", ["a", "bell", "128", "midi", "h4", "c44"])
def test_other_words_have_no_pitch(word):
    assert pitch_value(word) != pitch_value(word)  # NaN


def test_pitch_words_share_their_value_embedding():
    tok = Tokenizer.build(["a bell playing c4", "a bell in midi 60", "a bell in d4"])
    torch.manual_seed(0)
    enc = SmallTextEncoder(tok, dim=16, layers=0, heads=2, pitch_words=True).eval()
    with torch.no_grad():  # the same table row for two words: only the value part is left
        enc.token_embedding.weight.zero_()
        enc.position.zero_()
    c4, sixty, d4, bell = (tok.encode([w])[:, :1] for w in ("c4", "60", "d4", "bell"))
    assert torch.equal(enc(c4)[0], enc(sixty)[0])  # "C4" and "MIDI 60": one value
    assert not torch.allclose(enc(c4)[0], enc(d4)[0])
    assert not enc(bell)[0].any()  # no pitch: nothing added
    plain = SmallTextEncoder(tok, dim=16, layers=0, heads=2).eval()
    assert plain.pitch is None and enc.pitch is not None
    none = SmallTextEncoder(Tokenizer.build(["a bell"]), dim=16, layers=0, pitch_words=True)
    assert none.pitch is None  # captions that name no pitch


def test_prompt_pitch_is_the_first_pitch_word_shared_by_its_names():
    tok = Tokenizer.build(["a bell playing c4", "a bell in midi 60", "a3 then d4", "a kick"])
    enc = SmallTextEncoder(tok, dim=16, layers=0, heads=2, pitch_pooled=True)
    assert enc.pitch_values == [57.0, 60.0, 62.0] and enc.pitch is None  # no token values
    prompts = ["a bell playing c4", "midi 60 bell", "a3 then d4", "a kick", "", "a zither"]
    assert enc.prompt_pitch(tok.encode(prompts)).tolist() == [2, 2, 1, 0, 0, 0]
    plain = SmallTextEncoder(tok, dim=16, layers=0, heads=2)
    assert plain.pitch_values == [] and not plain.prompt_pitch(tok.encode(prompts)).any()


def test_pooled_pitch_reaches_the_noise_embedding_as_a_numeric_label():
    torch.manual_seed(0)
    pool = trained_like(PooledText(16, 32, pitch_values=[57.0, 60.0, 62.0]))
    tokens, mask = torch.randn(4, 3, 16), torch.ones(4, 3, dtype=torch.bool)
    tokens[1:] = tokens[0]  # the same words; only the pitch id differs
    out = pool(tokens, mask, torch.tensor([0, 1, 2, 3]))
    assert torch.equal(pool(tokens, mask)[0], out[0])  # id 0: the zero-started null row
    assert not torch.allclose(out[1], out[2]) and not torch.allclose(out[2], out[3])
    table = pool.pitch.values["pitch"]  # the label model's ValueEmbedding over MIDI numbers
    assert table.values.tolist() == [0.0, 57.0, 60.0, 62.0] and not table.known[0]


def test_a_net_with_pooled_pitch_hears_the_pitch_and_keeps_the_null():
    torch.manual_seed(0)
    enc = SmallTextEncoder(tokenizer(), dim=16, layers=1, heads=2, pitch_pooled=True)
    model = trained_like(text_unet(enc))
    tok = enc.tokenizer
    x, s = torch.randn(2, 4, 8), torch.randn(2)
    c4 = model(x, s, {"text": tok.encode(["a soft bell playing c4"] * 2)})
    assert model.text_pool.pitch is not None
    with torch.no_grad():
        model.text_pool.pitch.tables["pitch"].weight[2:].add_(1.0)  # C4's row (id 2) moves
    assert not torch.allclose(c4, model(x, s, {"text": tok.encode(["a soft bell playing c4"] * 2)}))
    empty = model(x, s, {"text": tok.encode(["", ""])})
    assert torch.equal(empty, model(x, s, None))  # CFG's null is still a missing prompt


def test_pitch_options_need_the_word_level_tokenizer():
    class Ids:  # a tokenizer without a word list, as the Hugging Face one
        vocab_size, max_tokens = 10, 4

    for option in ("pitch_words", "pitch_pooled"):
        with pytest.raises(ConfigError, match=f"{option} needs the word-level tokenizer"):
            SmallTextEncoder(Ids(), dim=16, layers=0, heads=2, **{option: True})


@pytest.mark.parametrize(
    "ids, message",
    [
        (torch.zeros(2, 9, dtype=torch.long), "L <= 8"),
        (torch.zeros(2, dtype=torch.long), r"\[B, L\]"),
        (torch.zeros(2, 4), "integer tensor"),
        (torch.full((2, 4), 999), "ids must be in"),
    ],
)
def test_bad_token_ids_raise_a_clear_value_error(ids, message):
    with pytest.raises(ValueError, match=message):
        encoder()(ids)


def test_cross_attention_of_an_empty_row_returns_x_itself():
    block = trained_like(CrossAttentionBlock(8, 16, num_heads=2))
    x, tokens = torch.randn(2, 8, 5), torch.randn(2, 3, 16)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    out = block(x, tokens, mask)
    assert torch.equal(out[1], x[1]) and not torch.allclose(out[0], x[0])
    assert torch.isfinite(out).all()


def test_unet_output_follows_the_prompt_and_the_empty_prompt_is_the_null():
    model = trained_like(net())
    tok = model.text_encoder.tokenizer
    x, s = torch.randn(2, 4, 16), torch.randn(2)
    labels = {"instrument": torch.tensor([1, 2])}
    bell = model(x, s, {**labels, "text": tok.encode(["a soft bell", "a soft bell"])})
    kick = model(x, s, {**labels, "text": tok.encode(["a loud kick", "a loud kick"])})
    assert not torch.allclose(bell, kick)
    empty = model(x, s, {**labels, "text": tok.encode(["", ""])})
    assert torch.equal(empty, model(x, s, labels))  # a missing text is the empty prompt
    assert torch.equal(empty, model(x, s, {**labels, "text": torch.zeros(2, 3, dtype=torch.long)}))
    assert not torch.allclose(empty, bell) and torch.isfinite(empty).all()
    mixed = model(x, s, {**labels, "text": tok.encode(["a soft bell", ""])})  # per row
    torch.testing.assert_close(mixed[0], bell[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(mixed[1], empty[1], atol=1e-5, rtol=1e-4)
    other = model(
        x, s, {"instrument": torch.tensor([2, 1]), "text": tok.encode(["a soft bell"] * 2)}
    )
    assert not torch.allclose(other, bell)  # labels and text combine
    crosses = [m for m in model.modules() if isinstance(m, CrossAttentionBlock)]
    assert model.cross_attention_levels == [1] and len(crosses) == 4  # down, mid, 2 up


def test_text_gets_gradients_and_the_cross_attention_levels_are_checked():
    model = trained_like(net(cross_attention_levels=(0, 1)))
    assert model.cross_attention_levels == [0, 1]
    ids = model.text_encoder.tokenizer.encode(["a soft bell", "a kick"])
    model(torch.randn(2, 4, 8), torch.randn(2), {"text": ids}).square().mean().backward()
    assert model.text_encoder.token_embedding.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="level indices"):
        net(cross_attention_levels=(2,))
    with pytest.raises(ValueError, match="need a text encoder"):
        net(text=False, cross_attention_levels=(1,))
    with pytest.raises(ValueError, match="clashes"):
        UNet1d(4, channels=16, label_sizes={"text": 3}, text_encoder=encoder())


def test_a_net_without_text_refuses_token_ids():
    plain = net(text=False)
    assert not any("text" in k for k in plain.state_dict())
    with pytest.raises(ValueError, match="no text encoder"):
        plain(torch.randn(2, 4, 8), torch.zeros(2), {"text": torch.ones(2, 4, dtype=torch.long)})


def test_cond_dropout_empties_the_prompt_of_the_dropped_examples():
    b = 4000
    cond = {"instrument": torch.randint(1, 3, (b,)), "text": torch.randint(1, 9, (b, 6))}
    out = drop_labels(cond, 0.3, generator=torch.Generator().manual_seed(0))
    dropped = ~out["text"].any(1)
    assert abs(float(dropped.float().mean()) - 0.3) < 0.03
    assert torch.equal(dropped, out["instrument"] == 0)  # the same draw as the labels
    assert torch.equal(out["text"][~dropped], cond["text"][~dropped])
    seen = []

    def denoiser(x, sigma, c):
        seen.append(c)
        return x

    EDMLoss(cond_dropout=0.5)(denoiser, torch.randn(b, 1, 2), {"text": cond["text"]})
    rate = float((~seen[0]["text"].any(1)).float().mean())
    assert abs(rate - 0.5) < 0.04
    EDMLoss(cond_dropout=0.0)(denoiser, torch.randn(b, 1, 2), {"text": cond["text"]})
    assert torch.equal(seen[1]["text"], cond["text"])


def test_pad_swap_maps_a_nonzero_pad_id_to_zero_and_back():
    ids = torch.tensor([[0, 5, 1, 1], [1, 1, 1, 1]])  # a vocabulary whose pad id is 1
    ours = _swap_pad(ids, 1)
    assert ours.tolist() == [[1, 5, 0, 0], [0, 0, 0, 0]]
    assert torch.equal(_swap_pad(ours, 1), ids) and _swap_pad(ids, 0) is ids


# ---- the Hugging Face adapter, with a tiny T5 saved by the test (nothing downloaded) ----


@pytest.fixture
def tiny_t5(tmp_path, monkeypatch):
    """A randomly initialised 1-layer T5 encoder (d_model 16) and a word-level tokenizer."""
    transformers = pytest.importorskip(
        "transformers", reason="transformers not installed (pip install 'audiodiff[text]')"
    )
    from tokenizers import Tokenizer as RawTokenizer
    from tokenizers import models, pre_tokenizers

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    words = ["<pad>", "</s>", "<unk>", "a", "soft", "loud", "bell", "kick", "c4"]
    raw = RawTokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    hf = transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    config = transformers.T5Config(
        vocab_size=len(words),
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=1,
        num_heads=2,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    torch.manual_seed(0)
    folder = tmp_path / "tiny_t5"
    transformers.T5EncoderModel(config).save_pretrained(folder)
    hf.save_pretrained(folder)
    return folder


def test_hf_adapter_with_a_tiny_local_t5(tiny_t5):
    from audiodiff.nn.text import HFTextEncoder, HFTokenizer

    tok = HFTokenizer.build(["ignored"], path=str(tiny_t5), max_tokens=6)
    assert isinstance(tok, TextTokenizer)
    ids = tok.encode(["a soft bell", "", "a purple kick"])
    assert ids.shape == (3, 6) and ids.dtype == torch.long
    assert ids[0, :3].tolist() == [3, 4, 6] and not ids[0, 3:].any() and not ids[1].any()
    assert ids[2, 1] == 2  # unknown word
    again = tokenizer_from_dict(tok.to_dict(), "t")
    assert torch.equal(again.encode(["a soft bell"]), ids[:1])

    enc = HFTextEncoder(tok)  # frozen by default
    assert enc.dim == 16 and not any(p.requires_grad for p in enc.parameters())
    enc.train()
    assert not enc.model.training  # a frozen encoder stays in eval mode
    tokens, mask = enc(ids)
    assert tokens.shape == (3, 6, 16) and torch.equal(mask, ids != 0)
    assert torch.isfinite(tokens).all() and not tokens[1].any()  # the empty prompt
    longer, _ = enc(torch.nn.functional.pad(ids[:, :4], (0, 2)))
    torch.testing.assert_close(longer, tokens, atol=1e-5, rtol=1e-4)

    torch.manual_seed(0)
    model = trained_like(text_unet(enc))
    x, s = torch.randn(2, 4, 8), torch.randn(2)
    bell = model(x, s, {"text": tok.encode(["a soft bell"] * 2)})
    assert not torch.allclose(bell, model(x, s, {"text": tok.encode(["a loud kick"] * 2)}))
    assert torch.equal(model(x, s, {"text": tok.encode(["", ""])}), model(x, s, {}))
    import copy

    assert copy.deepcopy(model).text_encoder.tokenizer is tok  # the EMA copy shares it
    with pytest.raises(ConfigError, match="no Hugging Face tokenizer"):
        HFTokenizer(str(tiny_t5.parent / "missing"))


# ---- a tiny model learns to follow two prompts ----


@pytest.mark.slow
def test_a_prompt_steers_a_trained_tiny_model(one_thread):
    """Two caption classes with opposite data: after 300 steps the prompt picks the class."""
    from audiodiff.diffusion.precond import Denoiser
    from audiodiff.generation import sample

    tok = Tokenizer.build(["a bright high tone", "a dark low tone"], max_tokens=4)
    torch.manual_seed(0)
    enc = SmallTextEncoder(tok, dim=16, layers=1, heads=2)
    model = Denoiser(
        text_unet(enc),
        1.0,
    )
    pattern = torch.tensor([1.0, 1.0, -1.0, -1.0])[:, None].expand(4, 8)  # [C, T]
    optim = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss = EDMLoss(cond_dropout=0.1)
    for _ in range(300):
        bright = torch.rand(32) < 0.5
        x0 = torch.where(bright[:, None, None], pattern, -pattern) + 0.1 * torch.randn(32, 4, 8)
        prompts = ["a bright high tone" if b else "a dark low tone" for b in bright]
        value = loss(model, x0, {"text": tok.encode(prompts)})
        optim.zero_grad()
        value.backward()
        optim.step()
    model.eval()
    scores = {}
    for prompt in ("a bright high tone", "a dark low tone"):
        x = sample(
            model,
            (16, 4, 8),
            cond={"text": tok.encode([prompt] * 16)},
            sampler="euler",
            steps=12,
            sigma_min=0.01,
            sigma_max=10.0,
            generator=torch.Generator().manual_seed(0),
        )
        scores[prompt] = (x * pattern).mean(dim=(1, 2))  # +1: bright pattern, -1: dark
    print({k: round(float(v.mean()), 3) for k, v in scores.items()})
    assert (scores["a bright high tone"] > 0.5).float().mean() >= 0.9
    assert (scores["a dark low tone"] < -0.5).float().mean() >= 0.9
