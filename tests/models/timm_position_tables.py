"""Position tables timm makes in forward from parameters, copied from timm 1.0.31 (the lines that make them),
around a patch-embedding conv: NaFlexViT's learned and factorised tables (timm/models/naflexvit.py,
NaFlexEmbeds._apply_learned_pos_embed and _apply_factorized_pos_embed) and Hiera's abswin table
(timm/models/hiera.py, Hiera._pos_embed), and EdgeNeXt's Fourier position encoding made from the grid's shape
(timm/models/edgenext.py, PositionalEncodingFourier), and a ViT's table resampled to the input's grid
(timm/layers/pos_embed.py, resample_abs_pos_embed). The inputs are small; the code paths are timm's."""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn


class _Patches(nn.Module):
    """A stride-p conv to [B, L, C] tokens, then the position table, then a linear head on the mean token."""

    def __init__(self, dim: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)
        self.head = nn.Linear(dim, 5)

    def tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, List[int]]:
        x = self.proj(x)
        grid = list(x.shape[-2:])
        return x.flatten(2).transpose(1, 2), grid


class NaFlexLearned(_Patches):
    """naflexvit.py NaFlexEmbeds with pos_embed='learned': a [1, h, w, C] table (timm 1.0.31, lines 729-762)."""

    def __init__(self, dim: int = 16, patch: int = 4, table=(6, 6), mode: str = "bicubic",
                 antialias: bool = True, ar_preserving: bool = False) -> None:  # fmt: skip
        super().__init__(dim, patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, *table, dim))
        self.pos_embed_interp_mode, self.pos_embed_antialias = mode, antialias
        self.pos_embed_align_corners, self.pos_embed_ar_preserving = False, ar_preserving

    def _apply_learned_pos_embed(self, x: torch.Tensor, grid_size: List[int]) -> None:
        orig_h, orig_w = self.pos_embed.shape[1:3]
        if grid_size[0] == orig_h and grid_size[1] == orig_w:
            # No resize needed, just flatten
            pos_embed_flat = self.pos_embed.reshape(1, orig_h * orig_w, -1)
        else:
            # Resize if needed - directly using F.interpolate
            if self.pos_embed_ar_preserving:
                L = max(grid_size)
                _interp_size = L, L
            else:
                _interp_size = grid_size
            pos_embed_flat = F.interpolate(
                self.pos_embed.permute(0, 3, 1, 2).float(),  # B,C,H,W
                size=_interp_size,
                mode=self.pos_embed_interp_mode,
                align_corners=self.pos_embed_align_corners,
                antialias=self.pos_embed_antialias,
            )[:, :, :grid_size[0], :grid_size[1]].flatten(2).transpose(1, 2)
        pos_embed_flat = pos_embed_flat.to(dtype=x.dtype)

        x.add_(pos_embed_flat)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, grid = self.tokens(x)
        self._apply_learned_pos_embed(x, grid)
        return self.head(x.mean(1))


class NaFlexFactorized(_Patches):
    """naflexvit.py NaFlexEmbeds with pos_embed='factorized' ('parfac'): [1, h, C] and [1, w, C] tables
    (timm 1.0.31, lines 874-914)."""

    def __init__(self, dim: int = 16, patch: int = 4, table=(6, 5), ar_preserving: bool = False) -> None:
        super().__init__(dim, patch)
        self.pos_embed_y = nn.Parameter(torch.zeros(1, table[0], dim))
        self.pos_embed_x = nn.Parameter(torch.zeros(1, table[1], dim))
        self.pos_embed_ar_preserving = ar_preserving

    def _apply_factorized_pos_embed(self, x: torch.Tensor, grid_size: List[int]) -> None:
        orig_h, orig_w = self.pos_embed_y.shape[1], self.pos_embed_x.shape[1]
        target_h, target_w = grid_size

        if self.pos_embed_ar_preserving:
            len_y = len_x = max(target_h, target_w)
        else:
            len_y, len_x = target_h, target_w

        def _interp1d(table: torch.Tensor, new_length: int, orig_length: int) -> torch.Tensor:
            if new_length == orig_length:
                return table.to(dtype=x.dtype)
            return F.interpolate(
                table.permute(0, 2, 1).float(),  # (1,L,C) -> (1,C,L)
                size=new_length,
                mode='linear',
                align_corners=False,
            ).permute(0, 2, 1).to(dtype=x.dtype)  # (1,L,C)

        # Interpolate embeddings
        pe_y = _interp1d(self.pos_embed_y, len_y, orig_h)[:, :target_h]  # (1,H,C)
        pe_x = _interp1d(self.pos_embed_x, len_x, orig_w)[:, :target_w]  # (1,W,C)

        # Broadcast, add and flatten to sequence layout (row major)
        pos_embed = pe_y.unsqueeze(2) + pe_x.unsqueeze(1)  # (1, H, W, C)
        pos_embed_flat = pos_embed.flatten(1, 2)  # (1, H*W, C)

        x.add_(pos_embed_flat)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, grid = self.tokens(x)
        self._apply_factorized_pos_embed(x, grid)
        return self.head(x.mean(1))


