"""Torch modules for MViT's layer types (layers/multiscale_attention.py, layers/mvit_tokens.py): torchvision's
MViT blocks (torchvision/models/video/mvit.py, torchvision 0.29), computed with the same calls, for a fixed
token grid `thw` (torchvision passes the grid beside the tensor; a spec layer takes one tensor).

- `MultiscaleAttention`: torchvision's MultiscaleAttention (qkv, the Pool(Conv3d, LayerNorm) modules,
  the decomposed relative positions of MViTv2, the pooled-query residual, the output projection);
- `TokenPool`: torchvision's Pool around a MaxPool3d (MultiscaleBlock.pool_skip);
- `GridPositions`: torchvision's PositionalEncoding (class token, and MViTv1's separable positions).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _split_pool(pool: nn.Module, norm: nn.Module | None, x: torch.Tensor, thw: tuple[int, ...]):
    """torchvision's Pool.forward on [B, N, 1 + T·H·W, C] (norm after the pool, as MViT builds it)."""
    class_token, x = torch.tensor_split(x, indices=(1,), dim=2)
    x = x.transpose(2, 3)
    B, N, C = x.shape[:3]
    x = x.reshape((B * N, C) + tuple(thw)).contiguous()
    x = pool(x)
    T, H, W = x.shape[2:]
    x = x.reshape(B, N, C, -1).transpose(2, 3)
    x = torch.cat((class_token, x), dim=2)
    if norm is not None:
        x = norm(x)
    return x, (T, H, W)


