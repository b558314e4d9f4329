"""Models that cannot be built or run on torch's meta device, in the style of torchvision's RegNets
(their constructor computes block widths with torch.arange(...).tolist(), which needs real data) and of
parameter-free models that branch on values in their forward; and models that misbehave (exit, print)."""

from __future__ import annotations

import math
import sys

import torch
from torch import nn


class RegNetLike(nn.Module):
    """Block widths come from tensor arithmetic read back with .tolist(), as in torchvision's
    `BlockParams.from_init_params`: on the meta device that is 'Cannot copy out of meta tensor'."""

    def __init__(self, depth: int = 4, w_0: int = 8, w_a: float = 4.0, w_m: float = 2.0) -> None:
        super().__init__()
        widths_cont = torch.arange(depth) * w_a + w_0
        block_capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
        widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, block_capacity), 8)) * 8).int().tolist()
        layers, channels = [], 3
        for width in widths:
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


class ValueBranch(nn.Module):
    """No parameters, and a forward that looks at the values: neither torch.fx nor the meta device can
    run it; the CPU can."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if float(x.sum()) >= 0:
            return self.act(x)
        return x


def regnet_like() -> nn.Module:
    return RegNetLike()


def value_branch() -> nn.Module:
    return ValueBranch()


def exits() -> nn.Module:
    sys.exit(3)


def raises_base_exception() -> nn.Module:
    raise BaseException("a model that raises BaseException")


class ExitsInForward(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise SystemExit("forward called sys.exit")


def exits_in_forward() -> nn.Module:
    return ExitsInForward()


def chatty() -> nn.Module:
    print("building the model (this goes to stdout)")
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())


class ReturnsDict(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> dict:
        return {"out": self.conv(x)}


def returns_dict() -> nn.Module:
    return ReturnsDict()


class ReturnsInputToo(nn.Module):
    """Returns a dict holding its input beside its result, as detection models return features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> dict:
        return {"image": x, "features": self.conv(x)}


def returns_input_too() -> nn.Module:
    return ReturnsInputToo()
