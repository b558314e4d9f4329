"""Per-sample layers on windows, heads, patches or rows folded into torch's batch: the blocks of timm 1.0.31 that
do it, copied down to the lines that matter (each class names its source). archcalc imports each folded call as its
layer type applied over the leading axis (`over: 1`, archcalc/layers/over.py)."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from tests.models.timm_blocks import BatchNormAct2d, Block


class ConvNorm(nn.Sequential):
    """timm/models/efficientvit_msra.py: ConvNorm (Conv2d without bias, then BatchNorm2d)."""

    def __init__(self, in_chs: int, out_chs: int, ks: int = 1, stride: int = 1, pad: int = 0, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, ks, stride, pad, 1, groups, bias=False)
        self.bn = nn.BatchNorm2d(out_chs)


class CascadedGroupAttention(nn.Module):
    """timm/models/efficientvit_msra.py: CascadedGroupAttention (eval mode: the bias gathered on every call)."""

    def __init__(self, dim: int, key_dim: int, num_heads: int = 4, attn_ratio: int = 2, resolution: int = 7,
                 kernels: tuple[int, ...] = (5, 5, 5, 5)) -> None:  # fmt: skip
        super().__init__()
        self.num_heads, self.scale, self.key_dim = num_heads, key_dim**-0.5, key_dim
        self.val_dim = int(attn_ratio * key_dim)
        self.qkvs = nn.ModuleList(ConvNorm(dim // num_heads, self.key_dim * 2 + self.val_dim) for _ in range(num_heads))
        self.dws = nn.ModuleList(ConvNorm(self.key_dim, self.key_dim, kernels[i], 1, kernels[i] // 2,
                                          groups=self.key_dim) for i in range(num_heads))  # fmt: skip
        self.proj = nn.Sequential(nn.ReLU(), ConvNorm(self.val_dim * num_heads, dim))
        points = list(itertools.product(range(resolution), range(resolution)))
        offsets: dict = {}
        idxs = []
        for p1 in points:
            for p2 in points:
                offset = (abs(p1[0] - p2[0]), abs(p1[1] - p2[1]))
                idxs.append(offsets.setdefault(offset, len(offsets)))
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, resolution * resolution))
        self.register_buffer("attention_bias_idxs", torch.tensor(idxs).view(len(points), len(points)),
                             persistent=False)  # fmt: skip

    def forward(self, x):
        B, C, H, W = x.shape
        feats_in = x.chunk(len(self.qkvs), dim=1)
        feats_out = []
        feat = feats_in[0]
        attn_bias = self.attention_biases[:, self.attention_bias_idxs]
        for head_idx, (qkv, dws) in enumerate(zip(self.qkvs, self.dws)):
            if head_idx > 0:
                feat = feat + feats_in[head_idx]
            feat = qkv(feat)
            q, k, v = feat.view(B, -1, H, W).split([self.key_dim, self.key_dim, self.val_dim], dim=1)
            q = dws(q)
            q, k, v = q.flatten(2), k.flatten(2), v.flatten(2)
            q = q * self.scale
            attn = q.transpose(-2, -1) @ k
            attn = attn + attn_bias[head_idx]
            attn = attn.softmax(dim=-1)
            feat = v @ attn.transpose(-2, -1)
            feat = feat.view(B, self.val_dim, H, W)
            feats_out.append(feat)
        return self.proj(torch.cat(feats_out, 1))


class LocalWindowAttention(nn.Module):
    """timm/models/efficientvit_msra.py: LocalWindowAttention (windows folded into the batch: [B·nW, C, ws, ws])."""

    def __init__(self, dim: int = 32, key_dim: int = 4, num_heads: int = 4, window_resolution: int = 7) -> None:
        super().__init__()
        self.attn = CascadedGroupAttention(dim, key_dim, num_heads, resolution=window_resolution)
        self.ws = window_resolution

    def forward(self, x):
        B, C, H, W = x.shape
        ws = self.ws
        x = x.permute(0, 2, 3, 1)
        pad_b, pad_r = (ws - H % ws) % ws, (ws - W % ws) % ws
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        pH, pW = H + pad_b, W + pad_r
        nH, nW = pH // ws, pW // ws
        x = x.view(B, nH, ws, nW, ws, C).transpose(2, 3)
        x = x.reshape(B * nH * nW, ws, ws, C).permute(0, 3, 1, 2)
        x = self.attn(x)
        x = x.permute(0, 2, 3, 1).view(B, nH, nW, ws, ws, C)
        x = x.transpose(2, 3).reshape(B, pH, pW, C)
        x = x[:, :H, :W].contiguous()
        return x.permute(0, 3, 1, 2)


class MobileVitBlock(nn.Module):
    """timm/models/mobilevit.py: MobileVitBlock (patches folded into the batch: [B·P, N, C]; the transformer is
    timm's ViT Block, whose Attention imports as multi_head_attention over the patch axis)."""

    def __init__(self, chs: int = 16, dim: int = 24, heads: int = 2, depth: int = 2, patch: int = 2) -> None:
        super().__init__()
        self.conv_kxk = nn.Conv2d(chs, chs, 3, padding=1)
        self.conv_1x1 = nn.Conv2d(chs, dim, 1, bias=False)
        self.transformer = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.conv_proj = nn.Conv2d(dim, chs, 1)
        self.patch_size, self.patch_area = (patch, patch), patch * patch

    def forward(self, x):
        x = self.conv_1x1(self.conv_kxk(x))
        patch_h, patch_w = self.patch_size
        B, C, H, W = x.shape
        num_patch_h, num_patch_w = H // patch_h, W // patch_w
        num_patches = num_patch_h * num_patch_w
        x = x.reshape(B * C * num_patch_h, patch_h, num_patch_w, patch_w).transpose(1, 2)
        x = x.reshape(B, C, num_patches, self.patch_area).transpose(1, 3).reshape(B * self.patch_area, num_patches, -1)
        x = self.norm(self.transformer(x))
        x = x.contiguous().view(B, self.patch_area, num_patches, -1)
        x = x.transpose(1, 3).reshape(B * C * num_patch_h, num_patch_w, patch_h, patch_w)
        x = x.transpose(1, 2).reshape(B, C, num_patch_h * patch_h, num_patch_w * patch_w)
        return self.conv_proj(x)


class LSTM2d(nn.Module):
    """timm/models/sequencer.py: RNN2dBase with LSTM2d's bidirectional LSTMs (rows and columns folded into the
    batch: [B·W, H, C] and [B·H, W, C]), union "cat", with_fc."""

    def __init__(self, input_size: int = 16, hidden_size: int = 8) -> None:
        super().__init__()
        self.rnn_v = nn.LSTM(input_size, hidden_size, 1, batch_first=True, bias=True, bidirectional=True)
        self.rnn_h = nn.LSTM(input_size, hidden_size, 1, batch_first=True, bias=True, bidirectional=True)
        self.fc = nn.Linear(4 * hidden_size, input_size)

    def forward(self, x):
        B, H, W, C = x.shape
        v = x.permute(0, 2, 1, 3)
        v = v.reshape(-1, H, C)
        v, _ = self.rnn_v(v)
        v = v.reshape(B, W, H, -1)
        v = v.permute(0, 2, 1, 3)
        h = x.reshape(-1, W, C)
        h, _ = self.rnn_h(h)
        h = h.reshape(B, H, W, -1)
        return self.fc(torch.cat([v, h], dim=-1))


def reshape_pre_pool(x, feat_size: list[int]):
    """timm/models/mvitv2.py: reshape_pre_pool without a class token ([B, heads, N, D] -> [B·heads, D, H, W])."""
    H, W = feat_size
    return x.reshape(-1, H, W, x.shape[-1]).permute(0, 3, 1, 2).contiguous()


def reshape_post_pool(x, num_heads: int):
    """timm/models/mvitv2.py: reshape_post_pool without a class token."""
    feat_size = [x.shape[2], x.shape[3]]
    x = x.reshape(-1, num_heads, x.shape[1], x.shape[2] * x.shape[3]).transpose(2, 3)
    return x, feat_size


class MultiScaleAttention(nn.Module):
    """timm/models/mvitv2.py: MultiScaleAttention with conv pooling (heads folded into the batch), its LayerNorms,
    residual pooling; no class token and no relative positions."""

    def __init__(self, dim: int = 32, num_heads: int = 2, kernel_q: int = 3, stride_q: int = 2,
                 stride_kv: int = 2) -> None:  # fmt: skip
        super().__init__()
        self.num_heads, self.dim_out = num_heads, dim
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        pad = kernel_q // 2
        self.pool_q = nn.Conv2d(self.head_dim, self.head_dim, kernel_q, stride_q, pad, groups=self.head_dim, bias=False)
        self.norm_q = nn.LayerNorm(self.head_dim)
        self.pool_k = nn.Conv2d(self.head_dim, self.head_dim, kernel_q, stride_kv, pad, groups=self.head_dim,
                                bias=False)  # fmt: skip
        self.norm_k = nn.LayerNorm(self.head_dim)
        self.pool_v = nn.Conv2d(self.head_dim, self.head_dim, kernel_q, stride_kv, pad, groups=self.head_dim,
                                bias=False)  # fmt: skip
        self.norm_v = nn.LayerNorm(self.head_dim)

    def forward(self, x):
        B, C, H, W = x.shape
        x = x.flatten(2).transpose(1, 2)
        feat_size = [H, W]
        B, N, _ = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(dim=0)
        q, q_size = reshape_post_pool(self.pool_q(reshape_pre_pool(q, feat_size)), self.num_heads)
        q = self.norm_q(q)
        k, _ = reshape_post_pool(self.pool_k(reshape_pre_pool(k, feat_size)), self.num_heads)
        k = self.norm_k(k)
        v, _ = reshape_post_pool(self.pool_v(reshape_pre_pool(v, feat_size)), self.num_heads)
        v = self.norm_v(v)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        x = attn @ v
        x = x + q
        x = x.transpose(1, 2).reshape(B, -1, self.dim_out)
        return self.proj(x)


def window_partition(x, window_size: int):
    """timm/models/hieradet_sam2.py: window_partition ([B, H, W, C] -> [B·nW, ws, ws, C])."""
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)


