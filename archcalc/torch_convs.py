"""archcalc's torch builds of timm's convolution variants and blocks, the lines that compute (timm 1.0.31):

- conv `standardize` (timm/layers/std_conv.py, StdConv2d and ScaledStdConv2d): the weight, viewed as
  [1, C_out, W], goes through F.batch_norm in training mode (per output map: zero mean, unit variance;
  'scaled': times gain / sqrt(W)) before the convolution. Any rank; the class names keep "Conv" (torchinfo
  counts a module as a conv by it);
- blur_pool2d (timm/layers/blur_pool.py, BlurPool2d): a binomial filter in a non-persistent buffer, F.pad,
  then a depthwise F.conv2d;
- linear_norm (timm/models/levit.py, LinearNorm): nn.Linear, then BatchNorm1d on x.flatten(0, 1);
- normalize: F.normalize(x, p=2, dim);
- strided_slice: x[:, ::s, ::s] (LeViT's Subsample).
"""

from __future__ import annotations

from math import comb

import torch
import torch.nn.functional as F
from torch import nn


class _Standardized:
    """Mixed into nn.Conv1d/2d/3d: standardise the weight, then convolve (padding_mode included)."""

    standardize = "std"
    eps = 1e-6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gain = (self.gain * self.scale).view(-1) if self.standardize == "scaled" else None
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, weight=gain, training=True,
                              momentum=0.0, eps=self.eps).reshape_as(self.weight)  # fmt: skip
        return self._conv_forward(x, weight, self.bias)


class StandardizedConv1d(_Standardized, nn.Conv1d):
    pass


class StandardizedConv2d(_Standardized, nn.Conv2d):
    pass


class StandardizedConv3d(_Standardized, nn.Conv3d):
    pass


CLASSES = {1: StandardizedConv1d, 2: StandardizedConv2d, 3: StandardizedConv3d}


def standardized(conv: nn.Module, kind: str) -> nn.Module:
    """The standardised twin of a plain nn.ConvNd (same configuration), with a gain per map when `kind` is 'scaled'."""
    cls = CLASSES[len(conv.kernel_size)]
    twin = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
               conv.groups, conv.bias is not None, conv.padding_mode, device=conv.weight.device)  # fmt: skip
    twin.standardize = kind
    if kind == "scaled":
        twin.scale = twin.weight[0].numel() ** -0.5
        twin.gain = nn.Parameter(torch.ones((conv.out_channels,) + (1,) * len(conv.kernel_size),
                                            device=conv.weight.device))  # fmt: skip
    return twin


class BlurPool2d(nn.Module):
    def __init__(self, channels: int | None, filt_size: int = 3, stride: int = 2, pad_mode: str = "reflect") -> None:
        super().__init__()
        self.channels, self.filt_size, self.stride, self.pad_mode = channels, filt_size, stride, pad_mode
        self.padding = [((stride - 1) + (filt_size - 1)) // 2] * 4
        coeffs = torch.tensor([comb(filt_size - 1, k) for k in range(filt_size)], dtype=torch.float32)
        coeffs = coeffs / 2 ** (filt_size - 1)
        blur = (coeffs[:, None] * coeffs[None, :])[None, None, :, :]
        self.register_buffer("filt", blur.repeat(channels or 1, 1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, self.padding, mode=self.pad_mode)
        channels = x.shape[1] if self.channels is None else self.channels
        weight = self.filt.expand(channels, 1, self.filt_size, self.filt_size) if self.channels is None else self.filt
        return F.conv2d(x, weight, stride=self.stride, groups=channels)


class LinearNorm(nn.Module):
    """linear_norm: timm/models/levit.py's LinearNorm (a linear without bias, BatchNorm1d over B·L rows)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False, eps: float = 1e-5) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.bn = nn.BatchNorm1d(out_features, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x)
        return self.bn(x.flatten(0, 1)).reshape_as(x)


class Normalize(nn.Module):
    """normalize: F.normalize(x, p=2, dim) (SwiftFormer's and EdgeNeXt's attention)."""

    def __init__(self, dim: int, eps: float = 1e-12) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=self.dim, eps=self.eps)


class StridedSlice(nn.Module):
    """strided_slice: x[:, o_1::s_1, o_2::s_2, ...] from torch axis `dim` on (LeViT's Subsample; Swin's patch
    merging in transformers: the four interleaved sub-grids)."""

    def __init__(self, dim: int, steps, starts=None) -> None:
        super().__init__()
        self.dim, self.steps = dim, list(steps)
        self.starts = [start for start in starts] if starts is not None and any(starts) else []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        starts = self.starts or [None] * len(self.steps)
        return x[(slice(None),) * self.dim + tuple(slice(start, None, step) for start, step in zip(starts, self.steps))]
