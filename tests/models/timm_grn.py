"""ConvNeXt V2's Global Response Normalization (timm 1.0.31 timm/layers/grn.py, GlobalResponseNorm, copied; CSATv2's
blocks use it between their pointwise linears) and the CSATv2 block's channels-last MLP around it
(timm/models/csatv2.py, Block: pwconv1, act, grn, pwconv2)."""

from __future__ import annotations

import torch
from torch import nn


class GlobalResponseNorm(nn.Module):
    """grn.py: GlobalResponseNorm (weight and bias initialised to zero there; random here, which changes no count)."""

    def __init__(self, dim: int, eps: float = 1e-6, channels_last: bool = True) -> None:
        super().__init__()
        self.eps = eps
        if channels_last:
            self.spatial_dim, self.channel_dim, self.wb_shape = (1, 2), -1, (1, 1, 1, -1)
        else:
            self.spatial_dim, self.channel_dim, self.wb_shape = (2, 3), 1, (1, -1, 1, 1)
        self.weight = nn.Parameter(torch.randn(dim))
        self.bias = nn.Parameter(torch.randn(dim))

    def forward(self, x):
        x_g = x.norm(p=2, dim=self.spatial_dim, keepdim=True)
        x_n = x_g / (x_g.mean(dim=self.channel_dim, keepdim=True) + self.eps)
        return x + torch.addcmul(self.bias.view(self.wb_shape), self.weight.view(self.wb_shape), x * x_n)


class ChannelsLastMlpGrn(nn.Module):
    """csatv2.py: Block's `pwconv1 -> act -> grn -> pwconv2` on channels-last [H, W, C]."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.grn = GlobalResponseNorm(4 * dim, channels_last=True)
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x):  # NCHW in and out, as the block permutes
        x = x.permute(0, 2, 3, 1)
        x = self.pwconv2(self.grn(self.act(self.pwconv1(x))))
        return x.permute(0, 3, 1, 2)


class NormByLinalg(nn.Module):
    def forward(self, x):
        return torch.linalg.vector_norm(x, 2, dim=-1, keepdim=True)


class NormOne(nn.Module):
    """Not a 2-norm: refused, saying so."""

    def forward(self, x):
        return x.norm(p=1, dim=-1)


class Denormalize(nn.Module):
    """csatv2.py: LearnableDct2d._denormalize, `x.mul(self.imagenet_std).add_(self.imagenet_mean) * 255`: per-channel
    buffers [3, 1, 1], a fixed scale and shift, not a learned layer scale."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("imagenet_mean", torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1), persistent=False)
        self.register_buffer("imagenet_std", torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1), persistent=False)

    def forward(self, x):
        return x.mul(self.imagenet_std).add_(self.imagenet_mean) * 255


class ScalarAttentionAcrossTheBatch(nn.Module):
    """csatv2.py: SpatialTransformerBlock's attention with 1-dim q/k/v: `q, k, v = qkv.unbind(-1)` are [B, N], so
    `q @ k.transpose(-1, -2)` is [B, B]: every image attends to every other image of the batch."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(1, 3, bias=False)

    def forward(self, x):  # [B, N, 1]
        q, k, v = self.qkv(x).unbind(-1)
        attn = (q @ k.transpose(-1, -2)).softmax(dim=-1)
        return (attn @ v).unsqueeze(-1)
