"""Blocks that compute on a parameter before using it, for the import tests without timm: the few lines that
matter copied from timm 1.0.31 (each class names its source; docstrings and unused branches dropped).

- Swin V2's cosine attention scales the scores by `torch.clamp(self.logit_scale, max=log(100)).exp()`;
- ...
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def ndgrid(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """timm/layers/_fx.py (via timm.layers): ndgrid, meshgrid with 'ij' indexing."""
    return torch.meshgrid(*tensors, indexing="ij")


class SwinV2WindowAttention(nn.Module):
    """timm/models/swin_transformer_v2.py: WindowAttention (qkv_bias, not qkv_bias_separate; no dropout), on
    [B·nW, N, C] windows: cosine scores times exp(clamp(logit_scale)), 16·sigmoid of the cpb_mlp bias."""

    def __init__(self, dim: int = 16, window_size: tuple[int, int] = (4, 4), num_heads: int = 2,
                 qkv_bias: bool = True, hidden: int = 32) -> None:  # fmt: skip
        super().__init__()
        self.dim, self.window_size, self.num_heads = dim, window_size, num_heads
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, hidden, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(hidden, num_heads, bias=False))  # fmt: skip
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.register_buffer("k_bias", torch.zeros(dim), persistent=False)
            self.v_bias = nn.Parameter(torch.zeros(dim))
        else:
            self.q_bias = self.k_bias = self.v_bias = None
        self.proj = nn.Linear(dim, dim)
        self.softmax = nn.Softmax(dim=-1)
        table, index = self._make_pair_wise_relative_positions()
        self.register_buffer("relative_coords_table", table, persistent=False)
        self.register_buffer("relative_position_index", index, persistent=False)

    def _make_pair_wise_relative_positions(self) -> tuple[torch.Tensor, torch.Tensor]:
        relative_coords_h = torch.arange(-(self.window_size[0] - 1), self.window_size[0], dtype=torch.float32)
        relative_coords_w = torch.arange(-(self.window_size[1] - 1), self.window_size[1], dtype=torch.float32)
        relative_coords_table = torch.stack(ndgrid(relative_coords_h, relative_coords_w))
        relative_coords_table = relative_coords_table.permute(1, 2, 0).contiguous().unsqueeze(0)
        relative_coords_table[:, :, :, 0] /= max(self.window_size[0] - 1, 1)
        relative_coords_table[:, :, :, 1] /= max(self.window_size[1] - 1, 1)
        relative_coords_table *= 8
        relative_coords_table = torch.sign(relative_coords_table) * torch.log2(
            torch.abs(relative_coords_table) + 1.0) / math.log2(8)
        coords = torch.stack(ndgrid(torch.arange(self.window_size[0]), torch.arange(self.window_size[1])))
        coords_flatten = torch.flatten(coords, 1)
        relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
        relative_coords = relative_coords.permute(1, 2, 0).contiguous()
        relative_coords[:, :, 0] += self.window_size[0] - 1
        relative_coords[:, :, 1] += self.window_size[1] - 1
        relative_coords[:, :, 0] *= 2 * self.window_size[1] - 1
        return relative_coords_table, relative_coords.sum(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B_, N, C = x.shape
        if self.q_bias is None:
            qkv = self.qkv(x)
        else:
            qkv_bias = torch.cat((self.q_bias, self.k_bias, self.v_bias))
            qkv = F.linear(x, weight=self.qkv.weight, bias=qkv_bias)
        qkv = qkv.reshape(B_, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1))
        logit_scale = torch.clamp(self.logit_scale, max=math.log(1. / 0.01)).exp()
        attn = attn * logit_scale
        relative_position_bias_table = self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)
        relative_position_bias = relative_position_bias_table[self.relative_position_index.view(-1)].view(
            self.window_size[0] * self.window_size[1], self.window_size[0] * self.window_size[1], -1)
        relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous()
        relative_position_bias = 16 * torch.sigmoid(relative_position_bias)
        attn = attn + relative_position_bias.unsqueeze(0)
        attn = self.softmax(attn)
        x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj(x)


class LogitScale(nn.Module):
    """The logit scale alone, on [H, N, N] scores: `scores * clamp(logit_scale, max=log 100).exp()`."""

    def __init__(self, num_heads: int = 3) -> None:
        super().__init__()
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        return scores * torch.clamp(self.logit_scale, max=math.log(1. / 0.01)).exp()


class TanhScale(LogitScale):
    """A function archcalc has no name for (tanh) on the parameter: the import must say so, not count zero."""

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        return scores * torch.tanh(self.logit_scale)


class ComputedScaleIntoLinear(LogitScale):
    """A computed tensor read by a call no rule reads it in (a matmul): unsupported, holding the parameter."""

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        return scores @ self.logit_scale.exp().expand(-1, scores.shape[-1], scores.shape[-1])
