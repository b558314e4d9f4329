"""Torch modules for the attention layer types.

- `TorchMultiheadAttention` wraps torch's own nn.MultiheadAttention (batch first, need_weights=False, as
  torchvision's ViT calls it), so the peer tools see the class they see in torchvision's models;
- `Attention` is the general form (GQA/MQA, a head size of its own, RoPE, a T5-style relative-position
  table): q/k/v/o nn.Linear projections around F.scaled_dot_product_attention, as Hugging Face's Llama;
- `ScaledDotProduct` is F.scaled_dot_product_attention as a module (an optional attn_mask input);
- `RelativePositionProduct` is SAM's and MViTv2's einsum of the queries with gathered relative-position rows;
- `SliceScatter` is `x[:, a:, b:] = y` (MViTv2 writes its relative positions back into the scores);
Swin's window attention (torchvision's ShiftedWindowAttention, V2 and 3-D) is in torch_window.py.

Every mask is built from positions at run time (a constant: no FLOP counter counts it).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from archcalc.torch_tokens import Rotary


def causal_mask(queries: int, keys: int, device) -> torch.Tensor:
    """An additive mask: 0 where query i may see key j (j <= i + keys - queries), -inf elsewhere."""
    allowed = torch.ones(queries, keys, dtype=torch.bool, device=device).tril(keys - queries)
    return torch.zeros(queries, keys, device=device).masked_fill(~allowed, float("-inf"))


class TorchMultiheadAttention(nn.Module):
    """Self-attention (one input), cross-attention (query and memory) or q, k, v: nn.MultiheadAttention."""

    def __init__(self, embed_dim: int, heads: int, kdim: int, vdim: int, bias: bool, causal: bool,
                 dropout: float) -> None:  # fmt: skip
        super().__init__()
        self.mha = nn.MultiheadAttention(embed_dim, heads, dropout=dropout, bias=bias, batch_first=True,
                                         kdim=kdim, vdim=vdim)  # fmt: skip
        self.causal = causal

    def forward(self, query: torch.Tensor, key: torch.Tensor | None = None, value: torch.Tensor | None = None):
        # Only a one-input layer is self-attention: a spec that feeds one tensor as query and memory means
        # cross-attention, so torch must not see the same tensor object (its fused self-attention path).
        key = query if key is None else (key.view_as(key) if key is query else key)
        value = key if value is None else (value.view_as(value) if value is query or value is key else value)
        mask = causal_mask(query.shape[1], key.shape[1], query.device) if self.causal else None
        return self.mha(query, key, value, need_weights=False, attn_mask=mask, is_causal=self.causal)[0]


class Attention(nn.Module):
    """q/k/v/o projections, RoPE on q and k, an optional T5-style bias table, F.scaled_dot_product_attention."""

    def __init__(self, embed_dim: int, heads: int, kv_heads: int, head_dim: int, kdim: int, vdim: int, bias: bool,
                 out_bias: bool, causal: bool, rotary_dims: int, rope_base: float, buckets: int,
                 dropout: float, key_bias: str | None = None, rope_prefix: int = 0) -> None:  # fmt: skip
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.bias, self.out_bias, self.causal, self.buckets, self.dropout = bias, out_bias, causal, buckets, dropout
        self.q_proj = nn.Linear(embed_dim, heads * head_dim, bias=bias)
        key_bias = key_bias or ("learned" if bias else "none")
        self.k_proj = nn.Linear(kdim, kv_heads * head_dim, bias=key_bias == "learned")
        if key_bias == "zeros":  # timm's EVA: a fused qkv bias whose key part is a zero buffer, added all the same
            self.register_buffer("k_bias", torch.zeros(kv_heads * head_dim))
        self.zero_key_bias = key_bias == "zeros"
        self.v_proj = nn.Linear(vdim, kv_heads * head_dim, bias=bias)
        self.o_proj = nn.Linear(heads * head_dim, embed_dim, bias=out_bias)
        self.rotary = Rotary(rotary_dims, rope_base, rope_prefix) if rotary_dims else None
        if buckets:
            self.relative_attention_bias = nn.Embedding(buckets, heads)

    def _bias(self, queries: int, keys: int, device) -> torch.Tensor:
        """[H, L, S]: the table row of each (query, key) pair's bucket (relative distance, clamped)."""
        distance = torch.arange(keys, device=device)[None, :] - torch.arange(queries, device=device)[:, None]
        bucket = (distance + self.buckets // 2).clamp(0, self.buckets - 1)
        return self.relative_attention_bias(bucket).permute(2, 0, 1)

    def forward(self, query: torch.Tensor, key: torch.Tensor | None = None, value: torch.Tensor | None = None):
        key = query if key is None else key
        value = key if value is None else value
        n, queries, keys = query.shape[0], query.shape[1], key.shape[1]
        q = self.q_proj(query).view(n, queries, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(key) + self.k_bias if self.zero_key_bias else self.k_proj(key)
        k = k.view(n, keys, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(value).view(n, keys, self.kv_heads, self.head_dim).transpose(1, 2)
        if self.rotary is not None:
            q, k = self.rotary(q), self.rotary(k)
        mask = None
        if self.buckets:
            mask = self._bias(queries, keys, query.device)
            if self.causal:
                mask = mask + causal_mask(queries, keys, query.device)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
                                             is_causal=self.causal and mask is None,
                                             enable_gqa=self.kv_heads != self.heads)  # fmt: skip
        return self.o_proj(out.transpose(1, 2).reshape(n, queries, self.heads * self.head_dim))


class ScaledDotProduct(nn.Module):
    """F.scaled_dot_product_attention; a fourth input is its attn_mask (a bias computed from the input, SAM's)."""

    def __init__(self, causal: bool, enable_gqa: bool, scale: float | None, dropout: float) -> None:
        super().__init__()
        self.causal, self.enable_gqa, self.scale, self.dropout = causal, enable_gqa, scale, dropout

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
                                              is_causal=self.causal, scale=self.scale, enable_gqa=self.enable_gqa)


class RelativePositionProduct(nn.Module):
    """`torch.einsum(equation, x, table[index])` with the index computed in forward (SAM's and MViTv2's decomposed
    relative positions): every index is valid (0, 1, ... wrapping around the table's rows), so no buffer."""

    def __init__(self, equation: str, table: tuple, index: tuple, table_rows: int | None = None) -> None:
        super().__init__()
        self.equation, self.index_shape, self.rows_needed = equation, tuple(index), table[0]
        self.table = nn.Parameter(torch.zeros((table_rows or table[0],) + tuple(table[1:])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        table, rows = self.table, self.rows_needed
        if table.shape[0] != rows:  # SAM's get_rel_pos: resized to the rows the grid needs
            table = F.interpolate(table.reshape(1, table.shape[0], -1).permute(0, 2, 1), size=rows, mode="linear")
            table = table.reshape(-1, rows).permute(1, 0)
        index = torch.arange(math.prod(self.index_shape), device=x.device).remainder(rows)
        return torch.einsum(self.equation, x, table[index.view(self.index_shape)])


class SliceScatter(nn.Module):
    """`x[:, a:, b:] = y` on a copy of x (MViTv2's `attn[:, :, sp_idx:, sp_idx:] = ...`): y fills the block at
    `starts` (per sample axis); the copy keeps the spec's input unchanged for its other readers."""

    def __init__(self, starts: list[int]) -> None:
        super().__init__()
        self.starts = list(starts)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        out[(slice(None),) + tuple(slice(s, s + n) for s, n in zip(self.starts, y.shape[1:]))] = y
        return out