class Pool(nn.Module):
    """torchvision's Pool(Conv3d, LayerNorm) inside the attention, on [B, heads, 1 + T·H·W, D]."""

    def __init__(self, dim: int, kernel: tuple[int, ...], stride: tuple[int, ...], eps: float) -> None:
        super().__init__()
        self.pool = nn.Conv3d(dim, dim, kernel, stride=stride, padding=[k // 2 for k in kernel], groups=dim, bias=False)
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor, thw: tuple[int, ...]):
        return _split_pool(self.pool, self.norm, x, thw)


class MultiscaleAttention(nn.Module):
    def __init__(self, embed_dim: int, output_dim: int, num_heads: int, thw: tuple[int, ...],
                 kernel_q: tuple[int, ...], stride_q: tuple[int, ...], kernel_kv: tuple[int, ...],
                 stride_kv: tuple[int, ...], residual_pool: bool, residual_with_cls_embed: bool, rel_pos: bool,
                 norm_eps: float, rel_pos_rows: tuple[int, ...] = ()) -> None:  # fmt: skip
        super().__init__()
        self.output_dim, self.num_heads, self.head_dim = output_dim, num_heads, output_dim // num_heads
        self.thw, self.kernel_q, self.stride_q, self.kernel_kv, self.stride_kv = thw, kernel_q, stride_q, kernel_kv, stride_kv
        self.scaler = 1.0 / math.sqrt(self.head_dim)
        self.residual_pool, self.residual_with_cls_embed, self.norm_eps = residual_pool, residual_with_cls_embed, norm_eps
        self.qkv = nn.Linear(embed_dim, 3 * output_dim)
        self.project = nn.Linear(output_dim, output_dim)
        pool_q = math.prod(kernel_q) > 1 or math.prod(stride_q) > 1
        pool_kv = math.prod(kernel_kv) > 1 or math.prod(stride_kv) > 1
        self.pool_q = Pool(self.head_dim, kernel_q, stride_q, norm_eps) if pool_q else None
        self.pool_k = Pool(self.head_dim, kernel_kv, stride_kv, norm_eps) if pool_kv else None
        self.pool_v = Pool(self.head_dim, kernel_kv, stride_kv, norm_eps) if pool_kv else None
        self.rel_pos_h = self.rel_pos_w = self.rel_pos_t = None
        if rel_pos:  # the t, h and w tables' rows (the layer type works them out)
            rows = rel_pos_rows
            self.rel_pos_t = nn.Parameter(torch.zeros(rows[0], self.head_dim))
            self.rel_pos_h = nn.Parameter(torch.zeros(rows[1], self.head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(rows[2], self.head_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        thw = self.thw
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).transpose(1, 3).unbind(dim=2)
        k_thw = thw
        if self.pool_k is not None:
            k, k_thw = self.pool_k(k, thw)
        if self.pool_v is not None:
            v = self.pool_v(v, thw)[0]
        if self.pool_q is not None:
            q, thw = self.pool_q(q, thw)
        attn = torch.matmul(self.scaler * q, k.transpose(2, 3))
        if self.rel_pos_h is not None:
            attn = add_rel_pos(attn, q, thw, k_thw, self.rel_pos_h, self.rel_pos_w, self.rel_pos_t)
        attn = attn.softmax(dim=-1)
        x = torch.matmul(attn, v)
        if self.residual_pool:
            if self.residual_with_cls_embed:
                x.add_(q)
            else:
                x[:, :, 1:, :] += q[:, :, 1:, :]
        x = x.transpose(1, 2).reshape(B, -1, self.output_dim)
        return self.project(x)


def _distances(q: int, k: int, device) -> torch.Tensor:
    q_ratio, k_ratio = max(k / q, 1.0), max(q / k, 1.0)
    return (torch.arange(q, device=device)[:, None] * q_ratio
            - (torch.arange(k, device=device)[None, :] + (1.0 - k)) * k_ratio).long()  # fmt: skip


def _interpolate(table: torch.Tensor, rows: int) -> torch.Tensor:
    """torchvision's _interpolate: a table of other rows resized linearly."""
    if table.shape[0] == rows:
        return table
    return F.interpolate(table.permute(1, 0).unsqueeze(0), size=rows, mode="linear").squeeze(0).permute(1, 0)


def add_rel_pos(attn, q, q_thw, k_thw, rel_pos_h, rel_pos_w, rel_pos_t):
    """torchvision's _add_rel_pos."""
    (q_t, q_h, q_w), (k_t, k_h, k_w) = q_thw, k_thw
    device = rel_pos_h.device
    Rh = _interpolate(rel_pos_h, 2 * max(q_h, k_h) - 1)[_distances(q_h, k_h, device)]
    Rw = _interpolate(rel_pos_w, 2 * max(q_w, k_w) - 1)[_distances(q_w, k_w, device)]
    Rt = _interpolate(rel_pos_t, 2 * max(q_t, k_t) - 1)[_distances(q_t, k_t, device)]
    B, n_head, _, dim = q.shape
    r_q = q[:, :, 1:].reshape(B, n_head, q_t, q_h, q_w, dim)
    rel_h_q = torch.einsum("bythwc,hkc->bythwk", r_q, Rh)
    rel_w_q = torch.einsum("bythwc,wkc->bythwk", r_q, Rw)
    r_q = r_q.permute(2, 0, 1, 3, 4, 5).reshape(q_t, B * n_head * q_h * q_w, dim)
    rel_q_t = torch.matmul(r_q, Rt.transpose(1, 2)).transpose(0, 1)
    rel_q_t = rel_q_t.view(B, n_head, q_h, q_w, q_t, k_t).permute(0, 1, 4, 2, 3, 5)
    rel_pos = (rel_h_q[:, :, :, :, :, None, :, None] + rel_w_q[:, :, :, :, :, None, None, :]
               + rel_q_t[:, :, :, :, :, :, None, None]).reshape(B, n_head, q_t * q_h * q_w, k_t * k_h * k_w)  # fmt: skip
    attn[:, :, 1:, 1:] += rel_pos
    return attn


class TokenPool(nn.Module):
    """torchvision's Pool(MaxPool3d, None) on [B, 1 + T·H·W, C] tokens (the block's pool_skip)."""

    def __init__(self, thw: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...]) -> None:
        super().__init__()
        self.thw = thw
        self.pool = nn.MaxPool3d(kernel, stride=stride, padding=[k // 2 for k in kernel])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _split_pool(self.pool, None, x.unsqueeze(1), self.thw)[0].squeeze(1)


class GridPositions(nn.Module):
    """torchvision's PositionalEncoding: a class token in front; MViTv1 (`separable`) also adds a position
    embedding built from a temporal table [T, C], a spatial table [H·W, C] and the class token's own row."""

    def __init__(self, embed: int, thw: tuple[int, ...], separable: bool) -> None:
        super().__init__()
        self.temporal_size, self.spatial_size = thw[0], (thw[1], thw[2])
        self.class_token = nn.Parameter(torch.zeros(embed))
        self.spatial_pos = self.temporal_pos = self.class_pos = None
        if separable:
            self.spatial_pos = nn.Parameter(torch.zeros(thw[1] * thw[2], embed))
            self.temporal_pos = nn.Parameter(torch.zeros(thw[0], embed))
            self.class_pos = nn.Parameter(torch.zeros(embed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        class_token = self.class_token.expand(x.size(0), -1).unsqueeze(1)
        x = torch.cat((class_token, x), dim=1)
        if self.spatial_pos is not None:
            hw_size, embed_size = self.spatial_pos.shape
            pos_embedding = torch.repeat_interleave(self.temporal_pos, hw_size, dim=0)
            pos_embedding.add_(self.spatial_pos.unsqueeze(0).expand(self.temporal_size, -1, -1).reshape(-1, embed_size))
            pos_embedding = torch.cat((self.class_pos.unsqueeze(0), pos_embedding), dim=0).unsqueeze(0)
            x.add_(pos_embedding)
        return x
