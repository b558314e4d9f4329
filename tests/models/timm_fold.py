"""timm's blocks that cut maps into sliding windows (timm 1.0.31), copied down to the lines that matter, so that
`make test` (without timm) checks nn.Unfold, F.fold and Tensor.unfold on the code people run. Each class names
the timm source it copies; only device/dtype plumbing and unused options are left out."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class OutlookAttention(nn.Module):
    """timm/models/volo.py: OutlookAttention (nn.Unfold of the values, F.fold of the weighted windows)."""

    def __init__(self, dim: int, num_heads: int, kernel_size: int = 3, padding: int = 1, stride: int = 1,
                 qkv_bias: bool = False) -> None:  # fmt: skip
        super().__init__()
        head_dim = dim // num_heads
        self.num_heads = num_heads
        self.kernel_size = kernel_size
        self.padding = padding
        self.stride = stride
        self.scale = head_dim**-0.5
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.attn = nn.Linear(dim, kernel_size**4 * num_heads)
        self.attn_drop = nn.Dropout(0.0)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(0.0)
        self.unfold = nn.Unfold(kernel_size=kernel_size, padding=padding, stride=stride)
        self.pool = nn.AvgPool2d(kernel_size=stride, stride=stride, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        v = self.v(x).permute(0, 3, 1, 2)  # B, C, H, W
        h, w = math.ceil(H / self.stride), math.ceil(W / self.stride)
        v = self.unfold(v).reshape(
            B, self.num_heads, C // self.num_heads,
            self.kernel_size * self.kernel_size, h * w).permute(0, 1, 4, 3, 2)  # B,H,N,kxk,C/H
        attn = self.pool(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        attn = self.attn(attn).reshape(
            B, h * w, self.num_heads, self.kernel_size * self.kernel_size,
            self.kernel_size * self.kernel_size).permute(0, 2, 1, 3, 4)  # B,H,N,kxk,kxk
        attn = attn * self.scale
        attn = attn.softmax(dim=-1)
        attn = self.attn_drop(attn)
        x = (attn @ v).permute(0, 1, 4, 3, 2).reshape(B, C * self.kernel_size * self.kernel_size, h * w)
        x = F.fold(x, output_size=(H, W), kernel_size=self.kernel_size, padding=self.padding, stride=self.stride)
        x = self.proj(x.permute(0, 2, 3, 1))
        return self.proj_drop(x)


class Outlooker(nn.Module):
    """timm/models/volo.py: Outlooker (norm, outlook attention, norm, MLP; drop path 0), on [B, H, W, C]."""

    def __init__(self, dim: int = 16, num_heads: int = 2, kernel_size: int = 3, padding: int = 1, stride: int = 1,
                 mlp_ratio: float = 3.0) -> None:  # fmt: skip
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = OutlookAttention(dim, num_heads, kernel_size=kernel_size, padding=padding, stride=stride)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VoloAuxHead(nn.Module):
    """timm/models/volo.py: VOLO.forward_head's token-label path, `x_cls + 0.5 * x_aux.max(1)[0]`, on [B, N, C]
    tokens (the class token first)."""

    def __init__(self, dim: int = 16, num_classes: int = 5) -> None:
        super().__init__()
        self.head = nn.Linear(dim, num_classes)
        self.aux_head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(x[:, 0])
        aux = self.aux_head(x[:, 1:])
        return out + 0.5 * aux.max(1)[0]


class PixelEmbed(nn.Module):
    """timm/models/tnt.py: PixelEmbed with legacy=True (conv, then nn.Unfold into patches of pixels), the pixel
    position table added; `pixel_pos` is a parameter here, as TNT passes its own."""

    def __init__(self, img_size: int = 32, patch_size: int = 16, in_chans: int = 3, in_dim: int = 8,
                 stride: int = 4) -> None:  # fmt: skip
        super().__init__()
        self.grid_size = (img_size // patch_size, img_size // patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.in_dim = in_dim
        new_patch_size = [math.ceil(patch_size / stride)] * 2
        self.new_patch_size = new_patch_size
        self.proj = nn.Conv2d(in_chans, self.in_dim, kernel_size=7, padding=3, stride=stride)
        self.unfold = nn.Unfold(kernel_size=new_patch_size, stride=new_patch_size)
        self.pixel_pos = nn.Parameter(torch.zeros(1, in_dim, new_patch_size[0], new_patch_size[1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        x = self.proj(x)
        x = self.unfold(x)
        x = x.transpose(1, 2).reshape(B * self.num_patches, self.in_dim, self.new_patch_size[0], self.new_patch_size[1])
        x = x + self.pixel_pos
        x = x.reshape(B * self.num_patches, self.in_dim, -1).transpose(1, 2)
        return x


class UnfoldFold(nn.Module):
    """Not timm: F.unfold and F.fold called as functions, strided and dilated, with a product in between (the
    forms the module rules above do not exercise)."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.weight = nn.Linear(channels * 4, channels * 4, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cols = F.unfold(x, kernel_size=2, dilation=2, stride=(2, 1), padding=1)
        cols = self.weight(cols.transpose(1, 2)).transpose(1, 2)
        return F.fold(cols, (x.shape[2], x.shape[3]), 2, dilation=2, padding=1, stride=(2, 1))


