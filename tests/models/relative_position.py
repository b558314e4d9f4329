"""Attention blocks that gather a bias from a parameter table with an index buffer on every call and add it to
the scores (timm 1.0.31 and torchvision 0.29.1, copied down to the lines that matter; each class names its
source). The gathered bias is computed from weights alone: archcalc follows it as a weight-derived value and
counts the add that uses it (archcalc/importer/derived.py, archcalc/layers/relative_position.py)."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn


def levit_bias_idxs(resolution: int, stride: int = 1) -> tuple[int, torch.Tensor]:
    """timm/models/levit.py: Attention/AttentionDownsample._compute_attention_bias_idxs (N_k offsets, [N_q, N_k])."""
    k_points = list(itertools.product(range(resolution), range(resolution)))
    q_points = list(itertools.product(range(0, resolution, stride), range(0, resolution, stride)))
    offsets: dict[tuple[int, int], int] = {}
    idxs = []
    for p1 in q_points:
        for p2 in k_points:
            off = (abs(p1[0] * 1 - p2[0]), abs(p1[1] * 1 - p2[1]))
            offsets.setdefault(off, len(offsets))
            idxs.append(offsets[off])
    return len(offsets), torch.tensor(idxs, dtype=torch.long).view(len(q_points), len(k_points))


class LevitAttention(nn.Module):
    """timm/models/levit.py: Attention with use_conv=False (the ConvNorm/LinearNorm projections as plain Linear):
    `attn = q @ k * self.scale + self.get_attention_biases(x.device)`, the biases `attention_biases[:, idxs]`."""

    def __init__(self, dim: int = 32, key_dim: int = 8, num_heads: int = 2, attn_ratio: int = 2,
                 resolution: int = 4) -> None:  # fmt: skip
        super().__init__()
        self.num_heads, self.key_dim, self.scale = num_heads, key_dim, key_dim**-0.5
        self.val_dim = int(attn_ratio * key_dim)
        self.val_attn_dim = self.val_dim * num_heads
        self.qkv = nn.Linear(dim, self.val_attn_dim + key_dim * num_heads * 2)
        self.proj = nn.Sequential(nn.Hardswish(), nn.Linear(self.val_attn_dim, dim))
        rows, idxs = levit_bias_idxs(resolution)
        self.attention_biases = nn.Parameter(torch.randn(num_heads, rows) * 0.02)
        self.register_buffer("attention_bias_idxs", idxs, persistent=False)
        self.attention_bias_cache: dict[str, torch.Tensor] = {}

    def get_attention_biases(self, device: torch.device) -> torch.Tensor:
        if torch.jit.is_tracing() or self.training:
            return self.attention_biases[:, self.attention_bias_idxs]
        device_key = str(device)
        if device_key not in self.attention_bias_cache:
            self.attention_bias_cache[device_key] = self.attention_biases[:, self.attention_bias_idxs]
        return self.attention_bias_cache[device_key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        q, k, v = self.qkv(x).view(B, N, self.num_heads, -1).split([self.key_dim, self.key_dim, self.val_dim], dim=3)
        q = q.permute(0, 2, 1, 3)
        k = k.permute(0, 2, 3, 1)
        v = v.permute(0, 2, 1, 3)
        attn = q @ k * self.scale + self.get_attention_biases(x.device)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, self.val_attn_dim)
        return self.proj(x)


def relative_position_index(window: tuple[int, int], class_token: bool = False) -> torch.Tensor:
    """timm/layers/pos_embed_rel.py: gen_relative_position_index (Swin; BEiT's three extra class-token rows)."""
    coords = torch.stack(torch.meshgrid(torch.arange(window[0]), torch.arange(window[1]), indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    relative[:, :, 0] += window[0] - 1
    relative[:, :, 1] += window[1] - 1
    relative[:, :, 0] *= 2 * window[1] - 1
    if not class_token:
        return relative.sum(-1)
    distances = (2 * window[0] - 1) * (2 * window[1] - 1)
    area = window[0] * window[1]
    index = torch.zeros(area + 1, area + 1, dtype=torch.long)
    index[1:, 1:] = relative.sum(-1)
    index[0, 0:], index[0:, 0], index[0, 0] = distances, distances + 1, distances + 2
    return index


class RelPosBias(nn.Module):
    """timm/layers/pos_embed_rel.py: RelPosBias (Swin V1's table as a module; BEiT's with prefix_tokens=1):
    `attn + table[index].view(N, N, H).permute(2, 0, 1).unsqueeze(0).contiguous()`."""

    def __init__(self, window_size: tuple[int, int], num_heads: int, prefix_tokens: int = 0) -> None:
        super().__init__()
        area = window_size[0] * window_size[1]
        self.bias_shape = (area + prefix_tokens,) * 2 + (num_heads,)
        distances = (2 * window_size[0] - 1) * (2 * window_size[1] - 1) + 3 * prefix_tokens
        self.relative_position_bias_table = nn.Parameter(torch.randn(distances, num_heads) * 0.02)
        index = relative_position_index(window_size, class_token=prefix_tokens > 0).view(-1)
        self.register_buffer("relative_position_index", index, persistent=False)

    def get_bias(self) -> torch.Tensor:
        relative_position_bias = self.relative_position_bias_table[self.relative_position_index]
        relative_position_bias = relative_position_bias.view(self.bias_shape).permute(2, 0, 1)
        return relative_position_bias.unsqueeze(0).contiguous()

    def forward(self, attn: torch.Tensor) -> torch.Tensor:
        return attn + self.get_bias()


class RelPosAttention(nn.Module):
    """timm/models/maxxvit.py: Attention2d (channels-first, 1x1 conv qkv, head_first=False) with RelPosBias:
    the non-fused path adds the bias to the scores (`self.rel_pos(attn)`); the fused path hands it to
    F.scaled_dot_product_attention as `attn_mask` (coatnet, maxxvit)."""

    def __init__(self, dim: int = 16, num_heads: int = 2, window: tuple[int, int] = (4, 4), fused: bool = False):
        super().__init__()
        self.num_heads, self.dim_head = num_heads, dim // num_heads
        self.scale, self.fused_attn = self.dim_head**-0.5, fused
        self.qkv = nn.Conv2d(dim, dim * 3, 1)
        self.rel_pos = RelPosBias(window, num_heads)
        self.proj = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        q, k, v = self.qkv(x).reshape(B, 3, self.num_heads, self.dim_head, -1).unbind(1)
        if self.fused_attn:
            x = F.scaled_dot_product_attention(q.transpose(-1, -2).contiguous(), k.transpose(-1, -2).contiguous(),
                                               v.transpose(-1, -2).contiguous(), attn_mask=self.rel_pos.get_bias())
            x = x.transpose(-1, -2).reshape(B, -1, H, W)
        else:
            q = q * self.scale
            attn = q.transpose(-2, -1) @ k
            attn = self.rel_pos(attn)
            attn = attn.softmax(dim=-1)
            x = (v @ attn.transpose(-2, -1)).view(B, -1, H, W)
        return self.proj(x)


class GroupedRelPosBias(nn.Module):
    """torchvision/models/maxvit.py: RelativePositionalMultiHeadAttention's bias on [B, G, H, N, N] scores:
    `relative_position_bias_table[index.view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous().unsqueeze(0)`."""

    def __init__(self, window: int = 3, heads: int = 2) -> None:
        super().__init__()
        self.max_seq_len = window * window
        self.relative_position_bias_table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads) * 0.02)
        self.register_buffer("relative_position_index", relative_position_index((window, window)))

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        bias_index = self.relative_position_index.view(-1)
        relative_bias = self.relative_position_bias_table[bias_index].view(self.max_seq_len, self.max_seq_len, -1)
        relative_bias = relative_bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        return F.softmax(scores + relative_bias, dim=-1)


class ScaledByTable(nn.Module):
    """A gathered table used as a product, not a bias (no layer type has that): `x * table[index]`."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(5, 2))
        self.register_buffer("index", torch.arange(16).remainder(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.table[self.index].view(4, 4, 2).permute(2, 0, 1)


class BiasedSelfAttention(nn.Module):
    """The fused path of timm's maxxvit Attention2d on already-projected q = k = v: RelPosBias.get_bias() as the
    attn_mask of F.scaled_dot_product_attention."""

    def __init__(self, window: tuple[int, int] = (3, 3), heads: int = 2) -> None:
        super().__init__()
        self.rel_pos = RelPosBias(window, heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(x, x, x, attn_mask=self.rel_pos.get_bias())


class CascadedGroupAttention(nn.Module):
    """timm/models/efficientvit_msra.py: CascadedGroupAttention (ConvNorm as plain Conv2d, no BatchNorm): head h
    adds `attn_bias[h]` of the LeViT-style `attention_biases[:, attention_bias_idxs]`."""

    def __init__(self, dim: int = 16, key_dim: int = 4, num_heads: int = 2, resolution: int = 3) -> None:
        super().__init__()
        self.num_heads, self.scale, self.key_dim, self.val_dim = num_heads, key_dim**-0.5, key_dim, dim // num_heads
        self.qkvs = nn.ModuleList(nn.Conv2d(dim // num_heads, key_dim * 2 + self.val_dim, 1) for _ in range(num_heads))
        self.dws = nn.ModuleList(nn.Conv2d(key_dim, key_dim, 3, padding=1, groups=key_dim) for _ in range(num_heads))
        self.proj = nn.Sequential(nn.ReLU(), nn.Conv2d(self.val_dim * num_heads, dim, 1))
        rows, idxs = levit_bias_idxs(resolution)
        self.attention_biases = nn.Parameter(torch.randn(num_heads, rows) * 0.02)
        self.register_buffer("attention_bias_idxs", idxs, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        feats_in = x.chunk(len(self.qkvs), dim=1)
        feats_out = []
        feat = feats_in[0]
        attn_bias = self.attention_biases[:, self.attention_bias_idxs]
        for head_idx, (qkv, dws) in enumerate(zip(self.qkvs, self.dws)):
            if head_idx > 0:
                feat = feat + feats_in[head_idx]
            feat = qkv(feat)
            q, k, v = feat.view(B, -1, H, W).split([self.key_dim, self.key_dim, self.val_dim], dim=1)
            q = dws(q)
            q, k, v = q.flatten(2), k.flatten(2), v.flatten(2)
            q = q * self.scale
            attn = q.transpose(-2, -1) @ k
            attn = attn + attn_bias[head_idx]
            attn = attn.softmax(dim=-1)
            feat = v @ attn.transpose(-2, -1)
            feat = feat.view(B, self.val_dim, H, W)
            feats_out.append(feat)
        return self.proj(torch.cat(feats_out, 1))
