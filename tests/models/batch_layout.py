"""Attention code that moves the batch axis out of front, copied from timm 1.0.31 (the lines that matter):
beit's attention without its relative position bias, pvt_v2's sequence-reduction attention, and Swin's
window partition / reverse around a plain attention. archcalc follows the batch (importer/layout.py)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class BeitAttention(nn.Module):
    """timm/models/beit.py Attention.forward, no relative position bias; `fused` takes its sdpa branch."""

    def __init__(self, dim: int = 32, num_heads: int = 4, fused: bool = False):
        super().__init__()
        self.num_heads, self.fused = num_heads, fused
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x)
        qkv = qkv.reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)  # 3, B, num_heads, N, C
        q, k, v = qkv.unbind(0)
        if self.fused:
            x = F.scaled_dot_product_attention(q, k, v)
        else:
            q = q * self.scale
            attn = q @ k.transpose(-2, -1)
            attn = attn.softmax(dim=-1)
            x = attn @ v
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class PvtV2Attention(nn.Module):
    """timm/models/pvt_v2.py Attention: q from the tokens, k and v from a strided conv of the map."""

    def __init__(self, dim: int = 32, num_heads: int = 2, sr_ratio: int = 2, feat_size: tuple = (8, 8)):
        super().__init__()
        self.num_heads, self.head_dim, self.feat_size = num_heads, dim // num_heads, feat_size
        self.scale = self.head_dim**-0.5
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, dim * 2)
        self.proj = nn.Linear(dim, dim)
        self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        B, N, C = x.shape
        H, W = self.feat_size
        q = self.q(x).reshape(B, N, self.num_heads, -1).permute(0, 2, 1, 3)
        x = x.permute(0, 2, 1).reshape(B, C, H, W)
        x = self.sr(x).reshape(B, C, -1).permute(0, 2, 1)
        x = self.norm(x)
        kv = self.kv(x).reshape(B, -1, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        k, v = kv.unbind(0)
        q = q * self.scale
        attn = q @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        x = attn @ v
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


def window_partition(x, window_size: int):
    """timm/models/swin_transformer.py window_partition: [B, H, W, C] -> [B·nW, ws, ws, C]."""
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)


def window_reverse(windows, window_size: int, H: int, W: int):
    """timm/models/swin_transformer.py window_reverse: [B·nW, ws, ws, C] -> [B, H, W, C]."""
    C = windows.shape[-1]
    x = windows.view(-1, H // window_size, W // window_size, window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, H, W, C)


class WindowBlock(nn.Module):
    """Swin's block without the shift and the relative bias: norm, windows, attention per window, reverse."""

    def __init__(self, dim: int = 32, window_size: int = 4, num_heads: int = 4, fused: bool = False, shift: int = 0):
        super().__init__()
        self.window_size, self.shift = window_size, shift
        self.norm = nn.LayerNorm(dim)
        self.attn = BeitAttention(dim, num_heads, fused)

    def forward(self, x):  # [B, H, W, C]
        B, H, W, C = x.shape
        shortcut = x
        x = self.norm(x)
        if self.shift:  # timm's cyclic shift (its attention mask is left out here)
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        x = F.pad(x, (0, 0, 0, 0, 0, 0))  # timm pads to whole windows: here by nothing
        windows = window_partition(x, self.window_size).view(-1, self.window_size * self.window_size, C)
        windows = self.attn(windows).view(-1, self.window_size, self.window_size, C)
        x = window_reverse(windows, self.window_size, H, W)[:, :H, :W, :].contiguous()
        if self.shift:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        return shortcut + x


class Tokens(nn.Module):
    """An attention on [N, C] tokens with an MLP after it, the shape of a transformer block."""

    def __init__(self, attention: nn.Module, dim: int = 32):
        super().__init__()
        self.attn, self.norm, self.fc = attention, nn.LayerNorm(dim), nn.Linear(dim, dim)

    def forward(self, x):
        x = x + self.attn(self.norm(x))
        return x + self.fc(x)