class WindowQueryPool(nn.Module):
    """timm/models/hieradet_sam2.py: MultiScaleAttention's query pooling on windows (MaxPool2d on [B·nW, C, w, w]),
    after window_partition; the attention itself (SDPA) is left out."""

    def __init__(self, dim: int = 16, heads: int = 2, window: int = 4) -> None:
        super().__init__()
        self.num_heads, self.window = heads, window
        self.qkv = nn.Linear(dim, dim * 3)
        self.q_pool = nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):  # [B, H, W, C]
        x = window_partition(x, self.window)
        B, H, W, _ = x.shape
        qkv = self.qkv(x).reshape(B, H * W, 3, self.num_heads, -1)
        q, k, v = torch.unbind(qkv, 2)
        q = q.reshape(B, H, W, -1).permute(0, 3, 1, 2)
        q = self.q_pool(q).permute(0, 2, 3, 1)
        return self.proj(q)



class WindowFunctions(nn.Module):
    """Functions on windows ([B·nW, C, w, w]): F.batch_norm inside timm's BatchNormAct2d (its copy in
    tests/models/timm_blocks.py) and F.max_pool2d, after an nn.Conv2d."""

    def __init__(self, dim: int = 8, window: int = 4) -> None:
        super().__init__()
        self.window = window
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)
        self.norm = BatchNormAct2d(dim)

    def forward(self, x):  # [B, C, H, W]
        x = window_partition(x.permute(0, 2, 3, 1), self.window).permute(0, 3, 1, 2)
        return F.max_pool2d(self.norm(self.conv(x)), 2)
