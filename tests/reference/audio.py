"""Independent torch implementations of the 1-D zoo specs, written from their papers (and, for the TCN,
the public description of its reference code), with the zoo specs' module names: M5 (Dai et al. 2017)
and the TCN of Bai et al. (2018). They share no code with archcalc.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn


def same_pad(length: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding for a window of `kernel` at `stride` (the odd sample after)."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


class SameConv1d(nn.Conv1d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = same_pad(x.shape[-1], self.kernel_size[0], self.stride[0])
        return F.conv1d(F.pad(x, pad), self.weight, self.bias, self.stride)


class SameMaxPool1d(nn.MaxPool1d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = same_pad(x.shape[-1], self.kernel_size, self.stride)
        return F.max_pool1d(F.pad(x, pad, value=float("-inf")), self.kernel_size, self.stride)


class Stage(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.conv, self.bn, self.relu = SameConv1d(c_in, c_out, kernel, stride), nn.BatchNorm1d(c_out), nn.ReLU()
        self.pool = SameMaxPool1d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.relu(self.bn(self.conv(x))))


class M5(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stage1, self.stage2 = Stage(1, 128, 80, 4), Stage(128, 128)
        self.stage3, self.stage4 = Stage(128, 256), Stage(256, 512)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage4(self.stage3(self.stage2(self.stage1(x))))
        return torch.softmax(self.fc(x.mean(-1)), dim=1)


class Chomp(nn.Module):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, : -self.size].contiguous()


def _weight_normed(conv: nn.Conv1d) -> nn.Conv1d:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return nn.utils.weight_norm(conv)


class TemporalBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        pad = (kernel - 1) * dilation
        self.conv1 = _weight_normed(nn.Conv1d(c_in, c_out, kernel, padding=pad, dilation=dilation))
        self.chomp1, self.relu1, self.dropout1 = Chomp(pad), nn.ReLU(), nn.Dropout(dropout)
        self.conv2 = _weight_normed(nn.Conv1d(c_out, c_out, kernel, padding=pad, dilation=dilation))
        self.chomp2, self.relu2, self.dropout2 = Chomp(pad), nn.ReLU(), nn.Dropout(dropout)
        self.downsample = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else None
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dropout1(self.relu1(self.chomp1(self.conv1(x))))
        y = self.dropout2(self.relu2(self.chomp2(self.conv2(y))))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class TemporalConvNet(nn.Module):
    def __init__(self, c_in: int, widths: list[int], kernel: int, dropout: float) -> None:
        super().__init__()
        blocks = [TemporalBlock(widths[i - 1] if i else c_in, width, kernel, 2**i, dropout)
                  for i, width in enumerate(widths)]  # fmt: skip
        self.network = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)


class TCN(nn.Module):
    """Sequential MNIST: 8 levels of 25 channels, kernel 7, dropout 0.05, a linear head on the last step."""

    def __init__(self, levels: int = 8, hidden: int = 25, kernel_size: int = 7, num_classes: int = 10) -> None:
        super().__init__()
        self.tcn = TemporalConvNet(1, [hidden] * levels, kernel_size, 0.05)
        self.linear = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.tcn(x)[:, :, -1])


MODELS = {"m5": M5, "tcn": TCN}
