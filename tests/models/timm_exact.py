"""timm blocks on which archcalc's `--convention torch` / `--convention fvcore` once differed from
FlopCounterMode / fvcore on the whole model (issue 17), each copied from timm 1.0.31 with only timm's helpers
(ConvLayer, create_conv2d, use_fused_attn) replaced by the torch modules they build:

- LowFormer's ConvAttention (timm/models/lowformer.py; CPUBone's main block is the same attention):
  q, k, v are chunks of a permuted qkv, so their last axis has a stride of h·w: torch's CPU flash kernel
  refuses them and F.scaled_dot_product_attention runs the math path, whose two bmm FlopCounterMode counts;
- iFormer's SHMA (timm/models/iformer.py): `q.transpose(-1, -2)` (strided again), and v with twice q's head
  size (D_v ≠ D, which the flash kernel refuses too); with window_size, on windows folded into the batch;
- ConvMixer's block (timm/models/convmixer.py): a depthwise nn.Conv2d(padding="same"), which F.conv2d runs as
  aten::_convolution_mode, an op fvcore has no handle for (it counts 0 there; FlopCounterMode counts it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv_bn(c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """timm's ConvLayer(norm_layer=nn.BatchNorm2d, act_layer=None) / iFormer's ConvNorm: conv, no bias, bn."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out))  # fmt: skip


class ConvAttention(nn.Module):
    """timm 1.0.31 lowformer.py ConvAttention (fuse_out_proj=False), fused path."""

    def __init__(self, input_dim: int = 32, head_dim_mul: float = 0.5, att_stride: int = 2, att_kernel: int = 5):
        super().__init__()
        self.num_heads = int(max(1, (input_dim * head_dim_mul) // 30))
        self.head_dim = int((input_dim // self.num_heads) * head_dim_mul)
        self.num_keys = 3
        total_dim = int(self.head_dim * self.num_heads * self.num_keys)
        self.conv_proj = _conv_bn(input_dim, input_dim, att_kernel, att_stride, groups=input_dim)
        self.pwise = nn.Conv2d(input_dim, total_dim, kernel_size=1, stride=1, padding=0, bias=False)
        self.o_proj_inpdim = self.head_dim * self.num_heads
        self.o_proj = nn.Conv2d(self.o_proj_inpdim, input_dim, kernel_size=1, stride=1, padding=0)
        self.upsampling = nn.ConvTranspose2d(input_dim, input_dim, kernel_size=att_stride * 2, stride=att_stride,
                                             padding=att_stride // 2, groups=input_dim)  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        xout = self.conv_proj(x)
        xout = self.pwise(xout)
        N, _, h, w = xout.size()
        qkv = xout.reshape(N, self.num_heads, self.num_keys * self.head_dim, h * w)
        qkv = qkv.permute(0, 1, 3, 2)  # [N, Head, SeqLen, Dims]
        q, k, v = qkv.chunk(3, dim=3)
        values = F.scaled_dot_product_attention(q, k, v)
        o = self.o_proj(values.permute(0, 1, 3, 2).reshape(N, self.o_proj_inpdim, h, w))
        o = self.upsampling(o)
        return o[..., :H, :W]


class SHMA(nn.Module):
    """timm 1.0.31 iformer.py SHMA (Single-Head Modulation Attention), fused path."""

    def __init__(self, dim: int = 16, ratio: int = 1, head_dim_reduction_ratio: int = 2):
        super().__init__()
        mid_dim = int(dim * ratio)
        dim_attn = dim // head_dim_reduction_ratio
        self.q = _conv_bn(dim, dim_attn)
        self.k = _conv_bn(dim, dim_attn)
        self.v_gate = _conv_bn(dim, 2 * mid_dim)
        self.gate_act = nn.Sigmoid()
        self.proj = _conv_bn(mid_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, _, H, W = x.shape  # window_size 0, as in every timm iFormer (no window partition)
        v, gate = self.gate_act(self.v_gate(x)).chunk(2, dim=1)
        q = self.q(x).flatten(2)
        k = self.k(x).flatten(2)
        v = v.flatten(2)
        q_t = q.transpose(-1, -2).unsqueeze(1)
        k_t = k.transpose(-1, -2).unsqueeze(1)
        v_t = v.transpose(-1, -2).unsqueeze(1)
        x_attn = F.scaled_dot_product_attention(q_t, k_t, v_t, dropout_p=0.0)
        x_attn = x_attn.transpose(-1, -2).reshape(B, -1, H, W)
        return self.proj(x_attn * gate)


class Residual(nn.Module):
    """timm 1.0.31 convmixer.py Residual."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x) + x


class ConvMixerBlock(nn.Sequential):
    """One of timm 1.0.31 convmixer.py ConvMixer's blocks (an even kernel: torch pads 'same' unevenly)."""

    def __init__(self, dim: int = 8, kernel_size: int = 4) -> None:
        super().__init__(
            Residual(nn.Sequential(nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"), nn.GELU(),
                                   nn.BatchNorm2d(dim))),  # fmt: skip
            nn.Conv2d(dim, dim, kernel_size=1),
            nn.GELU(),
            nn.BatchNorm2d(dim),
        )


MODELS = {
    "lowformer_conv_attention": (ConvAttention, (32, 12, 12)),
    "iformer_shma": (SHMA, (16, 6, 6)),
    "convmixer_block": (ConvMixerBlock, (8, 9, 9)),
}
