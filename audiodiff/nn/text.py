"""Text conditioning: tokenizers, text encoders and the pooled text embedding.

A prompt becomes ``ids`` [B, L], always padded (or cut) to the tokenizer's ``max_tokens``
with the pad id 0, so a prompt and a negative prompt have the same shape and the all-zero
row (classifier-free guidance's null, ``audiodiff.sampling.guidance``) is the empty prompt.
The mask of real tokens is ``ids != 0``. A text encoder maps ids to ``tokens`` [B, L, D]
(zero at padding) and that mask; the U-Net cross-attends to the tokens and adds their
masked mean, through an MLP, to the noise embedding (Stable Audio, Evans et al. 2024,
sec. 3.2; AudioLDM 2, Liu et al. 2023). docs/text.md has the details.

- ``Tokenizer``: word-level, built from the training captions (ids 0 pad, 1 unknown).
- ``SmallTextEncoder``: token + position embeddings and a few pre-norm transformer
  layers, trained with the diffusion model.
- ``HFTokenizer`` / ``HFTextEncoder``: a pretrained Hugging Face encoder (a T5 encoder, a
  CLAP or BERT-like text tower) from a local folder, frozen by default
  (``pip install audiodiff[text]``).

A tokenizer's ``to_dict()`` is a ``_target_`` config that rebuilds it; the run config
carries it (``config["tokenizer"]``), so a checkpoint encodes prompts identically anywhere.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from audiodiff.errors import ConfigError
from audiodiff.fileio import write_text
from audiodiff.nn.embedding import LabelEmbedding, ValueEmbedding

PAD_ID = 0  # the empty prompt is all PAD_ID: classifier-free guidance's null
UNKNOWN_ID = 1  # a word the training captions never had (word-level tokenizer)
SPECIALS = ("<pad>", "<unk>")
_WORD = re.compile(r"(?:[^\W_]|#)+")  # runs of letters and digits; '#' kept for "c#4"


@runtime_checkable
class TextTokenizer(Protocol):
    """What the data, the net and the pipeline need of a tokenizer."""

    max_tokens: int  # L of every encoded batch
    vocab_size: int  # ids are in [0, vocab_size)

    def encode(self, texts: Sequence[str]) -> Tensor:
        """texts: n str -> ids: LongTensor [n, max_tokens], pad id 0 (an empty text: all 0)."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """A ``_target_`` config that rebuilds this tokenizer (``audiodiff.build``)."""
        ...


def _check_max_tokens(max_tokens: int) -> int:
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ConfigError(f"text max_tokens must be a whole number >= 1, got {max_tokens!r}")
    return max_tokens


class Tokenizer:
    """Word-level: lowercase, split on anything but letters, digits and '#'.

    So "C4", "a3", "midi", "60" and "c#4" are words of their own ("hi-hat" is "hi", "hat").
    ``words`` are the known words; word i has id i + 2 (0 = pad, 1 = unknown). A text of
    more than ``max_tokens`` words keeps its first ``max_tokens``.
    """

    def __init__(self, words: Iterable[str], max_tokens: int = 16) -> None:
        self.words = [str(w) for w in words]
        bad = [w for w in self.words if self.split(w) != [w]]
        if bad:
            raise ConfigError(f"tokenizer word {bad[0]!r} is not one lowercase word")
        if len(set(self.words)) != len(self.words):
            raise ConfigError("tokenizer words must be unique")
        self.max_tokens = _check_max_tokens(max_tokens)
        self._ids = {w: i + len(SPECIALS) for i, w in enumerate(self.words)}

    @classmethod
    def build(
        cls,
        captions: Iterable[str],
        base: Tokenizer | None = None,
        *,
        max_tokens: int = 16,
        min_count: int = 1,
    ) -> Tokenizer:
        """The words of ``captions`` seen at least ``min_count`` times, in sorted order after
        those of ``base`` (whose ids never change, as ``LabelVocab.build``'s)."""
        counts = Counter(w for text in captions for w in cls.split(text))
        old = list(base.words) if isinstance(base, Tokenizer) else []
        new = sorted(w for w, c in counts.items() if c >= min_count and w not in set(old))
        return cls(old + new, max_tokens)

    @staticmethod
    def split(text: str) -> list[str]:
        """'A soft C#4 (MIDI 61)' -> ['a', 'soft', 'c#4', 'midi', '61']"""
        return _WORD.findall(str(text).lower())

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.words)

    def encode(self, texts: Sequence[str]) -> Tensor:
        # texts: n str -> [n, max_tokens] long
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts, not one str")
        out = torch.zeros(len(texts), self.max_tokens, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = [self._ids.get(w, UNKNOWN_ID) for w in self.split(text)][: self.max_tokens]
            out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out

    def decode(self, ids: Tensor) -> str:
        """ids: [L] -> the known words joined by spaces (unknown words as <unk>)."""
        names = (*SPECIALS, *self.words)
        return " ".join(names[int(i)] for i in ids if int(i) != PAD_ID)

    def to_dict(self) -> dict[str, Any]:
        target = f"{type(self).__module__}.{type(self).__qualname__}"
        return {"_target_": target, "max_tokens": self.max_tokens, "words": list(self.words)}

    def save(self, path: str | Path) -> Path:
        return write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """A tokenizer written by ``save``; anything else is one ``ConfigError`` line."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(data["words"], data["max_tokens"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{path}: not a tokenizer file ({type(e).__name__})") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Tokenizer({len(self.words)} words, max_tokens={self.max_tokens})"


def _swap_pad(ids: Tensor, pad_id: int) -> Tensor:
    """Exchange ids 0 and ``pad_id`` (its own inverse): a Hugging Face vocabulary whose pad
    id is not 0 (RoBERTa / CLAP: 1) in the pad-is-0 id space of ``cond["text"]``."""
    if pad_id == PAD_ID:
        return ids
    return torch.where(ids == PAD_ID, pad_id, torch.where(ids == pad_id, PAD_ID, ids))


def _transformers(what: str):
    try:
        import transformers
    except ImportError:
        raise ConfigError(
            f"{what} needs the transformers package: pip install 'audiodiff[text]'"
        ) from None
    return transformers


class HFTokenizer:
    """A Hugging Face tokenizer from a local folder (``AutoTokenizer``, no download).

    Ids are padded to ``max_tokens`` and moved into the pad-is-0 space (``_swap_pad``); an
    empty or blank text is all 0, whatever special tokens the tokenizer would add.
    """

    def __init__(self, path: str, max_tokens: int = 32) -> None:
        transformers = _transformers("text=hf")
        self.path = str(path)
        self.max_tokens = _check_max_tokens(max_tokens)
        try:
            self.hf = transformers.AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        except (OSError, ValueError) as e:
            raise ConfigError(f"{self.path}: no Hugging Face tokenizer there ({e})") from None
        if self.hf.pad_token_id is None:
            raise ConfigError(f"{self.path}: the tokenizer has no pad token")
        self.pad_id = int(self.hf.pad_token_id)
        self.vocab_size = len(self.hf)

    @classmethod
    def build(
        cls, captions: Iterable[str], base: Any = None, *, path: str, max_tokens: int = 32
    ) -> HFTokenizer:
        """The tokenizer at ``path``: a pretrained vocabulary, whatever the captions."""
        return cls(path, max_tokens)

    def encode(self, texts: Sequence[str]) -> Tensor:
        # texts: n str -> [n, max_tokens] long
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts, not one str")
        texts = [str(t).strip() for t in texts]
        out = torch.zeros(len(texts), self.max_tokens, dtype=torch.long)
        if not texts:
            return out
        enc = self.hf(
            texts,
            padding="max_length",
            truncation=True,
            max_length=self.max_tokens,
            return_tensors="pt",
        )
        ids = _swap_pad(enc["input_ids"].long(), self.pad_id)
        ids = torch.where(enc["attention_mask"].bool(), ids, PAD_ID)
        blank = torch.tensor([not t for t in texts])
        return torch.where(blank[:, None], PAD_ID, ids)

    def to_dict(self) -> dict[str, Any]:
        target = f"{type(self).__module__}.{type(self).__qualname__}"
        return {"_target_": target, "path": self.path, "max_tokens": self.max_tokens}

    def __deepcopy__(self, memo: dict) -> HFTokenizer:
        return self  # read-only; the EMA copy of a net shares its tokenizer

    def __repr__(self) -> str:
        return f"HFTokenizer({self.path!r}, max_tokens={self.max_tokens})"


def masked_mean(tokens: Tensor, mask: Tensor) -> Tensor:
    """Mean of the real tokens of each row; 0 for a row with none."""
    # tokens: [B, L, D], mask: [B, L] bool -> [B, D]
    weights = mask.to(tokens.dtype)[..., None]
    return (tokens * weights).sum(1) / weights.sum(1).clamp_min(1)


def key_mask(mask: Tensor) -> Tensor:
    """An attention mask over keys [B, 1, 1, L]: the real tokens; a row with none attends to
    every position, so softmax stays finite (its output is dropped by the caller)."""
    # mask: [B, L] bool -> [B, 1, 1, L] bool
    empty = ~mask.any(1, keepdim=True)
    return (mask | empty)[:, None, None, :]


class TextEncoder(nn.Module, ABC):
    """ids [B, L] -> (tokens [B, L, dim], mask [B, L]); ``encode`` takes the texts."""

    dim: int
    tokenizer: TextTokenizer
    pitch_values: list[float] = []  # with a pooled pitch: the MIDI numbers pitch ids name

    @abstractmethod
    def forward(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        """ids: [B, L] long, 0 = pad -> tokens [B, L, dim] (0 at padding), mask [B, L] bool"""

    def prompt_pitch(self, ids: Tensor) -> Tensor:
        """ids [B, L] -> [B] long: 1 + the index in ``pitch_values`` of the first word of each
        prompt that names a pitch, 0 where none does (or the encoder has no pooled pitch)."""
        return torch.zeros(ids.shape[0], dtype=torch.long, device=ids.device)

    def encode(self, texts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """texts: n str -> (tokens [n, max_tokens, dim], mask [n, max_tokens])"""
        device = next(self.parameters()).device
        return self(self.tokenizer.encode(list(texts)).to(device))

    def check_ids(self, ids: Tensor) -> Tensor:
        """``ids`` as a long [B, L] tensor of valid ids; anything else is a ``ValueError``."""
        if not isinstance(ids, Tensor) or ids.is_floating_point() or ids.dtype == torch.bool:
            got = ids.dtype if isinstance(ids, Tensor) else type(ids).__name__
            raise ValueError(f"cond['text'] must be an integer tensor of token ids, got {got}")
        if ids.ndim != 2 or ids.shape[1] > self.tokenizer.max_tokens:
            raise ValueError(
                f"cond['text'] must be [B, L] with L <= {self.tokenizer.max_tokens}, "
                f"got {list(ids.shape)}"
            )
        # read on the host, so skipped inside torch.compile (as LabelEmbedding's check)
        if not torch.compiler.is_compiling() and ids.numel():
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= self.tokenizer.vocab_size:
                raise ValueError(
                    f"cond['text'] ids must be in [0, {self.tokenizer.vocab_size - 1}], "
                    f"got min {low}, max {high}"
                )
        return ids.long()


class TransformerLayer(nn.Module):
    """Pre-norm self-attention over the real tokens, then a GELU MLP (Vaswani et al. 2017;
    pre-norm as in GPT-2, Radford et al. 2019)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: Tensor, mask: Tensor) -> Tensor:
        # h: [B, L, D], mask: [B, L] bool -> [B, L, D]
        b, length, d = h.shape
        qkv = self.qkv(self.norm1(h)).reshape(b, length, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [B, H, L, D / H]
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask(mask))
        h = h + self.dropout(self.proj(a.transpose(1, 2).reshape(b, length, d)))
        return h + self.dropout(self.mlp(self.norm2(h)))


