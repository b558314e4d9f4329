"""Independent torch implementations of the video and volume zoo specs, written from their papers and the
public descriptions of torchvision's video ResNets (module names as torchvision's, so a checkpoint would
load): R3D-18, MC3-18, R(2+1)D-18, C3D and the 3-D U-Net. They share no code with archcalc.
"""

from __future__ import annotations

import torch
from torch import nn


def _bn_relu(channels: int) -> list[nn.Module]:
    return [nn.BatchNorm3d(channels), nn.ReLU(inplace=True)]


class Factored(nn.Sequential):
    """R(2+1)D's factored convolution: spatial (1, 3, 3) to `mid` maps, BN, ReLU, temporal (3, 1, 1)."""

    def __init__(self, c_in: int, c_out: int, mid: int, stride: int = 1) -> None:
        super().__init__(nn.Conv3d(c_in, mid, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
                         *_bn_relu(mid),
                         nn.Conv3d(mid, c_out, (3, 1, 1), (stride, 1, 1), (1, 0, 0), bias=False))  # fmt: skip


def _conv(kind: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    if kind == "3d":
        return nn.Conv3d(c_in, c_out, 3, stride, 1, bias=False)
    if kind == "2d":  # no temporal extent: MC3's upper stages
        return nn.Conv3d(c_in, c_out, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False)
    # "(2+1)d": as many parameters as the 3x3x3 conv it replaces, per block (from the block's own widths)
    return Factored(c_in, c_out, c_in * c_out * 27 // (9 * c_in + 3 * c_out), stride)


class VideoBlock(nn.Module):
    def __init__(self, kind: str, c_in: int, c_out: int, stride: int, block_in: int) -> None:
        super().__init__()
        if kind == "(2+1)d":  # both factored convs take M from the block's input and output widths
            mid = block_in * c_out * 27 // (9 * block_in + 3 * c_out)
            first, second = Factored(c_in, c_out, mid, stride), Factored(c_out, c_out, mid)
        else:
            first, second = _conv(kind, c_in, c_out, stride), _conv(kind, c_out, c_out, 1)
        self.conv1 = nn.Sequential(first, *_bn_relu(c_out))
        self.conv2 = nn.Sequential(second, nn.BatchNorm3d(c_out))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            temporal = 1 if kind == "2d" else stride
            self.downsample = nn.Sequential(nn.Conv3d(c_in, c_out, 1, (temporal, stride, stride), bias=False),
                                            nn.BatchNorm3d(c_out))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + shortcut)


class VideoResNet18(nn.Module):
    """`kinds`: the convolution of each stage; `stem`: "3d" (3x7x7) or "(2+1)d" (1x7x7 to 45, then 3x1x1)."""

    def __init__(self, kinds: tuple[str, ...], stem: str, num_classes: int = 400) -> None:
        super().__init__()
        if stem == "3d":
            self.stem = nn.Sequential(nn.Conv3d(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False), *_bn_relu(64))
        else:
            self.stem = nn.Sequential(nn.Conv3d(3, 45, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False), *_bn_relu(45),
                                      nn.Conv3d(45, 64, (3, 1, 1), 1, (1, 0, 0), bias=False), *_bn_relu(64))
        width = 64
        for index, (kind, planes) in enumerate(zip(kinds, (64, 128, 256, 512))):
            stride = 1 if index == 0 else 2
            blocks = [VideoBlock(kind, width, planes, stride, width), VideoBlock(kind, planes, planes, 1, planes)]
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
            width = planes
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for index in range(1, 5):
            x = getattr(self, f"layer{index}")(x)
        return self.fc(self.avgpool(x).flatten(1))


def r3d_18(num_classes: int = 400) -> nn.Module:
    return VideoResNet18(("3d",) * 4, "3d", num_classes)


def mc3_18(num_classes: int = 400) -> nn.Module:
    return VideoResNet18(("3d", "2d", "2d", "2d"), "3d", num_classes)


def r2plus1d_18(num_classes: int = 400) -> nn.Module:
    return VideoResNet18(("(2+1)d",) * 4, "(2+1)d", num_classes)


class C3D(nn.Module):
    """Tran et al. 2015, Sports-1M: eight 3x3x3 convs, five max pools (pool5 rounding up), fc6, fc7, fc8."""

    def __init__(self, num_classes: int = 487) -> None:
        super().__init__()
        widths = {"conv1": (3, 64), "conv2": (64, 128), "conv3a": (128, 256), "conv3b": (256, 256),
                  "conv4a": (256, 512), "conv4b": (512, 512), "conv5a": (512, 512), "conv5b": (512, 512)}  # fmt: skip
        for name, (c_in, c_out) in widths.items():
            setattr(self, name, nn.Conv3d(c_in, c_out, 3, padding=1))
        self.pool1 = nn.MaxPool3d((1, 2, 2), (1, 2, 2))
        self.pool2, self.pool3, self.pool4 = nn.MaxPool3d(2), nn.MaxPool3d(2), nn.MaxPool3d(2)
        self.pool5 = nn.MaxPool3d(2, 2, (0, 1, 1))
        self.fc6, self.fc7, self.fc8 = nn.Linear(8192, 4096), nn.Linear(4096, 4096), nn.Linear(4096, num_classes)
        self.drop6, self.drop7 = nn.Dropout(0.5), nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(torch.relu(self.conv1(x)))
        x = self.pool2(torch.relu(self.conv2(x)))
        x = self.pool3(torch.relu(self.conv3b(torch.relu(self.conv3a(x)))))
        x = self.pool4(torch.relu(self.conv4b(torch.relu(self.conv4a(x)))))
        x = self.pool5(torch.relu(self.conv5b(torch.relu(self.conv5a(x)))))
        x = self.drop6(torch.relu(self.fc6(x.flatten(1))))
        return torch.softmax(self.fc8(self.drop7(torch.relu(self.fc7(x)))), dim=1)


class DoubleConv(nn.Module):
    def __init__(self, c_in: int, mid: int, c_out: int, affine: bool) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu1 = nn.Conv3d(c_in, mid, 3), nn.BatchNorm3d(mid, affine=affine), nn.ReLU()
        self.conv2, self.bn2, self.relu2 = nn.Conv3d(mid, c_out, 3), nn.BatchNorm3d(c_out, affine=affine), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu2(self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))))


