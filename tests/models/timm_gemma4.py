"""Gemma 4's vision encoder pieces (timm 1.0.31 timm/models/gemma4_vit.py, copied down to the lines that matter;
each class names its source)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Gemma4ClippableLinear(nn.Module):
    """gemma4_vit.py: Gemma4ClippableLinear, use_clipped=True: the input and the output clamped by 0-dim buffers
    (±inf as built; a checkpoint sets them)."""

    def __init__(self, in_features: int, out_features: int, use_clipped: bool = True) -> None:
        super().__init__()
        self.use_clipped = use_clipped
        self.linear = nn.Linear(in_features, out_features, bias=False)
        if use_clipped:
            self.register_buffer("input_min", torch.tensor(-float("inf")))
            self.register_buffer("input_max", torch.tensor(float("inf")))
            self.register_buffer("output_min", torch.tensor(-float("inf")))
            self.register_buffer("output_max", torch.tensor(float("inf")))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_clipped:
            x = torch.clamp(x, self.input_min, self.input_max)
        x = self.linear(x)
        if self.use_clipped:
            x = torch.clamp(x, self.output_min, self.output_max)
        return x


class Gemma4GatedMlp(nn.Module):
    """gemma4_vit.py: Gemma4GatedMlp: down_proj(gelu_tanh(gate_proj(x)) * up_proj(x)), clipped linears."""

    def __init__(self, in_features: int = 16, hidden_features: int = 24, use_clipped: bool = True) -> None:
        super().__init__()
        self.gate_proj = Gemma4ClippableLinear(in_features, hidden_features, use_clipped)
        self.up_proj = Gemma4ClippableLinear(in_features, hidden_features, use_clipped)
        self.down_proj = Gemma4ClippableLinear(hidden_features, in_features, use_clipped)
        self.act = nn.GELU(approximate="tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class ClampByParameter(nn.Module):
    """Not Gemma's: a bound that is a learned parameter is no clamp_buffers."""

    def __init__(self) -> None:
        super().__init__()
        self.low = nn.Parameter(torch.tensor(0.0))
        self.register_buffer("high", torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, self.low, self.high)


