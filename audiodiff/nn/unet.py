"""The 1-D U-Net of the diffusion model; it sees a noise-level feature, never sigma itself.

Layout of DDPM / ADM (Ho et al. 2020; Dhariwal & Nichol 2021) with convolutions over time:
``num_res_blocks`` residual blocks per level on the way down (one number for every level, or
one per level), one more on the way up, each reading the concatenated skip of its mirror, and
a res-attn-res bottleneck.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from audiodiff.nn.blocks import (
    AttentionBlock,
    CrossAttentionBlock,
    Downsample,
    EmbedSequential,
    ResBlock,
    Upsample,
    group_norm,
    zero_,
)
from audiodiff.nn.embedding import LabelEmbedding, NoiseEmbedding, as_batch
from audiodiff.nn.observation import make_head
from audiodiff.nn.text import PAD_ID, PooledText, TextEncoder
from audiodiff.nn.timing import TIMING_KEYS, TimingEmbedding


class UNet1d(nn.Module):
    """Maps ``x [B, C, T]``, a noise-level feature [B] and label ids to ``[B, C_out, T]``.

    The noise level is whatever the caller's preconditioning feeds it (EDM's c_noise =
    ln(sigma) / 4). ``label_sizes`` maps each label name to its number of ids including the
    null id 0; a label left out of ``cond`` is id 0. With ``obs_channels`` > 0 the net also
    reads ``cond["obs"]`` [B, obs_channels, T] (a degraded recording's representation, for
    conditional restoration), concatenated with x at the input; a missing one reads as zeros.
    ``obs_head="complex_gain"`` (for an observation laid out as [Re; Im] bins, with as many
    channels as x) also reads each observed bin's log-magnitude and adds a per-bin gain times
    the observation to the output (``audiodiff.nn.observation``).
    A label named in ``numeric_labels`` (such as ``main_pitch``) is also embedded by its value
    (``label_values``: the number of each id, from the vocabulary), so that neighbouring values
    share what they learn (``audiodiff.nn.embedding.ValueEmbedding``).
    A label named in ``pitch_templates`` also feeds the net its row of ``label_templates``
    ([ids, C_t]: a harmonic tone's representation at each id's pitch, zeros for the null id;
    ``audiodiff.audio.templates``) as C_t extra input channels, constant over time.
    With ``timing`` the net also reads ``cond["seconds_start"]`` and ``cond["seconds_total"]``
    ([B] float seconds; NaN or missing = null), embedded and added to the noise embedding
    (``audiodiff.nn.timing``); without it those keys are refused.
    With a ``text_encoder`` the net also reads ``cond["text"]`` ([B, L] token ids, 0 = pad; a
    missing one or an all-zero row is the empty prompt): the encoder's tokens are
    cross-attended at ``cross_attention_levels`` (default: the ``attention_levels``; after
    each self-attention, and in the bottleneck when the coarsest level is one of them) and
    their masked mean, through an MLP, is added to the noise embedding (``audiodiff.nn.text``).
    With ``input_skip`` the output also gets ``g ⊙ x``, a per-channel gain ``g`` computed
    from the embedding (noise level and labels): a path that carries every input channel to
    the output at full rank. Without it, a net narrower than its input (or as wide) cannot
    pass the fine noise of every channel through, so it cannot remove it either: a flow model
    on 192 mel bins with 128 channels left noise of std ~0.6 in every sample
    (docs/music.md).
    The output convolution (and the input skip's gain) start at zero, so an untrained net
    returns exactly 0.
    """

    OBSERVATION = "obs"  # the cond key of the observation
    TEXT = "text"  # the cond key of the token ids

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        channels: int = 64,
        channel_mults: Sequence[int] = (1, 2, 4),
        num_res_blocks: int | Sequence[int] = 2,
        attention_levels: Sequence[int] = (2,),
        num_heads: int = 4,
        emb_dim: int | None = None,
        label_sizes: Mapping[str, int] | None = None,
        numeric_labels: Sequence[str] = (),
        label_values: Mapping[str, Sequence[float]] | None = None,
        dropout: float = 0.0,
        obs_channels: int = 0,
        obs_head: str = "none",
        timing: bool = False,
        text_encoder: TextEncoder | None = None,
        cross_attention_levels: Sequence[int] | None = None,
        pitch_templates: Sequence[str] = (),
        label_templates: Mapping[str, Tensor] | None = None,
        input_skip: bool = False,
    ) -> None:
        super().__init__()
        mults = tuple(int(m) for m in channel_mults)
        attn = {int(level) for level in attention_levels}
        if in_channels < 1 or channels < 1:
            raise ValueError(
                f"in_channels and channels must be >= 1, got {in_channels}, {channels}"
            )
        if not mults or min(mults) < 1:
            raise ValueError(
                f"channel_mults must be a non-empty list of ints >= 1, got {list(mults)}"
            )
        if obs_channels < 0:
            raise ValueError(f"obs_channels must be >= 0, got {obs_channels}")
        blocks_per_level = (
            [int(num_res_blocks)] * len(mults)
            if isinstance(num_res_blocks, int)
            else [int(n) for n in num_res_blocks]
        )
        if len(blocks_per_level) != len(mults) or min(blocks_per_level) < 1:
            raise ValueError(
                f"num_res_blocks must be an int >= 1 or one int >= 1 per level "
                f"({len(mults)} levels), got {num_res_blocks}"
            )
        if not attn <= set(range(len(mults))):
            raise ValueError(
                f"attention_levels {sorted(attn)} must be level indices in [0, {len(mults) - 1}]"
            )
        if cross_attention_levels is None:
            cross = attn if text_encoder is not None else set()
        else:
            cross = {int(level) for level in cross_attention_levels}
        if cross and text_encoder is None:
            raise ValueError("cross_attention_levels need a text encoder (text=...)")
        if not cross <= set(range(len(mults))):
            raise ValueError(
                f"cross_attention_levels {sorted(cross)} must be level indices in "
                f"[0, {len(mults) - 1}]"
            )
        self.in_channels = in_channels
        self.obs_channels = obs_channels
        self.out_channels = in_channels if out_channels is None else out_channels
        self.obs_head = make_head(obs_head, obs_channels)
        head_channels = self.obs_head.feature_channels if self.obs_head else 0
        if self.obs_head and obs_channels != self.out_channels:
            raise ValueError(
                f"obs_head={obs_head} needs obs_channels == out_channels, got {obs_channels} "
                f"and {self.out_channels}"
            )
        self.downsample_factor = 2 ** (len(mults) - 1)
        emb_dim = 4 * channels if emb_dim is None else emb_dim

        self.noise_embedding = NoiseEmbedding(channels + channels % 2, emb_dim)
        label_values = dict(label_values or {})
        missing = sorted(set(numeric_labels) - set(label_values))
        if missing:
            raise ValueError(
                f"numeric_labels {missing} need label_values (the number of each id; "
                "audiodiff.build fills them from the vocabulary)"
            )
        self.label_embedding = LabelEmbedding(
            label_sizes, emb_dim, {k: label_values[k] for k in numeric_labels}
        )
        clash = sorted(set(TIMING_KEYS) & set(label_sizes or {})) if timing else []
        if clash:
            raise ValueError(f"label {clash[0]!r} clashes with the timing condition of that name")
        self.timing_embedding = (
            TimingEmbedding(channels + channels % 2, emb_dim) if timing else None
        )
        missing = sorted(set(pitch_templates) - set(label_templates or {}))
        if missing:
            raise ValueError(
                f"pitch_templates {missing} need label_templates (one vector per id; "
                "audiodiff.build fills them from the representation)"
            )
        self.template_labels = [str(k) for k in pitch_templates]
        template_channels = 0
        for name in self.template_labels:
            table = torch.as_tensor(label_templates[name], dtype=torch.float32)
            size = (label_sizes or {}).get(name)
            if table.ndim != 2 or table.shape[0] != size:
                raise ValueError(
                    f"pitch template {name!r} must be [{size}, C] (one row per id), "
                    f"got {list(table.shape)}"
                )
            self.register_buffer(f"template_{name}", table)
            template_channels += table.shape[1]
        if text_encoder is not None and self.TEXT in (label_sizes or {}):
            raise ValueError(f"label {self.TEXT!r} clashes with the text condition")
        self.text_encoder = text_encoder
        self.text_pool = (
            PooledText(text_encoder.dim, emb_dim, text_encoder.pitch_values)
            if text_encoder is not None
            else None
        )
        self.cross_attention_levels = sorted(cross)
        self.input_conv = nn.Conv1d(
            in_channels + obs_channels + head_channels + template_channels, channels, 3, padding=1
        )

        def res(c_in: int, c_out: int) -> ResBlock:
            return ResBlock(c_in, c_out, emb_dim, dropout)

        def attention(c: int, level: int) -> list[nn.Module]:
            blocks: list[nn.Module] = [AttentionBlock(c, num_heads)] if level in attn else []
            if level in cross:
                blocks.append(CrossAttentionBlock(c, text_encoder.dim, num_heads))
            return blocks

        ch = channels
        skips = [ch]
        self.down = nn.ModuleList()
        for level, mult in enumerate(mults):
            for _ in range(blocks_per_level[level]):
                layers: list[nn.Module] = [res(ch, mult * channels)]
                ch = mult * channels
                layers += attention(ch, level)
                self.down.append(EmbedSequential(*layers))
                skips.append(ch)
            if level < len(mults) - 1:
                self.down.append(EmbedSequential(Downsample(ch)))
                skips.append(ch)

        coarsest = len(mults) - 1
        self.mid = EmbedSequential(res(ch, ch), *attention(ch, coarsest), res(ch, ch))

        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(mults))):
            for i in range(blocks_per_level[level] + 1):
                layers = [res(ch + skips.pop(), mult * channels)]
                ch = mult * channels
                layers += attention(ch, level)
                if level > 0 and i == blocks_per_level[level]:
                    layers.append(Upsample(ch))
                self.up.append(EmbedSequential(*layers))

        self.out = nn.Sequential(
            group_norm(ch),
            nn.SiLU(),
            zero_(nn.Conv1d(ch, self.out_channels + head_channels, 3, padding=1)),
        )
        if input_skip and self.out_channels != in_channels:
            raise ValueError(
                f"input_skip needs out_channels == in_channels, got {self.out_channels} "
                f"and {in_channels}"
            )
        # per-channel gain on x, a function of the embedding, added to the output
        self.input_skip = zero_(nn.Linear(emb_dim, in_channels)) if input_skip else None

    def forward(
        self, x: Tensor, noise_level: Tensor, cond: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        # x: [B, C, T], noise_level: [B] or [], cond: {label: [B] ids, seconds_*: [B] float,
        # text: [B, L] ids} -> [B, C_out, T]
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be [B, {self.in_channels}, T], got {list(x.shape)}")
        b, _, t = x.shape
        noise_level = torch.as_tensor(noise_level, device=x.device)
        if noise_level.ndim == 0:
            noise_level = noise_level.expand(b)
        if noise_level.shape != (b,):
            raise ValueError(
                f"noise_level must be [{b}] or a scalar, got {list(noise_level.shape)}"
            )
        numbers = TIMING_KEYS if self.timing_embedding is not None else ()
        text_key = (self.TEXT,) if self.text_encoder is not None else ()
        labels = {
            k: v
            for k, v in (cond or {}).items()
            if k != self.OBSERVATION and k not in numbers and k not in text_key
        }
        if not numbers and (set(TIMING_KEYS) & set(labels)) - set(self.label_embedding.sizes):
            raise ValueError("cond has seconds_start/seconds_total, but this net has no timing")
        if not text_key and self.TEXT in labels and self.TEXT not in self.label_embedding.sizes:
            raise ValueError("cond has text, but this net has no text encoder")
        emb = self.noise_embedding(noise_level) + self.label_embedding(labels, b, x.device)
        if self.timing_embedding is not None:
            emb = emb + self.timing_embedding(cond, b, x.device)
        text = None
        if self.text_encoder is not None:
            ids = self._text_ids(cond, b, x.device)
            text = self.text_encoder(ids)
            emb = emb + self.text_pool(*text, self.text_encoder.prompt_pitch(ids)).to(emb.dtype)

        obs = self._observation(cond, x) if self.obs_channels else None
        h = x if obs is None else torch.cat([x, obs], dim=1)
        if self.obs_head:
            h = torch.cat([h, self.obs_head.features(obs)], dim=1)
        if self.template_labels:
            h = torch.cat([h, self._templates(labels, b, t, x.device)], dim=1)
        h = F.pad(h, (0, -t % self.downsample_factor))
        h = self.input_conv(h)
        skips = [h]
        for block in self.down:
            h = block(h, emb, text)
            skips.append(h)
        h = self.mid(h, emb, text)
        for block in self.up:
            h = block(torch.cat([h, skips.pop()], dim=1), emb, text)
        out = self.out(h)[..., :t]
        if self.input_skip is not None:
            c = self.out_channels
            gain = self.input_skip(emb)[:, :, None].to(out.dtype)  # [B, C, 1]
            out = torch.cat([out[:, :c] + gain * x.to(out.dtype), out[:, c:]], dim=1)
        if self.obs_head:
            c = self.out_channels
            return self.obs_head.apply(out[:, :c], out[:, c:], obs)
        return out

    def _templates(
        self, labels: Mapping[str, Tensor], b: int, t: int, device: torch.device
    ) -> Tensor:
        # -> [B, sum C_t, T]: each templated label's row for its ids (null id 0: zeros)
        rows = []
        for name in self.template_labels:
            table = getattr(self, f"template_{name}")
            ids = labels.get(name)
            ids = torch.zeros(b, dtype=torch.long, device=device) if ids is None else ids
            rows.append(table[as_batch(name, ids, b).to(device).long()])
        return torch.cat(rows, dim=1)[:, :, None].expand(-1, -1, t)

    def _text_ids(self, cond: Mapping[str, Tensor] | None, b: int, device: torch.device) -> Tensor:
        # -> [B, L] ids (the encoder checks them); a missing cond["text"] is the empty prompt
        ids = (cond or {}).get(self.TEXT)
        if ids is None:
            ids = torch.full((b, 1), PAD_ID, dtype=torch.long, device=device)
        elif isinstance(ids, Tensor) and ids.ndim >= 1 and ids.shape[0] != b:
            raise ValueError(f"cond['text'] must be [{b}, L], got {list(ids.shape)}")
        return ids.to(device)

    def _observation(self, cond: Mapping[str, Tensor] | None, x: Tensor) -> Tensor:
        # -> [B, obs_channels, T]
        b, _, t = x.shape
        obs = (cond or {}).get(self.OBSERVATION)
        if obs is None:
            return x.new_zeros(b, self.obs_channels, t)
        if obs.shape != (b, self.obs_channels, t):
            raise ValueError(
                f"cond['obs'] must be [{b}, {self.obs_channels}, {t}], got {list(obs.shape)}"
            )
        return obs.to(x.dtype)