class HieraAbsWin(_Patches):
    """hiera.py Hiera._pos_embed with abswin: a global [1, C, *g] table interpolated to the grid plus a window
    [1, C, *w] table tiled over it (timm 1.0.31, lines 702-728)."""

    def __init__(self, dim: int = 16, patch: int = 4, global_size=(3, 3), unit=(2, 2), units=(4, 4)) -> None:
        super().__init__(dim, patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, dim, *global_size))
        self.pos_embed_win = nn.Parameter(torch.zeros(1, dim, *unit))
        self.mask_spatial_shape = list(units)

    def _pos_embed(self, x) -> torch.Tensor:
        pos_embed_win = self.pos_embed_win.tile(self.mask_spatial_shape)
        pos_embed = F.interpolate(
            self.pos_embed,
            size=pos_embed_win.shape[-2:],
            mode='bicubic',
            antialias=True,
        )
        pos_embed = pos_embed + pos_embed_win
        pos_embed = pos_embed.flatten(2).transpose(1, 2)
        x = x + pos_embed
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, _ = self.tokens(x)
        return self.head(self._pos_embed(x).mean(1))


class PositionalEncodingFourier(nn.Module):
    """edgenext.py PositionalEncodingFourier (timm 1.0.31, lines 42-83), as is."""

    def __init__(self, hidden_dim: int = 32, dim: int = 768, temperature: float = 10000.) -> None:
        super().__init__()
        self.token_projection = nn.Conv2d(hidden_dim * 2, dim, kernel_size=1)
        self.scale = 2 * math.pi
        self.temperature = temperature
        self.hidden_dim = hidden_dim
        self.dim = dim

    def forward(self, shape: Tuple[int, int, int]):
        device = self.token_projection.weight.device
        dtype = self.token_projection.weight.dtype
        inv_mask = ~torch.zeros(shape).to(device=device, dtype=torch.bool)
        y_embed = inv_mask.cumsum(1, dtype=torch.float32)
        x_embed = inv_mask.cumsum(2, dtype=torch.float32)
        eps = 1e-6
        y_embed = y_embed / (y_embed[:, -1:, :] + eps) * self.scale
        x_embed = x_embed / (x_embed[:, :, -1:] + eps) * self.scale

        dim_t = torch.arange(self.hidden_dim, dtype=torch.int64, device=device).to(torch.float32)
        dim_t = self.temperature ** (2 * torch.div(dim_t, 2, rounding_mode='floor') / self.hidden_dim)

        pos_x = x_embed[:, :, :, None] / dim_t
        pos_y = y_embed[:, :, :, None] / dim_t
        pos_x = torch.stack(
            (pos_x[:, :, :, 0::2].sin(),
             pos_x[:, :, :, 1::2].cos()), dim=4).flatten(3)
        pos_y = torch.stack(
            (pos_y[:, :, :, 0::2].sin(),
             pos_y[:, :, :, 1::2].cos()), dim=4).flatten(3)
        pos = torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)
        pos = self.token_projection(pos.to(dtype))

        return pos


