"""What the peer tools see of attention, shared by their profiles: the projections' MACs, the products'
MACs, the score elements, and ptflops' own formula for nn.MultiheadAttention.

The facts come from the registry entries (`geometry`, `uses_torch_mha`, `torch_fast_path`): archcalc
builds multi_head_attention as torch's nn.MultiheadAttention where it can (what torchvision uses, so the
tools count archcalc's build as they count torchvision's model), otherwise as q/k/v/o nn.Linear
projections around F.scaled_dot_product_attention (Hugging Face's Llama). Counts include the batch.
"""

from __future__ import annotations

from archcalc.conventions.base import LayerView


def projection_macs(v: LayerView) -> int:
    """MACs of the q, k, v and output projections (the terms that are not L·S products)."""
    return v.batch * sum(t.macs for t in v.layer.geometry(v.attrs, v.ins).terms() if not t.quadratic)


def product_macs(v: LayerView) -> int:
    """MACs of QKᵀ and A·V."""
    return v.batch * v.layer.geometry(v.attrs, v.ins).product_macs


def term_macs(v: LayerView, *names: str) -> int:
    """Per-sample MACs of the named attention terms (attention_cost.py: "A·V", "position_mlp", ...)."""
    return sum(t.macs for t in v.layer.geometry(v.attrs, v.ins).terms() if t.name in names)


def position_mlp_links(v: LayerView) -> tuple[int, int]:
    """Swin V2's position-bias MLP over its T offsets: (T·h bias adds and ReLU outputs, r·h + h + h·H params)."""
    r, h, rows = v.layer.geometry(v.attrs, v.ins).position_mlp
    return rows * h, r * h + h + h * v.attrs["num_heads"]


def score_elements(v: LayerView) -> int:
    return v.batch * v.layer.geometry(v.attrs, v.ins).score_elements


def torch_mha(v: LayerView) -> bool:
    return v.layer.uses_torch_mha(v.attrs, v.ins)


def fast_path(v: LayerView) -> bool:
    return v.layer.torch_fast_path(v.attrs, v.ins)


def mask_tensor(v: LayerView) -> bool:
    """Whether the build hands scaled_dot_product_attention a mask tensor (a T5-style bias table): then the
    CPU runs its math path (matmuls FlopCounterMode counts), otherwise the flash kernel (uncounted)."""
    return bool(v.attrs.get("rel_pos_buckets"))


def projection_biases(v: LayerView) -> int:
    """One bias add per projection output element (ptflops' nn.Linear hook counts the bias per row)."""
    g = v.layer.geometry(v.attrs, v.ins)
    rows = g.keys if g.projected_kv is None else g.projected_kv
    learned_key_bias = v.layer.key_bias(v.attrs) == "learned"  # a zero key bias is added outside the nn.Linear
    per_sample = ((g.queries * g.heads * g.head_dim + rows * g.kv_heads * g.value_dim) * g.bias
                  + rows * g.kv_heads * g.head_dim * learned_key_bias + g.queries * g.embed_dim * g.out_bias)  # fmt: skip
    return v.batch * per_sample


def ptflops_mha_hook(v: LayerView) -> int:
    """ptflops' multihead_attention_counter_hook (ptflops/pytorch_ops.py), term by term, per batch."""
    g = v.layer.geometry(v.attrs, v.ins)
    qlen, klen, qdim, kdim, vdim, heads = g.queries, g.keys, g.embed_dim, g.kdim, g.vdim, g.heads
    flops = qlen * qdim  # Q scaling
    flops += qlen * qdim * qdim + klen * kdim * kdim + klen * vdim * vdim  # "QW, KW, VW" (its squares)
    if g.bias:
        flops += (qlen + 2 * klen) * qdim
    flops += heads * (qlen * klen * (qdim // heads) + qlen * klen + qlen * klen * (vdim // heads))
    flops += qlen * vdim * (vdim + 1)  # "final projection, bias is always enabled"
    return v.batch * flops


def linear_params(v: LayerView) -> int:
    """Parameters of the q/k/v/o nn.Linear modules (the general build), without the bias table."""
    return v.params - v.attrs.get("rel_pos_buckets", 0) * v.attrs["num_heads"]
