"""1-D U-Net building blocks: residual, attention and resampling blocks (Dhariwal & Nichol 2021).

Every block maps ``x [B, C, T]``; residual blocks also read the conditioning ``emb [B, E]``,
cross-attention blocks the text tokens ``[B, L, D]`` and their mask ``[B, L]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def group_norm(channels: int, max_groups: int = 32, min_group_channels: int = 4) -> nn.GroupNorm:
    """GroupNorm with the most groups <= max_groups that divide ``channels`` and keep >= 4 each."""
    target = max(1, min(max_groups, channels // min_group_channels))
    groups = next(g for g in range(target, 0, -1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


def zero_(module: nn.Module) -> nn.Module:
    """Zero a module's parameters in place (the block starts as the identity / outputs 0)."""
    with torch.no_grad():
        for p in module.parameters():
            p.zero_()
    return module


class ResBlock(nn.Module):
    """norm, SiLU, conv3, scale-shift norm from emb, SiLU, dropout, conv3 (zero) + skip.

    The scale-shift is ADM's AdaGN: h = norm(h) * (1 + scale) + shift (Dhariwal & Nichol 2021).
    """

    def __init__(self, in_channels: int, out_channels: int, emb_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv1d(in_channels, out_channels, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * out_channels)
        self.norm2 = group_norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = zero_(nn.Conv1d(out_channels, out_channels, 3, padding=1))
        self.skip = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv1d(in_channels, out_channels, 1)
        )

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        # x: [B, C_in, T], emb: [B, E] -> [B, C_out, T]
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class AttentionBlock(nn.Module):
    """Pre-norm multi-head self-attention over time, residual, zero-initialised output proj."""

    def __init__(self, channels: int, num_heads: int = 4) -> None:
        super().__init__()
        if num_heads < 1 or channels % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide channels ({channels})")
        self.num_heads = num_heads
        self.norm = group_norm(channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.proj = zero_(nn.Conv1d(channels, channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, C, T] -> [B, C, T]
        b, c, t = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, 3, self.num_heads, c // self.num_heads, t)
        q, k, v = qkv.transpose(-1, -2).unbind(dim=1)  # each [B, H, T, D]
        h = F.scaled_dot_product_attention(q, k, v)  # [B, H, T, D]
        return x + self.proj(h.transpose(-1, -2).reshape(b, c, t))


class CrossAttentionBlock(nn.Module):
    """Pre-norm multi-head attention from x over text tokens, residual, zero-initialised output
    projection (the cross-attention of latent diffusion, Rombach et al. 2022, sec. 3.3).

    Queries from x, keys and values from the LayerNorm'ed tokens; padding is masked out. A row
    with no tokens (the empty prompt) adds exactly nothing: x is returned as it is.
    """

    def __init__(self, channels: int, context_dim: int, num_heads: int = 4) -> None:
        super().__init__()
        if num_heads < 1 or channels % num_heads:
            raise ValueError(f"num_heads ({num_heads}) must divide channels ({channels})")
        self.num_heads = num_heads
        self.norm = group_norm(channels)
        self.q = nn.Conv1d(channels, channels, 1)
        self.context_norm = nn.LayerNorm(context_dim)
        self.kv = nn.Linear(context_dim, 2 * channels)
        self.proj = zero_(nn.Conv1d(channels, channels, 1))

    def forward(self, x: Tensor, tokens: Tensor, mask: Tensor) -> Tensor:
        # x: [B, C, T], tokens: [B, L, D], mask: [B, L] bool -> [B, C, T]
        b, c, t = x.shape
        h, length = self.num_heads, tokens.shape[1]
        q = self.q(self.norm(x)).reshape(b, h, c // h, t).transpose(-1, -2)  # [B, H, T, c/H]
        kv = self.kv(self.context_norm(tokens.to(x.dtype))).reshape(b, length, 2, h, c // h)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)  # each [B, H, L, c/H]
        any_token = mask.any(1)  # [B]
        keys = (mask | ~any_token[:, None])[:, None, None, :]  # no NaN for an empty row
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=keys)  # [B, H, T, c/H]
        out = self.proj(out.transpose(-1, -2).reshape(b, c, t))
        return x + out * any_token[:, None, None].to(out.dtype)


class Downsample(nn.Module):
    """Halve T with a stride-2 conv (T must be even)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, C, T] -> [B, C, T // 2]
        return self.conv(x)


class Upsample(nn.Module):
    """Double T: nearest-neighbour repeat, then a conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, C, T] -> [B, C, 2 T]
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class EmbedSequential(nn.Sequential):
    """A sequence of blocks; the residual blocks among them also get ``emb``, the
    cross-attention blocks ``text`` = (tokens, mask)."""

    def forward(  # type: ignore[override]
        self, x: Tensor, emb: Tensor, text: tuple[Tensor, Tensor] | None = None
    ) -> Tensor:
        # x: [B, C, T], emb: [B, E], text: ([B, L, D], [B, L]) -> [B, C', T']
        for block in self:
            if isinstance(block, ResBlock):
                x = block(x, emb)
            elif isinstance(block, CrossAttentionBlock):
                if text is None:
                    raise ValueError("a cross-attention block needs the text tokens")
                x = block(x, *text)
            else:
                x = block(x)
        return x
