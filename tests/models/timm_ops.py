"""Stand-ins for the everyday tensor operations of timm 1.0.31's models (tensor-tensor sub and div, sum and
mean over axes, stack, expand / expand_as, addcmul, parameters of any shape as operands, group_norm and
LayerNorm2d without a bias, EvoNorm's group statistics), copied down to the lines that matter so that
`make test` checks them without timm. Each class names the timm source it copies
(/work/wt/realmodels/.venv-real/lib/python3.11/site-packages/timm)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RepMixer(nn.Module):
    """timm/models/fastvit.py: RepMixer (inference off): x + layer_scale(mixer(x) - norm(x))."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.norm = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1, groups=dim, bias=False), nn.BatchNorm2d(dim))
        self.mixer = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1, groups=dim, bias=False), nn.BatchNorm2d(dim))
        self.layer_scale = nn.Parameter(1e-5 * torch.ones((dim, 1, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layer_scale * (self.mixer(x) - self.norm(x))


class StarReLU(nn.Module):
    """timm/models/metaformer.py: StarReLU, s * relu(x) ** 2 + b with [1]-shaped s and b."""

    def __init__(self, scale_learnable: bool = True) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.scale = nn.Parameter(torch.ones(1), requires_grad=scale_learnable)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.relu(x) ** 2 + self.bias


class GroupNorm1(nn.GroupNorm):
    """timm/layers/norm.py: GroupNorm1 (one group, F.group_norm in its own forward)."""

    def __init__(self, num_channels: int, **kwargs) -> None:
        super().__init__(1, num_channels, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


class GroupNorm1NoBias(GroupNorm1):
    """timm/models/metaformer.py: GroupNorm1NoBias."""

    def __init__(self, num_channels: int, **kwargs) -> None:
        super().__init__(num_channels, **kwargs)
        self.eps = kwargs.get("eps", 1e-6)
        self.bias = None


class LayerNorm2d(nn.LayerNorm):
    """timm/layers/norm.py: LayerNorm2d (installed by the tests as timm.layers.norm.LayerNorm2d)."""

    def __init__(self, num_channels: int, eps: float = 1e-6, affine: bool = True) -> None:
        super().__init__(num_channels, eps=eps, elementwise_affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class LayerNorm2dNoBias(LayerNorm2d):
    """timm/models/metaformer.py: LayerNorm2dNoBias."""

    def __init__(self, num_channels: int, **kwargs) -> None:
        super().__init__(num_channels, **kwargs)
        self.eps = kwargs.get("eps", 1e-6)
        self.bias = None


class PoolFormerV2Block(nn.Module):
    """timm/models/metaformer.py: MetaFormerBlock with Pooling (pool(x) - x), GroupNorm1NoBias, an Mlp of 1x1
    convs with StarReLU, and the res_scale Scale (x * scale.view(-1, 1, 1))."""

    def __init__(self, dim: int = 8, norm=GroupNorm1NoBias) -> None:
        super().__init__()
        self.norm1 = norm(dim)
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.norm2 = norm(dim)
        self.fc1 = nn.Conv2d(dim, 2 * dim, 1, bias=False)
        self.act = StarReLU(scale_learnable=False)
        self.fc2 = nn.Conv2d(2 * dim, dim, 1, bias=False)
        self.res_scale = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        x = x * self.res_scale.view(-1, 1, 1) + (self.pool(y) - y)
        return x + self.fc2(self.act(self.fc1(self.norm2(x))))


class CaFormerStem(PoolFormerV2Block):
    """The same block with LayerNorm2dNoBias, as caformer's convolutional stages normalise."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__(dim, norm=LayerNorm2dNoBias)


class LearnableAffineBlock(nn.Module):
    """timm/models/hgnet.py: LearnableAffineBlock after a conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.scale = nn.Parameter(torch.tensor([1.0]))
        self.bias = nn.Parameter(torch.tensor([0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.conv(x) + self.bias


class LiteMLA(nn.Module):
    """timm/models/efficientvit_mit.py: LiteMLA (no aggregation branches), `out[..., :-1] / (out[..., -1:] + eps)`."""

    def __init__(self, dim: int = 8, eps: float = 1e-5) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps
        self.qkv = nn.Conv2d(dim, 3 * dim, 1, bias=False)
        self.proj = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, _, H, W = x.shape
        qkv = self.qkv(x).reshape(B, -1, 3 * self.dim, H * W).transpose(-1, -2)
        q, k, v = qkv.chunk(3, dim=-1)
        q, k = F.relu(q), F.relu(k)
        v = F.pad(v, (0, 1), mode="constant", value=1.0)
        kv = k.transpose(-1, -2) @ v
        out = q @ kv
        out = out[..., :-1] / (out[..., -1:] + self.eps)
        out = torch.transpose(out, -1, -2).reshape(B, -1, H, W)
        return self.proj(out)


class EcaModule(nn.Module):
    """timm/layers/eca.py: EcaModule, `x * y.expand_as(x)`."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean((2, 3)).view(x.shape[0], 1, -1)
        y = self.conv(y)
        y = y.view(x.shape[0], -1, 1, 1).sigmoid()
        return x * y.expand_as(x)


class LinearSelfAttention(nn.Module):
    """timm/models/mobilevit.py: LinearSelfAttention (MobileViTv2): sum(dim=-1, keepdim) and expand_as."""

    def __init__(self, embed_dim: int = 8) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.qkv_proj = nn.Conv2d(embed_dim, 1 + 2 * embed_dim, 1)
        self.out_proj = nn.Conv2d(embed_dim, embed_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.qkv_proj(x)
        query, key, value = qkv.split([1, self.embed_dim, self.embed_dim], dim=1)
        context_scores = F.softmax(query, dim=-1)
        context_vector = (key * context_scores).sum(dim=-1, keepdim=True)
        out = F.relu(value) * context_vector.expand_as(value)
        return self.out_proj(out)


class SelectiveKernel(nn.Module):
    """timm/layers/selective_kernel.py: SelectiveKernel, torch.stack(paths, dim=1), x.sum(1), torch.sum(x, 1)."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.paths = nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=d, dilation=d) for d in (1, 2)])
        self.fc_reduce = nn.Conv2d(channels, 4, 1)
        self.fc_select = nn.Conv2d(4, channels * 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.stack([op(x) for op in self.paths], dim=1)
        B, C, H, W = x.shape[0], x.shape[2], x.shape[3], x.shape[4]
        attn = x.sum(1).mean((2, 3), keepdim=True)
        attn = self.fc_select(F.relu(self.fc_reduce(attn)))
        attn = torch.softmax(attn.view(B, 2, C, 1, 1), dim=1)
        return torch.sum(x * attn, dim=1)


class SplitAttn(nn.Module):
    """timm/layers/split_attn.py: SplitAttn (radix 2): reshape to [B, radix, C, H, W], x.sum(dim=1)."""

    def __init__(self, channels: int = 8, radix: int = 2) -> None:
        super().__init__()
        self.radix = radix
        self.conv = nn.Conv2d(channels, channels * radix, 3, padding=1, groups=radix)
        self.fc1 = nn.Conv2d(channels, 4, 1)
        self.fc2 = nn.Conv2d(4, channels * radix, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv(x))
        B, RC, H, W = x.shape
        x = x.reshape((B, self.radix, RC // self.radix, H, W))
        x_gap = x.sum(dim=1).mean((2, 3), keepdim=True)
        x_attn = self.fc2(F.relu(self.fc1(x_gap)))
        x_attn = torch.softmax(x_attn.view(B, self.radix, -1), dim=1).reshape(B, -1)
        return (x * x_attn.reshape((B, self.radix, RC // self.radix, 1, 1))).sum(dim=1)


class MambaOutHead(nn.Module):
    """timm/models/mambaout.py: MlpHead on channels-last features, `x.mean((1, 2))`."""

    def __init__(self, dim: int = 8, classes: int = 5) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(x.permute(0, 2, 3, 1).mean((1, 2))))


class HieraPoolProjection(nn.Module):
    """timm/models/hiera.py HieraBlock: the residual projected, then max-pooled over the query stride
    `x.view(B, q_stride, -1, C).amax(dim=1)` (its attention's queries pool the same way, on [B, heads, ...])."""

    def __init__(self, dim: int = 6, dim_out: int = 8, q_stride: int = 4) -> None:
        super().__init__()
        self.q_stride = q_stride
        self.proj = nn.Linear(dim, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        return x.view(x.shape[0], self.q_stride, -1, x.shape[-1]).amax(dim=1)


class CaitClassResidual(nn.Module):
    """timm/models/cait.py: the class token `cls_token.expand(B, -1, -1)` is the residual stream of the class
    blocks, `x_cls = x_cls + gamma_1 * attn(cat(x_cls, x))` (here a linear on the first token stands in for the
    class attention)."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.fc = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls_tokens = self.cls_token.expand(x.shape[0], -1, -1)
        return cls_tokens + self.fc(torch.cat((cls_tokens, x), dim=1)[:, :1])


class ResMlpAffine(nn.Module):
    """timm/models/mlp_mixer.py: Affine, torch.addcmul(beta, alpha, x) on [B, L, E] tokens."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones((1, 1, dim)))
        self.beta = nn.Parameter(torch.zeros((1, 1, dim)))
        self.fc = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.addcmul(self.beta, self.alpha, x))


def group_std(x: torch.Tensor, groups: int = 32, eps: float = 1e-5) -> torch.Tensor:
    """timm/layers/evo_norm.py: group_std (flatten False)."""
    B, C, H, W = x.shape
    x_dtype = x.dtype
    x = x.reshape(B, groups, C // groups, H, W)
    std = x.float().var(dim=(2, 3, 4), unbiased=False, keepdim=True).add(eps).sqrt().to(x_dtype)
    return std.expand(x.shape).reshape(B, C, H, W)


class EvoNorm2dS0(nn.Module):
    """timm/layers/evo_norm.py: EvoNorm2dS0 (resnetv2_50d_evos' norm layer)."""

    def __init__(self, num_features: int = 8, groups: int = 4, eps: float = 1e-5) -> None:
        super().__init__()
        self.groups, self.eps = groups, eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.v = nn.Parameter(torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_dtype = x.dtype
        v_shape = (1, -1, 1, 1)
        v = self.v.view(v_shape).to(x_dtype)
        x = x * (x * v).sigmoid() / group_std(x, self.groups, self.eps)
        return x * self.weight.view(v_shape).to(x_dtype) + self.bias.view(v_shape).to(x_dtype)


class ParallelThingsBlock(nn.Module):
    """timm/models/vision_transformer.py: ParallelThingsBlock, `x + torch.stack([attn(x) ...]).sum(dim=0)` (the
    branches simplified to LayerNorm + Linear)."""

    def __init__(self, dim: int = 8, num_parallel: int = 2) -> None:
        super().__init__()
        self.attns = nn.ModuleList([nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim)) for _ in range(num_parallel)])
        self.ffns = nn.ModuleList([nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim)) for _ in range(num_parallel)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + torch.stack([attn(x) for attn in self.attns]).sum(dim=0)
        return x + torch.stack([ffn(x) for ffn in self.ffns]).sum(dim=0)


class CrossVitHeads(nn.Module):
    """timm/models/crossvit.py: CrossVit.forward_head, `torch.mean(torch.stack([head(xs[i]) ...], dim=0), dim=0)`
    over the class tokens of its branches (here three tokens of one sequence)."""

    def __init__(self, dim: int = 8, classes: int = 5) -> None:
        super().__init__()
        self.head = nn.ModuleList([nn.Linear(dim, classes) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xs = [x[:, i] for i in range(3)]
        return torch.mean(torch.stack([head(xs[i]) for i, head in enumerate(self.head)], dim=0), dim=0)


class CrossVitScales(nn.Module):
    """timm/models/crossvit.py: CrossVit.forward_features, each branch's patch embedding on the image resized to its
    size with `F.interpolate(x, size=ss, mode='bicubic', align_corners=False)`."""

    def __init__(self) -> None:
        super().__init__()
        self.patch_embed = nn.ModuleList([nn.Conv2d(3, 4, 4, 4), nn.Conv2d(3, 4, 2, 2)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        small = F.interpolate(x, size=(8, 8), mode="bicubic", align_corners=False)
        return self.patch_embed[0](x).flatten(2).mean(2) + self.patch_embed[1](small).flatten(2).mean(2)


MODELS = {
    "fastvit_repmixer": (RepMixer, (8, 6, 6)),
    "poolformerv2_block": (PoolFormerV2Block, (8, 6, 6)),
    "caformer_stem": (CaFormerStem, (8, 6, 6)),
    "hgnet_affine": (LearnableAffineBlock, (3, 6, 6)),
    "efficientvit_lite_mla": (LiteMLA, (8, 4, 4)),
    "eca": (EcaModule, (8, 5, 5)),
    "mobilevitv2_attention": (LinearSelfAttention, (8, 4, 4)),
    "selective_kernel": (SelectiveKernel, (8, 6, 6)),
    "split_attention": (SplitAttn, (8, 6, 6)),
    "mambaout_head": (MambaOutHead, (8, 4, 4)),
    "resmlp_affine": (ResMlpAffine, (6, 8)),
    "hiera_pool": (HieraPoolProjection, (16, 6)),
    "cait_class_residual": (CaitClassResidual, (5, 8)),
    "evonorm_s0": (EvoNorm2dS0, (8, 4, 4)),
    "parallel_vit_block": (ParallelThingsBlock, (5, 8)),
    "crossvit_heads": (CrossVitHeads, (5, 8)),
    "crossvit_scales": (CrossVitScales, (3, 12, 12)),
}
