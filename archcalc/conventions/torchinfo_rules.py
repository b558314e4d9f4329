"""torchinfo (1.8.0): `torchinfo.summary(model, input_data=x).total_mult_adds`.

torchinfo derives "mult-adds" from parameter counts, not from the operations
(`torchinfo/layer_info.py::LayerInfo.calculate_macs`), and sums them over the leaf modules that ran
(`model_statistics.py`), once per call. For each parameter named `weight` or `bias`:

    class name contains "Conv"   params * N * H_out * W_out  (so a conv's weights give its MACs and its
                                 bias one per output element; a transposed conv's weights are also
                                 multiplied by the *output* positions, not the input ones)
    any other module             params * N  (the batch, output_size[0]: a Linear on a [L, n_in] sample
                                 counts n_in * n_out once, not L times; a BatchNorm counts its 2C affine
                                 parameters once)

Modules without parameters (activations, pools, adds, ...) count 0; buffers never count.
"""

from __future__ import annotations

from archcalc.conventions.base import DATA_MOVEMENT, UNKNOWN, Profile, Rule, same_for, zero


def _conv(v) -> dict[str, int]:
    """(weights + bias) * N * H_out * W_out."""
    weights = v.params - (v.out[0] if v.bias else 0)
    return {"macs": weights * v.spatial_out, "bias": v.out_elems if v.bias else 0}


def _linear(v) -> dict[str, int]:
    n_in, n_out = v.ins[0][-1], v.out[-1]
    return {"macs": n_in * n_out * v.batch, "bias": n_out * v.batch if v.bias else 0}


_BY_PARAMS = Rule(lambda v: v.params * v.batch, "its parameters x N")
_NO_PARAMS = "no parameters"

RULES = {
    **UNKNOWN,
    "conv2d": Rule(_conv, "(weights + bias) x N x H_out x W_out: MACs + bias per output element"),
    "conv_transpose2d": Rule(_conv, "(weights + bias) x N x H_out x W_out (output positions)"),
    "linear": Rule(_linear, "(n_in n_out + bias n_out) x N, however many rows the input has"),
    **same_for(("rbf", "batchnorm", "layernorm", "instancenorm", "groupnorm", "prelu", "subsampling"), _BY_PARAMS),
    **same_for(("lrn", "relu", "relu6", "sigmoid", "tanh", "hardsigmoid", "hardswish", "silu", "leaky_relu", "elu",
                "gelu", "softmax", "max_pool2d", "avg_pool2d", "global_avg_pool", "global_max_pool",
                "adaptive_avg_pool2d", "adaptive_max_pool2d", "spp", "roi_pool", "add", "mul", "upsample"),
               zero(_NO_PARAMS)),
    **same_for(DATA_MOVEMENT, zero(_NO_PARAMS)),
}

PROFILE = Profile(
    name="torchinfo",
    tool="torchinfo 1.8.0",
    headline="torchinfo.summary(model, input_data=x).total_mult_adds",
    unit="mult-adds",
    rules=RULES,
)
