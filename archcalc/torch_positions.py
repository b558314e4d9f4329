"""The torch module of layers/resized_position.py: a learned position table resized to the token grid on every
call (as timm's NaFlexViT and Hiera compute theirs), added to [B, L, E] tokens."""

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
                 window: tuple[int, ...] | None) -> None:  # fmt: skip
        super().__init__()
        self.grid, self.table, self.factorized, self.mode = grid, table, factorized, mode
        self.antialias, self.align_corners, self.window = antialias, align_corners, window
        if factorized:
            self.axis_tables = nn.ParameterList([nn.Parameter(torch.zeros(1, width, t)) for t in table])
        else:
            self.pos_embed = nn.Parameter(torch.zeros(1, width, *table))
        self.pos_embed_win = nn.Parameter(torch.zeros(1, width, *window)) if window is not None else None

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
                part = self._resized(table, (self.grid[axis],)).reshape(1, table.shape[1], *along)
                pos = part if pos is None else pos + part
        else:
            pos = self._resized(self.pos_embed, self.grid)
            if self.pos_embed_win is not None:
                reps = tuple(g // w for g, w in zip(self.grid, self.window))
                pos = pos + self.pos_embed_win.tile(reps)
        return x + pos.flatten(2).transpose(1, 2)