def _centre_crop(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    starts = [(big - small) // 2 for big, small in zip(x.shape[2:], like.shape[2:])]
    return x[(slice(None), slice(None)) + tuple(slice(s, s + n) for s, n in zip(starts, like.shape[2:]))]


class UNet3D(nn.Module):
    """Cicek et al. 2016: unpadded convs with BN (no learned affine, as Caffe's BatchNorm) and ReLU."""

    def __init__(self, num_classes: int = 3, affine: bool = False, upconv_bias: bool = False, width: int = 32) -> None:
        super().__init__()
        w = width
        self.down1, self.down2 = DoubleConv(3, w, 2 * w, affine), DoubleConv(2 * w, 2 * w, 4 * w, affine)
        self.down3, self.bottom = DoubleConv(4 * w, 4 * w, 8 * w, affine), DoubleConv(8 * w, 8 * w, 16 * w, affine)
        self.pool1, self.pool2, self.pool3 = nn.MaxPool3d(2), nn.MaxPool3d(2), nn.MaxPool3d(2)
        self.upconv3 = nn.ConvTranspose3d(16 * w, 16 * w, 2, 2, bias=upconv_bias)
        self.up3 = DoubleConv(24 * w, 8 * w, 8 * w, affine)
        self.upconv2 = nn.ConvTranspose3d(8 * w, 8 * w, 2, 2, bias=upconv_bias)
        self.up2 = DoubleConv(12 * w, 4 * w, 4 * w, affine)
        self.upconv1 = nn.ConvTranspose3d(4 * w, 4 * w, 2, 2, bias=upconv_bias)
        self.up1 = DoubleConv(6 * w, 2 * w, 2 * w, affine)
        self.output = nn.Conv3d(2 * w, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.down1(x)
        d2 = self.down2(self.pool1(d1))
        d3 = self.down3(self.pool2(d2))
        y = self.upconv3(self.bottom(self.pool3(d3)))
        y = self.upconv2(self.up3(torch.cat([_centre_crop(d3, y), y], 1)))
        y = self.upconv1(self.up2(torch.cat([_centre_crop(d2, y), y], 1)))
        return self.output(self.up1(torch.cat([_centre_crop(d1, y), y], 1)))


MODELS = {"r3d_18": r3d_18, "mc3_18": mc3_18, "r2plus1d_18": r2plus1d_18, "c3d": C3D, "unet3d": UNet3D}
