"""Relative-position biases an MLP computes from a coordinate buffer on every call: copies of the few lines of
timm 1.0.31's RelPosMlp (timm/layers/pos_embed_rel.py: mode 'cr', as vit_relpos_* build it) and of
vision_transformer_relpos.RelPosAttention (fused: the bias as attn_mask; not fused: `self.rel_pos(attn)`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tests.models.relative_position import relative_position_index


def relative_log_coords(window: tuple[int, int]) -> torch.Tensor:
    """timm/layers/pos_embed_rel.py: gen_relative_log_coords, mode 'cr' ([2w₀−1, 2w₁−1, 2])."""
    rows = torch.arange(-(window[0] - 1), window[0]).to(torch.float32)
    cols = torch.arange(-(window[1] - 1), window[1]).to(torch.float32)
    table = torch.stack(torch.meshgrid(rows, cols, indexing="ij")).permute(1, 2, 0).contiguous()
    return torch.sign(table) * torch.log(1.0 + table.abs())


class Mlp(nn.Module):
    """timm/layers/mlp.py: Mlp (fc1, act, drop1, norm, fc2, drop2)."""

    def __init__(self, features: int, hidden: int, out: int, bias: tuple[bool, bool] = (True, True)) -> None:
        super().__init__()
        self.fc1, self.act, self.drop1 = nn.Linear(features, hidden, bias=bias[0]), nn.ReLU(), nn.Dropout(0.125)
        self.norm, self.fc2, self.drop2 = nn.Identity(), nn.Linear(hidden, out, bias=bias[1]), nn.Dropout(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.norm(self.drop1(self.act(self.fc1(x))))))


class RelPosMlp(nn.Module):
    """timm/layers/pos_embed_rel.py: RelPosMlp, mode 'cr' (no bias_act gain), with `bias` to choose the linears'
    biases as mode 'swin' does ((True, False))."""

    def __init__(self, window: tuple[int, int] = (3, 3), num_heads: int = 2, hidden_dim: int = 8,
                 bias: tuple[bool, bool] = (True, True)) -> None:  # fmt: skip
        super().__init__()
        self.num_heads = num_heads
        self.bias_shape = (window[0] * window[1],) * 2 + (num_heads,)
        self.bias_act = nn.Identity()
        self.mlp = Mlp(2, hidden_dim, num_heads, bias)
        self.register_buffer("relative_position_index", relative_position_index(window).view(-1), persistent=False)
        self.register_buffer("rel_coords_log", relative_log_coords(window), persistent=False)

    def get_bias(self) -> torch.Tensor:
        relative_position_bias = self.mlp(self.rel_coords_log)
        relative_position_bias = relative_position_bias.view(-1, self.num_heads)[self.relative_position_index]
        relative_position_bias = relative_position_bias.view(self.bias_shape)
        relative_position_bias = relative_position_bias.permute(2, 0, 1)
        relative_position_bias = self.bias_act(relative_position_bias)
        return relative_position_bias.unsqueeze(0).contiguous()

    def forward(self, attn: torch.Tensor) -> torch.Tensor:
        return attn + self.get_bias()


class RelPosAttention(nn.Module):
    """timm/models/vision_transformer_relpos.py: RelPosAttention on [B, N, C] tokens with a RelPosMlp."""

    def __init__(self, dim: int = 8, num_heads: int = 2, window: tuple[int, int] = (3, 3), fused: bool = True,
                 bias: tuple[bool, bool] = (True, True)) -> None:  # fmt: skip
        super().__init__()
        self.num_heads, self.head_dim, self.fused_attn = num_heads, dim // num_heads, fused
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.rel_pos = RelPosMlp(window, num_heads, bias=bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if self.fused_attn:
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=self.rel_pos.get_bias())
        else:
            attn = (q * self.scale) @ k.transpose(-2, -1)
            attn = self.rel_pos(attn).softmax(dim=-1)
            x = attn @ v
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class SigmoidRelPosMlp(RelPosMlp):
    """timm/models/swin_transformer_v2.py WindowAttention (and RelPosMlp in mode 'swin'): 16·sigmoid of the
    gathered bias, with cpb_mlp's Linear(2, h), ReLU, Linear(h, H, bias=False)."""

    def __init__(self) -> None:
        super().__init__(bias=(True, False))

    def get_bias(self) -> torch.Tensor:
        return 16 * torch.sigmoid(super().get_bias())


class TanhRelPosMlp(RelPosMlp):
    """A squashing no rule reads (tanh): the import must say so."""

    def get_bias(self) -> torch.Tensor:
        return torch.tanh(super().get_bias())
