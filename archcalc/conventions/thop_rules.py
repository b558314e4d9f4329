"""thop (0.1.1.post2209072238): `thop.profile(model, inputs=(x,))[0]`, in MACs.

thop hooks the module classes in `thop/profile.py::register_hooks` (formulas in
`thop/vision/basic_hooks.py` and `calc_func.py`); every other module (custom modules, Sigmoid,
Hardswish, SiLU, GELU, GroupNorm, LocalResponseNorm, Identity, ...) counts 0, and functional calls
and operators are never seen. Counts are float64 and include the batch:

    Conv*d, ConvTranspose*d   output numel * (C_in / groups) * k_h * k_w, no bias. For a transposed
                              conv that is not its multiply count (which runs over input positions)
    Linear                    in_features * output numel, no bias
    BatchNorm, InstanceNorm, LayerNorm   2 * input numel, doubled with an affine transform
    ReLU, ReLU6, LeakyReLU, MaxPool, AdaptiveMaxPool, Dropout   0
    PReLU                     input numel (in eval mode)
    Softmax                   groups * (3N - 1) for N elements along the axis
    AvgPool                   output numel
    AdaptiveAvgPool           int((prod(in_size / out_size) + 1) * output numel), the division in float64
    Upsample                  nearest: output numel; bilinear: 11 * output numel
"""

from __future__ import annotations

from archcalc.conventions.base import DATA_MOVEMENT, UNKNOWN, Profile, Rule, per_input, per_output, same_for, zero


def _deconv(v) -> int:
    kh, kw = v.attrs["kernel"]
    return v.out_elems * (v.ins[0][0] // v.attrs["groups"]) * kh * kw


def _adaptive_avg(v) -> int:
    """Evaluated in floating point exactly as thop does (it truncates per layer)."""
    (h, w), (oh, ow) = v.ins[0][1:], v.out[1:]
    kernel = float(h) / float(oh) * (float(w) / float(ow))
    return int((kernel + 1) * v.out_elems)


def _softmax(v) -> int:
    axis = v.layer._axis(v.attrs, v.ins[0])
    n = v.ins[0][axis]
    return v.in_elems // n * (3 * n - 1)


def _norm(v) -> int:
    return 2 * v.in_elems * (2 if v.attrs["affine"] else 1)


_NOT_HOOKED = "its module class is not in thop's register_hooks"

RULES = {
    **UNKNOWN,
    "conv2d": Rule(lambda v: v.macs, "MACs, no bias"),
    "conv_transpose2d": Rule(_deconv, "output elements x C_in / groups x k_h k_w, no bias"),
    "linear": Rule(lambda v: v.macs, "MACs, no bias"),
    "rbf": zero(_NOT_HOOKED),
    "batchnorm": Rule(_norm, "2 per input element, x 2 with affine"),
    "instancenorm": Rule(_norm, "2 per input element, x 2 with affine"),
    "layernorm": Rule(_norm, "2 per input element, x 2 with elementwise_affine"),
    "groupnorm": zero(_NOT_HOOKED),
    "lrn": zero(_NOT_HOOKED),
    **same_for(("relu", "relu6", "leaky_relu"), zero("zero_ops / count_relu")),
    "prelu": per_input(1, "input elements (eval mode)"),
    **same_for(("sigmoid", "tanh", "hardsigmoid", "hardswish", "silu", "elu", "gelu"), zero(_NOT_HOOKED)),
    "softmax": Rule(_softmax, "groups x (3N - 1)"),
    **same_for(("max_pool2d", "global_max_pool", "adaptive_max_pool2d"), zero("zero_ops")),
    "avg_pool2d": per_output(1, "output elements"),
    "global_avg_pool": Rule(_adaptive_avg, "(H W + 1) x output elements"),
    "adaptive_avg_pool2d": Rule(_adaptive_avg, "int((in_h / out_h x in_w / out_w + 1) x output elements), "
                                               "in float64"),
    "spp": zero(_NOT_HOOKED),
    "roi_pool": zero(_NOT_HOOKED),
    "subsampling": zero(_NOT_HOOKED),
    "add": zero(_NOT_HOOKED),
    "mul": zero(_NOT_HOOKED),
    "upsample": Rule(lambda v: v.out_elems * (11 if v.attrs["mode"] == "bilinear" else 1),
                     "nearest: output elements; bilinear: 11 per output element"),
    **same_for(DATA_MOVEMENT, zero("zero_ops, or not hooked")),
}

PROFILE = Profile(
    name="thop",
    tool="thop 0.1.1.post2209072238",
    headline="thop.profile(model, inputs=(x,))[0]",
    unit="MACs",
    rules=RULES,
)
