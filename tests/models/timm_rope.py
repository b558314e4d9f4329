"""Stand-ins for timm's rotary-embedding attention (timm 1.0.31), copied down to the lines that matter, so
`make test` (without timm) checks the rules keyed on timm's classes: tests install them under timm's dotted
names (`timm.layers.attention.AttentionRope`, `timm.models.eva.EvaAttention`). Each class names its source."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def rot(x: torch.Tensor) -> torch.Tensor:
    """timm/layers/pos_embed_sincos.py: rot (the interleaved layout)."""
    return torch.stack([-x[..., 1::2], x[..., ::2]], -1).reshape(x.shape)


def rope_rotate_half(x: torch.Tensor) -> torch.Tensor:
    """timm/layers/pos_embed_sincos.py: rope_rotate_half."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rot_embed_cat(x: torch.Tensor, emb: torch.Tensor, half: bool = False) -> torch.Tensor:
    """timm/layers/pos_embed_sincos.py: apply_rot_embed_cat and apply_rot_embed."""
    sin_emb, cos_emb = emb.chunk(2, -1)
    out = x * cos_emb + (rope_rotate_half(x) if half else rot(x)) * sin_emb
    return out.to(dtype=x.dtype)


class RotaryEmbeddingCat(nn.Module):
    """timm/layers/pos_embed_sincos.py: RotaryEmbeddingCat (language bands, index grid): `get_embed(shape)`
    builds [H·W, 2·dim] (sin then cos) from the `bands` buffer, or returns the `pos_embed` buffer cached for
    a fixed feature shape (EVA-02)."""

    def __init__(self, dim: int, rotate_half: bool = False, feat_shape: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.dim, self.rotate_half = dim, rotate_half
        exp = torch.arange(0, dim // 4, 2, dtype=torch.int64).to(torch.float32) / (dim // 4)
        self.register_buffer("bands", 1.0 / (10000.0 ** exp).repeat_interleave(2), persistent=False)
        self.register_buffer("pos_embed", None if feat_shape is None else self._build(feat_shape), persistent=False)

    def _build(self, shape) -> torch.Tensor:
        grid = torch.stack(torch.meshgrid([torch.arange(s, device=self.bands.device, dtype=torch.float32)
                                           for s in shape], indexing="ij"), dim=-1)  # fmt: skip
        pos = grid.unsqueeze(-1) * self.bands  # [*shape, 2, dim / 4]
        sin, cos = pos.sin().flatten(-2).flatten(0, -2), pos.cos().flatten(-2).flatten(0, -2)
        if self.rotate_half:  # _rope_layout: [f0, f1, ..., f0, f1, ...]
            sin, cos = torch.cat([sin, sin], -1), torch.cat([cos, cos], -1)
        else:  # [f0, f0, f1, f1, ...]
            sin, cos = sin.repeat_interleave(2, -1), cos.repeat_interleave(2, -1)
        return torch.cat([sin, cos], -1)

    def get_embed(self, shape=None) -> torch.Tensor:
        return self.pos_embed if self.pos_embed is not None else self._build(shape)


def _norm(qk_norm: bool, dim: int) -> nn.Module:
    return nn.LayerNorm(dim) if qk_norm else nn.Identity()


class AttentionRope(nn.Module):
    """timm/layers/attention.py: AttentionRope (fused or separate qkv, GQA by num_kv_heads, qk_norm, rope on
    all but num_prefix_tokens tokens; scale_norm, gate and dim_out left out)."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = True, qkv_fused: bool = True,
                 num_prefix_tokens: int = 1, qk_norm: bool = False, rotate_half: bool = False,
                 num_kv_heads: int | None = None) -> None:  # fmt: skip
        super().__init__()
        head_dim = dim // num_heads
        num_kv_heads = num_kv_heads or num_heads
        self.num_heads, self.num_kv_heads, self.num_kv_groups = num_heads, num_kv_heads, num_heads // num_kv_heads
        self.head_dim, self.attn_dim, self.kv_dim = head_dim, head_dim * num_heads, head_dim * num_kv_heads
        self.num_prefix_tokens, self.fused_attn, self.rotate_half = num_prefix_tokens, True, rotate_half
        if qkv_fused:
            self.qkv = nn.Linear(dim, self.attn_dim * 3, bias=qkv_bias)
            self.q_proj = self.k_proj = self.v_proj = None
        else:
            self.qkv = None
            self.q_proj = nn.Linear(dim, self.attn_dim, bias=qkv_bias)
            self.k_proj = nn.Linear(dim, self.kv_dim, bias=qkv_bias)
            self.v_proj = nn.Linear(dim, self.kv_dim, bias=qkv_bias)
        self.q_norm, self.k_norm = _norm(qk_norm, head_dim), _norm(qk_norm, head_dim)
        self.attn_drop = nn.Dropout(0.0)
        self.norm = nn.Identity()
        self.gate = None
        self.proj = nn.Linear(self.attn_dim, dim)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, x, rope: torch.Tensor | None = None, attn_mask: torch.Tensor | None = None,
                is_causal: bool = False):  # fmt: skip
        B, N, C = x.shape
        if self.qkv is not None:
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
        else:
            q = self.q_proj(x).reshape(B, N, self.num_heads, self.head_dim).transpose(1, 2)
            k = self.k_proj(x).reshape(B, N, self.num_kv_heads, self.head_dim).transpose(1, 2)
            v = self.v_proj(x).reshape(B, N, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            npt, half = self.num_prefix_tokens, self.rotate_half
            q = torch.cat([q[:, :, :npt, :], apply_rot_embed_cat(q[:, :, npt:, :], rope, half=half)], dim=2).type_as(v)
            k = torch.cat([k[:, :, :npt, :], apply_rot_embed_cat(k[:, :, npt:, :], rope, half=half)], dim=2).type_as(v)
        if self.num_kv_groups > 1:
            k = k.repeat_interleave(self.num_kv_groups, dim=1)
            v = v.repeat_interleave(self.num_kv_groups, dim=1)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal)
        x = x.transpose(1, 2).reshape(B, N, self.attn_dim)
        return self.proj_drop(self.proj(self.norm(x)))


class EvaAttention(nn.Module):
    """timm/models/eva.py: EvaAttention (fused qkv without bias plus q_bias, a zero k_bias buffer and v_bias, or
    separate projections whose key has no bias; rope after num_prefix_tokens; scale_norm and gate left out)."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = True, qkv_fused: bool = True,
                 num_prefix_tokens: int = 1, qk_norm: bool = False, rotate_half: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        attn_dim = self.head_dim * num_heads
        self.num_prefix_tokens, self.fused_attn, self.rotate_half = num_prefix_tokens, True, rotate_half
        if qkv_fused:
            self.qkv = nn.Linear(dim, attn_dim * 3, bias=False)
            self.q_proj = self.k_proj = self.v_proj = None
            if qkv_bias:
                self.q_bias = nn.Parameter(torch.zeros(attn_dim))
                self.register_buffer("k_bias", torch.zeros(attn_dim), persistent=False)
                self.v_bias = nn.Parameter(torch.zeros(attn_dim))
            else:
                self.q_bias = self.k_bias = self.v_bias = None
        else:
            self.q_proj = nn.Linear(dim, attn_dim, bias=qkv_bias)
            self.k_proj = nn.Linear(dim, attn_dim, bias=False)
            self.v_proj = nn.Linear(dim, attn_dim, bias=qkv_bias)
            self.qkv = None
            self.q_bias = self.k_bias = self.v_bias = None
        self.q_norm, self.k_norm = _norm(qk_norm, self.head_dim), _norm(qk_norm, self.head_dim)
        self.attn_drop = nn.Dropout(0.0)
        self.norm = nn.Identity()
        self.gate = None
        self.proj = nn.Linear(attn_dim, dim)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, x, rope: torch.Tensor | None = None, attn_mask: torch.Tensor | None = None,
                is_causal: bool = False):  # fmt: skip
        B, N, C = x.shape
        if self.qkv is not None:
            if self.q_bias is None:
                qkv = self.qkv(x)
            else:
                qkv_bias = torch.cat((self.q_bias, self.k_bias, self.v_bias))
                qkv = F.linear(x, weight=self.qkv.weight, bias=qkv_bias)
            qkv = qkv.reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
        else:
            q = self.q_proj(x).reshape(B, N, self.num_heads, -1).transpose(1, 2)
            k = self.k_proj(x).reshape(B, N, self.num_heads, -1).transpose(1, 2)
            v = self.v_proj(x).reshape(B, N, self.num_heads, -1).transpose(1, 2)
        q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            npt, half = self.num_prefix_tokens, self.rotate_half
            q = torch.cat([q[:, :, :npt, :], apply_rot_embed_cat(q[:, :, npt:, :], rope, half=half)], dim=2).type_as(v)
            k = torch.cat([k[:, :, :npt, :], apply_rot_embed_cat(k[:, :, npt:, :], rope, half=half)], dim=2).type_as(v)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal)
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(self.norm(x)))


