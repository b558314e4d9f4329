"""Small models in the style of torchvision's MobileNetV3 (squeeze-excitation, hardswish, depthwise),
DenseNet (torch.cat of a list, one tensor at first), U-Net (transposed conv, bilinear interpolation to
a size, skip concat, two outputs), GoogLeNet (branches, ceil-mode pooling, LRN) and a transformer
block (LayerNorm, GELU; its matmuls, chunk and transpose have no rule)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, squeeze: int = 4) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // squeeze, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(channels // squeeze, channels, 1)
        self.scale = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale(self.fc2(self.relu(self.fc1(self.avgpool(x))))) * x


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, *([nn.Hardswish()] if act else []))


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, expanded: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.block = nn.Sequential(conv_bn(c_in, expanded, 1), conv_bn(expanded, expanded, 3, stride, expanded),
                                   SqueezeExcitation(expanded), conv_bn(expanded, c_out, 1, act=False))  # fmt: skip
        self.use_res_connect = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return y + x if self.use_res_connect else y


class MobileNetLike(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), InvertedResidual(16, 64, 24, 2),
                                      InvertedResidual(24, 72, 24, 1), InvertedResidual(24, 96, 40, 2))  # fmt: skip
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(40, 128), nn.Hardswish(inplace=True), nn.Dropout(0.2, inplace=True),
                                        nn.Linear(128, 10))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class DenseLayer(nn.Module):
    def __init__(self, c_in: int, growth: int) -> None:
        super().__init__()
        self.norm1, self.relu1 = nn.BatchNorm2d(c_in), nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(c_in, 4 * growth, 1, bias=False)
        self.norm2, self.relu2 = nn.BatchNorm2d(4 * growth), nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat(features, 1)
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class DenseBlock(nn.ModuleDict):
    def __init__(self, layers: int, c_in: int, growth: int) -> None:
        super().__init__()
        for i in range(layers):
            self.add_module(f"denselayer{i + 1}", DenseLayer(c_in + i * growth, growth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class DenseNetLike(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(3, 16, 3, padding=1)
        self.block = DenseBlock(3, 16, 8)
        self.norm = nn.BatchNorm2d(40)
        self.fc = nn.Linear(40, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm(self.block(self.conv0(x))), inplace=True)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class UNetLike(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.down1 = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.down2 = nn.Conv2d(8, 16, 3, padding=1)
        self.up = nn.ConvTranspose2d(16, 8, 2, 2)
        self.out = nn.Conv2d(16, 2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = F.relu(self.down1(x))
        b = F.relu(self.down2(self.pool(a)))
        coarse = F.interpolate(b, size=a.shape[-2:], mode="bilinear", align_corners=False)
        return self.out(torch.cat([a, self.up(b)], dim=1)), coarse


class InceptionLike(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.branch1 = nn.Conv2d(3, 4, 1)
        self.branch2 = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 6, 3, padding=1))
        self.branch3 = nn.MaxPool2d(3, 1, 1, ceil_mode=True)
        self.lrn = nn.LocalResponseNorm(5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lrn(torch.cat([self.branch1(x), self.branch2(x), self.branch3(x)], 1))


class TransformerBlock(nn.Module):
    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [batch, tokens, width]
        q, k, v = self.qkv(self.ln(x)).chunk(3, dim=-1)
        attention = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        x = x + self.proj(attention @ v)
        return x + self.mlp(x)
