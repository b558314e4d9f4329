"""torchinfo (1.8.0): `torchinfo.summary(model, input_data=x).total_mult_adds`.

torchinfo derives "mult-adds" from parameter counts, not from the operations
(`torchinfo/layer_info.py::LayerInfo.calculate_macs`), and sums them over the leaf modules that ran
(`model_statistics.py`), once per call. For each parameter named `weight` or `bias`:

    class name contains "Conv"   params * N * prod(output spatial)  (so a conv's weights give its MACs
                                 and its bias one per output element, any rank; a transposed conv's
                                 weights are also multiplied by the *output* positions, not the input ones)
    any other module             params * N  (the batch, output_size[0]: a Linear on a [L, n_in] sample
                                 counts n_in * n_out once, not L times; a BatchNorm counts its 2C affine
                                 parameters once)

Modules without parameters (activations, pools, adds, ...) count 0; buffers never count.

The whole profile is its default, derived from the entry: conv layers (torch's Conv*d and
ConvTranspose*d) by output positions, dense linear layers as nn.Linear, every other layer its
parameters times the batch (0 without parameters).
"""

from __future__ import annotations

from archcalc.conventions import recurrent_rules
from archcalc.conventions.base import UNKNOWN, Profile, Rule
from archcalc.layers import LayerType


def _conv(v) -> dict[str, int]:
    """(weights + bias) * N * prod(output spatial)."""
    weights = v.params - (v.out[0] if v.bias else 0)
    return {"macs": weights * v.spatial_out, "bias": v.out_elems if v.bias else 0}


def _linear(v) -> dict[str, int]:
    n_in, n_out = v.ins[0][-1], v.out[-1]
    return {"macs": n_in * n_out * v.batch, "bias": n_out * v.batch if v.bias else 0}


_CONV = Rule(_conv, "(weights + bias) x N x output positions: MACs + bias per output element")
_LINEAR = Rule(_linear, "(n_in n_out + bias n_out) x N, however many rows the input has")
_BY_PARAMS = Rule(lambda v: v.params * v.batch, "its parameters x N (0 without parameters)")


def default(layer: LayerType) -> Rule:
    if layer.category == "conv" and layer.dense_macs:
        return _CONV
    if layer.category == "linear" and layer.dense_macs:
        return _LINEAR
    return _BY_PARAMS


PROFILE = Profile(
    name="torchinfo",
    tool="torchinfo 1.8.0",
    headline="torchinfo.summary(model, input_data=x).total_mult_adds",
    unit="mult-adds",
    table={**UNKNOWN, **recurrent_rules.TORCHINFO},
    default=default,
)
