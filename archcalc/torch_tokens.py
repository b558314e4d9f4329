"""Torch modules for the token-sequence layer types (embeddings, tensor algebra, token norms and blocks).

Imported only by torch builders. Where torchvision has the same construct, the module computes it with
the same calls (a parameter added with `+`, `torch.permute`, `torch.cat` of an expanded class token), so
the peer tools count archcalc's build as they count torchvision's model; parameters carry torchvision's
names (`pos_embedding`, `class_token`, `layer_scale`), which torchinfo reads (it counts only parameters
called weight or bias).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sinusoid_table(rows: int, dim: int) -> torch.Tensor:
    """Vaswani et al.'s fixed table: sin on even features, cos on odd, wavelengths 2π .. 10000·2π."""
    position = torch.arange(rows, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(rows, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table.unsqueeze(0)


class PositionalEmbedding(nn.Module):
    """x + table[:L] along the token axis (-2): learned (`pos_embedding`, torchvision's ViT) or fixed (`pe`)."""

    def __init__(self, rows: int, dim: int, learned: bool) -> None:
        super().__init__()
        self.learned = learned
        if learned:
            self.pos_embedding = nn.Parameter(torch.zeros(1, rows, dim))
        else:
            self.register_buffer("pe", sinusoid_table(rows, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        table = self.pos_embedding if self.learned else self.pe
        if table.shape[1] != x.shape[-2]:
            table = table[:, : x.shape[-2]]
        return x + table


class OneHotPositionEmbedding(nn.Module):
    """x + (one_hot @ table).sum(dim=1), as Gemma 4's patch embedding (layers/one_hot_position.py); every token at
    position 0 of each axis: the values change no count."""

    def __init__(self, axes: int, positions: int, dim: int) -> None:
        super().__init__()
        self.positions = positions
        self.position_embedding_table = nn.Parameter(torch.zeros(axes, positions, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axes = self.position_embedding_table.shape[0]
        ids = torch.zeros(x.shape[0], axes, x.shape[1], dtype=torch.long, device=x.device)
        one_hot = F.one_hot(ids, num_classes=self.positions).to(self.position_embedding_table)
        return x + (one_hot @ self.position_embedding_table).sum(dim=1)


class AxialRopeTable(nn.Module):
    """The cos or sin [N, D] table of Gemma 4's 2-D RoPE (layers/rope_table.py), every token at position 0 (the
    values change no count). With `angles` it makes the angles as timm does, inv_freq @ positions per axis (the
    products the tools count), and holds inv_freq; without, by broadcasting (no tool counts that)."""

    def __init__(self, head_dim: int, fn: str, angles: bool) -> None:
        super().__init__()
        self.head_dim, self.fn, self.angles = head_dim, fn, angles
        if angles:
            self.register_buffer("inv_freq", torch.zeros(head_dim // 4), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens = x.shape[0], x.shape[1]
        positions = torch.zeros(batch, 1, tokens, device=x.device, dtype=x.dtype)
        parts = []
        for _ in range(2):
            if self.angles:
                freqs = (self.inv_freq[None, :, None].expand(batch, -1, 1) @ positions).transpose(1, 2)
            else:
                freqs = positions.transpose(1, 2) * torch.zeros(self.head_dim // 4, device=x.device, dtype=x.dtype)
            parts.append(torch.cat((freqs, freqs), dim=-1))
        angles = torch.cat(parts, dim=-1)
        return angles.cos() if self.fn == "cos" else angles.sin()


class TokenTypeEmbedding(nn.Module):
    """BERT's token-type (segment) table: every token adds the row of segment `segment` (BertModel: 0)."""

    def __init__(self, types: int, dim: int, segment: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(types, dim))
        self.segment = segment

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight[self.segment]


class Rotary(nn.Module):
    """Rotary position embedding (Su et al. 2021) on the first `dims` features of [..., L, D], rotating the
    pairs (i, i + dims/2) as GPT-NeoX and Llama do. The angle table is computed from positions on the fly
    (broadcast products: nothing a FLOP counter sees), as a cached table would be. The first `prefix` tokens
    are left alone (timm's class and register tokens)."""

    def __init__(self, dims: int, base: float, prefix: int = 0) -> None:
        super().__init__()
        self.dims, self.base, self.prefix = dims, base, prefix

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.prefix:  # timm: the class and register tokens in front are not rotated
            return torch.cat([x[..., : self.prefix, :], self.rotate(x[..., self.prefix :, :])], dim=-2)
        return self.rotate(x)

    def rotate(self, x: torch.Tensor) -> torch.Tensor:
        half = self.dims // 2
        steps = torch.arange(half, device=x.device, dtype=torch.float32)
        inv_freq = 1.0 / (self.base ** (steps * 2 / self.dims))
        angles = torch.arange(x.shape[-2], device=x.device, dtype=torch.float32).unsqueeze(1) * inv_freq
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
        x1, x2, rest = x[..., :half], x[..., half : self.dims], x[..., self.dims :]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest], dim=-1)


class ClassToken(nn.Module):
    """`count` learned tokens put in front of the sequence (torchvision's ViT: torch.cat of the expanded token)."""

    def __init__(self, count: int, dim: int) -> None:
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, count, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)


class Select(nn.Module):
    """One index along a dim, which disappears (`x[:, 0]`: the class token)."""

    def __init__(self, dim: int, index: int) -> None:
        super().__init__()
        self.dim, self.index = dim, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.select(self.dim, self.index)


class Mean(nn.Module):
    def __init__(self, dim: int, keepdim: bool) -> None:
        super().__init__()
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(self.dim, keepdim=self.keepdim)


class MatMul(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)


class Einsum(nn.Module):
    def __init__(self, equation: str) -> None:
        super().__init__()
        self.equation = equation

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.einsum(self.equation, a, b)


class Permute(nn.Module):
    """torchvision.ops.misc.Permute: `torch.permute(x, dims)`, dims counting the batch axis."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)


class Roll(nn.Module):
    """`torch.roll(x, shifts, dims)`, dims counting the batch axis (Swin's cyclic shift)."""

    def __init__(self, shifts: list[int], dims: list[int]) -> None:
        super().__init__()
        self.shifts, self.dims = shifts, dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.roll(x, self.shifts, self.dims)


class UnfoldAxis(nn.Module):
    """`x.unfold(dim, size, step)`, dim counting the batch axis: windows along one axis (timm's HaloAttn)."""

    def __init__(self, dim: int, size: int, step: int) -> None:
        super().__init__()
        self.dim, self.size, self.step = dim, size, step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unfold(self.dim, self.size, self.step)


class Transpose(nn.Module):
    def __init__(self, dim0: int, dim1: int) -> None:
        super().__init__()
        self.dim0, self.dim1 = dim0, dim1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(self.dim0, self.dim1)


class LayerScale(nn.Module):
    """A learned per-channel scale, `layer_scale * x` as torchvision's CNBlock writes it."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.layer_scale = nn.Parameter(torch.ones(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_scale * x


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: drops the whole residual branch of a sample in training
    (mode "row") or of the batch ("batch"); the identity in eval mode."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(1.0 - self.p)
        return x * noise.div_(1.0 - self.p) if self.p < 1.0 else x * noise


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d: a layer norm over the channels of [N, C, H, W]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class PatchMerge(nn.Module):
    """Swin's 2x2 patch merging on [N, H, W, C] (torchvision's _patch_merging_pad): odd sizes padded,
    the four neighbours concatenated along the channels -> [N, ceil(H/2), ceil(W/2), 4C]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-3], x.shape[-2]
        x = F.pad(x, (0, 0, 0, width % 2, 0, height % 2))
        return torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :],
                          x[..., 1::2, 1::2, :]], -1)  # fmt: skip


class RelativePositionBias(nn.Module):
    """x + a bias gathered from a parameter table by an index buffer on every call (timm's RelPosBias, LeViT's
    `attention_biases[:, attention_bias_idxs]`): the table's `axis` is indexed, the gathered axis moves last and
    the result takes the bias shape. Added with `+`, as timm and torchvision do (ptflops patches only torch.add).
    With `mlp` = [r, h] the [T, H] table is Linear(r, h), ReLU, Linear(h, H) of a [T, r] coordinate buffer, run on
    every call (timm's RelPosMlp); `mlp_gain` g makes the bias g·sigmoid(it) (Swin V2's 16·sigmoid)."""

    def __init__(self, table: tuple, index: tuple, axis: int, bias: tuple, head: int | None = None,
                 mlp: list | None = None, mlp_bias: list | None = None, mlp_gain: int | None = None) -> None:  # fmt: skip
        super().__init__()
        self.mlp_gain = mlp_gain
        self.axis, self.bias_shape, self.head, self.table_shape = axis, bias, head, tuple(table)
        self.mlp, self.mlp_bias = (list(mlp), list(mlp_bias or [1, 1])) if mlp is not None else (None, None)
        if mlp is None:
            self.relative_position_bias_table = nn.Parameter(torch.zeros(table))
        else:
            (r, h), (b1, b2) = self.mlp, self.mlp_bias
            self.position_mlp = nn.Sequential(nn.Linear(r, h, bias=bool(b1)), nn.ReLU(),
                                              nn.Linear(h, table[1], bias=bool(b2)))  # fmt: skip
            self.register_buffer("coordinates", torch.zeros(table[0], r))
        if index is not None:  # None: the MLP's whole table is the bias (Swin V2-CR's meta_mlp)
            self.register_buffer("relative_position_index", torch.zeros(index, dtype=torch.long))
            self.reset_index_buffers()

    def reset_index_buffers(self) -> None:
        """Valid indices (torch_build.to_empty refills them after moving the module without initialising it)."""
        if not hasattr(self, "relative_position_index"):
            return
        rows, index = self.table_shape[self.axis], self.relative_position_index
        with torch.no_grad():
            index.copy_(torch.arange(index.numel(), device=index.device).remainder(rows).view(index.shape))

    def table(self) -> torch.Tensor:
        return self.relative_position_bias_table if self.mlp is None else self.position_mlp(self.coordinates)

    def bias(self) -> torch.Tensor:
        table = self.table()
        index = getattr(self, "relative_position_index", None)
        gathered = table if index is None else table.index_select(self.axis, index.view(-1))
        gathered = gathered.movedim(self.axis, -1)
        bias = (gathered if self.head is None else gathered[self.head]).reshape(self.bias_shape)
        return bias if self.mlp_gain is None else self.mlp_gain * torch.sigmoid(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias()


class RelativePositionAttention(RelativePositionBias):
    """F.scaled_dot_product_attention(q, k, v, attn_mask=the gathered bias) (timm's CoAtNet, TinyViT)."""

    def __init__(self, table: tuple, index: tuple, axis: int, bias: tuple, head: int | None, causal: bool,
                 enable_gqa: bool, scale: float | None, dropout: float, mlp: list | None = None,
                 mlp_bias: list | None = None, mlp_gain: int | None = None) -> None:  # fmt: skip
        super().__init__(table, index, axis, bias, head, mlp, mlp_bias, mlp_gain)
        self.causal, self.enable_gqa, self.scale, self.dropout = causal, enable_gqa, scale, dropout

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        dropout = self.dropout if self.training else 0.0
        return F.scaled_dot_product_attention(q, k, v, attn_mask=self.bias(), dropout_p=dropout, is_causal=self.causal,
                                              scale=self.scale, enable_gqa=self.enable_gqa)


class ConstantTable(nn.Module):
    """A [shape] table made from nothing but the input's batch size, expanded over the batch (ConViT's
    `rel_indices.expand(B, -1, -1, -1)`): its input orders it, its values are fixed."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        table = torch.ones((1,) + self.shape, device=x.device, dtype=x.dtype if x.is_floating_point() else None)
        return table.expand((x.shape[0],) + self.shape)
