"""Independent torch implementations of paper-original networks, written from the papers (and, for
Xception, the Keras reference), with the same module names as the zoo specs so that they can be
compared layer by layer (tests/reference/layerwise.py). They share no code with archcalc.
"""

from __future__ import annotations

import torch
from torch import nn


# ----- SE-ResNet-50 (Hu et al.; the Caffe ResNet with the stride on the first 1x1 conv) ---------------
class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.sigmoid(self.fc2(self.relu(self.fc1(self.squeeze(x)))))


class SEBottleneck(nn.Module):
    def __init__(self, inp: int, planes: int, stride: int, reduction: int) -> None:
        super().__init__()
        out = 4 * planes
        self.conv1 = nn.Conv2d(inp, planes, 1, stride, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.se = SqueezeExcitation(out, reduction)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.relu2(self.bn2(self.conv2(y)))
        y = self.se(self.bn3(self.conv3(y)))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class SEResNet50(nn.Module):
    def __init__(self, num_classes: int = 1000, reduction: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, ceil_mode=True)
        inp = 64
        for index, (planes, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))):
            layers = []
            for block in range(blocks):
                layers.append(SEBottleneck(inp, planes, stride if block == 0 else 1, reduction))
                inp = 4 * planes
            setattr(self, f"layer{index + 1}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ----- MobileNet v1 (Howard et al., Table 1) -----------------------------------------------------------
class ConvBNReLU(nn.Module):
    def __init__(self, inp: int, out: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inp, out, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class Separable(nn.Module):
    def __init__(self, inp: int, out: int, stride: int) -> None:
        super().__init__()
        self.dw = ConvBNReLU(inp, inp, 3, stride, groups=inp)
        self.pw = ConvBNReLU(inp, out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class MobileNetV1(nn.Module):
    # (input, output, stride) of the 13 depthwise separable rows of Table 1; sep7 is the 5x repeat
    ROWS = [("sep1", 32, 64, 1), ("sep2", 64, 128, 2), ("sep3", 128, 128, 1), ("sep4", 128, 256, 2),
            ("sep5", 256, 256, 1), ("sep6", 256, 512, 2), ("sep8", 512, 1024, 2), ("sep9", 1024, 1024, 1)]  # fmt: skip

    def __init__(self, width: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()

        def c(channels: int) -> int:
            return int(channels * width)

        self.conv1 = ConvBNReLU(3, c(32), 3, 2)
        for name, inp, out, stride in self.ROWS[:6]:
            setattr(self, name, Separable(c(inp), c(out), stride))
        self.sep7 = nn.Sequential(*[Separable(c(512), c(512), 1) for _ in range(5)])
        for name, inp, out, stride in self.ROWS[6:]:
            setattr(self, name, Separable(c(inp), c(out), stride))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c(1024), num_classes)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        for name in ("sep1", "sep2", "sep3", "sep4", "sep5", "sep6", "sep7", "sep8", "sep9"):
            x = getattr(self, name)(x)
        return self.softmax(self.fc(torch.flatten(self.avgpool(x), 1)))


# ----- Xception (Chollet; keras.applications.Xception) ----------------------------------------------
class SeparableConv(nn.Module):
    def __init__(self, inp: int, out: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(inp, inp, 3, 1, 1, groups=inp, bias=False)
        self.pointwise = nn.Conv2d(inp, out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class SamePool(nn.Module):
    """TF 'same' 3x3/2 max pooling: pad (total) max(0, (out - 1) * 2 + 3 - in), the odd pixel after."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-1]
        total = max(0, (-(-size // 2) - 1) * 2 + 3 - size)
        pads = (total // 2, total - total // 2) * 2
        return nn.functional.max_pool2d(nn.functional.pad(x, pads, value=float("-inf")), 3, 2)


class DownBlock(nn.Module):
    def __init__(self, inp: int, mid: int, out: int, first_relu: bool = True) -> None:
        super().__init__()
        self.shortcut = nn.Conv2d(inp, out, 1, 2, bias=False)
        self.shortcut_bn = nn.BatchNorm2d(out)
        self.sepconv1_act = nn.ReLU() if first_relu else None
        self.sepconv1 = SeparableConv(inp, mid)
        self.sepconv1_bn = nn.BatchNorm2d(mid)
        self.sepconv2_act = nn.ReLU()
        self.sepconv2 = SeparableConv(mid, out)
        self.sepconv2_bn = nn.BatchNorm2d(out)
        self.pool = SamePool()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.sepconv1_bn(self.sepconv1(x if self.sepconv1_act is None else self.sepconv1_act(x)))
        y = self.pool(self.sepconv2_bn(self.sepconv2(self.sepconv2_act(y))))
        return y + self.shortcut_bn(self.shortcut(x))


class MiddleBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        for index in (1, 2, 3):
            self.add_module(f"sepconv{index}_act", nn.ReLU())
            self.add_module(f"sepconv{index}", SeparableConv(728, 728))
            self.add_module(f"sepconv{index}_bn", nn.BatchNorm2d(728))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for index in (1, 2, 3):
            y = getattr(self, f"sepconv{index}_act")(y)
            y = getattr(self, f"sepconv{index}_bn")(getattr(self, f"sepconv{index}")(y))
        return y + x


class Xception(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.block1 = nn.Module()
        for name, module in (("conv1", nn.Conv2d(3, 32, 3, 2, bias=False)), ("conv1_bn", nn.BatchNorm2d(32)),
                             ("conv1_act", nn.ReLU()), ("conv2", nn.Conv2d(32, 64, 3, bias=False)),
                             ("conv2_bn", nn.BatchNorm2d(64)), ("conv2_act", nn.ReLU())):  # fmt: skip
            self.block1.add_module(name, module)
        self.block2 = DownBlock(64, 128, 128, first_relu=False)
        self.block3 = DownBlock(128, 256, 256)
        self.block4 = DownBlock(256, 728, 728)
        self.middle = nn.Sequential(*[MiddleBlock() for _ in range(8)])
        self.block13 = DownBlock(728, 728, 1024)
        self.block14 = nn.Sequential()
        for name, module in (("sepconv1", SeparableConv(1024, 1536)), ("sepconv1_bn", nn.BatchNorm2d(1536)),
                             ("sepconv1_act", nn.ReLU()), ("sepconv2", SeparableConv(1536, 2048)),
                             ("sepconv2_bn", nn.BatchNorm2d(2048)), ("sepconv2_act", nn.ReLU())):  # fmt: skip
            self.block14.add_module(name, module)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.predictions = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.block1.children():
            x = module(x)
        x = self.block13(self.middle(self.block4(self.block3(self.block2(x)))))
        return self.predictions(torch.flatten(self.avg_pool(self.block14(x)), 1))


# ----- U-Net (Ronneberger et al., Figure 1) ----------------------------------------------------------
class DoubleConv(nn.Module):
    def __init__(self, inp: int, out: int) -> None:
        super().__init__()
        self.conv1, self.relu1 = nn.Conv2d(inp, out, 3), nn.ReLU()
        self.conv2, self.relu2 = nn.Conv2d(out, out, 3), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu2(self.conv2(self.relu1(self.conv1(x))))


class UpStep(nn.Module):
    def __init__(self, inp: int, out: int) -> None:
        super().__init__()
        self.upconv = nn.ConvTranspose2d(inp, out, 2, 2)
        self.convs = DoubleConv(2 * out, out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = self.upconv(x)
        top = (skip.shape[-2] - up.shape[-2]) // 2
        left = (skip.shape[-1] - up.shape[-1]) // 2
        crop = skip[:, :, top : top + up.shape[-2], left : left + up.shape[-1]]
        return self.convs(torch.cat([crop, up], dim=1))


class UNet(nn.Module):
    def __init__(self, channels: int = 1, classes: int = 2, base: int = 64) -> None:
        super().__init__()
        widths = [base, 2 * base, 4 * base, 8 * base, 16 * base]
        inp = channels
        for index, width in enumerate(widths):
            self.add_module(f"down{index + 1}", DoubleConv(inp, width))
            if index < 4:
                self.add_module(f"pool{index + 1}", nn.MaxPool2d(2, 2))
            inp = width
        self.dropout = nn.Dropout(0.5)
        for index in (4, 3, 2, 1):
            self.add_module(f"up{index}", UpStep(widths[index], widths[index - 1]))
        self.final = nn.Conv2d(base, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for index in (1, 2, 3, 4):
            x = getattr(self, f"down{index}")(x)
            skips.append(x)
            x = getattr(self, f"pool{index}")(x)
        x = self.dropout(self.down5(x))
        for index in (4, 3, 2, 1):
            x = getattr(self, f"up{index}")(x, skips[index - 1])
        return self.final(x)
