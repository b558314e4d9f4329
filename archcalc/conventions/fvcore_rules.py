"""fvcore's FlopCountAnalysis (fvcore 0.1.5.post20221221): `FlopCountAnalysis(model, x).total()`.

fvcore traces the model with torch.jit and counts the aten ops that have a handle in
`fvcore/nn/flop_count.py::_DEFAULT_SUPPORTED_OPS` (formulas in `fvcore/nn/jit_handles.py`); every
other op (relu, max_pool*d, add, mul, softmax, avg_pool*d, ...) counts 0. "We count one fused
multiply-add as one flop":

    aten::_convolution      batch * prod(weight shape) * prod(output spatial)  (transposed: input spatial)
                            = archcalc's MACs, any rank; the bias is not counted
                            a weight-standardised conv (timm's StdConv2d): + aten::batch_norm in training mode
                            over the weight, once per call: 4 per weight element (scaled, with the gain as its
                            weight: 5)
    aten::linear            prod(input shape) * out_features = archcalc's MACs; no bias
    aten::batch_norm        eval: numel * (2 if affine else 1); training mode (which BatchNorm uses
                            in eval too when it tracks no running statistics): numel * (5 if affine else 4)
    aten::group_norm, aten::layer_norm, aten::instance_norm   numel * (5 with a weight, else 4)
    aten::adaptive_avg_pool2d   input numel (aten::adaptive_avg_pool1d and 3d have no handle)
    aten::upsample_nearest2d    output numel;  aten::upsample_bilinear2d  4 * output numel (no other
                            rank or mode has a handle)

    aten::matmul, aten::bmm   MACs;  aten::einsum   numpy's optimised FLOP count / 2, rounded down (a
                            contraction's MACs; half the products of an outer product)
    attention               nn.MultiheadAttention at inference in its native path (self-attention, even
                            heads, biases, no mask): aten::_native_multi_head_attention has no handle, 0.
                            Elsewhere the projections through aten::linear (MACs) while
                            aten::scaled_dot_product_attention has no handle: QKᵀ and A·V are never
                            counted. Swin's window attention (F.linear, Tensor.matmul): all of its MACs

A layer invoked as a function, method or operator (a spec's `call:`) runs the same aten ops as its module,
and counts the same, except a global pool computed as x.mean / x.amax (aten::mean, aten::amax: no handle).

Default (any type not in the table): archcalc's MACs for dense conv and linear layers (`dense_macs`:
aten::_convolution, aten::linear), 0 for everything else.
"""

from __future__ import annotations

import math

from archcalc.conventions import recurrent_rules
from archcalc.conventions.attention import fast_path, projection_macs
from archcalc.conventions import multiscale, position_tables
from archcalc.conventions.base import UNKNOWN, Profile, Rule, same_for, zero
from archcalc.layers import LayerType, position_mlp


def _batchnorm(v) -> int:
    affine = v.attrs["affine"]
    if v.attrs["track_running_stats"]:
        return v.out_elems * (2 if affine else 1)
    return v.out_elems * (5 if affine else 4)  # no running statistics: batch statistics even in eval


def _adaptive_avg(v) -> int:
    """aten::adaptive_avg_pool2d has a handle; aten::adaptive_avg_pool1d and 3d have none, nor x.mean(...)."""
    return v.in_elems if v.spatial_rank == 2 and len(v.out) == len(v.ins[0]) else 0


def _upsample(v) -> int:
    if v.spatial_rank != 2:
        return 0
    return v.out_elems * {"nearest": 1, "bilinear": 4}.get(v.attrs["mode"], 0)


def _einsum(v) -> int:
    """fvcore's einsum_flop_jit: two equations exactly (after renaming the letters in order of appearance),
    any other from numpy's einsum_path, whose printout rounds the FLOP count to four digits ("%.3e"),
    halved and floored. numpy counts 2 per product with a summed letter, 1 without."""
    products, summed = v.layer.products(v.attrs, v.ins)
    equation = v.layer.torch_equation(v.attrs, v.ins)
    letters = {letter: chr(97 + index) for index, letter in enumerate(dict.fromkeys(c for c in equation if c.isalpha()))}
    if "".join(letters.get(c, c) for c in equation) in ("abc,abd->acd", "abc,adc->adb"):
        return v.macs
    numpy_count = products * v.batch * (2 if summed else 1)
    return math.floor(float(f"{numpy_count:.3e}") / 2)


