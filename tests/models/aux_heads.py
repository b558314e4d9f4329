"""A small GoogLeNet (torchvision/models/googlenet.py, torchvision 0.29): BasicConv2d and InceptionAux copied as
torchvision writes them, and a forward that runs the auxiliary classifiers only in training, as GoogLeNet's and
Inception v3's do. In eval mode nothing reads aux1's and aux2's weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BasicConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class InceptionAux(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, 8, kernel_size=1)  # torchvision: 128 channels, fc1 2048 -> 1024
        self.fc1 = nn.Linear(8 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(x, (4, 4))
        x = self.conv(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x), inplace=True)
        x = self.dropout(x)
        return self.fc2(x)


class AuxHeadNet(nn.Module):
    def __init__(self, num_classes: int = 10, aux_logits: bool = True) -> None:
        super().__init__()
        self.aux_logits = aux_logits
        self.conv1 = BasicConv2d(3, 16, kernel_size=3, padding=1)
        self.conv2 = BasicConv2d(16, 24, kernel_size=3, stride=2, padding=1)
        self.conv3 = BasicConv2d(24, 32, kernel_size=3, stride=2, padding=1)
        self.aux1 = InceptionAux(16, num_classes) if aux_logits else None
        self.aux2 = InceptionAux(24, num_classes) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor):
        x = self.conv1(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.conv2(x)
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.conv3(x)
        x = self.fc(torch.flatten(self.avgpool(x), 1))
        if self.training and self.aux_logits:
            return x, aux2, aux1
        return x
