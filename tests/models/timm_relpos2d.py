"""Decomposed relative-position attention, copied (the lines that matter) from timm 1.0.31:
timm/models/vision_transformer_sam.py (get_rel_pos, get_decomposed_rel_pos_bias, Attention with use_rel_pos,
window_partition / window_unpartition, Block's attention half) and timm/models/mvitv2.py (cal_rel_pos_type,
MultiScaleAttention's forward without pooling: its pooling convs are per-sample convs on heads folded into the
batch, another construct)."""

from __future__ import annotations

from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn


def get_rel_pos(q_size: int, k_size: int, rel_pos: torch.Tensor, mode: str = "linear") -> torch.Tensor:
    """vision_transformer_sam.py get_rel_pos (`mode` is not timm's: it is always linear there)."""
    max_rel_dist = int(2 * max(q_size, k_size) - 1)
    if rel_pos.shape[0] != max_rel_dist:
        rel_pos_resized = F.interpolate(
            rel_pos.reshape(1, rel_pos.shape[0], -1).permute(0, 2, 1),
            size=max_rel_dist,
            mode=mode,
        )
        rel_pos_resized = rel_pos_resized.reshape(-1, max_rel_dist).permute(1, 0)
    else:
        rel_pos_resized = rel_pos
    q_coords = torch.arange(q_size, dtype=torch.float32)[:, None] * max(k_size / q_size, 1.0)
    k_coords = torch.arange(k_size, dtype=torch.float32)[None, :] * max(q_size / k_size, 1.0)
    relative_coords = (q_coords - k_coords) + (k_size - 1) * max(q_size / k_size, 1.0)
    return rel_pos_resized[relative_coords.long()]


def get_decomposed_rel_pos_bias(q, rel_pos_h, rel_pos_w, q_size: Tuple[int, int], k_size: Tuple[int, int],
                                mode: str = "linear"):  # fmt: skip
    """vision_transformer_sam.py get_decomposed_rel_pos_bias."""
    q_h, q_w = q_size
    k_h, k_w = k_size
    Rh = get_rel_pos(q_h, k_h, rel_pos_h, mode)
    Rw = get_rel_pos(q_w, k_w, rel_pos_w)
    B, _, dim = q.shape
    r_q = q.reshape(B, q_h, q_w, dim)
    rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, Rh)
    rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, Rw)
    attn_bias = rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]
    return attn_bias.reshape(-1, q_h * q_w, k_h * k_w)


class SamAttention(nn.Module):
    """vision_transformer_sam.py Attention (use_rel_pos=True, no q/k norm, no rope); `fused` picks
    F.scaled_dot_product_attention with the bias as attn_mask, else the explicit scores + bias."""

    def __init__(self, dim: int = 24, num_heads: int = 3, input_size: Tuple[int, int] = (5, 5), fused: bool = True,
                 table_rows: Optional[int] = None, resize_mode: str = "linear"):  # fmt: skip
        super().__init__()
        self.resize_mode = resize_mode  # not timm's (linear there): a resizing archcalc does not follow
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.fused_attn = fused
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.q_norm = nn.Identity()
        self.k_norm = nn.Identity()
        self.proj = nn.Linear(dim, dim)
        rows_h = table_rows or 2 * input_size[0] - 1
        self.rel_pos_h = nn.Parameter(torch.zeros(rows_h, self.head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * input_size[1] - 1, self.head_dim))

    def forward(self, x):
        B, H, W, _ = x.shape
        N = H * W
        x = x.reshape(B, N, -1)
        qkv = self.qkv(x).view(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, B * self.num_heads, N, -1).unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        attn_bias = get_decomposed_rel_pos_bias(q, self.rel_pos_h, self.rel_pos_w, (H, W), (H, W), self.resize_mode)
        if self.fused_attn:
            x = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias)
        else:
            q = q * self.scale
            attn = q @ k.transpose(-2, -1)
            attn = attn + attn_bias
            attn = attn.softmax(dim=-1)
            x = attn @ v
        x = x.view(B, self.num_heads, N, -1).transpose(1, 2).reshape(B, N, -1)
        x = self.proj(x)
        return x.view(B, H, W, -1)