def _conv(v) -> dict[str, int]:
    """aten::_convolution's MACs; a standardised weight adds aten::batch_norm (training) once per call."""
    standardize = v.attrs.get("standardize", "none")
    if standardize == "none":
        return {"macs": v.macs}
    return {"macs": v.macs, "norm": v.layer.kernel_weights(v.attrs, v.ins) * (5 if standardize == "scaled" else 4)}


_STATS_NORM = Rule(lambda v: v.out_elems * (5 if v.attrs["affine"] else 4),
                   "aten::*_norm: 5 per element with an affine weight, else 4")  # fmt: skip

TABLE = {
    **UNKNOWN,
    **recurrent_rules.FVCORE,
    "batchnorm": Rule(_batchnorm, "aten::batch_norm: eval 2 per element with affine, else 1 (5 / 4 without "
                                  "running statistics)"),
    "conv": Rule(_conv, "aten::_convolution: MACs (no bias); standardize: + 4 per weight element once per call "
                        "(aten::batch_norm in training mode; scaled: 5)"),
    "linear_norm": Rule(lambda v: {"macs": v.macs, "norm": 2 * v.out_elems}, "aten::linear: MACs; aten::batch_norm "
                        "(eval, affine): 2 per element"),
    "layernorm": _STATS_NORM,
    "layernorm2d": _STATS_NORM,
    "multi_head_attention": Rule(lambda v: 0 if fast_path(v) else projection_macs(v),
                                 "native MHA path (self-attention, even heads, biases, no mask): 0; otherwise the "
                                 "projections' MACs (aten::linear), QKᵀ and A·V unseen (no handle for "
                                 "aten::scaled_dot_product_attention)"),
    "scaled_dot_product_attention": zero("no handle for aten::scaled_dot_product_attention"),
    "fold": zero("no handle for aten::col2im: fold's adds (n - 1 per position reached by n taps) are not counted"),
    "relative_position_attention": Rule(lambda v: position_mlp.cost(v.attrs)[0], "no handle for "
                                        "aten::scaled_dot_product_attention; a position-bias MLP's aten::linear "
                                        "MACs, once per call"),
    "resized_position_embedding": position_tables.RULES["fvcore"],
    "relative_position_bias": Rule(lambda v: position_mlp.cost(v.attrs)[0], "aten::add skipped; a position-bias "
                                   "MLP's aten::linear MACs, once per call"),
    "window_attention": Rule(lambda v: v.macs, "aten::linear and aten::matmul: all MACs"),
    "matmul": Rule(lambda v: v.macs, "aten::matmul: MACs"),
    "axial_rope_table": Rule(lambda v: v.macs, "aten::matmul: the angle products' MACs (cos and sin: no handle)"),
    "multiscale_attention": multiscale.ATTENTION["fvcore"],
    "einsum": Rule(_einsum, "aten::einsum: numpy's optimised count, printed to 4 digits, / 2 (about the MACs)"),
    "relative_position_product": Rule(_einsum, "aten::einsum: numpy's optimised count, printed to 4 digits, / 2 "
                                               "(aten::index gathering the rows: no handle)"),
    "instancenorm": _STATS_NORM,
    "groupnorm": _STATS_NORM,
    "global_avg_pool": Rule(_adaptive_avg, "aten::adaptive_avg_pool2d: input elements (2-D maps kept as 1 x 1; "
                                           "1-D, 3-D and x.mean(...) have no handle)"),
    "adaptive_avg_pool": Rule(_adaptive_avg, "aten::adaptive_avg_pool2d: input elements (1-D and 3-D: no handle)"),
    "upsample": Rule(_upsample, "aten::upsample_nearest2d: output elements; bilinear2d: 4 per output element; "
                                "other ranks and modes: no handle"),
}

_NO_HANDLE = zero("no fvcore handle for its aten ops")
_DATA = zero("data movement (ignored or unhandled ops)")


def default(layer: LayerType) -> Rule:
    if layer.dense_macs:
        op = "aten::_convolution" if layer.category == "conv" else "aten::linear"
        return Rule(lambda v: v.macs, f"{op}: MACs (no bias)")
    return _DATA if layer.data_movement else _NO_HANDLE


PROFILE = Profile(
    name="fvcore",
    tool="fvcore 0.1.5.post20221221",
    headline="FlopCountAnalysis(model, x).total()",
    unit="flops, one per multiply-add",
    table=TABLE,
    default=default,
    invoked={"method:global_avg_pool": zero("x.mean: no handle for aten::mean")},
)
