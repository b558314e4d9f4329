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

Only leaf modules count: a module with children (nn.MultiheadAttention has out_proj, Swin's window
attention qkv and proj, none of which runs) counts nothing, nor do its own parameters; and parameters
named otherwise than weight or bias (a class token, a position table, a layer scale) count nothing.

A layer invoked as a function, method or operator (a spec's `call:`; parameter-free types only): 0, no
module ran.

The profile is mostly its default, derived from the entry: conv layers (torch's Conv*d and
ConvTranspose*d) by output positions, dense linear layers as nn.Linear, every other layer its
parameters times the batch (0 without parameters).
"""

from __future__ import annotations

from archcalc.conventions import recurrent_rules
from archcalc.conventions.attention import linear_params, position_mlp_links, torch_mha
from archcalc.conventions import multiscale, position_tables
from archcalc.conventions.base import UNKNOWN, Profile, Rule, same_for, zero
from archcalc.layers import LayerType


def _conv(v) -> dict[str, int]:
    """(weights + bias) * N * prod(output spatial). Weight-normed convs (torch.nn.utils.weight_norm) name
    their weights weight_g and weight_v, which torchinfo takes for an RNN's: params * N * C_out each. A scaled
    standardised conv's `gain` is neither weight nor bias: not counted."""
    weights = v.params - (v.out[0] if v.bias else 0) - (v.out[0] if v.attrs.get("standardize") == "scaled" else 0)
    bias = v.out_elems if v.bias else 0
    if v.attrs.get("weight_norm"):
        return {"macs": weights * v.batch * v.out[0], "bias": bias}
    return {"macs": weights * v.spatial_out, "bias": bias}


def _linear(v) -> dict[str, int]:
    n_in, n_out = v.ins[0][-1], v.out[-1]
    return {"macs": n_in * n_out * v.batch, "bias": n_out * v.batch if v.bias else 0}


_CONV = Rule(_conv, "(weights + bias) x N x output positions: MACs + bias per output element (weight-normed: "
                   "weight_g and weight_v x N x C_out, as an RNN's)")
_LINEAR = Rule(_linear, "(n_in n_out + bias n_out) x N, however many rows the input has")
_BY_PARAMS = Rule(lambda v: v.params * v.batch, "its parameters x N (0 without parameters)")


def _attention(v) -> int:
    """The general build's nn.Linear projections (params x N); its bias table is an nn.Embedding whose
    output [L, S, H] has no batch axis, so torchinfo takes L for the batch."""
    if torch_mha(v):
        return 0
    return linear_params(v) * v.batch + v.attrs["rel_pos_buckets"] * v.attrs["num_heads"] * v.ins[0][0]


TABLE = {
    **UNKNOWN,
    **recurrent_rules.TORCHINFO,
    "multi_head_attention": Rule(_attention, "nn.MultiheadAttention (children, never run): 0; the general build: "
                                             "its nn.Linear params x N (+ bias table x L)"),
    "multiscale_attention": multiscale.ATTENTION["torchinfo"],
    "linear_norm": Rule(lambda v: {**_linear(v), "norm": 2 * v.out_elems}, "its leaves: nn.Linear (n_in n_out + "
                        "bias n_out) x N, BatchNorm1d on the flattened [N·L, E] rows: 2E x N·L"),
    "resized_position_embedding": position_tables.RULES["torchinfo"],
    "fourier_position_encoding": position_tables.FOURIER_TORCHINFO,
    "blur_pool2d": zero("no parameters (its filter is a buffer), and torchinfo counts parameters"),
    "grid_positions": multiscale.GRID_POSITIONS_TORCHINFO,
    "window_attention": zero("a module with children (qkv, proj) that never run: not a leaf"),
    "window_attention_v2": Rule(lambda v: position_mlp_links(v)[1], "only the bias MLP's nn.Linear leaves run: "
                                "their params x 1 (the coordinate table's batch axis), whatever the batch"),
    **same_for(("scaled_dot_product_attention", "matmul", "einsum"), zero("no parameters")),
    "relative_position_product": zero("its table is not named weight or bias"),
    "one_hot_position_embedding": zero("its one parameter (position_embedding_table) is named neither weight nor "
                                       "bias, the names torchinfo counts"),
    **same_for(("relative_position_bias", "relative_position_attention"),
               Rule(lambda v: v.params * v.batch * v.out[0], "its table x N x out[0]: the parameter "
                    "(relative_position_bias_table, as timm's RelPosBias) is not named weight or bias but contains "
                    "'bias', which torchinfo counts as an RNN's (x output_size[:2])")),
    **same_for(("positional_embedding", "class_token", "layer_scale"),
               zero("its parameter is not named weight or bias")),
    "parameter_op": Rule(lambda v: 0 if v.attrs.get("fn") or v.attrs.get("rows") else v.params * v.batch,
                         "its parameter x N; 0 with fn or rows (a parameter computed on before use, Swin V2's "
                         "logit_scale: named neither weight nor bias)"),
}


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
    table=TABLE,
    default=default,
    invoked_default=zero("a function, method or operator: no module ran"),
)
