"""Hand-written torch models for the import tests: residuals, concat, functional ops, an operation
archcalc has no rule for, data-dependent control flow, and a custom module for a user rule."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + x)


class HandNet(nn.Module):
    """Two residual blocks, a concatenated branch, torch.flip (no rule), a learned scale (a parameter
    operand: no rule), nearest upsampling, a spatial mean and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.blocks = nn.Sequential(Residual(16), Residual(16))
        self.branch = nn.Conv2d(16, 8, 1)
        self.gamma = nn.Parameter(torch.ones(1, 24, 1, 1))
        self.fc = nn.Linear(24, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(x))
        x = self.blocks(x)
        x = torch.cat([x, self.branch(x)], dim=1)
        x = torch.flip(x, dims=(3,))
        x = x * self.gamma
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = x.mean((2, 3))
        return self.fc(x.flatten(1))


# What HandNet computes, as a spec, without the flip, which archcalc cannot count (it keeps the shape).
# The learned [1, C, 1, 1] scale is a layer_scale. Layer names are the ones the importer gives.
HANDNET_SPEC = """
input: [3, 16, 16]
blocks:
  residual:
    layers:
      - {name: conv1, type: conv2d, out_channels: 16, kernel: 3, padding: 1, bias: false}
      - {name: bn1, type: batchnorm}
      - {name: relu, type: relu}
      - {name: conv2, type: conv2d, out_channels: 16, kernel: 3, padding: 1, bias: false}
      - {name: bn2, type: batchnorm}
      - {name: add, type: add, inputs: [bn2, input]}
      - {name: relu_1, type: relu}
layers:
  - {name: stem, type: conv2d, out_channels: 16, kernel: 3, stride: 2, padding: 1}
  - {name: relu, type: relu}
  - {name: blocks, block: residual, repeat: 2}
  - {name: branch, type: conv2d, out_channels: 8, kernel: 1}
  - {name: cat, type: concat, inputs: [blocks, branch]}
  - {name: mul, type: layer_scale}
  - {name: interpolate, type: upsample, scale: 2}
  - {name: mean, type: global_avg_pool, keep_dims: false}
  - {name: flatten, type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""


def build() -> HandNet:
    return HandNet()


class BranchesOnValues(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it and the meta device cannot run it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.extra = nn.Conv2d(8, 8, 3, padding=1)
        self.unused = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv(x))
        if x.sum() >= 0:  # always true after a ReLU
            x = self.extra(x)
        return x


class ShapeBranch(nn.Module):
    """Control flow on a shape: torch.fx cannot trace it, the meta device runs it (forward hooks)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        for _ in range(int(x.shape[-1]).bit_length() - 3):  # halve down to 4x4 (fx: int() of a Proxy)
            x = self.pool(x)
        return x + x


class ScaledConv(nn.Module):
    """A custom convolution (archcalc has no rule for it): weights used through F.conv2d."""

    def __init__(self, c_in: int, c_out: int, k: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, k, k))
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * 0.5, padding=self.k // 2)


class UsesScaledConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = ScaledConv(3, 8, 3)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.relu(self.conv(x)))


class HiddenTensor(nn.Module):
    """Under forward hooks, a plain tensor attribute (not a buffer) comes from nowhere the trace saw."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.offset = torch.ones(1, 4, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if x.shape[-1] > 2:  # torch.fx cannot trace this
            x = x + self.offset
        return torch.ops.aten.relu(x)
