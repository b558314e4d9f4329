"""fvcore's FlopCountAnalysis (fvcore 0.1.5.post20221221): `FlopCountAnalysis(model, x).total()`.

fvcore traces the model with torch.jit and counts the aten ops that have a handle in
`fvcore/nn/flop_count.py::_DEFAULT_SUPPORTED_OPS` (formulas in `fvcore/nn/jit_handles.py`); every
other op (relu, max_pool2d, add, mul, softmax, avg_pool2d, ...) counts 0. "We count one fused
multiply-add as one flop":

    aten::_convolution      batch * prod(weight shape) * prod(output spatial)  (transposed: input spatial)
                            = archcalc's MACs; the bias is not counted
    aten::linear            prod(input shape) * out_features = archcalc's MACs; no bias
    aten::batch_norm        eval: numel * (2 if affine else 1); training mode (which BatchNorm uses
                            in eval too when it tracks no running statistics): numel * (5 if affine else 4)
    aten::group_norm, aten::layer_norm, aten::instance_norm   numel * (5 with a weight, else 4)
    aten::adaptive_avg_pool2d   input numel
    aten::upsample_nearest2d    output numel;  aten::upsample_bilinear2d  4 * output numel
"""

from __future__ import annotations

from archcalc.conventions.base import DATA_MOVEMENT, UNKNOWN, Profile, Rule, per_input, same_for, zero

_NO_HANDLE = "no fvcore handle"


def _batchnorm(v) -> int:
    affine = v.attrs["affine"]
    if v.attrs["track_running_stats"]:
        return v.out_elems * (2 if affine else 1)
    return v.out_elems * (5 if affine else 4)  # no running statistics: batch statistics even in eval


_STATS_NORM = Rule(lambda v: v.out_elems * (5 if v.attrs["affine"] else 4),
                   "aten::*_norm: 5 per element with an affine weight, else 4")  # fmt: skip

RULES = {
    **UNKNOWN,
    "conv2d": Rule(lambda v: v.macs, "aten::_convolution: MACs (no bias)"),
    "conv_transpose2d": Rule(lambda v: v.macs, "aten::_convolution (transposed): MACs (no bias)"),
    "linear": Rule(lambda v: v.macs, "aten::linear: MACs (no bias)"),
    "rbf": zero("aten::sub, pow and sum: " + _NO_HANDLE),
    "batchnorm": Rule(_batchnorm, "aten::batch_norm: eval 2 per element with affine, else 1 (5 / 4 without "
                                  "running statistics)"),
    "layernorm": _STATS_NORM,
    "instancenorm": _STATS_NORM,
    "groupnorm": _STATS_NORM,
    "lrn": zero("aten::mul, pad, avg_pool3d, add, pow and div: " + _NO_HANDLE),
    "max_pool2d": zero("aten::max_pool2d: " + _NO_HANDLE),
    "avg_pool2d": zero("aten::avg_pool2d: " + _NO_HANDLE),
    "global_avg_pool": per_input(1, "aten::adaptive_avg_pool2d: input elements"),
    "global_max_pool": zero("aten::adaptive_max_pool2d: " + _NO_HANDLE),
    "adaptive_avg_pool2d": per_input(1, "aten::adaptive_avg_pool2d: input elements"),
    "adaptive_max_pool2d": zero("aten::adaptive_max_pool2d: " + _NO_HANDLE),
    "roi_pool": zero("torchvision::roi_pool (archcalc's build: slice, aten::adaptive_max_pool2d, expand): " + _NO_HANDLE),
    "spp": zero("aten::max_pool2d / avg_pool2d, flatten, cat: " + _NO_HANDLE),
    "subsampling": zero("aten::avg_pool2d, mul and add: " + _NO_HANDLE),
    "add": zero("aten::add: " + _NO_HANDLE),
    "mul": zero("aten::mul: " + _NO_HANDLE),
    "upsample": Rule(lambda v: v.out_elems * (4 if v.attrs["mode"] == "bilinear" else 1),
                     "aten::upsample_nearest2d: output elements; bilinear: 4 per output element"),
    "softmax": zero("aten::softmax: " + _NO_HANDLE),
    **same_for(("relu", "relu6", "sigmoid", "tanh", "hardsigmoid", "hardswish", "silu", "leaky_relu", "prelu",
                "elu", "gelu"), zero("the activation ops: " + _NO_HANDLE)),
    **same_for(DATA_MOVEMENT, zero("data movement (ignored or unhandled ops)")),
}

PROFILE = Profile(
    name="fvcore",
    tool="fvcore 0.1.5.post20221221",
    headline="FlopCountAnalysis(model, x).total()",
    unit="flops, one per multiply-add",
    rules=RULES,
)
