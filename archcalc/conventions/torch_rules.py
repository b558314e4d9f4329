"""torch's FlopCounterMode (torch 2.13.0, `torch/utils/flop_counter.py`):
`with FlopCounterMode() as counter: model(x)`, then `counter.get_total_flops()`.

A TorchDispatchMode that counts only the aten ops in its `flop_registry`: mm, addmm, bmm, baddbmm,
_scaled_mm, the convolutions of every rank (and their backward) and the attention kernels. Each counts
2 FLOPs per multiply-add ("Should be 2 * k - 1 technically"), biases excluded. nn.Linear reaches it as
addmm (or mm / bmm), a conv as aten.convolution (a transposed conv over its input positions, which is
archcalc's MACs). Everything else (norms, activations, pools, adds) counts 0.

So the profile is mostly its default: 2 x archcalc's MACs for the layer types whose MACs are exactly
those products (`dense_macs`), 0 for every other. Attention is special, because the tools run inference on
the CPU (torch.no_grad(), eval mode), as people do:
    nn.MultiheadAttention in its native path (self-attention, even heads, biases, no mask) is one aten op,
    aten::_native_multi_head_attention, without a formula: 0;
    F.scaled_dot_product_attention runs aten::_scaled_dot_product_flash_attention_for_cpu, which has no
    formula either (only the CUDA flash, efficient and cuDNN kernels have one): QKᵀ and A·V count 0, and
    an attention counts only its projections (addmm), 2 per MAC; with a mask tensor (a relative-position
    bias), or on inputs that are not 4-D (Twins' and NesT's [B, h, nW, N, d]; with `batch_merged`, the
    model's tensor has one axis fewer than batch + sample), the CPU runs the math path, whose matmuls count;
    torch 2.14 (the real-models campaign's) takes the flash kernel for 3-D q, k, v too, with or without a mask
    (SAM's [B·heads, N, d] with its decomposed relative-position bias), where torch 2.13 runs the math path.
    With k and v of one head broadcast over the query's without enable_gqa (multi-query attention,
    MobileNetV5's), the kernel depends on the installed torch (read from its package metadata, without
    importing it): torch 2.13's CPU flash kernel needs equal heads, so the math path's aten.bmm counts 2 x
    QKᵀ and A·V; torch 2.14 (the real-models campaign's) takes the flash kernel: 0.
The recurrent layers too: on the CPU, nn.LSTM without a projection runs one fused oneDNN kernel,
aten::mkldnn_rnn_layer, without a formula: 0 (conventions/recurrent_rules.py).
On the meta device (`archcalc check`) the math path always runs, and every product counts.
"""

from __future__ import annotations

from archcalc.conventions import recurrent_rules
from archcalc.conventions.attention import fast_path, mask_tensor, product_macs, projection_macs
from archcalc.conventions.base import UNKNOWN, Profile, Rule, same_for, zero
from archcalc.layers import LayerType, position_mlp

_TWICE_MACS = Rule(lambda v: 2 * v.macs, "2 x MACs, no bias")
_NOT_REGISTERED = zero("no flop formula for its aten ops")
_DATA = zero("data movement")


def _scaled_dot_product(v) -> int:
    """The CPU's flash kernel takes 4-D q, k, v (and 3-D from torch 2.14), with an attn_mask input (the fourth) of
    their rank or 2-D; anything else runs the math path (two bmm)."""
    extra = 0 if v.attrs.get("batch_merged") else 1
    mask = len(v.ins[3]) + extra if len(v.ins) == 4 else None
    return 0 if _flash(len(v.ins[0]) + extra, mask) and not _broadcast_heads(v) else 2 * product_macs(v)


def _flash(rank: int, mask: int | None = None) -> bool:
    """Whether F.scaled_dot_product_attention takes the CPU's flash kernel (no formula) for q, k, v of `rank` axes
    and a mask of `mask` axes (measured: torch 2.13 takes 4-D only, torch 2.14 also 3-D with any mask; a 3-D mask
    beside 4-D q sends it down the math path in both)."""
    if rank == 3:
        return not _torch_before(2, 14)
    return rank == 4 and mask in (None, 2, 4)


def _biased_dot_product(v) -> int:
    """With a float bias as attn_mask the flash kernel also needs the mask 4-D: a 3-D [H, L, S] bias (TinyViT's
    `attention_biases[:, idxs]`) sends 4-D q, k, v down the math path too."""
    return _scaled_dot_product(v) if len(v.attrs["bias"]) == 4 else 2 * product_macs(v)


def _attention(v) -> int:
    if fast_path(v):
        return 0
    return 2 * projection_macs(v) + (2 * product_macs(v) if mask_tensor(v) else 0)


def _broadcast_heads(v) -> bool:
    """k and v with one head broadcast over the query's several (not enable_gqa), where the CPU math path runs."""
    q, k = v.ins[0], v.ins[1]
    return len(q) > 2 and not v.attrs["enable_gqa"] and not v.attrs.get("batch_merged") and k[-3] == 1 and q[-3] != 1 and _torch_before(2, 14)


def _torch_before(major: int, minor: int) -> bool:
    """Whether the installed torch is older than major.minor (no torch installed: the profile's 2.13)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        parts = version("torch").split("+")[0].split(".")
    except PackageNotFoundError:
        return True
    return (int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)) < (major, minor)


TABLE = {
    **UNKNOWN,
    **recurrent_rules.TORCH,
    "fold": zero("no flop formula for aten::col2im: fold's adds (n - 1 per position reached by n taps) are not "
                 "counted"),
    "multi_head_attention": Rule(_attention, "native MHA path: 0; otherwise 2 x the projections' MACs (the CPU's "
                                             "flash kernel for QKᵀ and A·V has no formula), + 2 x theirs with a "
                                             "mask tensor (math path)"),
    "scaled_dot_product_attention": Rule(_scaled_dot_product, "4-D q, k, v (3-D too from torch 2.14; an attn_mask "
                                         "input 4-D or 2-D): 0 (the CPU's flash kernel has no formula), except k "
                                         "and v of one head broadcast over more query heads (no enable_gqa) before "
                                         "torch 2.14; otherwise 2 x QKᵀ's and A·V's MACs (math path)"),
    "relative_position_attention": Rule(lambda v: _biased_dot_product(v) + 2 * position_mlp.cost(v.attrs)[0],
                                        "4-D q, k, v and a 4-D bias: 0 (the CPU's flash kernel); otherwise 2 x "
                                        "QKᵀ's and A·V's MACs (math path); + 2 x a position-bias MLP's MACs, once "
                                        "per call"),
    "axial_rope_table": Rule(lambda v: 2 * v.macs, "aten::bmm: 2 x the angle products' MACs (cos and sin: not "
                                                   "registered)"),
    "relative_position_bias": Rule(lambda v: 2 * position_mlp.cost(v.attrs)[0], "aten::add not registered; 2 x a "
                                   "position-bias MLP's MACs (aten::addmm / aten::mm), once per call"),
}


def default(layer: LayerType) -> Rule:
    if layer.dense_macs:
        return _TWICE_MACS
    return _DATA if layer.data_movement else _NOT_REGISTERED


PROFILE = Profile(
    name="torch",
    tool="torch 2.13.0",
    headline="torch.utils.flop_counter.FlopCounterMode().get_total_flops()",
    unit="FLOPs, two per multiply-add",
    table=TABLE,
    default=default,
)