class EdgeNeXtXca(nn.Module):
    """The position-encoding lines of edgenext.py SplitTransposeBlock.forward (timm 1.0.31, lines 255-260) between
    a stride-4 conv and a linear head: x + pos_embd((B, H, W)) on the flattened tokens."""

    def __init__(self, dim: int = 16, hidden_dim: int = 8) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, 4, 4)
        self.pos_embd = PositionalEncodingFourier(hidden_dim=hidden_dim, dim=dim)
        self.head = nn.Linear(dim, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        B, C, H, W = x.shape
        x = x.reshape(B, C, H * W).permute(0, 2, 1)
        if self.pos_embd is not None:
            pos_encoding = self.pos_embd((B, H, W)).reshape(B, -1, x.shape[1]).permute(0, 2, 1)
            x = x + pos_encoding
        return self.head(x.mean(1))


class XcitPositionalEncodingFourier(nn.Module):
    """xcit.py PositionalEncodingFourier (timm 1.0.31, lines 34-73), as is: made on a batch of one from (H, W), then
    repeated over the batch."""

    def __init__(self, hidden_dim: int = 32, dim: int = 768, temperature: float = 10000) -> None:
        super().__init__()
        self.token_projection = nn.Conv2d(hidden_dim * 2, dim, kernel_size=1)
        self.scale = 2 * math.pi
        self.temperature = temperature
        self.hidden_dim = hidden_dim
        self.dim = dim
        self.eps = 1e-6

    def forward(self, B: int, H: int, W: int):
        device = self.token_projection.weight.device
        dtype = self.token_projection.weight.dtype
        y_embed = torch.arange(1, H + 1, device=device).to(torch.float32).unsqueeze(1).repeat(1, 1, W)
        x_embed = torch.arange(1, W + 1, device=device).to(torch.float32).repeat(1, H, 1)
        y_embed = y_embed / (y_embed[:, -1:, :] + self.eps) * self.scale
        x_embed = x_embed / (x_embed[:, :, -1:] + self.eps) * self.scale
        dim_t = torch.arange(self.hidden_dim, device=device).to(torch.float32)
        dim_t = self.temperature ** (2 * torch.div(dim_t, 2, rounding_mode='floor') / self.hidden_dim)
        pos_x = x_embed[:, :, :, None] / dim_t
        pos_y = y_embed[:, :, :, None] / dim_t
        pos_x = torch.stack([pos_x[:, :, :, 0::2].sin(), pos_x[:, :, :, 1::2].cos()], dim=4).flatten(3)
        pos_y = torch.stack([pos_y[:, :, :, 0::2].sin(), pos_y[:, :, :, 1::2].cos()], dim=4).flatten(3)
        pos = torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)
        pos = self.token_projection(pos.to(dtype))
        return pos.repeat(B, 1, 1, 1)  # (B, C, H, W)


class XcitPosEmbed(nn.Module):
    """The position-encoding lines of xcit.py Xcit.forward_features (timm 1.0.31, lines 553-556) after a stride-4
    conv patch embedding: x + pos_embed(B, Hp, Wp) on the flattened tokens."""

    def __init__(self, dim: int = 16, hidden_dim: int = 8) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, 4, 4)
        self.pos_embed = XcitPositionalEncodingFourier(hidden_dim=hidden_dim, dim=dim)
        self.head = nn.Linear(dim, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        B, _, Hp, Wp = x.shape
        x = x.flatten(2).transpose(1, 2)
        pos_encoding = self.pos_embed(B, Hp, Wp).reshape(B, -1, x.shape[1]).permute(0, 2, 1)
        x = x + pos_encoding
        return self.head(x.mean(1))


class Sam2PosEmbed(nn.Module):
    """hieradet_sam2.py Hiera._pos_embed (timm 1.0.31, lines 437-445) on a channels-last [B, H, W, C] map after a
    stride-4 conv (the patch embedding's permute)."""

    def __init__(self, dim: int = 16, global_size=(3, 3), window: int = 4) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, 4, 4)
        self.pos_embed = nn.Parameter(torch.zeros(1, dim, *global_size))
        self.pos_embed_window = nn.Parameter(torch.zeros(1, dim, window, window))
        self.head = nn.Linear(dim, 5)

    def _pos_embed(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[1:3]
        window_embed = self.pos_embed_window
        pos_embed = F.interpolate(self.pos_embed, size=(h, w), mode="bicubic")
        tile_h = pos_embed.shape[-2] // window_embed.shape[-2]
        tile_w = pos_embed.shape[-1] // window_embed.shape[-1]
        pos_embed = pos_embed + window_embed.tile((tile_h, tile_w))
        pos_embed = pos_embed.permute(0, 2, 3, 1)
        return x + pos_embed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x).permute(0, 2, 3, 1)
        return self.head(self._pos_embed(x).mean((1, 2)))


