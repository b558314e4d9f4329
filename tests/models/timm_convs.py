"""Stand-ins for timm's convolution variants (timm 1.0.31, timm/layers/), copied down to the lines that compute,
so `make test` (without timm) checks the rules keyed on timm's classes: the tests install them under timm's
dotted names. Each class names the timm source it copies."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def get_same_padding(x: int, kernel_size: int, stride: int, dilation: int) -> int:
    """timm/layers/padding.py: get_same_padding (int sizes)."""
    return max((math.ceil(x / stride) - 1) * stride + (kernel_size - 1) * dilation + 1 - x, 0)


def pad_same(x, kernel_size, stride, dilation=(1, 1), value: float = 0):
    """timm/layers/padding.py: pad_same."""
    ih, iw = x.size()[-2:]
    pad_h = get_same_padding(ih, kernel_size[0], stride[0], dilation[0])
    pad_w = get_same_padding(iw, kernel_size[1], stride[1], dilation[1])
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=value)


def _standardized(conv: nn.Conv2d, gain=None) -> torch.Tensor:
    return F.batch_norm(conv.weight.reshape(1, conv.out_channels, -1), None, None, weight=gain, training=True,
                        momentum=0.0, eps=conv.eps).reshape_as(conv.weight)  # fmt: skip


class StdConv2d(nn.Conv2d):
    """timm/layers/std_conv.py: StdConv2d (padding None: get_padding)."""

    def __init__(self, in_channel, out_channels, kernel_size, stride=1, padding=None, dilation=1, groups=1,
                 bias=False, eps=1e-6) -> None:  # fmt: skip
        if padding is None:
            padding = ((stride - 1) + dilation * (kernel_size - 1)) // 2
        super().__init__(in_channel, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, bias=bias)  # fmt: skip
        self.eps = eps

    def forward(self, x):
        return F.conv2d(x, _standardized(self), self.bias, self.stride, self.padding, self.dilation, self.groups)


class StdConv2dSame(nn.Conv2d):
    """timm/layers/std_conv.py: StdConv2dSame (dynamic SAME padding: same_pad)."""

    def __init__(self, in_channel, out_channels, kernel_size, stride=1, dilation=1, groups=1, bias=False,
                 eps=1e-6) -> None:  # fmt: skip
        super().__init__(in_channel, out_channels, kernel_size, stride=stride, padding=0, dilation=dilation,
                         groups=groups, bias=bias)  # fmt: skip
        self.same_pad = True
        self.eps = eps

    def forward(self, x):
        if self.same_pad:
            x = pad_same(x, self.kernel_size, self.stride, self.dilation)
        return F.conv2d(x, _standardized(self), self.bias, self.stride, self.padding, self.dilation, self.groups)


class ScaledStdConv2d(nn.Conv2d):
    """timm/layers/std_conv.py: ScaledStdConv2d (NF-Nets: a gain per output map, gamma / sqrt(fan-in))."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=None, dilation=1, groups=1,
                 bias=True, gamma=1.0, eps=1e-6) -> None:  # fmt: skip
        if padding is None:
            padding = ((stride - 1) + dilation * (kernel_size - 1)) // 2
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, bias=bias)  # fmt: skip
        self.scale = gamma * self.weight[0].numel() ** -0.5
        self.eps = eps
        self.gain = nn.Parameter(torch.ones((self.out_channels, 1, 1, 1)))

    def forward(self, x):
        weight = _standardized(self, (self.gain * self.scale).view(-1))
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ScaledStdConv2dSame(ScaledStdConv2d):
    """timm/layers/std_conv.py: ScaledStdConv2dSame (dynamic SAME padding)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, **kwargs) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=0, **kwargs)
        self.same_pad = True

    def forward(self, x):
        if self.same_pad:
            x = pad_same(x, self.kernel_size, self.stride, self.dilation)
        weight = _standardized(self, (self.gain * self.scale).view(-1))
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2dSame(nn.Conv2d):
    """timm/layers/conv2d_same.py: Conv2dSame (conv2d_same: pad_same, then F.conv2d without padding)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, dilation=1, groups=1, bias=True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, 0, dilation, groups, bias)

    def forward(self, x):
        x = pad_same(x, self.weight.shape[-2:], self.stride, self.dilation)
        return F.conv2d(x, self.weight, self.bias, self.stride, (0, 0), self.dilation, self.groups)


