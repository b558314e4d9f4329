"""Torch modules for the attention layer types.

- `TorchMultiheadAttention` wraps torch's own nn.MultiheadAttention (batch first, need_weights=False, as
  torchvision's ViT calls it), so the peer tools see the class they see in torchvision's models;
- `Attention` is the general form (GQA/MQA, a head size of its own, RoPE, a T5-style relative-position
  table): q/k/v/o nn.Linear projections around F.scaled_dot_product_attention, as Hugging Face's Llama;
- `ScaledDotProduct` is F.scaled_dot_product_attention as a module;
- `WindowAttention` is torchvision's ShiftedWindowAttention (Swin), computed with the same calls (F.linear
  with the projections' weights, Tensor.matmul), its parameters and buffer under the same names.

Every mask is built from positions at run time (a constant: no FLOP counter counts it).
"""

from __future__ import annotations

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
                 dropout: float) -> None:  # fmt: skip
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.bias, self.out_bias, self.causal, self.buckets, self.dropout = bias, out_bias, causal, buckets, dropout
        self.q_proj = nn.Linear(embed_dim, heads * head_dim, bias=bias)
        self.k_proj = nn.Linear(kdim, kv_heads * head_dim, bias=bias)
        self.v_proj = nn.Linear(vdim, kv_heads * head_dim, bias=bias)
        self.o_proj = nn.Linear(heads * head_dim, embed_dim, bias=out_bias)
        self.rotary = Rotary(rotary_dims, rope_base) if rotary_dims else None
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
        k = self.k_proj(key).view(n, keys, self.kv_heads, self.head_dim).transpose(1, 2)
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
    def __init__(self, causal: bool, enable_gqa: bool, scale: float | None, dropout: float) -> None:
        super().__init__()
        self.causal, self.enable_gqa, self.scale, self.dropout = causal, enable_gqa, scale, dropout

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                              is_causal=self.causal, scale=self.scale, enable_gqa=self.enable_gqa)


def relative_position_index(window: tuple[int, int]) -> torch.Tensor:
    """torchvision's define_relative_position_index: [Wh·Ww·Wh·Ww] indices into the bias table."""
    coords = torch.stack(torch.meshgrid(torch.arange(window[0]), torch.arange(window[1]), indexing="ij"))
    flat = torch.flatten(coords, 1)
    relative = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    relative[:, :, 0] += window[0] - 1
    relative[:, :, 1] += window[1] - 1
    relative[:, :, 0] *= 2 * window[1] - 1
    return relative.sum(-1).flatten()


class WindowAttention(nn.Module):
    """torchvision.models.swin_transformer.ShiftedWindowAttention on [N, H, W, C] (v1, relative bias)."""

    def __init__(self, dim: int, window: tuple[int, int], shift: tuple[int, int], heads: int, qkv_bias: bool,
                 proj_bias: bool) -> None:  # fmt: skip
        super().__init__()
        self.window_size, self.shift_size, self.num_heads = list(window), list(shift), heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window[0] - 1) * (2 * window[1] - 1), heads))
        self.register_buffer("relative_position_index", relative_position_index(window))

    def reset_index_buffers(self) -> None:
        """Refill the index after `to_empty` (archcalc.torch_build.to_empty)."""
        with torch.no_grad():
            self.relative_position_index.copy_(relative_position_index(tuple(self.window_size)))
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_tokens = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index]
        bias = bias.view(n_tokens, n_tokens, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
        return shifted_window_attention(x, self.qkv, self.proj, bias, self.window_size, self.num_heads,
                                        self.shift_size)  # fmt: skip


def shifted_window_attention(x, qkv: nn.Linear, proj: nn.Linear, bias, window: list[int], heads: int,
                             shift: list[int]) -> torch.Tensor:  # fmt: skip
    """torchvision's shifted_window_attention at inference (no dropout), step for step."""
    B, H, W, C = x.shape
    pad_r, pad_b = (window[1] - W % window[1]) % window[1], (window[0] - H % window[0]) % window[0]
    x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
    _, pad_H, pad_W, _ = x.shape
    shift = [0 if window[i] >= (pad_H, pad_W)[i] else shift[i] for i in range(2)]
    if sum(shift) > 0:
        x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
    windows = (pad_H // window[0]) * (pad_W // window[1])
    x = x.view(B, pad_H // window[0], window[0], pad_W // window[1], window[1], C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(B * windows, window[0] * window[1], C)
    q, k, v = F.linear(x, qkv.weight, qkv.bias).reshape(x.size(0), x.size(1), 3, heads, C // heads).permute(
        2, 0, 3, 1, 4)
    q = q * (C // heads) ** -0.5
    attn = q.matmul(k.transpose(-2, -1))
    attn = attn + bias
    if sum(shift) > 0:
        mask = x.new_zeros((pad_H, pad_W))
        slices = [((0, -window[i]), (-window[i], -shift[i]), (-shift[i], None)) for i in range(2)]
        count = 0
        for h in slices[0]:
            for w in slices[1]:
                mask[h[0] : h[1], w[0] : w[1]] = count
                count += 1
        mask = mask.view(pad_H // window[0], window[0], pad_W // window[1], window[1])
        mask = mask.permute(0, 2, 1, 3).reshape(windows, window[0] * window[1])
        mask = mask.unsqueeze(1) - mask.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))
        attn = attn.view(x.size(0) // windows, windows, heads, x.size(1), x.size(1))
        attn = attn + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, x.size(1), x.size(1))
    attn = F.softmax(attn, dim=-1)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), C)
    x = F.linear(x, proj.weight, proj.bias)
    x = x.view(B, pad_H // window[0], pad_W // window[1], window[0], window[1], C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(B, pad_H, pad_W, C)
    if sum(shift) > 0:
        x = torch.roll(x, shifts=(shift[0], shift[1]), dims=(1, 2))
    return x[:, :H, :W, :].contiguous()