class BatchInside(nn.Module):
    """permute(1, 0, 2) puts the batch at axis 1 (fine); flatten(0, 1) then makes it an inner factor."""

    def forward(self, x):
        return x.permute(1, 0, 2).flatten(0, 1) * 2


class BatchMean(nn.Module):
    def forward(self, x):
        return x.mean(0) * 2


class BatchTranspose(nn.Module):
    def forward(self, x):
        return x.transpose(0, 1) * 2


class WindowMean(nn.Module):
    """A mean over the window axis of [B·nW, N, C]: axis 0 holds the batch too, so samples would mix."""

    def forward(self, x):
        windows = window_partition(x, 4).flatten(1, 2)
        return windows.mean(0) * 2


class Unroll(nn.Module):
    """timm/models/hiera.py Unroll (one step): strided patches move into the batch, [B·4, H/2, W/2, C], and a
    linear works on every token of the merged batch; then back to [B, N, C]."""

    def __init__(self, dim: int = 8, size: tuple = (8, 8)):
        super().__init__()
        self.size, self.fc = list(size), nn.Linear(dim, dim)

    def forward(self, x):  # [B, N, C]
        B, _, C = x.shape
        x = x.view(*([B] + self.size + [C]))
        cur_size = [i // 2 for i in self.size]
        new_shape = [x.shape[0]] + sum([[i, 2] for i in cur_size], []) + [C]
        x = x.view(new_shape)
        L = len(new_shape)
        x = x.permute([0] + list(range(2, L - 1, 2)) + list(range(1, L - 1, 2)) + [L - 1])
        x = self.fc(x.flatten(0, 2))
        return x.reshape(-1, math.prod(self.size), C)


class NestAttention(nn.Module):
    """timm/models/nest.py Attention on [B, T, N, C] blocks: q, k, v are 5-D [B, h, T, N, d], which the CPU runs
    through sdpa's math path (FlopCounterMode counts its products), unlike 4-D windows."""

    def __init__(self, dim: int = 32, num_heads: int = 4):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, T, N, C = x.shape
        qkv = self.qkv(x).reshape(B, T, N, 3, self.num_heads, C // self.num_heads).permute(3, 0, 4, 1, 2, 5)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        x = x.permute(0, 2, 3, 4, 1).reshape(B, T, N, C)  # (B, T, N, H, C')
        return self.proj(x)


class WindowMHA(nn.Module):
    """nn.MultiheadAttention on [B·nW, N, C] windows: per sample [nW, N, C], which multi_head_attention ([L, E])
    takes per window: the attention applied over the window axis (`over: 1`, layers/over.py)."""

    def __init__(self, dim: int = 32, window_size: int = 4):
        super().__init__()
        self.window_size = window_size
        self.attn = nn.MultiheadAttention(dim, 4, batch_first=True)
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        B, H, W, C = x.shape
        windows = window_partition(x, self.window_size).view(-1, self.window_size * self.window_size, C)
        windows = self.fc(self.attn(windows, windows, windows, need_weights=False)[0])
        return window_reverse(windows.view(-1, self.window_size, self.window_size, C), self.window_size, H, W)


class WindowSoftmax(nn.Module):
    """A softmax over axis 0 of [B·nW, N, C] windows (across windows and samples, so neither whole samples nor one
    slice): it stays unsupported; the layers after it still see the batch where it is."""

    def __init__(self, dim: int = 32, window_size: int = 4):
        super().__init__()
        self.window_size = window_size
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        B, H, W, C = x.shape
        windows = window_partition(x, self.window_size).view(-1, self.window_size * self.window_size, C)
        windows = self.fc(F.softmax(windows, dim=0))
        return window_reverse(windows.view(-1, self.window_size, self.window_size, C), self.window_size, H, W)


class TableOfTwo(nn.Module):
    """A [2, N, N] table from a call archcalc cannot map: its leading 2 is not the batch, so the unsqueeze after it
    must not be read as moving a batch to axis 1 (GCViT's relative position bias looked like this)."""

    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(2, 16, 16))

    def forward(self, x):  # [B, 2, 16, 16]
        return x + torch.cumsum(self.table, 0).unsqueeze(0)
