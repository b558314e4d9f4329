"""The torch module of layers/resized_position.py: a learned position table resized to the token grid on every
call (as timm's NaFlexViT and Hiera compute theirs), added to [B, L, E] tokens or a channels-last [B, *grid, E] map."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResizedPositionEmbedding(nn.Module):
    """x + table, the table made in forward: one [1, E, *table] grid table interpolated to the grid (+ a
    [1, E, *window] table tiled over it), or one [1, E, t_i] table per axis interpolated along it and summed by
    broadcasting. The tables are not named weight or bias (they are position tables, as timm names them)."""

    def __init__(self, grid: tuple[int, ...], table: tuple[int, ...], width: int, factorized: bool,
                 mode: str | None, antialias: bool, align_corners: bool | None,
                 window: tuple[int, ...] | None, prefix: int = 0) -> None:  # fmt: skip
        super().__init__()
        self.grid, self.table, self.factorized, self.mode = grid, table, factorized, mode
        self.antialias, self.align_corners, self.window = antialias, align_corners, window
        if factorized:
            self.axis_tables = nn.ParameterList([nn.Parameter(torch.zeros(1, width, t)) for t in table])
        else:
            self.pos_embed = nn.Parameter(torch.zeros(1, width, *table))
        self.pos_embed_win = nn.Parameter(torch.zeros(1, width, *window)) if window is not None else None
        self.prefix = prefix  # rows kept as they are in front (a ViT's class token)
        self.pos_prefix = nn.Parameter(torch.zeros(1, prefix, width)) if prefix else None

    def _resized(self, table: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
        if self.mode is None:
            return table
        extra = {"antialias": True} if self.antialias else {}
        return F.interpolate(table, size=size, mode=self.mode, align_corners=self.align_corners, **extra)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rank = len(self.grid)
        if self.factorized:
            pos = None
            for axis, table in enumerate(self.axis_tables):
                along = [1] * rank
                along[axis] = self.grid[axis]
                if table.shape[-1] != self.grid[axis]:  # a table of the right length is left as it is
                    table = self._resized(table, (self.grid[axis],))
                part = table.reshape(1, table.shape[1], *along)
                pos = part if pos is None else pos + part
        else:
            pos = self._resized(self.pos_embed, self.grid)
            if self.pos_embed_win is not None:
                reps = tuple(g // w for g, w in zip(self.grid, self.window))
                pos = pos + self.pos_embed_win.tile(reps)
        if x.dim() == 3:  # [B, L, E] tokens
            tokens = pos.flatten(2).transpose(1, 2)
            return x + (torch.cat((self.pos_prefix, tokens), dim=1) if self.pos_prefix is not None else tokens)
        return x + pos.movedim(1, -1)  # a channels-last map [B, *grid, E]


class FourierPositionEncoding(nn.Module):
    """timm's PositionalEncodingFourier (xcit.py / edgenext.py) for a fixed [H, W] grid: the sines and cosines of
    the normalised coordinates, projected by a 1x1 conv (`token_projection`); `once`: made on a batch of one and
    repeated over the batch (XCiT), else made for every sample (EdgeNeXt). The input is read for its batch only."""

    def __init__(self, grid: tuple[int, int], hidden_dim: int, dim: int, temperature: float, bias: bool,
                 once: bool) -> None:  # fmt: skip
        super().__init__()
        self.token_projection = nn.Conv2d(hidden_dim * 2, dim, kernel_size=1, bias=bias)
        self.grid, self.hidden_dim, self.dim, self.temperature, self.once = grid, hidden_dim, dim, temperature, once

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import math

        batch = x.shape[0]
        height, width = self.grid
        ones = torch.ones((1 if self.once else batch, height, width), device=x.device)
        y_embed, x_embed = ones.cumsum(1), ones.cumsum(2)
        y_embed = y_embed / (y_embed[:, -1:, :] + 1e-6) * (2 * math.pi)
        x_embed = x_embed / (x_embed[:, :, -1:] + 1e-6) * (2 * math.pi)
        dim_t = torch.arange(self.hidden_dim, device=x.device).to(torch.float32)
        dim_t = self.temperature ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / self.hidden_dim)
        pos_x, pos_y = x_embed[:, :, :, None] / dim_t, y_embed[:, :, :, None] / dim_t
        pos_x = torch.stack((pos_x[:, :, :, 0::2].sin(), pos_x[:, :, :, 1::2].cos()), dim=4).flatten(3)
        pos_y = torch.stack((pos_y[:, :, :, 0::2].sin(), pos_y[:, :, :, 1::2].cos()), dim=4).flatten(3)
        pos = self.token_projection(torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2))
        return pos.repeat(batch, 1, 1, 1) if self.once else pos