def rel_logits_1d(q, rel_k, permute_mask: list[int]):
    """timm/layers/halo_attn.py: rel_logits_1d (relative logits along one axis: q @ rel_kᵀ, padded and sliced
    from relative to absolute positions, tiled over the other axis)."""
    B, H, W, dim = q.shape
    rel_size = rel_k.shape[0]
    win_size = (rel_size + 1) // 2
    x = q @ rel_k.transpose(-1, -2)
    x = x.reshape(-1, W, rel_size)
    x_pad = F.pad(x, [0, 1]).flatten(1)
    x_pad = F.pad(x_pad, [0, rel_size - W])
    x_pad = x_pad.reshape(-1, W + 1, rel_size)
    x = x_pad[:, :W, win_size - 1 :]
    x = x.reshape(B, H, 1, W, win_size).expand(-1, -1, win_size, -1, -1)
    return x.permute(permute_mask)


class PosEmbedRel(nn.Module):
    """timm/layers/halo_attn.py: PosEmbedRel (height and width relative-position keys)."""

    def __init__(self, block_size: int, win_size: int, dim_head: int, scale: float) -> None:
        super().__init__()
        self.block_size = block_size
        self.dim_head = dim_head
        self.height_rel = nn.Parameter(torch.randn(win_size * 2 - 1, dim_head) * scale)
        self.width_rel = nn.Parameter(torch.randn(win_size * 2 - 1, dim_head) * scale)

    def forward(self, q):
        B, BB, HW, _ = q.shape
        q = q.reshape(-1, self.block_size, self.block_size, self.dim_head)
        rel_logits_w = rel_logits_1d(q, self.width_rel, permute_mask=(0, 1, 3, 2, 4))
        q = q.transpose(1, 2)
        rel_logits_h = rel_logits_1d(q, self.height_rel, permute_mask=(0, 3, 1, 4, 2))
        rel_logits = rel_logits_h + rel_logits_w
        return rel_logits.reshape(B, BB, HW, -1)


class HaloAttn(nn.Module):
    """timm/layers/halo_attn.py: HaloAttn (queries per block, keys and values from the block and its halo cut
    with `kv.unfold(2, win, block).unfold(3, win, block)`, relative-position logits; stride 2 by average pooling
    when the block size is odd)."""

    def __init__(self, dim: int = 16, dim_out: int | None = None, stride: int = 1, num_heads: int = 2,
                 dim_head: int | None = None, block_size: int = 4, halo_size: int = 1, qk_ratio: float = 1.0,
                 qkv_bias: bool = False, avg_down: bool = False, scale_pos_embed: bool = False) -> None:  # fmt: skip
        super().__init__()
        dim_out = dim_out or dim
        self.num_heads = num_heads
        self.dim_head_qk = dim_head or int(dim_out * qk_ratio) // num_heads
        self.dim_head_v = dim_out // self.num_heads
        self.dim_out_qk = num_heads * self.dim_head_qk
        self.dim_out_v = num_heads * self.dim_head_v
        self.scale = self.dim_head_qk**-0.5
        self.scale_pos_embed = scale_pos_embed
        self.block_size = self.block_size_ds = block_size
        self.halo_size = halo_size
        self.win_size = block_size + halo_size * 2
        self.block_stride = 1
        use_avg_pool = False
        if stride > 1:
            use_avg_pool = avg_down or block_size % stride != 0
            self.block_stride = 1 if use_avg_pool else stride
            self.block_size_ds = self.block_size // self.block_stride
        self.q = nn.Conv2d(dim, self.dim_out_qk, 1, stride=self.block_stride, bias=qkv_bias)
        self.kv = nn.Conv2d(dim, self.dim_out_qk + self.dim_out_v, 1, bias=qkv_bias)
        self.pos_embed = PosEmbedRel(self.block_size_ds, self.win_size, self.dim_head_qk, self.scale)
        self.pool = nn.AvgPool2d(2, 2) if use_avg_pool else nn.Identity()

    def forward(self, x):
        B, C, H, W = x.shape
        num_h_blocks = H // self.block_size
        num_w_blocks = W // self.block_size
        num_blocks = num_h_blocks * num_w_blocks
        q = self.q(x)
        q = q.reshape(-1, self.dim_head_qk, num_h_blocks, self.block_size_ds, num_w_blocks,
                      self.block_size_ds).permute(0, 1, 3, 5, 2, 4)  # fmt: skip
        q = q.reshape(B * self.num_heads, self.dim_head_qk, -1, num_blocks).transpose(1, 3)
        kv = self.kv(x)
        kv = F.pad(kv, [self.halo_size, self.halo_size, self.halo_size, self.halo_size])
        kv = kv.unfold(2, self.win_size, self.block_size).unfold(3, self.win_size, self.block_size).reshape(
            B * self.num_heads, self.dim_head_qk + self.dim_head_v, num_blocks, -1).permute(0, 2, 3, 1)
        k, v = torch.split(kv, [self.dim_head_qk, self.dim_head_v], dim=-1)
        if self.scale_pos_embed:
            attn = (q @ k.transpose(-1, -2) + self.pos_embed(q)) * self.scale
        else:
            attn = (q @ k.transpose(-1, -2)) * self.scale + self.pos_embed(q)
        attn = attn.softmax(dim=-1)
        out = (attn @ v).transpose(1, 3)
        out = out.reshape(-1, self.block_size_ds, self.block_size_ds, num_h_blocks, num_w_blocks)
        out = out.permute(0, 3, 1, 4, 2).contiguous().view(
            B, self.dim_out_v, H // self.block_stride, W // self.block_stride)
        return self.pool(out)