_NOTE_WORD = re.compile(r"^([a-g])(#|b)?(-?\d)$")
_NOTE_STEPS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


def pitch_value(word: str) -> float:
    """The MIDI number a word names: a note ('c4' -> 60, 'c#4' -> 61, 'bb3' -> 58) or a
    whole number 0-127 ('60'); NaN for any other word."""
    note = _NOTE_WORD.match(word)
    if note:
        letter, accidental, octave = note.groups()
        shift = {"#": 1, "b": -1}.get(accidental or "", 0)
        return float(12 * (int(octave) + 1) + _NOTE_STEPS[letter] + shift)
    if word.isdigit() and int(word) <= 127:
        return float(int(word))
    return float("nan")


class SmallTextEncoder(TextEncoder):
    """Token + learned position embeddings, ``layers`` pre-norm transformer layers, a final
    LayerNorm; trained jointly with the diffusion model.

    A token attends to the real tokens only and positions count from the start, so padding
    added at the end changes nothing; an all-padding row (the empty prompt) gives zeros.

    With ``pitch_words`` a word that names a pitch (a note such as "c4" or a number such as
    the "60" of "MIDI 60", ``pitch_value``) is also embedded by its value, as
    ``model.numeric_labels`` embeds a label (``ValueEmbedding``; numbers embedded by value in
    text as in xVal, Golkar et al. 2023). So "C4" and "MIDI 60" start from the same vector,
    and a pitch word seen rarely borrows from its neighbours.

    With ``pitch_pooled`` the first pitch word of a prompt also reaches the noise embedding
    directly, as a numeric label does (``prompt_pitch``; ``PooledText``): a table row per
    pitch plus the ``ValueEmbedding`` of its MIDI number, added to the pooled vector. The
    mean over the prompt's tokens otherwise dilutes one word among several.
    """

    def __init__(
        self,
        tokenizer: TextTokenizer,
        dim: int = 128,
        layers: int = 2,
        heads: int = 4,
        dropout: float = 0.0,
        pitch_words: bool = False,
        pitch_pooled: bool = False,
    ) -> None:
        super().__init__()
        if dim < 1 or layers < 0 or heads < 1 or dim % heads:
            raise ValueError(
                f"text encoder needs dim >= 1, layers >= 0 and heads dividing dim, got "
                f"dim={dim}, layers={layers}, heads={heads}"
            )
        self.tokenizer = tokenizer
        self.dim = dim
        self.token_embedding = nn.Embedding(tokenizer.vocab_size, dim, padding_idx=PAD_ID)
        self.position = nn.Parameter(torch.randn(tokenizer.max_tokens, dim) / math.sqrt(dim))
        self.layers = nn.ModuleList(TransformerLayer(dim, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.pitch = None
        self.pitch_values = []
        if pitch_words or pitch_pooled:
            words = getattr(tokenizer, "words", None)
            if words is None:
                option = "pitch_words" if pitch_words else "pitch_pooled"
                raise ConfigError(f"text.encoder.{option} needs the word-level tokenizer")
            values = torch.tensor([float("nan")] * len(SPECIALS) + [pitch_value(w) for w in words])
            if pitch_words and values.isfinite().any():  # no pitch words: nothing to add
                self.pitch = ValueEmbedding(values, dim)
            if pitch_pooled:
                self.pitch_values = sorted({float(v) for v in values[values.isfinite()]})
                index = {v: i + 1 for i, v in enumerate(self.pitch_values)}
                word_pitch = [index.get(float(v), 0) for v in values]
                self.register_buffer("word_pitch", torch.tensor(word_pitch, dtype=torch.long))

    def forward(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        # ids: [B, L] -> tokens [B, L, dim], mask [B, L]
        ids = self.check_ids(ids)
        mask = ids != PAD_ID
        h = self.token_embedding(ids) + self.position[: ids.shape[1]]
        if self.pitch is not None:
            h = h + self.pitch(ids.flatten()).view(*ids.shape, -1).to(h.dtype)
        for layer in self.layers:
            h = layer(h, mask)
        return self.norm(h) * mask[..., None].to(h.dtype), mask

    def prompt_pitch(self, ids: Tensor) -> Tensor:
        # ids: [B, L] -> [B] long (0 = no pitch word)
        if not self.pitch_values:
            return super().prompt_pitch(ids)
        per_word = self.word_pitch[ids]  # [B, L]
        first = (per_word > 0).to(torch.int8).argmax(1, keepdim=True)  # 0 when none
        return per_word.gather(1, first).squeeze(1)


class HFTextEncoder(TextEncoder):
    """A pretrained Hugging Face text encoder from ``tokenizer.path`` (a local folder).

    ``AutoModelForTextEncoding`` (T5 / mT5 / UMT5: the encoder alone; BERT, RoBERTa, ...)
    or, for other types such as a saved CLAP text tower (``ClapTextModel``), ``AutoModel``;
    its ``last_hidden_state`` are the tokens. ``frozen`` (the default): no gradients and
    always in eval mode. Its weights are part of the net's state dict, so a checkpoint
    holds them; building the net still reads the folder's config and tokenizer.
    """

    def __init__(self, tokenizer: HFTokenizer, frozen: bool = True) -> None:
        super().__init__()
        transformers = _transformers("text=hf")
        self.tokenizer = tokenizer
        self.frozen = bool(frozen)
        path = tokenizer.path
        try:
            try:
                model = transformers.AutoModelForTextEncoding.from_pretrained(
                    path, local_files_only=True
                )
            except ValueError:  # a type without a text-encoding class (e.g. clap_text_model)
                model = transformers.AutoModel.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as e:
            raise ConfigError(f"{path}: no Hugging Face text encoder there ({e})") from None
        self.model = model
        config = model.config
        self.dim = int(getattr(config, "d_model", None) or config.hidden_size)
        if self.frozen:
            self.model.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> HFTextEncoder:
        super().train(mode)
        if self.frozen:
            self.model.eval()  # no dropout in a frozen encoder
        return self

    def forward(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        # ids: [B, L] -> tokens [B, L, dim], mask [B, L]
        ids = self.check_ids(ids)
        mask = ids != PAD_ID
        attention = key_mask(mask)[:, 0, 0].long()  # a row with no tokens reads its padding
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            out = self.model(
                input_ids=_swap_pad(ids, self.tokenizer.pad_id), attention_mask=attention
            ).last_hidden_state
        return out * mask[..., None].to(out.dtype), mask


class PooledText(nn.Module):
    """The masked mean of the tokens through an MLP: a vector added to the noise embedding.

    A row with no tokens (the empty prompt, CFG's null) reads the learned ``null`` vector,
    which starts at zero like a label's null row. The last layer starts N(0, (4 /
    sqrt(emb_dim))^2), as ``NumberEmbedding``'s, for about unit variance per component.

    With ``pitch_values`` (the encoder's pooled pitch, ``prompt_pitch``) the prompt's pitch
    id is embedded as a numeric label is (``LabelEmbedding``: a table row, id 0 = none,
    plus the ``ValueEmbedding`` of the MIDI number) and added.
    """

    def __init__(self, text_dim: int, emb_dim: int, pitch_values: Sequence[float] = ()) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(text_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
        )
        nn.init.normal_(self.mlp[-1].weight, std=4 / math.sqrt(emb_dim))
        nn.init.zeros_(self.mlp[-1].bias)
        self.null = nn.Parameter(torch.zeros(emb_dim))
        self.pitch = None
        if pitch_values:
            values = [float("nan"), *map(float, pitch_values)]
            self.pitch = LabelEmbedding({"pitch": len(values)}, emb_dim, {"pitch": values})

    def forward(self, tokens: Tensor, mask: Tensor, pitch: Tensor | None = None) -> Tensor:
        # tokens: [B, L, D], mask: [B, L] bool, pitch: [B] ids (0 = none) -> [B, emb_dim]
        emb = self.mlp(masked_mean(tokens, mask))
        emb = torch.where(mask.any(1, keepdim=True), emb, self.null.to(emb.dtype))
        if self.pitch is not None and pitch is not None:
            emb = emb + self.pitch({"pitch": pitch}, emb.shape[0], emb.device).to(emb.dtype)
        return emb