def resample_abs_pos_embed(
        posemb: torch.Tensor,
        new_size: List[int],
        old_size: Optional[List[int]] = None,
        num_prefix_tokens: int = 1,
        interpolation: str = 'bicubic',
        antialias: bool = True,
        verbose: bool = False,
        align_corners: Optional[bool] = None,
):
    """timm/layers/pos_embed.py resample_abs_pos_embed (timm 1.0.31, lines 20-65; the export check and the log
    line left out)."""
    # sort out sizes, assume square if old size not provided
    num_pos_tokens = posemb.shape[1]
    num_new_tokens = new_size[0] * new_size[1] + num_prefix_tokens
    if num_new_tokens == num_pos_tokens:
        if old_size is not None and old_size[0] == new_size[0] and old_size[1] == new_size[1]:
            return posemb
        if old_size is None and new_size[0] == new_size[1]:
            return posemb

    if old_size is None:
        hw = int(math.sqrt(num_pos_tokens - num_prefix_tokens))
        old_size = hw, hw

    if num_prefix_tokens:
        posemb_prefix, posemb = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    else:
        posemb_prefix, posemb = None, posemb

    # do the interpolation
    embed_dim = posemb.shape[-1]
    orig_dtype = posemb.dtype
    posemb = posemb.float()  # interpolate needs float32
    posemb = posemb.reshape(1, old_size[0], old_size[1], -1).permute(0, 3, 1, 2)
    posemb = F.interpolate(posemb, size=new_size, mode=interpolation, align_corners=align_corners, antialias=antialias)
    posemb = posemb.permute(0, 2, 3, 1).reshape(1, -1, embed_dim)
    posemb = posemb.to(orig_dtype)

    # add back extra (class, etc) prefix tokens
    if posemb_prefix is not None:
        posemb = torch.cat([posemb_prefix, posemb], dim=1)
    return posemb


class DynamicViT(nn.Module):
    """vision_transformer.py VisionTransformer._pos_embed with dynamic_img_size=True (timm 1.0.31, lines 1088-1125)
    after a stride-4 patch conv to [B, H, W, C]: the table of the default grid resampled to the input's grid;
    `no_embed_class` adds it before the class token is put in front, else after (its row kept as it is)."""

    def __init__(self, dim: int = 16, grid=(6, 6), no_embed_class: bool = False, patch: int = 4) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.no_embed_class, self.num_prefix_tokens, self.grid_size = no_embed_class, 1, grid
        rows = grid[0] * grid[1] + (0 if no_embed_class else 1)
        self.pos_embed = nn.Parameter(torch.zeros(1, rows, dim))
        self.head = nn.Linear(dim, 5)

    def _pos_embed(self, x: torch.Tensor) -> torch.Tensor:
        to_cat = [self.cls_token.expand(x.shape[0], -1, -1)]
        B, H, W, C = x.shape
        pos_embed = resample_abs_pos_embed(
            self.pos_embed,
            new_size=(H, W),
            old_size=self.grid_size,
            num_prefix_tokens=0 if self.no_embed_class else self.num_prefix_tokens,
        )
        x = x.view(B, -1, C)
        if self.no_embed_class:
            x = x + pos_embed
            x = torch.cat(to_cat + [x], dim=1)
        else:
            x = torch.cat(to_cat + [x], dim=1)
            x = x + pos_embed
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x).permute(0, 2, 3, 1)
        return self.head(self._pos_embed(x)[:, 0])
