"""thop (0.1.1.post2209072238): `thop.profile(model, inputs=(x,))[0]`, in MACs.

thop hooks the leaf modules whose classes are in `thop/profile.py::register_hooks` (formulas in
`thop/vision/basic_hooks.py` and `calc_func.py`); every other module (custom modules, Sigmoid,
Hardswish, SiLU, GELU, GroupNorm, LocalResponseNorm, Dropout1d/2d/3d, the pads but ZeroPad2d, ...)
counts 0, and functional calls and operators are never seen. Counts are float64 and include the batch:

    Conv*d, ConvTranspose*d   output numel * (C_in / groups) * prod(k), no bias. For a transposed
                              conv that is not its multiply count (which runs over input positions)
    Linear                    in_features * output numel, no bias
    BatchNorm*d, InstanceNorm*d, LayerNorm   2 * input numel, doubled with an affine transform
    ReLU, ReLU6, LeakyReLU, MaxPool*d, AdaptiveMaxPool*d, Dropout   0
    PReLU                     input numel (in eval mode)
    Softmax                   groups * (3N - 1) for N elements along the axis
    AvgPool*d                 output numel
    AdaptiveAvgPool*d         int((prod(in_size / out_size) + 1) * output numel), the division in float64
    Upsample                  nearest: output numel; linear: 5, bilinear: 11, bicubic: 259 per output element;
                              trilinear is "not implemented yet": 0

    MultiheadAttention        not hooked: 0 (archcalc's general attention build: its nn.Linear
                              projections, MACs without bias); functional attention, matmul and einsum
                              are never seen

A layer invoked as a function, method or operator (a spec's `call:`): 0, no module to hook.

Default (any type not in the table): archcalc's MACs for dense conv and linear layers (nn.Conv*d and
nn.Linear are hooked), 0 for everything else (not hooked, or zero_ops).
"""

from __future__ import annotations

from archcalc.conventions import recurrent_rules
from archcalc.conventions.attention import projection_macs, term_macs, torch_mha
from archcalc.conventions import multiscale
from archcalc.conventions.base import UNKNOWN, Profile, Rule, per_input, per_output, same_for, zero
from archcalc.layers import LayerType


def _deconv(v) -> int:
    return v.out_elems * (v.ins[0][0] // v.attrs["groups"]) * v.kernel_elements


def _adaptive_avg(v) -> int:
    """Evaluated in floating point exactly as thop does (it truncates per layer); 0 for a GlobalPool
    without kept axes (a custom module, not hooked)."""
    if len(v.out) != len(v.ins[0]):
        return 0
    kernel = 1.0
    for size_in, size_out in zip(v.ins[0][1:], v.out[1:]):
        kernel *= float(size_in) / float(size_out)
    return int((kernel + 1) * v.out_elems)


def _softmax(v) -> int:
    n = v.ins[0][v.reduction_axis]
    return v.in_elems // n * (3 * n - 1)


def _norm(v) -> int:
    return 2 * v.in_elems * (2 if v.attrs["affine"] else 1)


_NORM = Rule(_norm, "2 per input element, x 2 with affine")
_UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 224 + 35}

TABLE = {
    **UNKNOWN,
    **recurrent_rules.THOP,
    "conv_transpose": Rule(_deconv, "output elements x C_in / groups x prod(kernel), no bias"),
    "batchnorm": _NORM,
    "instancenorm": _NORM,
    "layernorm": Rule(_norm, "2 per input element, x 2 with elementwise_affine"),
    "prelu": per_input(1, "input elements (eval mode)"),
    "softmax": Rule(_softmax, "groups x (3N - 1)"),
    "avg_pool": per_output(1, "output elements"),
    "global_avg_pool": Rule(_adaptive_avg, "(prod(spatial) + 1) x output elements (0 with keep_dims false)"),
    "adaptive_avg_pool": Rule(_adaptive_avg, "int((prod(in / out) + 1) x output elements), in float64"),
    "upsample": Rule(lambda v: v.out_elems * _UPSAMPLE.get(v.attrs["mode"], 0),
                     "nearest: output elements; linear 5, bilinear 11, bicubic 259 (224 to solve the 4 x 4 "
                     "system + 35) per output element; trilinear 0"),
    "multiscale_attention": multiscale.ATTENTION["thop"],
    "linear_norm": Rule(lambda v: {"macs": v.macs, "norm": 4 * v.out_elems}, "its children's hooks: nn.Linear "
                        "(MACs, no bias) and BatchNorm1d (2 per element, x 2 affine)"),
    "blur_pool2d": zero("its class is not in register_hooks (F.conv2d inside is not hooked)"),
    "multi_head_attention": Rule(lambda v: 0 if torch_mha(v) else projection_macs(v),
                                 "nn.MultiheadAttention is not hooked: 0; the general build: its nn.Linear MACs"),
    "one_hot_position_embedding": zero("its product is functional (`@`): no module hook sees it"),
    **same_for(("scaled_dot_product_attention", "relative_position_attention", "window_attention", "matmul", "einsum",
                "relative_position_product"),
               zero("functional (F.linear, matmul, einsum, sdpa): no module hook sees it")),
    "window_attention_v2": Rule(lambda v: term_macs(v, "position_mlp"), "only the bias MLP's nn.Linear hooks (MACs, "
                                "no bias), once per call; the rest is functional"),
}

_MACS = Rule(lambda v: v.macs, "MACs, no bias")
_NOT_HOOKED = Rule(lambda v: 0, "0: its module class is not in thop's register_hooks, or counts zero_ops")
TABLE["conv"] = Rule(lambda v: 0 if v.attrs.get("standardize", "none") != "none" else v.macs,
                     "MACs, no bias; a standardised conv: 0 (its class is not in register_hooks, exact classes)")


def default(layer: LayerType) -> Rule:
    return _MACS if layer.dense_macs else _NOT_HOOKED


PROFILE = Profile(
    name="thop",
    tool="thop 0.1.1.post2209072238",
    headline="thop.profile(model, inputs=(x,))[0]",
    unit="MACs",
    table=TABLE,
    default=default,
    invoked_default=zero("a function, method or operator: thop hooks modules only"),
)