class MaxPool2dSame(nn.MaxPool2d):
    """timm/layers/pool2d_same.py: MaxPool2dSame (pads with -inf)."""

    def __init__(self, kernel_size: int, stride: int | None = None, dilation: int = 1) -> None:
        stride = stride or kernel_size
        super().__init__((kernel_size,) * 2, (stride,) * 2, (0, 0), (dilation,) * 2, False)

    def forward(self, x):
        x = pad_same(x, self.kernel_size, self.stride, self.dilation, value=-float("inf"))
        return F.max_pool2d(x, self.kernel_size, self.stride, (0, 0), self.dilation, self.ceil_mode)


class AvgPool2dSame(nn.AvgPool2d):
    """timm/layers/pool2d_same.py: AvgPool2dSame (pads with zeros, which every average then counts)."""

    def __init__(self, kernel_size: int, stride: int | None = None, count_include_pad: bool = True) -> None:
        stride = stride or kernel_size
        super().__init__((kernel_size,) * 2, (stride,) * 2, (0, 0), False, count_include_pad)

    def forward(self, x):
        x = pad_same(x, self.kernel_size, self.stride)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


class BlurPool2d(nn.Module):
    """timm/layers/blur_pool.py: BlurPool2d (a binomial filter in a non-persistent buffer; TResNet's aa_layer)."""

    def __init__(self, channels: int | None = None, filt_size: int = 3, stride: int = 2, pad_mode: str = "reflect"):
        super().__init__()
        self.channels, self.filt_size, self.stride, self.pad_mode = channels, filt_size, stride, pad_mode
        self.padding = [((stride - 1) + (filt_size - 1)) // 2] * 4
        coeffs = torch.tensor([math.comb(filt_size - 1, k) for k in range(filt_size)]) / (2 ** (filt_size - 1))
        blur = (coeffs[:, None] * coeffs[None, :])[None, None, :, :]
        self.register_buffer("filt", blur.repeat(channels or 1, 1, 1, 1), persistent=False)

    def forward(self, x):
        x = F.pad(x, self.padding, mode=self.pad_mode)
        if self.channels is None:
            channels = x.shape[1]
            weight = self.filt.expand(channels, 1, self.filt_size, self.filt_size)
        else:
            channels, weight = self.channels, self.filt
        return F.conv2d(x, weight, stride=self.stride, groups=channels)


class NfStem(nn.Module):
    """NF-ResNet / BiT-style: scaled and plain standardised convs, SAME-padded variants, a SAME max pool."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = StdConv2dSame(3, 8, 7, stride=2)
        self.pool = MaxPool2dSame(3, 2)
        self.conv2 = ScaledStdConv2d(8, 8, 3, groups=2)
        self.conv3 = ScaledStdConv2dSame(8, 16, 3, stride=2, bias=False)
        self.conv4 = StdConv2d(16, 16, 1, bias=True)

    def forward(self, x):
        return self.conv4(F.relu(self.conv3(self.conv2(self.pool(self.conv1(x))))))


class NasNetBranch(nn.Module):
    """timm/models/nasnet.py: CellStem1's path_2 (ZeroPad2d((-1, 1, -1, 1)), a 1x1 avg pool of stride 2) beside
    a SAME-padded separable branch (Conv2dSame depthwise + pointwise) and SAME pools."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.pad = nn.ZeroPad2d((-1, 1, -1, 1))
        self.shift_pool = nn.AvgPool2d(1, stride=2, count_include_pad=False)
        self.depthwise = Conv2dSame(channels, channels, 5, stride=2, groups=channels, bias=False)
        self.pointwise = nn.Conv2d(channels, channels, 1, bias=False)
        self.max_pool = MaxPool2dSame(3, 2)
        self.avg_pool = AvgPool2dSame(3, 2, count_include_pad=False)

    def forward(self, x):
        shifted = self.shift_pool(self.pad(x))
        return shifted + self.pointwise(self.depthwise(x)) + self.max_pool(x) + self.avg_pool(x)


class AntiAliased(nn.Module):
    """TResNet-style: a conv, then BlurPool2d (per-channel filters, and a shared one in constant mode)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.blur = BlurPool2d(8, 3, 2)
        self.blur_shared = BlurPool2d(None, 5, 2, pad_mode="constant")

    def forward(self, x):
        return self.blur_shared(self.blur(self.conv(x)))


class PitEmbed(nn.Module):
    """timm/models/pit.py: PoolingVisionTransformer's stem, `x = self.pos_drop(x + self.pos_embed)` with a
    [1, C, H, W] parameter after the conv patch embedding."""

    def __init__(self, embed_dim: int = 8, size: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, embed_dim, 4, stride=2)
        self.pos_embed = nn.Parameter(torch.randn(1, embed_dim, size, size))
        self.pos_drop = nn.Dropout(0.0)

    def forward(self, x):
        return self.pos_drop(self.conv(x) + self.pos_embed)


class LinearNorm(nn.Module):
    """timm/models/levit.py: LinearNorm (a linear without bias, BatchNorm1d over the flattened B·L rows)."""

    def __init__(self, in_features: int, out_features: int, bn_weight_init: float = 1) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)
        self.bn = nn.BatchNorm1d(out_features)
        nn.init.constant_(self.bn.weight, bn_weight_init)

    def forward(self, x):
        x = self.linear(x)
        return self.bn(x.flatten(0, 1)).reshape_as(x)


class LevitMlp(nn.Module):
    """timm/models/levit.py: LevitMlp (LinearNorm, Hardswish, LinearNorm) in a residual, on [B, L, C] tokens."""

    def __init__(self, dim: int = 8, hidden: int = 16) -> None:
        super().__init__()
        self.ln1 = LinearNorm(dim, hidden)
        self.act = nn.Hardswish()
        self.ln2 = LinearNorm(hidden, dim, bn_weight_init=0)

    def forward(self, x):
        return x + self.ln2(self.act(self.ln1(x)))


class MultiQueryAttention(nn.Module):
    """timm/layers/attention2d.py: MultiQueryAttention2d's core (MobileNetV5): 8 query heads, one key/value head
    broadcast over them by F.scaled_dot_product_attention (k and v of shape [B, 1, S, D])."""

    def __init__(self, dim: int = 16, heads: int = 4, head_dim: int = 8) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.query = nn.Conv2d(dim, heads * head_dim, 1, bias=False)
        self.key = nn.Conv2d(dim, head_dim, 1, bias=False)
        self.value = nn.Conv2d(dim, head_dim, 1, bias=False)
        self.output = nn.Conv2d(heads * head_dim, dim, 1, bias=False)

    def forward(self, x):
        B, C, H, W = x.shape
        q = self.query(x).reshape(B, self.heads, self.head_dim, -1).transpose(-1, -2).contiguous()
        k = self.key(x).reshape(B, self.head_dim, -1).transpose(1, 2).unsqueeze(1).contiguous()
        v = self.value(x).reshape(B, self.head_dim, -1).transpose(1, 2).unsqueeze(1).contiguous()
        o = F.scaled_dot_product_attention(q, k, v)
        return self.output(o.transpose(1, 2).reshape(B, H, W, self.heads * self.head_dim).permute(0, 3, 1, 2))


class EfficientAdditiveAttention(nn.Module):
    """timm/models/swiftformer.py: EfficientAdditiveAttention, with `torch.sum(attn * query, dim=1, keepdim=True)`
    left out (a reduction over the tokens, not among these types): F.normalize, `query @ self.w_g`."""

    def __init__(self, in_dims: int = 8, token_dim: int = 8) -> None:
        super().__init__()
        self.scale_factor = token_dim**-0.5
        self.to_query = nn.Linear(in_dims, token_dim)
        self.to_key = nn.Linear(in_dims, token_dim)
        self.w_g = nn.Parameter(torch.randn(token_dim, 1))
        self.proj = nn.Linear(token_dim, token_dim)
        self.final = nn.Linear(token_dim, token_dim)

    def forward(self, x):
        B, _, H, W = x.shape
        x = x.flatten(2).permute(0, 2, 1)
        query = F.normalize(self.to_query(x), dim=-1)
        key = F.normalize(self.to_key(x), dim=-1)
        attn = F.normalize(query @ self.w_g * self.scale_factor, dim=1)
        out = self.proj(attn * key) + query
        return self.final(out).permute(0, 2, 1).reshape(B, -1, H, W)


class Subsample(nn.Module):
    """timm/models/levit.py: Subsample (use_pool False): every stride-th token of the [H, W, C] grid."""

    def __init__(self, stride: int, resolution: int) -> None:
        super().__init__()
        self.stride, self.resolution = stride, (resolution, resolution)

    def forward(self, x):
        B, N, C = x.shape
        x = x.view(B, self.resolution[0], self.resolution[1], C)
        x = x[:, ::self.stride, ::self.stride]
        return x.reshape(B, -1, C)


class LevitDownsampleQuery(nn.Module):
    """timm/models/levit.py: AttentionDownsample's query path, `self.q = Sequential(Subsample, LinearNorm)`."""

    def __init__(self, dim: int = 8, resolution: int = 5) -> None:
        super().__init__()
        self.q = nn.Sequential(Subsample(2, resolution), LinearNorm(dim, 12))

    def forward(self, x):
        return self.q(x)
