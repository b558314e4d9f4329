"""Import rules for timm's attention classes (timm 1.0.31): each is one `multi_head_attention` layer.

Traced through, a timm attention is a projection, a reshape and permute that move the batch axis behind
q/k/v (`[3, B, H, N, D]`), unbind, RoPE's products with the sin/cos table, concatenations around the
class tokens and F.scaled_dot_product_attention: what it is (multi-head self-attention with RoPE) is lost.
As a whole it is archcalc's `multi_head_attention`, counted term by term in attention_cost.py:

    Attention       (vision_transformer's, layers/attention.py) qkv = Linear(E, 3·H·D), no RoPE:
                    `fused_qkv`, `bias` from qkv.bias, `out_bias` from proj.bias
    AttentionRope   (layers/attention.py: DeepSeek ViT, Qwen3 ViT, ...) fused qkv, or q/k/v projections with
                    GQA (`num_kv_heads`, expanded by repeat_interleave: the same products); RoPE on every
                    head feature of all but `num_prefix_tokens` tokens: `rope`, `rope_prefix_tokens`
    EvaAttention    (models/eva.py: EVA-02, DINOv3, ...) as AttentionRope, but its key projection has no
                    learned bias: separate projections give `k_bias: none`; the fused qkv with q_bias and
                    v_bias adds a zero key-bias buffer inside F.linear (`k_bias: zeros`, H·D buffer elements,
                    its adds counted, as torch computes them)

RoPE: timm's 2-D axial tables (sin and cos for each head feature, `[N − p, 2·D]`, one row per rotated
token) and its two layouts (interleaved pairs, or halves) cost the same: x·cos + rot(x)·sin, 3 FLOPs per
rotated element. The table is a constant (made in forward from the `bands`/`periods` buffer and the input's
shape, or EVA's cached `pos_embed` buffer): its buffers are held by the first attention, no FLOPs counted
(fvcore and FlopCounterMode count none of it either). The angle base of timm's table is not read: it changes
no count, and the spec keeps `rope_base`'s default.

The peers: fvcore counts the projections' MACs (aten::linear, addmm; no handle for
aten::scaled_dot_product_attention, mul or add), FlopCounterMode 2 per projection MAC (the CPU's flash
kernel has no formula): the conventions' multi_head_attention rules, as for Llama.

Refused (CannotMap, saying which): `fused_attn` off (QKᵀ and A·V as matmuls the tools count), an attention
mask, q/k norms, the output norm (`scale_norm`), a gate, `dim_out` ≠ dim, a RoPE table of any other shape.
"""

from __future__ import annotations

from archcalc.layers.imports import Call, CannotMap, ImportRule

_ATTENTION = ("timm.layers.attention.Attention",)
_ROPE = ("timm.layers.attention.AttentionRope", "timm.models.eva.EvaAttention")


def _one_input(call: Call) -> bool:
    return len(call.in_shapes) == 1 and len(call.in_shapes[0]) == 2


def _common(call: Call, bound: dict) -> dict:
    """What every timm attention class shares: the refusals, heads, the output projection, dropout, causal."""
    from torch import nn

    m = call.module
    if bound["attn_mask"] is not None:
        raise CannotMap("takes an explicit mask tensor (not counted)")
    if not m.fused_attn:
        raise CannotMap("fused_attn is off (TIMM_FUSED_ATTN=0): QKᵀ and A·V run as matmuls that the tools "
                        "count, unlike F.scaled_dot_product_attention")  # fmt: skip
    extras = [name for name in ("q_norm", "k_norm", "norm") if not isinstance(getattr(m, name, None), nn.Identity)]
    if extras or getattr(m, "gate", None) is not None:
        raise CannotMap(f"has {', '.join(extras) or 'a gate'} inside the attention, which multi_head_attention "
                        "does not count")  # fmt: skip
    features = call.in_shapes[0][-1]
    if m.proj.out_features != features:
        raise CannotMap(f"projects {features} features to {m.proj.out_features} (dim_out)")
    return {"num_heads": m.num_heads, "head_dim": m.head_dim, "out_bias": m.proj.bias is not None,
            "causal": bool(bound["is_causal"]), "dropout": m.attn_drop.p}  # fmt: skip


def timm_attention(call: Call) -> dict:
    """timm.layers.attention.Attention (ViT, DeiT, CaiT's blocks...): qkv = Linear(E, 3·H·D), q, k, v by
    reshape / permute / unbind, F.scaled_dot_product_attention, then proj = Linear(H·D, E)."""
    bound = call.bind("x", "attn_mask", "is_causal", attn_mask=None, is_causal=False)
    return _common(call, bound) | {"bias": call.module.qkv.bias is not None, "fused_qkv": True}


def _projections(m) -> dict:
    """The q/k/v projections of AttentionRope or EvaAttention: fused or separate, and their biases."""
    if m.qkv is not None:
        if getattr(m, "q_bias", None) is not None:  # EvaAttention: q_bias, a zero k_bias buffer, v_bias
            if m.qkv.bias is not None:
                raise CannotMap("has a qkv bias and q_bias/v_bias besides")
            return {"bias": True, "k_bias": "zeros", "fused_qkv": True}
        return {"bias": m.qkv.bias is not None, "fused_qkv": True}
    q, k, v = m.q_proj, m.k_proj, m.v_proj
    if (q.bias is None) != (v.bias is None):
        raise CannotMap("only one of the query and value projections has a bias")
    bias = q.bias is not None
    key = "learned" if k.bias is not None else "none"
    return {"bias": bias, "k_bias": None if key == ("learned" if bias else "none") else key,
            "kv_heads": k.out_features // m.head_dim}


def timm_rope_attention(call: Call) -> dict:
    """AttentionRope and EvaAttention: `forward(x, rope=None, attn_mask=None, is_causal=False)`."""
    m = call.module
    bound = call.bind("x", "rope", "attn_mask", "is_causal", rope=None, attn_mask=None, is_causal=False)
    attrs = _common(call, bound) | _projections(m)
    rope = bound["rope"]
    if rope is None:
        return attrs
    tokens, prefix = call.in_shapes[0][0], m.num_prefix_tokens
    expected = (tokens - prefix, 2 * m.head_dim)
    if tuple(rope.shape) != expected:
        raise CannotMap(f"a RoPE table of shape {list(rope.shape)}, not one row of sin and cos per rotated token "
                        f"{list(expected)}")  # fmt: skip
    return attrs | {"rope": True, "rope_prefix_tokens": prefix}


def timm_rules(layer: str) -> tuple[ImportRule, ...]:
    """The rules `multi_head_attention` adds to its own."""
    return (ImportRule(layer, foreign=_ATTENTION, read=timm_attention, note="fused attention, no q/k norm, no gate"),
            ImportRule(layer, foreign=_ROPE, read=timm_rope_attention, when=_one_input, constant_operands=True,
                       note="timm's RoPE attention (EVA, DINOv3, DeepSeek/Qwen3 ViT): fused attention, no q/k "
                            "norm, no gate; the sin/cos table a constant"))  # fmt: skip
