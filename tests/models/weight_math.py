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


class SwinV2CrAttention(nn.Module):
    """timm/models/swin_transformer_v2_cr.py: WindowMultiHeadAttention (no dropout), on [B·nW, N, C] windows:
    cosine scores times exp(clamp(logit_scale)) ([1, H, 1, 1]), plus the meta_mlp of the N² relative
    log-coordinates, transposed and reshaped to [1, H, N, N] (no index gathers it)."""

    def __init__(self, dim: int = 16, num_heads: int = 2, window_size: tuple[int, int] = (3, 3),
                 meta_hidden_dim: int = 24) -> None:  # fmt: skip
        from tests.models.relative_position_mlp import Mlp

        super().__init__()
        self.window_size, self.num_heads = window_size, num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim, bias=True)
        self.meta_mlp = Mlp(2, meta_hidden_dim, num_heads)
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones(num_heads)))
        coordinates = torch.stack(ndgrid(torch.arange(window_size[0], dtype=torch.float32),
                                         torch.arange(window_size[1], dtype=torch.float32))).flatten(1)  # fmt: skip
        relative_coordinates = coordinates[:, :, None] - coordinates[:, None, :]
        relative_coordinates = relative_coordinates.permute(1, 2, 0).reshape(-1, 2).float()
        relative_coordinates_log = torch.sign(relative_coordinates) * torch.log(1.0 + relative_coordinates.abs())
        self.register_buffer("relative_coordinates_log", relative_coordinates_log, persistent=False)

    def _relative_positional_encodings(self) -> torch.Tensor:
        window_area = self.window_size[0] * self.window_size[1]
        relative_position_bias = self.meta_mlp(self.relative_coordinates_log)
        relative_position_bias = relative_position_bias.transpose(1, 0).reshape(
            self.num_heads, window_area, window_area
        )
        return relative_position_bias.unsqueeze(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        Bw, L, C = x.shape
        qkv = self.qkv(x).view(Bw, L, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        query, key, value = qkv.unbind(0)
        attn = (F.normalize(query, dim=-1) @ F.normalize(key, dim=-1).transpose(-2, -1))
        logit_scale = torch.clamp(self.logit_scale.reshape(1, self.num_heads, 1, 1), max=math.log(1. / 0.01)).exp()
        attn = attn * logit_scale
        attn = attn + self._relative_positional_encodings()
        attn = attn.softmax(dim=-1)
        x = (attn @ value).transpose(1, 2).reshape(Bw, L, -1)
        return self.proj(x)


class GPSA(nn.Module):
    """timm/models/convit.py: GPSA (no dropout): patch attention and a positional attention from `rel_indices`,
    a [1, N, N, 3] table the forward makes from the input's shape and puts in place of the [1, 1, 1, 3]
    placeholder buffer, gated per head by sigmoid(gating_param)."""

    def __init__(self, dim: int = 16, num_heads: int = 4, qkv_bias: bool = False) -> None:
        super().__init__()
        self.num_heads, self.dim = num_heads, dim
        self.scale = (dim // num_heads) ** -0.5
        self.qk = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.pos_proj = nn.Linear(3, num_heads)
        self.gating_param = nn.Parameter(torch.ones(self.num_heads))
        self.register_buffer("rel_indices", torch.zeros(1, 1, 1, 3), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        if self.rel_indices is None or self.rel_indices.shape[1] != N:
            self.rel_indices = self.get_rel_indices(N)
        attn = self.get_attention(x)
        v = self.v(x).reshape(B, N, self.num_heads, C // self.num_heads).permute(0, 2, 1, 3)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)

    def get_attention(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        qk = self.qk(x).reshape(B, N, 2, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k = qk[0], qk[1]
        pos_score = self.rel_indices.expand(B, -1, -1, -1)
        pos_score = self.pos_proj(pos_score).permute(0, 3, 1, 2)
        patch_score = (q @ k.transpose(-2, -1)) * self.scale
        patch_score = patch_score.softmax(dim=-1)
        pos_score = pos_score.softmax(dim=-1)
        gating = self.gating_param.view(1, -1, 1, 1)
        attn = (1. - torch.sigmoid(gating)) * patch_score + torch.sigmoid(gating) * pos_score
        attn /= attn.sum(dim=-1).unsqueeze(-1)
        return attn

    def get_rel_indices(self, num_patches: int) -> torch.Tensor:
        img_size = int(num_patches ** .5)
        rel_indices = torch.zeros(1, num_patches, num_patches, 3)
        ind = (torch.arange(img_size, dtype=torch.float32).view(1, -1)
               - torch.arange(img_size, dtype=torch.float32).view(-1, 1))  # fmt: skip
        indx = ind.repeat(img_size, img_size)
        indy = ind.repeat_interleave(img_size, dim=0).repeat_interleave(img_size, dim=1)
        indd = indx ** 2 + indy ** 2
        rel_indices[:, :, :, 2] = indd.unsqueeze(0)
        rel_indices[:, :, :, 1] = indy.unsqueeze(0)
        rel_indices[:, :, :, 0] = indx.unsqueeze(0)
        return rel_indices.to(device=self.qk.weight.device, dtype=self.qk.weight.dtype)


class Gates(nn.Module):
    """The gating of GPSA alone, on two [H, N, N] maps: `(1 - sigmoid(g)) * a + sigmoid(g) * b`."""

    def __init__(self, num_heads: int = 4) -> None:
        super().__init__()
        self.gating_param = nn.Parameter(torch.ones(num_heads))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patch_score, pos_score = x.softmax(dim=-1), x.sigmoid()
        gating = self.gating_param.view(1, -1, 1, 1)
        return (1. - torch.sigmoid(gating)) * patch_score + torch.sigmoid(gating) * pos_score


class EfficientVimGates(nn.Module):
    """timm/models/efficientvim.py: EfficientViMBlock's branch gates (`alpha = torch.sigmoid(self.alpha).view(4, -1,
    1, 1)`, then `x + alpha[i] * (branch(x) - x)`), with depthwise convs standing for its four branches, and
    EfficientViM.forward_head's `weights = self.weights.softmax(-1)` mixing per-stage heads by `weights[i] *
    head(x[i])`, here two heads on the pooled map."""

    def __init__(self, dim: int = 8, classes: int = 5) -> None:
        super().__init__()
        self.branches = nn.ModuleList(nn.Conv2d(dim, dim, 3, padding=1, groups=dim) for _ in range(4))
        self.alpha = nn.Parameter(1e-4 * torch.ones(4, dim))
        self.heads = nn.ModuleList(nn.Linear(dim, classes) for _ in range(2))
        self.weights = nn.Parameter(torch.ones(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = torch.sigmoid(self.alpha).view(4, -1, 1, 1)
        for i, branch in enumerate(self.branches):
            x = x + alpha[i] * (branch(x) - x)
        pooled = x.mean((-2, -1))
        weights = self.weights.softmax(-1)
        logits = [weights[i] * head(pooled) for i, head in enumerate(self.heads)]
        return torch.stack(logits).sum(0)
