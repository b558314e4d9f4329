"""Stand-ins for timm's building blocks (timm 1.0.31), copied down to the lines that matter, so `make test`
(without timm) checks the rules keyed on timm's own classes: tests install them under timm's dotted names
(`timm.layers.attention.Attention`, ...). Each class names the timm source it copies."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    """timm/layers/attention.py: Attention (qkv_bias, qk_norm, fused_attn; gate and dim_out left out)."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, qk_norm: bool = False,
                 proj_bias: bool = True, attn_head_dim: int | None = None) -> None:  # fmt: skip
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = attn_head_dim or dim // num_heads
        self.attn_dim = num_heads * self.head_dim
        self.scale = self.head_dim**-0.5
        self.fused_attn = True
        self.qkv = nn.Linear(dim, self.attn_dim * 3, bias=qkv_bias)
        self.q_norm = nn.LayerNorm(self.head_dim) if qk_norm else nn.Identity()
        self.k_norm = nn.LayerNorm(self.head_dim) if qk_norm else nn.Identity()
        self.attn_drop = nn.Dropout(0.0)
        self.norm = nn.Identity()
        self.gate = None
        self.proj = nn.Linear(self.attn_dim, dim, bias=proj_bias)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        if self.fused_attn:
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal)
        else:
            q = q * self.scale
            attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
            x = attn @ v
        x = x.transpose(1, 2).reshape(B, N, self.attn_dim)
        return self.proj_drop(self.proj(self.norm(x)))


class LayerScale(nn.Module):
    """timm/models/vision_transformer.py: LayerScale (gamma of shape [dim], channels last)."""

    def __init__(self, dim: int, init_values: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Mlp(nn.Module):
    """timm/layers/mlp.py: Mlp."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.drop1 = nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0)
        self.norm, self.fc2, self.drop2 = nn.Identity(), nn.Linear(hidden, dim), nn.Dropout(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.norm(self.drop1(self.act(self.fc1(x))))))


class Block(nn.Module):
    """timm/models/vision_transformer.py: Block (pre-norm, layer scale, drop path as Identity)."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, qk_norm: bool = False) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias, qk_norm=qk_norm)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)
        self.ls2 = LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class VisionTransformer(nn.Module):
    """timm/models/vision_transformer.py: VisionTransformer (PatchEmbed's conv and flatten, class and
    register tokens expanded to the batch, a learned position table added, token pooling)."""

    def __init__(self, img_size: int = 32, patch: int = 8, dim: int = 32, depth: int = 2, heads: int = 4,
                 reg_tokens: int = 0, classes: int = 10, qkv_bias: bool = True, qk_norm: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.reg_token = nn.Parameter(torch.zeros(1, reg_tokens, dim)) if reg_tokens else None
        self.pos_embed = nn.Parameter(torch.randn(1, (img_size // patch) ** 2 + 1 + reg_tokens, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, qkv_bias, qk_norm) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def _pos_embed(self, x: torch.Tensor) -> torch.Tensor:
        to_cat = [self.cls_token.expand(x.shape[0], -1, -1)]
        if self.reg_token is not None:
            to_cat.append(self.reg_token.expand(x.shape[0], -1, -1))
        x = torch.cat(to_cat + [x], dim=1)
        return x + self.pos_embed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x).flatten(2).transpose(1, 2)  # PatchEmbed: NCHW -> NLC
        x = self.norm(self.blocks(self._pos_embed(x)))
        return self.head(x[:, 0])


class ConvNeXtBlock(nn.Module):
    """timm/models/convnext.py: ConvNeXtBlock (conv_mlp=False: channels-last MLP, gamma reshaped to
    [1, C, 1, 1] before the multiply)."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.conv_dw(x).permute(0, 2, 3, 1)
        x = self.mlp(self.norm(x)).permute(0, 3, 1, 2)
        x = x.mul(self.gamma.reshape(1, -1, 1, 1))
        return x + shortcut


class BatchNormAct2d(nn.BatchNorm2d):
    """timm/layers/norm_act.py: BatchNormAct2d (an nn.BatchNorm2d whose forward calls F.batch_norm, then its
    drop and act modules)."""

    def __init__(self, num_features: int, act_layer: type = nn.ReLU) -> None:
        super().__init__(num_features)
        self.drop = nn.Identity()
        self.act = act_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        x = F.batch_norm(x, self.running_mean if not self.training or self.track_running_stats else None,
                         self.running_var if not self.training or self.track_running_stats else None,
                         self.weight, self.bias, bn_training, self.momentum or 0.0, self.eps)  # fmt: skip
        return self.act(self.drop(x))


class ConvBnAct(nn.Module):
    """timm/layers/conv_bn_act.py: ConvNormAct (a conv, then BatchNormAct2d)."""

    def __init__(self, cin: int = 3, cout: int = 8, act_layer: type = nn.SiLU) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = BatchNormAct2d(cout, act_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class GhostModule(nn.Module):
    """timm/models/ghostnet.py: GhostModule (a primary conv, a cheap depthwise conv, concatenated, then the
    first out_chs channels kept: x[:, :out_chs])."""

    def __init__(self, cin: int = 8, out_chs: int = 12) -> None:
        super().__init__()
        self.out_chs = out_chs
        init = -(-out_chs // 2)
        self.primary_conv = nn.Sequential(nn.Conv2d(cin, init, 1, bias=False), BatchNormAct2d(init))
        self.cheap_operation = nn.Sequential(nn.Conv2d(init, init, 3, padding=1, groups=init, bias=False),
                                             BatchNormAct2d(init))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.primary_conv(x)
        x2 = self.cheap_operation(x1)
        out = torch.cat([x1, x2], dim=1)
        return out[:, : self.out_chs, :, :]


class GroupNormAct(nn.GroupNorm):
    """timm/layers/norm_act.py: GroupNormAct (F.group_norm with the module's weight and bias, then act)."""

    def __init__(self, num_channels: int, num_groups: int = 4) -> None:
        super().__init__(num_groups, num_channels)
        self.drop, self.act = nn.Identity(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
        return self.act(self.drop(x))


class ConvGroupNormAct(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.norm = nn.Conv2d(3, 8, 3, padding=1), GroupNormAct(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


class UpsampleCrop(nn.Module):
    """timm/models/cpubone.py (and lowformer.py): an upsampled map cropped back to the input's size,
    o[..., :H, :W]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)
        self.upsampling = nn.Upsample(scale_factor=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        return self.upsampling(self.conv(x))[..., : H - 2, : W - 1]
