"""Torch modules for Swin's window attention, on channels-last maps [N, *S, C] of any spatial rank.

torchvision has three copies of the same computation: `shifted_window_attention` (Swin V1, [N, H, W, C]),
the same function with `logit_scale` (Swin V2: cosine attention, a bias from the continuous position bias
MLP `cpb_mlp`) and `shifted_window_attention_3d` (Video Swin, [N, T, H, W, C], whose window shrinks to a
map smaller than it). These modules compute the same thing, rank-generically, with the same calls
(F.linear with the projections' weights, Tensor.matmul / `@`, F.normalize, F.softmax), so fvcore and
FlopCounterMode count them as they count torchvision's; their parameters and buffers carry torchvision's
names and sizes. The shift mask and the bias gather are built from positions at run time: constants that no
FLOP counter counts.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn


def relative_position_index(window: tuple[int, ...]) -> torch.Tensor:
    """torchvision's relative_position_index, any rank: [N·N] indices into a table of Π(2w − 1) offsets
    (the first axis slowest), N = Π w."""
    coords = torch.stack(torch.meshgrid(*[torch.arange(w) for w in window], indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    index = torch.zeros(relative.shape[:2], dtype=torch.long)
    for axis, w in enumerate(window):
        stride = math.prod(2 * later - 1 for later in window[axis + 1 :])
        index += (relative[:, :, axis] + w - 1) * stride
    return index.flatten()


def relative_coords_table(window: tuple[int, ...]) -> torch.Tensor:
    """Swin V2's relative_coords_table, any rank: [1, *(2w − 1), rank], each offset scaled to [-8, 8] and
    log-spaced (sign(x)·log2(|x| + 1) / 3)."""
    axes = [torch.arange(-(w - 1), w, dtype=torch.float32) / max(w - 1, 1) for w in window]
    table = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).unsqueeze(0) * 8
    return torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / 3.0


def fitted(window: list[int], shift: list[int], sizes: tuple[int, ...], fit: bool) -> tuple[list[int], list[int]]:
    """The window and shift used on a map of `sizes`: with `fit` (torchvision's Swin3D) a window at least as
    large as the map shrinks to it; the map is then padded to whole windows, and an axis that one window
    covers is not shifted (torchvision's Swin and Swin3D alike)."""
    window = [min(w, size) if fit else w for w, size in zip(window, sizes)]
    padded = [-(-size // w) * w for size, w in zip(sizes, window)]
    return window, [0 if w >= p else s for w, s, p in zip(window, shift, padded)]


def shift_mask(padded: list[int], window: list[int], shift: list[int], like: torch.Tensor) -> torch.Tensor:
    """torchvision's attention mask for shifted windows: [windows, N, N], -100 between tokens that came from
    different regions of the unshifted map, 0 elsewhere."""
    labels = like.new_zeros(padded)
    slices = [((0, -w), (-w, -s), (-s, None)) for w, s in zip(window, shift)]
    for count, region in enumerate(itertools.product(*slices)):
        labels[tuple(slice(start, stop) for start, stop in region)] = count
    labels = partition(labels[None, ..., None], window).view(-1, math.prod(window))
    mask = labels.unsqueeze(1) - labels.unsqueeze(2)
    return mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))


def partition(x: torch.Tensor, window: list[int]) -> torch.Tensor:
    """[B, *P, C] (P whole windows) -> [B·windows, N, C], windows in row-major order."""
    batch, padded, channels, rank = x.shape[0], x.shape[1:-1], x.shape[-1], len(window)
    split = [batch] + [size for p, w in zip(padded, window) for size in (p // w, w)] + [channels]
    order = [0] + [1 + 2 * i for i in range(rank)] + [2 + 2 * i for i in range(rank)] + [2 * rank + 1]
    return x.view(split).permute(order).reshape(-1, math.prod(window), channels)


def merge(x: torch.Tensor, window: list[int], padded: list[int], batch: int) -> torch.Tensor:
    """The inverse of `partition`: [B·windows, N, C] -> [B, *P, C]."""
    rank, channels = len(window), x.shape[-1]
    x = x.view([batch] + [p // w for p, w in zip(padded, window)] + list(window) + [channels])
    order = [0] + [i + offset for i in range(1, rank + 1) for offset in (0, rank)] + [2 * rank + 1]
    return x.permute(order).reshape([batch] + list(padded) + [channels])


class WindowAttention(nn.Module):
    """torchvision's ShiftedWindowAttention (rank 2) and ShiftedWindowAttention3d (rank 3, `fit`), any rank:
    a learned table of Π(2w − 1) offsets × heads, gathered by relative_position_index."""

    def __init__(self, dim: int, window: tuple[int, ...], shift: tuple[int, ...], heads: int, qkv_bias: bool,
                 proj_bias: bool, fit: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.window_size, self.shift_size, self.num_heads, self.fit = list(window), list(shift), heads, fit
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.define_bias_table()
        self.register_buffer("relative_position_index", relative_position_index(tuple(window)))

    def define_bias_table(self) -> None:
        rows = math.prod(2 * w - 1 for w in self.window_size)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(rows, self.num_heads))

    def reset_index_buffers(self) -> None:
        """Refill the index after `to_empty` (archcalc.torch_build.to_empty)."""
        with torch.no_grad():
            self.relative_position_index.copy_(relative_position_index(tuple(self.window_size)))

    def bias_table(self) -> torch.Tensor:
        return self.relative_position_bias_table

    def position_bias(self, window: list[int]) -> torch.Tensor:
        """[1, heads, N, N] for the window in use (a shrunk window reads the index's top-left corner, as
        torchvision's Swin3D does)."""
        full, tokens = math.prod(self.window_size), math.prod(window)
        index = self.relative_position_index.view(full, full)[:tokens, :tokens].flatten()
        bias = self.bias_table()[index].view(tokens, tokens, -1)
        return bias.permute(2, 0, 1).contiguous().unsqueeze(0)

    def scores(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        q = q * q.shape[-1] ** -0.5
        return q.matmul(k.transpose(-2, -1))

    def qkv_bias(self) -> torch.Tensor | None:
        return self.qkv.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, sizes, channels = x.shape[0], tuple(x.shape[1:-1]), x.shape[-1]
        window, shift = fitted(self.window_size, self.shift_size, sizes, self.fit)
        pads = [side for size, w in zip(reversed(sizes), reversed(window)) for side in (0, (w - size % w) % w)]
        x = F.pad(x, [0, 0] + pads)
        padded, dims = list(x.shape[1:-1]), tuple(range(1, len(sizes) + 1))
        shifted = sum(shift) > 0
        if shifted:
            x = torch.roll(x, shifts=[-s for s in shift], dims=dims)
        windows = math.prod(p // w for p, w in zip(padded, window))
        x = partition(x, window)
        heads, tokens = self.num_heads, x.size(1)
        qkv = F.linear(x, self.qkv.weight, self.qkv_bias())
        q, k, v = qkv.reshape(x.size(0), tokens, 3, heads, channels // heads).permute(2, 0, 3, 1, 4)
        attn = self.scores(q, k) + self.position_bias(window)
        if shifted:
            attn = attn.view(x.size(0) // windows, windows, heads, tokens, tokens)
            attn = attn + shift_mask(padded, window, shift, x).unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, heads, tokens, tokens)
        attn = F.softmax(attn, dim=-1)
        x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), tokens, channels)
        x = merge(F.linear(x, self.proj.weight, self.proj.bias), window, padded, batch)
        if shifted:
            x = torch.roll(x, shifts=list(shift), dims=dims)
        return x[(slice(None),) + tuple(slice(0, size) for size in sizes)].contiguous()


class WindowAttentionV2(WindowAttention):
    """torchvision's ShiftedWindowAttentionV2, any rank: cosine attention scaled by exp(min(logit_scale,
    log 100)) per head, and a bias of 16·sigmoid(cpb_mlp(relative_coords_table)) instead of a learned table."""

    def __init__(self, dim: int, window: tuple[int, ...], shift: tuple[int, ...], heads: int, qkv_bias: bool,
                 proj_bias: bool, hidden: int = 512, fit: bool = False) -> None:  # fmt: skip
        self.hidden = hidden
        super().__init__(dim, window, shift, heads, qkv_bias, proj_bias, fit)
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(len(window), hidden, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(hidden, heads, bias=False))  # fmt: skip

    def define_bias_table(self) -> None:
        self.register_buffer("relative_coords_table", relative_coords_table(tuple(self.window_size)))

    def reset_index_buffers(self) -> None:
        super().reset_index_buffers()
        with torch.no_grad():
            self.relative_coords_table.copy_(relative_coords_table(tuple(self.window_size)))

    def bias_table(self) -> torch.Tensor:
        return self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)

    def position_bias(self, window: list[int]) -> torch.Tensor:
        return 16 * torch.sigmoid(super().position_bias(window))

    def qkv_bias(self) -> torch.Tensor | None:
        """torchvision zeroes the key bias of a copy at every call (the parameter keeps its values)."""
        bias = self.qkv.bias
        if bias is None:
            return None
        bias = bias.clone()
        length = bias.numel() // 3
        bias[length : 2 * length].zero_()
        return bias

    def scores(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        return attn * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()


class Folded(nn.Module):
    """A layer applied over leading axes (a spec's `over: k`, archcalc/layers/over.py): [N, S_1..S_k, *rest]
    -> [N·S_1·…·S_k, *rest] for `inner`, and its output back to [N, S_1..S_k, *out_rest]. The reshapes are views
    (no tool counts them); `inner` runs on the folded batch as the model's module does on its windows or heads,
    so module hooks, fvcore and FlopCounterMode see the same call. `direct`: run `inner.forward` without hooks (a
    layer invoked as a function, method or operator: torch_modules.Invoked)."""

    def __init__(self, inner: nn.Module, over: int, direct: bool = False) -> None:
        super().__init__()
        self.inner, self.over, self.direct = inner, over, direct

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        lead = xs[0].shape[: self.over + 1]
        folded = [x.reshape(-1, *x.shape[self.over + 1 :]) for x in xs]
        out = self.inner.forward(*folded) if self.direct else self.inner(*folded)
        return out.reshape(*lead, *out.shape[1:])