class ClampByVector(nn.Module):
    """Not Gemma's: per-feature bounds (buffers of 8 elements) are no scalar clamp."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("low", torch.zeros(8))
        self.register_buffer("high", torch.ones(8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(self.low, self.high)


class RmsNorm(nn.Module):
    """timm/layers/norm.py: RmsNorm (its non-apex path, F.rms_norm); affine=False: no gain (Gemma 4's v_norm)."""

    def __init__(self, channels: int, eps: float = 1e-6, affine: bool = True) -> None:
        super().__init__()
        self.normalized_shape, self.eps = (channels,), eps
        self.weight = nn.Parameter(torch.ones(channels)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """gemma4_vit.py: rotate_half."""
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(x, cos, sin, unsqueeze_dim: int = 2):
    """gemma4_vit.py: apply_rotary_pos_emb."""
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    return (x * cos) + (rotate_half(x) * sin)


def apply_multidimensional_rope(x, cos, sin, ndim: int = 2, unsqueeze_dim: int = 2):
    """gemma4_vit.py: apply_multidimensional_rope (RoPE on each of the ndim parts of head_dim)."""
    num_input_channels = x.shape[-1]
    num_rotated_channels_per_dim = 2 * (num_input_channels // (2 * ndim))
    split_sizes = [num_rotated_channels_per_dim] * ndim
    x_parts = torch.split(x, split_sizes, dim=-1)
    cos_parts = torch.split(cos, split_sizes, dim=-1)
    sin_parts = torch.split(sin, split_sizes, dim=-1)
    y_parts = [apply_rotary_pos_emb(x_parts[k], cos_parts[k], sin_parts[k], unsqueeze_dim=unsqueeze_dim)
               for k in range(ndim)]  # fmt: skip
    return torch.cat(y_parts, dim=-1)


class Gemma4RotaryEmbedding2D(nn.Module):
    """gemma4_vit.py: Gemma4RotaryEmbedding2D: cos and sin [B, N, head_dim] from the (x, y) patch coordinates and
    the `inv_freq` buffer; its `inv_freq @ positions` is a matrix product fvcore and FlopCounterMode count.
    `by_matmul=False` (not timm's) makes the same angles by broadcasting, which no tool counts."""

    def __init__(self, head_dim: int, rope_theta: float = 100.0, by_matmul: bool = True) -> None:
        super().__init__()
        self.head_dim, self.rope_theta, self.by_matmul = head_dim, rope_theta, by_matmul
        spatial_dim = head_dim // 2
        inv_freq = 1.0 / (rope_theta ** (torch.arange(0, spatial_dim, 2, dtype=torch.float) / spatial_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor):
        with torch.no_grad():
            inv_freq_expanded = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1).to(x.device)
            all_cos, all_sin = [], []
            for i in range(2):
                dim_pos = position_ids[:, :, i]
                dim_pos_expanded = dim_pos[:, None, :].float()
                if self.by_matmul:
                    freqs = (inv_freq_expanded.float() @ dim_pos_expanded.float()).transpose(1, 2)
                else:
                    freqs = (inv_freq_expanded.float() * dim_pos_expanded.float()).transpose(1, 2)
                emb = torch.cat((freqs, freqs), dim=-1)
                all_cos.append(emb.cos())
                all_sin.append(emb.sin())
            cos = torch.cat(all_cos, dim=-1).to(dtype=x.dtype)
            sin = torch.cat(all_sin, dim=-1).to(dtype=x.dtype)
        return cos, sin


def default_position_ids(batch_size: int, grid_h: int, grid_w: int, device) -> torch.Tensor:
    """gemma4_vit.py: Gemma4PatchEmbed._default_patch_coord (row-major (y, x)), then `.flip(dims=(-1,))` to the
    (x, y) position ids the rotary embedding reads."""
    ys = torch.arange(grid_h, device=device)
    xs = torch.arange(grid_w, device=device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    patch_coord = torch.stack([grid_y.flatten(), grid_x.flatten()], dim=-1)
    patch_coord = patch_coord.unsqueeze(0).expand(batch_size, -1, -1)
    return patch_coord.flip(dims=(-1,))


class Gemma4Attention(nn.Module):
    """gemma4_vit.py: Gemma4Attention (fused path, no mask): clipped q/k/v/o projections, RMS-normed q and k
    (with gain) and v (without), 2-D RoPE on q and k, SDPA with scale 1. The block's tokens come as a grid of
    grid_h x grid_w patches, whose position ids are made in forward as the encoder makes them."""

    def __init__(self, dim: int = 32, num_heads: int = 2, head_dim: int = 16, grid: tuple[int, int] = (3, 4),
                 by_matmul: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.num_heads, self.head_dim, self.grid = num_heads, head_dim, grid
        self.rotary_emb = Gemma4RotaryEmbedding2D(head_dim, by_matmul=by_matmul)
        self.q_proj = Gemma4ClippableLinear(dim, num_heads * head_dim)
        self.k_proj = Gemma4ClippableLinear(dim, num_heads * head_dim)
        self.v_proj = Gemma4ClippableLinear(dim, num_heads * head_dim)
        self.o_proj = Gemma4ClippableLinear(num_heads * head_dim, dim)
        self.q_norm = RmsNorm(head_dim)
        self.k_norm = RmsNorm(head_dim)
        self.v_norm = RmsNorm(head_dim, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        rope_cos, rope_sin = self.rotary_emb(x, default_position_ids(B, *self.grid, x.device))
        q = self.q_proj(x).view(B, N, self.num_heads, self.head_dim)
        k = self.k_proj(x).view(B, N, self.num_heads, self.head_dim)
        v = self.v_proj(x).view(B, N, self.num_heads, self.head_dim)
        q, k, v = self.q_norm(q), self.k_norm(k), self.v_norm(v)
        q = apply_multidimensional_rope(q, rope_cos, rope_sin, ndim=2, unsqueeze_dim=2)
        k = apply_multidimensional_rope(k, rope_cos, rope_sin, ndim=2, unsqueeze_dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        x = F.scaled_dot_product_attention(q, k, v, scale=1.0)
        x = x.transpose(1, 2).reshape(B, N, -1)
        return self.o_proj(x)


class Gemma4PatchEmbed(nn.Module):
    """gemma4_vit.py: Gemma4PatchEmbed on a raw [B, C, H, W] image with the default grid (naflexvit.py's
    batch_patchify, channels_last=False, inline): a linear projection of C-Ph-Pw patches plus, per token, its
    x row and its y row of a [2, P, D] position table looked up by a one-hot matrix product."""

    def __init__(self, patch_size: int = 4, in_chans: int = 3, embed_dim: int = 16,
                 position_embedding_size: int = 10) -> None:  # fmt: skip
        super().__init__()
        self.patch_size = (patch_size, patch_size)
        self.position_embedding_size = position_embedding_size
        self.input_proj = nn.Linear(in_chans * patch_size * patch_size, embed_dim, bias=False)
        self.position_embedding_table = nn.Parameter(torch.randn(2, position_embedding_size, embed_dim) * 0.02)

    def _default_patch_coord(self, batch_size: int, pH: int, pW: int, device):
        ys = torch.arange(pH, device=device)
        xs = torch.arange(pW, device=device)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        patch_coord = torch.stack([grid_y.flatten(), grid_x.flatten()], dim=-1)
        patch_coord = patch_coord.unsqueeze(0).expand(batch_size, -1, -1)
        patch_valid = torch.ones(batch_size, pH * pW, dtype=torch.bool, device=device)
        return patch_coord, patch_valid

    def _position_embeddings(self, position_ids: torch.Tensor) -> torch.Tensor:
        clamped_positions = position_ids.clamp(min=0)
        one_hot = F.one_hot(clamped_positions, num_classes=self.position_embedding_size)
        one_hot = one_hot.permute(0, 2, 1, 3).to(self.position_embedding_table)
        position_embeddings = one_hot @ self.position_embedding_table
        return position_embeddings.sum(dim=1)

    def forward(self, x: torch.Tensor):
        ph, pw = self.patch_size
        B, C, H, W = x.shape
        patch_coord, _ = self._default_patch_coord(B, H // ph, W // pw, x.device)
        nh, nw = H // ph, W // pw  # naflexvit.py: batch_patchify(x, (ph, pw), pad=False, channels_last=False)
        x = x.view(B, C, nh, ph, nw, pw).permute(0, 2, 4, 1, 3, 5).reshape(B, nh * nw, ph * pw * C)
        x = 2 * (x - 0.5)
        x = self.input_proj(x.to(self.input_proj.weight.dtype))
        position_ids = patch_coord.flip(dims=(-1,))
        return x + self._position_embeddings(position_ids)


class OneHotLookupOnly(nn.Module):
    """Not Gemma's: the one-hot product used without the sum over the axes (a [2, N, D] tensor) is refused."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(2, 10, 16))

    def forward(self, x: torch.Tensor):
        ids = torch.zeros(x.shape[0], 2, x.shape[1], dtype=torch.long, device=x.device)
        return x.unsqueeze(1) + F.one_hot(ids, num_classes=10).to(self.table) @ self.table