def window_partition(x: torch.Tensor, window_size: int):
    """vision_transformer_sam.py window_partition."""
    B, H, W, C = x.shape
    pad_h = (window_size - H % window_size) % window_size
    pad_w = (window_size - W % window_size) % window_size
    x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    Hp, Wp = H + pad_h, W + pad_w
    x = x.view(B, Hp // window_size, window_size, Wp // window_size, window_size, C)
    windows = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)
    return windows, (Hp, Wp)


def window_unpartition(windows, window_size: int, hw: Tuple[int, int], pad_hw: Optional[Tuple[int, int]] = None):
    """vision_transformer_sam.py window_unpartition."""
    Hp, Wp = pad_hw if pad_hw is not None else hw
    H, W = hw
    B = windows.shape[0] // (Hp * Wp // window_size // window_size)
    x = windows.view(B, Hp // window_size, Wp // window_size, window_size, window_size, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, Hp, Wp, -1)
    x = x[:, :H, :W, :].contiguous()
    return x


class SamBlock(nn.Module):
    """vision_transformer_sam.py Block, the attention half: norm, window partition, attention, unpartition,
    residual (the MLP half is an ordinary MLP)."""

    def __init__(self, dim: int = 24, num_heads: int = 3, window_size: int = 3, fused: bool = True):
        super().__init__()
        self.window_size = window_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SamAttention(dim, num_heads, (window_size, window_size), fused)

    def forward(self, x):
        B, H, W, _ = x.shape
        shortcut = x
        x = self.norm1(x)
        x, pad_hw = window_partition(x, self.window_size)
        x = self.attn(x)
        x = window_unpartition(x, self.window_size, (H, W), pad_hw)
        return shortcut + x


def cal_rel_pos_type(attn, q, has_cls_token: bool, q_size: List[int], k_size: List[int], rel_pos_h, rel_pos_w):
    """mvitv2.py cal_rel_pos_type."""
    sp_idx = 1 if has_cls_token else 0
    q_h, q_w = q_size
    k_h, k_w = k_size
    q_h_ratio = max(k_h / q_h, 1.0)
    k_h_ratio = max(q_h / k_h, 1.0)
    dist_h = (
        torch.arange(q_h, device=q.device, dtype=torch.long).unsqueeze(-1) * q_h_ratio -
        torch.arange(k_h, device=q.device, dtype=torch.long).unsqueeze(0) * k_h_ratio
    )
    dist_h += (k_h - 1) * k_h_ratio
    q_w_ratio = max(k_w / q_w, 1.0)
    k_w_ratio = max(q_w / k_w, 1.0)
    dist_w = (
        torch.arange(q_w, device=q.device, dtype=torch.long).unsqueeze(-1) * q_w_ratio -
        torch.arange(k_w, device=q.device, dtype=torch.long).unsqueeze(0) * k_w_ratio
    )
    dist_w += (k_w - 1) * k_w_ratio
    rel_h = rel_pos_h[dist_h.long()]
    rel_w = rel_pos_w[dist_w.long()]
    B, n_head, q_N, dim = q.shape
    r_q = q[:, :, sp_idx:].reshape(B, n_head, q_h, q_w, dim)
    rel_h = torch.einsum("byhwc,hkc->byhwk", r_q, rel_h)
    rel_w = torch.einsum("byhwc,wkc->byhwk", r_q, rel_w)
    attn[:, :, sp_idx:, sp_idx:] = (
        attn[:, :, sp_idx:, sp_idx:].view(B, -1, q_h, q_w, k_h, k_w)
        + rel_h.unsqueeze(-1)
        + rel_w.unsqueeze(-2)
    ).view(B, -1, q_h * q_w, k_h * k_w)
    return attn


class MvitAttention(nn.Module):
    """mvitv2.py MultiScaleAttention (rel_pos_type 'spatial', residual_pooling) with kernels and strides of 1,
    where timm builds no pooling: tokens [B, N, C] (a class token first with `has_cls_token`) on a feat_size grid.
    Not timm's: `kv_stride` keeps every s-th key and value of the grid (x[:, :, ::s, ::s], standing in for the
    strided pooling convs) so that the keys' grid is smaller than the queries', as in MViTv2's pooled stages."""

    def __init__(self, dim: int = 24, num_heads: int = 3, feat_size: Tuple[int, int] = (5, 5),
                 has_cls_token: bool = False, kv_stride: int = 1):  # fmt: skip
        super().__init__()
        self.num_heads = num_heads
        self.dim_out = dim
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.has_cls_token = has_cls_token
        self.feat_size = list(feat_size)
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.kv_stride = kv_stride
        rel_sp_dim = 2 * max(feat_size[0], -(-feat_size[0] // kv_stride)) - 1
        self.rel_pos_h = nn.Parameter(torch.zeros(rel_sp_dim, self.head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(rel_sp_dim, self.head_dim))
        self.residual_pooling = True

    def forward(self, x):
        feat_size = self.feat_size
        B, N, _ = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(dim=0)
        q_size = k_size = feat_size
        if self.kv_stride > 1:
            s, (h, w) = self.kv_stride, feat_size
            k = k.reshape(B, self.num_heads, h, w, -1)[:, :, ::s, ::s]
            v = v.reshape(B, self.num_heads, h, w, -1)[:, :, ::s, ::s]
            k_size = [k.shape[2], k.shape[3]]
            k, v = k.reshape(B, self.num_heads, -1, self.head_dim), v.reshape(B, self.num_heads, -1, self.head_dim)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = cal_rel_pos_type(attn, q, self.has_cls_token, q_size, k_size, self.rel_pos_h, self.rel_pos_w)
        attn = attn.softmax(dim=-1)
        x = attn @ v
        if self.residual_pooling:
            x = x + q
        x = x.transpose(1, 2).reshape(B, -1, self.dim_out)
        return self.proj(x)


class RelPosProduct(nn.Module):
    """One product of get_decomposed_rel_pos_bias on queries [B, heads, h, w, C]: the reference of a
    relative_position_product layer (table rows gathered by get_rel_pos's computed index)."""

    def __init__(self, size: int = 5, dim: int = 8, equation: str = "bnhwc,hkc->bnhwk", rows: Optional[int] = None):
        super().__init__()
        self.size, self.equation = size, equation
        self.rel_pos_h = nn.Parameter(torch.zeros(rows or 2 * size - 1, dim))

    def forward(self, q):
        rows = get_rel_pos(self.size, self.size, self.rel_pos_h)
        return torch.einsum(self.equation, q, rows)


class FixedSizeRelH(nn.Module):
    """Not timm's: one SAM-style product with the grid's sizes fixed in the code, which torch.fx traces (it runs
    `torch.arange(5)` while tracing and keeps the index as a tensor constant); input [heads, h, w, C]."""

    def __init__(self, size: int = 5, dim: int = 8):
        super().__init__()
        self.size = size
        self.qkv = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * size - 1, dim))

    def forward(self, x):
        coords = torch.arange(self.size)[:, None] - torch.arange(self.size)[None, :] + (self.size - 1)
        return torch.einsum("bnhwc,hkc->bnhwk", self.qkv(x), self.rel_pos_h[coords])


class MergedWrite(nn.Module):
    """Not timm's: a write-back like MViTv2's on scores whose batch is merged with the heads ([B·heads, N, N], as
    SAM lays out its attention): `attn[:, 1:, 1:] = ...` after a class token."""

    def __init__(self, dim: int = 8, heads: int = 2):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, B * self.heads, N, -1).unbind(0)
        attn = q @ k.transpose(-2, -1)
        attn[:, 1:, 1:] = attn[:, 1:, 1:] * 2
        x = attn.softmax(-1) @ v
        return x.reshape(B, self.heads, N, -1).transpose(1, 2).reshape(B, N, C)
