"""Independent torch re-implementations of torchvision's mobile classification nets.

torchvision cannot be imported here, so these follow its public source (torchvision/models/
mobilenetv2.py, mobilenetv3.py, shufflenetv2.py, efficientnet.py and ops/misc.py) module for module:
same submodule names, same layer order, same biases. They are the witnesses the zoo specs are
compared against; they share no code with archcalc.
"""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision.models._utils._make_divisible (re-typed here, independent of archcalc.expr)."""
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


class ConvNormActivation(nn.Sequential):
    """torchvision.ops.misc.Conv2dNormActivation: conv (bias only without a norm), norm, activation."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 norm=nn.BatchNorm2d, activation=nn.ReLU, dilation: int = 1) -> None:  # fmt: skip
        padding = (kernel - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation, groups=groups, bias=norm is None)
        ]
        if norm is not None:
            layers.append(norm(cout))
        if activation is not None:
            layers.append(activation(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """torchvision.ops.misc.SqueezeExcitation: avgpool, fc1 (1x1 conv), activation, fc2, scale."""

    def __init__(self, channels: int, squeeze: int, activation=nn.ReLU, scale_activation=nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


# ----- MobileNetV2 ----------------------------------------------------------------------------------
class InvertedResidualV2(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvNormActivation(inp, hidden, kernel=1, activation=nn.ReLU6))
        layers += [
            ConvNormActivation(hidden, hidden, stride=stride, groups=hidden, activation=nn.ReLU6),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
               [6, 320, 1, 1]]  # fmt: skip

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0) -> None:
        super().__init__()
        channels = make_divisible(32 * width_mult, 8)
        last = make_divisible(1280 * max(1.0, width_mult), 8)
        features: list[nn.Module] = [ConvNormActivation(3, channels, stride=2, activation=nn.ReLU6)]
        for t, c, n, s in self.SETTING:
            out = make_divisible(c * width_mult, 8)
            for i in range(n):
                features.append(InvertedResidualV2(channels, out, s if i == 0 else 1, t))
                channels = out
        features.append(ConvNormActivation(channels, last, kernel=1, activation=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


# ----- MobileNetV3 ----------------------------------------------------------------------------------
# (input, kernel, expanded, out, use_se, activation, stride) per block, torchvision's _mobilenet_v3_conf
V3_LARGE = [
    (16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2), (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2), (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1), (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1), (160, 5, 960, 160, True, "HS", 1),
]
V3_SMALL = [
    (16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2), (24, 3, 88, 24, False, "RE", 1),
    (24, 5, 96, 40, True, "HS", 2), (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1), (48, 5, 288, 96, True, "HS", 2),
    (96, 5, 576, 96, True, "HS", 1), (96, 5, 576, 96, True, "HS", 1),
]


class InvertedResidualV3(nn.Module):
    def __init__(self, inp: int, kernel: int, expanded: int, out: int, use_se: bool, act: str, stride: int,
                 norm) -> None:  # fmt: skip
        super().__init__()
        self.use_res_connect = stride == 1 and inp == out
        activation = nn.Hardswish if act == "HS" else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != inp:
            layers.append(ConvNormActivation(inp, expanded, kernel=1, norm=norm, activation=activation))
        layers.append(ConvNormActivation(expanded, expanded, kernel, stride, expanded, norm, activation))
        if use_se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4, 8),
                                            scale_activation=nn.Hardsigmoid))  # fmt: skip
        layers.append(ConvNormActivation(expanded, out, kernel=1, norm=norm, activation=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.block(x)
        return result + x if self.use_res_connect else result


class MobileNetV3(nn.Module):
    def __init__(self, arch: str, num_classes: int = 1000, width_mult: float = 1.0) -> None:
        super().__init__()
        setting, last_channel = (V3_LARGE, 1280) if arch == "large" else (V3_SMALL, 1024)

        def adjust(channels: int) -> int:
            return make_divisible(channels * width_mult, 8)

        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        layers: list[nn.Module] = [ConvNormActivation(3, adjust(16), 3, 2, norm=norm, activation=nn.Hardswish)]
        for inp, kernel, expanded, out, use_se, act, stride in setting:
            layers.append(InvertedResidualV3(adjust(inp), kernel, adjust(expanded), adjust(out), use_se, act,
                                             stride, norm))  # fmt: skip
        last_in = adjust(setting[-1][3])
        last_out = 6 * last_in
        layers.append(ConvNormActivation(last_in, last_out, kernel=1, norm=norm, activation=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        hidden = adjust(last_channel)
        self.classifier = nn.Sequential(
            nn.Linear(last_out, hidden), nn.Hardswish(inplace=True), nn.Dropout(0.2, inplace=True),
            nn.Linear(hidden, num_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# ----- ShuffleNetV2 ---------------------------------------------------------------------------------
SHUFFLENET_STAGES = {
    0.5: [24, 48, 96, 192, 1024],
    1.0: [24, 116, 232, 464, 1024],
    1.5: [24, 176, 352, 704, 1024],
    2.0: [24, 244, 488, 976, 2048],
}


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    n, c, h, w = x.size()
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        half = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, bias=False, groups=inp), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, half, 1, 1, 0, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            )  # fmt: skip
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else half, half, 1, 1, 0, bias=False), nn.BatchNorm2d(half),
            nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, stride, 1, bias=False, groups=half), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, 1, 0, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, width: float = 1.0, num_classes: int = 1000, repeats=(4, 8, 4)) -> None:
        super().__init__()
        channels = SHUFFLENET_STAGES[width]
        self.conv1 = nn.Sequential(nn.Conv2d(3, channels[0], 3, 2, 1, bias=False), nn.BatchNorm2d(channels[0]),
                                   nn.ReLU(inplace=True))  # fmt: skip
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        inp = channels[0]
        for name, n, out in zip(("stage2", "stage3", "stage4"), repeats, channels[1:4]):
            units = [ShuffleUnit(inp, out, 2)] + [ShuffleUnit(out, out, 1) for _ in range(n - 1)]
            setattr(self, name, nn.Sequential(*units))
            inp = out
        self.conv5 = nn.Sequential(nn.Conv2d(inp, channels[4], 1, 1, 0, bias=False), nn.BatchNorm2d(channels[4]),
                                   nn.ReLU(inplace=True))  # fmt: skip
        self.fc = nn.Linear(channels[4], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


# ----- EfficientNet-B0 ------------------------------------------------------------------------------
# (expand_ratio, kernel, stride, input, out, layers), torchvision's _efficientnet_conf for B0
EFFICIENTNET_B0 = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
                   (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]  # fmt: skip


class StochasticDepth(nn.Module):
    """Identity at inference (torchvision.ops.StochasticDepth in eval mode)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class MBConv(nn.Module):
    def __init__(self, expand_ratio: float, kernel: int, stride: int, inp: int, out: int) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and inp == out
        expanded = make_divisible(inp * expand_ratio, 8)
        layers: list[nn.Module] = []
        if expanded != inp:
            layers.append(ConvNormActivation(inp, expanded, kernel=1, activation=nn.SiLU))
        layers.append(ConvNormActivation(expanded, expanded, kernel, stride, expanded, activation=nn.SiLU))
        layers.append(SqueezeExcitation(expanded, max(1, inp // 4), activation=partial(nn.SiLU, inplace=True)))
        layers.append(ConvNormActivation(expanded, out, kernel=1, activation=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result


class EfficientNet(nn.Module):
    """torchvision's EfficientNet B0-B7: width scales channels, depth the layers per stage."""

    def __init__(self, width_mult: float = 1.0, depth_mult: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()

        def adjust(channels: int) -> int:
            return make_divisible(channels * width_mult, 8)

        layers: list[nn.Module] = [ConvNormActivation(3, adjust(32), 3, 2, activation=nn.SiLU)]
        for expand_ratio, kernel, stride, inp, out, n in EFFICIENTNET_B0:
            inp, out, n = adjust(inp), adjust(out), int(math.ceil(n * depth_mult))
            stage = [MBConv(expand_ratio, kernel, stride if i == 0 else 1, inp if i == 0 else out, out)
                     for i in range(n)]  # fmt: skip
            layers.append(nn.Sequential(*stage))
        last = 4 * adjust(320)
        layers.append(ConvNormActivation(adjust(320), last, kernel=1, activation=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2, inplace=True), nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
