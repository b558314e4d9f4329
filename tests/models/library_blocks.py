"""Stand-ins for torchvision's and timm's building blocks, written the way those libraries write them, so
`make test` (without torchvision or timm) checks the rules keyed on the libraries' own classes: tests
install them under the library's dotted names. A ConvNeXt block uses them all: a LayerNorm2d that
overrides nn.LayerNorm's forward, a layer-scale parameter multiplied in, and a DropPath."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d (timm's is the same idea)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def drop_path(x: torch.Tensor, drop_prob: float = 0.0, training: bool = False) -> torch.Tensor:
    if drop_prob == 0.0 or not training:
        return x
    keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - drop_prob)
    return x * keep / (1 - drop_prob)


class DropPath(nn.Module):
    """timm.layers.drop.DropPath."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.drop_prob, self.training)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = LayerNorm2d(dim, eps=1e-6)
        self.pwconv = nn.Conv2d(dim, 4 * dim, 1)
        self.act = nn.GELU()
        self.project = nn.Conv2d(4 * dim, dim, 1)
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), 1e-6))
        self.drop_path = DropPath(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.act(self.pwconv(self.norm(self.dwconv(x)))))
        return x + self.drop_path(self.layer_scale * y)
