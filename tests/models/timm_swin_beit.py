"""timm 1.0.31's Swin shifted-window attention mask and BEiT's partly-buffer qkv bias, copied (the lines that
matter) from timm/models/swin_transformer.py (get_relative_position_index, WindowAttention,
SwinTransformerBlock.get_attn_mask / _attn) and timm/models/beit.py (Attention with q_bias, a zero k_bias
buffer and v_bias, and its relative position bias)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tests.models.batch_layout import window_partition, window_reverse


def get_relative_position_index(win_h: int, win_w: int) -> torch.Tensor:
    """swin_transformer.py get_relative_position_index."""
    coords = torch.stack(torch.meshgrid(torch.arange(win_h), torch.arange(win_w), indexing="ij"))
    coords_flatten = torch.flatten(coords, 1)
    relative_coords = (coords_flatten[:, :, None] - coords_flatten[:, None, :]).permute(1, 2, 0).contiguous()
    relative_coords[:, :, 0] += win_h - 1
    relative_coords[:, :, 1] += win_w - 1
    relative_coords[:, :, 0] *= 2 * win_w - 1
    return relative_coords.sum(-1)


class WindowAttention(nn.Module):
    """swin_transformer.py WindowAttention: relative position bias, then the shifted blocks' mask."""

    def __init__(self, dim: int, num_heads: int, window_size: int, fused: bool = False):
        super().__init__()
        self.num_heads, self.window_area, self.fused_attn = num_heads, window_size * window_size, fused
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.randn((2 * window_size - 1) ** 2, num_heads) * .02)
        self.register_buffer("relative_position_index", get_relative_position_index(window_size, window_size),
                             persistent=False)  # fmt: skip
        self.qkv = nn.Linear(dim, dim * 3)
        self.attn_drop = nn.Dropout(0.0)
        self.proj = nn.Linear(dim, dim)
        self.softmax = nn.Softmax(dim=-1)

    def _get_rel_pos_bias(self) -> torch.Tensor:
        relative_position_bias = self.relative_position_bias_table[
            self.relative_position_index.view(-1)].view(self.window_area, self.window_area, -1)
        return relative_position_bias.permute(2, 0, 1).contiguous().unsqueeze(0)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        qkv = self.qkv(x).reshape(B_, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if self.fused_attn:
            attn_mask = self._get_rel_pos_bias()
            if mask is not None:
                num_win = mask.shape[0]
                mask = mask.view(1, num_win, 1, N, N).expand(B_ // num_win, -1, self.num_heads, -1, -1)
                attn_mask = attn_mask + mask.reshape(-1, self.num_heads, N, N)
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        else:
            q = q * self.scale
            attn = q @ k.transpose(-2, -1)
            attn = attn + self._get_rel_pos_bias()
            if mask is not None:
                num_win = mask.shape[0]
                attn = attn.view(-1, num_win, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
                attn = attn.view(-1, self.num_heads, N, N)
            attn = self.softmax(attn)
            attn = self.attn_drop(attn)
            x = attn @ v
        x = x.transpose(1, 2).reshape(B_, N, -1)
        return self.proj(x)


class SwinBlock(nn.Module):
    """SwinTransformerBlock's attention half on [B, H, W, C]: shift, windows, masked attention, reverse."""

    def __init__(self, dim: int = 32, resolution: int = 8, window_size: int = 4, shift: int = 2, num_heads: int = 2,
                 fused: bool = False):  # fmt: skip
        super().__init__()
        self.window_size, self.shift_size = window_size, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, num_heads, window_size, fused)
        self.register_buffer("attn_mask", self.get_attn_mask(resolution) if shift else None, persistent=False)

    def get_attn_mask(self, size: int) -> torch.Tensor:
        img_mask = torch.zeros((1, size, size, 1))
        cnt = 0
        for h in ((0, -self.window_size), (-self.window_size, -self.shift_size), (-self.shift_size, None)):
            for w in ((0, -self.window_size), (-self.window_size, -self.shift_size), (-self.shift_size, None)):
                img_mask[:, h[0]:h[1], w[0]:w[1], :] = cnt
                cnt += 1
        mask_windows = window_partition(img_mask, self.window_size).view(-1, self.window_size * self.window_size)
        attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
        return attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))

    def forward(self, x):
        B, H, W, C = x.shape
        shortcut = x
        x = self.norm1(x)
        if self.shift_size:
            x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
        windows = window_partition(x, self.window_size).view(-1, self.window_size * self.window_size, C)
        windows = self.attn(windows, mask=self.attn_mask).view(-1, self.window_size, self.window_size, C)
        x = window_reverse(windows, self.window_size, H, W)
        if self.shift_size:
            x = torch.roll(x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        return shortcut + x


class BeitAttention(nn.Module):
    """beit.py Attention with qkv_bias (q_bias, a zero k_bias buffer, v_bias) and a relative position bias over
    the window and the class token (beit.py gen_relative_position_index)."""

    def __init__(self, dim: int = 32, num_heads: int = 4, window: int = 3, fused: bool = False,
                 separate: bool = False):  # fmt: skip
        super().__init__()
        self.num_heads, self.window, self.fused_attn, self.qkv_bias_separate = num_heads, window, fused, separate
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.randn(dim) * .02)
        self.register_buffer("k_bias", torch.zeros(dim), persistent=False)
        self.v_bias = nn.Parameter(torch.randn(dim) * .02)
        tokens = window * window + 1
        self.relative_position_bias_table = nn.Parameter(torch.randn((2 * window - 1) ** 2 + 3, num_heads) * .02)
        index = torch.zeros(tokens, tokens, dtype=torch.long)  # beit.py: the window's pairs, then 3 class entries
        index[1:, 1:] = get_relative_position_index(window, window)
        index[0, 0:] = (2 * window - 1) ** 2
        index[0:, 0] = (2 * window - 1) ** 2 + 1
        index[0, 0] = (2 * window - 1) ** 2 + 2
        self.register_buffer("relative_position_index", index, persistent=False)
        self.proj = nn.Linear(dim, dim)

    def _get_rel_pos_bias(self) -> torch.Tensor:
        tokens = self.window * self.window + 1
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(tokens, tokens, -1)
        return bias.permute(2, 0, 1).contiguous().unsqueeze(0)

    def forward(self, x):
        B, N, C = x.shape
        qkv_bias = torch.cat((self.q_bias, self.k_bias, self.v_bias))
        if self.qkv_bias_separate:
            qkv = self.qkv(x)
            qkv += qkv_bias
        else:
            qkv = F.linear(x, weight=self.qkv.weight, bias=qkv_bias)
        q, k, v = qkv.reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        if self.fused_attn:
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=self._get_rel_pos_bias())
        else:
            attn = (q * self.scale) @ k.transpose(-2, -1)
            attn = (attn + self._get_rel_pos_bias()).softmax(dim=-1)
            x = attn @ v
        return self.proj(x.transpose(1, 2).reshape(B, N, C))