class Block(nn.Module):
    """timm/models/eva.py: EvaBlock (pre-norm; the MLP reduced to Linear-GELU-Linear, no layer scale)."""

    def __init__(self, attention: nn.Module, dim: int) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), attention
        self.norm2, self.mlp = nn.LayerNorm(dim), nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(),
                                                                nn.Linear(2 * dim, dim))  # fmt: skip

    def forward(self, x: torch.Tensor, rope: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), rope=rope)
        return x + self.mlp(self.norm2(x))


class RopeViT(nn.Module):
    """timm/models/eva.py: Eva, reduced (PatchEmbed's conv, class and register tokens, the RoPE table made once
    per forward, or cached, and handed to every block, final norm, class-token head). `attention` is "rope"
    (AttentionRope) or "eva" (EvaAttention); the other keywords go to it."""

    def __init__(self, attention: str = "rope", img: int = 32, patch: int = 8, dim: int = 32, depth: int = 2,
                 heads: int = 4, cls_token: bool = True, reg_tokens: int = 0, cached: bool = False,
                 rotate_half: bool = False, **options) -> None:  # fmt: skip
        super().__init__()
        self.grid = (img // patch, img // patch)
        self.proj = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim)) if cls_token else None
        self.reg_token = nn.Parameter(torch.zeros(1, reg_tokens, dim)) if reg_tokens else None
        prefix = int(cls_token) + reg_tokens
        self.rope = RotaryEmbeddingCat(dim // heads, rotate_half, self.grid if cached else None)
        kind = AttentionRope if attention == "rope" else EvaAttention
        self.blocks = nn.ModuleList([Block(kind(dim, heads, num_prefix_tokens=prefix, rotate_half=rotate_half,
                                                **options), dim) for _ in range(depth)])  # fmt: skip
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x).flatten(2).transpose(1, 2)
        tokens = [t.expand(x.shape[0], -1, -1) for t in (self.cls_token, self.reg_token) if t is not None]
        x = torch.cat(tokens + [x], dim=1) if tokens else x
        rope = self.rope.get_embed(self.grid)
        for block in self.blocks:
            x = block(x, rope=rope)
        return self.head(self.norm(x)[:, 0])
