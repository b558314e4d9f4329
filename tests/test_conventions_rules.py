"""Every convention rule against the real tool, layer type by layer type (torchscan's test_modules.py style).

Each case is a tiny spec (one layer, or a layer and the identity nodes feeding it). For each, archcalc's
torch build is analysed by fvcore, ptflops, thop, torchinfo and torch's FlopCounterMode, and each
tool's headline total must equal archcalc's reproduction exactly, at batch 1 and (for the tools that
take a batch) at batch 2. Every registered layer type must have a case, and every profile a rule for
every registered layer type: adding a layer type fails here until each tool's count is decided.
"""

from __future__ import annotations

import json

import pytest

from archcalc import analyse, load_spec_text
from archcalc.conventions import CONVENTIONS, PROFILES, count_convention
from archcalc.conventions.base import LayerView, Profile
from archcalc.conventions.peers import PEER_TOOLS
from archcalc.errors import ArchcalcError
from archcalc.layers import REGISTRY
from tests.peer_check import cpu_tools_for, spec_module, tool_totals

IMAGE = (4, 6, 6)


def case(case_id: str, input_shape, *layers):
    return pytest.param(list(input_shape), list(layers), id=case_id)


def merge(kind: str, n: int = 2, **attrs) -> list[dict]:
    """n identity branches of the input, merged by `kind` (add, mul, concat)."""
    branches = [{"name": f"b{i}", "type": "identity", "inputs": "input"} for i in range(n)]
    return branches + [{"name": "merge", "type": kind, "inputs": [f"b{i}" for i in range(n)], **attrs}]


CASES = [
    *(case(t, IMAGE, {"type": t}) for t in ("relu", "relu6", "sigmoid", "tanh", "hardsigmoid", "hardswish", "silu",
                                            "leaky_relu", "prelu", "elu", "gelu", "mish")),
    case("prelu-per-channel", IMAGE, {"type": "prelu", "per_channel": True}),
    case("gelu-tanh", IMAGE, {"type": "gelu", "approximate": "tanh"}),
    case("softmax-channels", IMAGE, {"type": "softmax"}),
    case("softmax-width", IMAGE, {"type": "softmax", "axis": 2}),
    case("softmax-features", (10,), {"type": "softmax"}),
    case("conv", IMAGE, {"type": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1}),
    case("conv-nobias-s2", (4, 9, 9), {"type": "conv2d", "out_channels": 6, "kernel": 3, "stride": 2, "bias": False}),
    case("conv-grouped-dilated", (4, 9, 9), {"type": "conv2d", "out_channels": 8, "kernel": 3, "groups": 2,
                                             "dilation": 2}),
    case("conv-same-s2-asymmetric", (4, 9, 10), {"type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2,
                                                 "padding": "same"}),
    case("conv-table", (3, 7, 7), {"type": "conv2d", "kernel": 3, "table": [[0, 1], [1, 2], [0, 1, 2]]}),
    case("deconv", (4, 5, 5), {"type": "conv_transpose2d", "out_channels": 3, "kernel": 3, "stride": 2,
                               "padding": 1, "output_padding": 1}),
    case("deconv-grouped-nobias-fixed", (4, 3, 3), {"type": "conv_transpose2d", "out_channels": 6, "kernel": 2,
                                                    "stride": 3, "groups": 2, "dilation": 2, "bias": False,
                                                    "trainable": False}),
    case("crop", IMAGE, {"type": "crop", "size": [3, 4]}),
    case("slice-channels", IMAGE, {"type": "slice", "end": 2}),
    case("slice-width", IMAGE, {"type": "slice", "axis": 2, "start": 1, "end": 4}),
    case("linear", (20,), {"type": "linear", "out_features": 10}),
    case("linear-nobias", (20,), {"type": "linear", "out_features": 10, "bias": False}),
    case("linear-on-rows", (5, 20), {"type": "linear", "out_features": 10}),
    case("rbf", (12,), {"type": "rbf", "out_features": 3}),
    case("batchnorm", IMAGE, {"type": "batchnorm"}),
    case("batchnorm-not-affine", IMAGE, {"type": "batchnorm", "affine": False}),
    case("batchnorm-no-running-stats", IMAGE, {"type": "batchnorm", "track_running_stats": False}),
    case("batchnorm-1d", (20,), {"type": "batchnorm"}),
    case("layernorm", (5, 20), {"type": "layernorm"}),
    case("layernorm-2d-nobias", IMAGE, {"type": "layernorm", "dims": 2, "bias": False}),
    case("layernorm-not-affine", (5, 20), {"type": "layernorm", "affine": False}),
    case("instancenorm", IMAGE, {"type": "instancenorm"}),
    case("instancenorm-affine-1d", (4, 10), {"type": "instancenorm", "affine": True}),
    case("groupnorm", IMAGE, {"type": "groupnorm", "groups": 2}),
    case("groupnorm-not-affine", IMAGE, {"type": "groupnorm", "groups": 2, "affine": False}),
    case("lrn", (8, 5, 5), {"type": "lrn", "size": 5, "k": 2.0}),
    case("lrn-even-size", (8, 5, 5), {"type": "lrn", "size": 4}),
    case("lrn-1d", (6, 10), {"type": "lrn", "size": 3}),
    case("max_pool", (4, 7, 7), {"type": "max_pool2d", "kernel": 3, "stride": 2, "padding": 1}),
    case("max_pool-same-asymmetric", (4, 7, 8), {"type": "max_pool2d", "kernel": 2, "stride": 1, "padding": "same"}),
    case("max_pool-ceil-dilated", (4, 9, 9), {"type": "max_pool2d", "kernel": 2, "stride": 2, "dilation": 2,
                                              "ceil_mode": True}),
    case("avg_pool", IMAGE, {"type": "avg_pool2d", "kernel": 2}),
    case("avg_pool-padded", (4, 7, 7), {"type": "avg_pool2d", "kernel": 3, "stride": 2, "padding": 1}),
    case("avg_pool-same-asymmetric", (4, 7, 8), {"type": "avg_pool2d", "kernel": 2, "stride": 1, "padding": "same"}),
    case("global_avg_pool", IMAGE, {"type": "global_avg_pool"}),
    case("global_max_pool", IMAGE, {"type": "global_max_pool"}),
    case("adaptive_avg-uneven", (4, 7, 5), {"type": "adaptive_avg_pool2d", "output_size": [3, 2]}),
    case("adaptive_avg-upsampling", (4, 1, 1), {"type": "adaptive_avg_pool2d", "output_size": 6}),
    # thop evaluates (8/7 * 8/7 + 1) * 196 in float64 and truncates: 451, one less than the exact 452.
    case("adaptive_avg-thop-truncates", (4, 8, 8), {"type": "adaptive_avg_pool2d", "output_size": 7}),
    case("adaptive_max", (4, 7, 5), {"type": "adaptive_max_pool2d", "output_size": [3, 2]}),
    case("spp", (4, 8, 8), {"type": "spp", "levels": [4, 2, 1]}),
    case("spp-avg", (4, 8, 8), {"type": "spp", "levels": [2, 1], "mode": "avg"}),
    case("roi_pool", (4, 9, 9), {"type": "roi_pool", "rois": 3, "output_size": 2, "roi_size": [5, 7]}),
    case("subsampling", IMAGE, {"type": "subsampling"}),
    case("identity", IMAGE, {"type": "identity"}),
    case("dropout", IMAGE, {"type": "dropout"}),
    case("flatten", IMAGE, {"type": "flatten"}),
    case("reshape", (24,), {"type": "reshape", "shape": [2, 3, 4]}),
    case("reshape-image", IMAGE, {"type": "reshape", "shape": [-1, 9]}),
    case("add", IMAGE, *merge("add")),
    case("add-three", IMAGE, *merge("add", 3)),
    case("mul-broadcast", IMAGE, {"name": "pooled", "type": "global_avg_pool"},
         {"name": "scale", "type": "mul", "inputs": ["input", "pooled"]}),
    case("concat", IMAGE, *merge("concat")),
    case("channel_shuffle", IMAGE, {"type": "channel_shuffle", "groups": 2}),
    case("pixel_shuffle", IMAGE, {"type": "pixel_shuffle", "upscale": 2}),
    case("pixel_unshuffle", IMAGE, {"type": "pixel_unshuffle", "downscale": 2}),
    case("upsample-nearest", IMAGE, {"type": "upsample", "scale": 2}),
    case("upsample-bilinear", IMAGE, {"type": "upsample", "scale": 2, "mode": "bilinear", "align_corners": False}),
    case("upsample-size", (4, 5, 5), {"type": "upsample", "size": [9, 7]}),
    case("upsample-fractional-scale", (1, 5, 5), {"type": "upsample", "scale": 1.5, "mode": "bilinear"}),
    case("upsample-bicubic", (2, 5, 5), {"type": "upsample", "size": [7, 8], "mode": "bicubic", "align_corners": False}),
    case("pad", IMAGE, {"type": "pad", "padding": [1, 0, 2, 1]}),
    case("pad-reflect", IMAGE, {"type": "pad", "padding": 1, "mode": "reflect"}),
    # A constant operand, each op and side (layers/scalar.py; call forms in test_conventions_calls.py).
    *(case(f"scalar-{op}-{side}", IMAGE, {"type": "scalar", "op": op, "value": 2, "side": side})
      for op in ("add", "sub", "mul", "div", "pow") for side in ("right", "left")),
    case("scalar-mul-inplace", IMAGE, {"type": "scalar", "op": "mul", "value": 0.5, "inplace": True}),
    case("scalar-add-inplace", (10,), {"type": "scalar", "op": "add", "value": 1, "inplace": True}),
    *(case(name, IMAGE, {"type": name}) for name in ("sqrt", "rsqrt", "exp", "log", "erf", "abs", "neg", "reciprocal",
                                                     "square")),
    case("clamp-both", IMAGE, {"type": "clamp", "min": -1, "max": 1}),
    case("clamp-max", IMAGE, {"type": "clamp", "max": 0.5}),
    case("clamp_buffers", IMAGE, {"type": "clamp_buffers"}),
    # Tensor operations of timm's models (layers/elementwise_binary.py, param_operand.py, reduce.py, stack.py).
    *(case(f"{op}-broadcast", IMAGE, {"name": "pooled", "type": "global_avg_pool", "keep_dims": True},
           {"type": op, "inputs": ["input", "pooled"]}) for op in ("sub", "div")),
    case("vector_norm", IMAGE, {"type": "vector_norm", "axis": [1, 2], "keepdim": True}),
    case("one_hot_position_embedding", (5, 6), {"type": "one_hot_position_embedding", "positions": 9, "axes": 3}),
    case("axial_rope_table", (5, 6), {"type": "axial_rope_table", "head_dim": 12, "fn": "cos", "angles": True}),
    case("axial_rope_table-sin", (5, 6), {"type": "axial_rope_table", "head_dim": 12, "fn": "sin"}),
    case("constant_op-mul", IMAGE, {"type": "constant_op", "op": "mul", "shape": [6, 1]}),
    case("constant_op-add", IMAGE, {"type": "constant_op", "op": "add", "shape": [4, 1, 6]}),
    case("constant_table-linear", IMAGE, {"type": "constant_table", "shape": [5, 5, 3]},
         {"type": "linear", "out_features": 4}),  # ConViT's pos_proj(rel_indices.expand(B, -1, -1, -1))
    case("parameter_op-scalar", IMAGE, {"type": "parameter_op", "op": "mul", "shape": [1]}),
    case("parameter_op-channel-bias", IMAGE, {"type": "parameter_op", "op": "add", "shape": [4, 1, 1]}),
    case("affine", IMAGE, {"type": "affine", "shape": [6]}),
    case("sum", IMAGE, {"type": "sum"}),
    case("sum-spatial-keepdim", IMAGE, {"type": "sum", "axis": [1, 2], "keepdim": True}),
    case("var", IMAGE, {"type": "var", "axis": [1, 2], "keepdim": True, "correction": 0}),
    case("amax", IMAGE, {"type": "amax", "axis": 0}),
    case("mean-two-axes", IMAGE, {"type": "mean", "axis": [1, 2]}),
    case("stack", IMAGE, *merge("stack", axis=1)),
    case("expand", IMAGE, {"type": "global_avg_pool", "keep_dims": True}, {"type": "expand", "shape": [4, 6, 6]}),
    case("expand_as", IMAGE, {"name": "pooled", "type": "global_avg_pool", "keep_dims": True},
         {"type": "expand_as", "inputs": ["pooled", "input"]}),
    case("layernorm2d-nobias", IMAGE, {"type": "layernorm2d", "bias": False}),
    case("groupnorm-nobias", IMAGE, {"type": "groupnorm", "groups": 2, "bias": False}),
    # An imported operation without a rule: unknown everywhere (archcalc's torch build is a placeholder).
    case("unsupported", IMAGE, {"type": "unsupported", "shape": [4, 6, 6], "op": "torch.roll", "params": 3}),
]


def _spec(input_shape: list[int], layers: list[dict]) -> str:
    return json.dumps({"name": "case", "input": input_shape, "layers": layers})


def assert_tools_agree(input_shape: list[int], layers: list[dict]) -> None:
    """Each real tool's total equals its profile's prediction, at batch 1 and 2."""
    graph = load_spec_text(_spec(input_shape, layers))
    for batch in (1, 2):
        # ptflops analyses one sample (its input_res has no batch axis)
        tools = PEER_TOOLS if batch == 1 else tuple(tool for tool in PEER_TOOLS if tool != "ptflops")
        measured = tool_totals(spec_module(graph), tuple(graph.input_shape), tools, batch,
                               cpu_tools=cpu_tools_for(graph))  # FlopCounterMode on the CPU for fused kernels
        report = analyse(graph, batch=batch)
        for tool in tools:
            predicted = count_convention(graph, report, tool)
            assert measured[tool] == predicted.total, (tool, batch, predicted.items)


@pytest.mark.parametrize("input_shape, layers", CASES)
def test_each_tool_counts_as_its_profile_predicts(input_shape, layers):
    assert_tools_agree(input_shape, layers)


def test_every_layer_type_has_a_case():
    from tests.test_conventions_rules_nd import CASES as CASES_ND
    from tests.test_conventions_rules_tokens import CASES as CASES_TOKENS

    covered = {layer["type"] for param in CASES + CASES_ND + CASES_TOKENS for layer in param.values[1]}
    assert covered >= set(REGISTRY), f"layer types without a convention case: {sorted(set(REGISTRY) - covered)}"


@pytest.mark.parametrize("name", CONVENTIONS)
def test_every_profile_has_a_rule_for_every_layer_type(name):
    rules = PROFILES[name].rules
    assert set(rules) == set(REGISTRY), (sorted(set(REGISTRY) - set(rules)), sorted(set(rules) - set(REGISTRY)))
    assert all(rule.text for rule in rules.values())
    # the special table names only real layer types or families: a typo would silently fall to the default
    known = set(REGISTRY) | {rule.family for rule in REGISTRY.values()}
    assert set(PROFILES[name].table) <= known, sorted(set(PROFILES[name].table) - known)


def test_a_missing_rule_is_an_error_not_a_zero():
    incomplete = Profile("partial", "tool 0", "total()", "MACs", {"relu": PROFILES["fvcore"].rules["relu"]})
    view = LayerView(REGISTRY["conv2d"], {}, [(1, 3, 3)], (1, 1, 1), 1, 9)
    with pytest.raises(ArchcalcError, match="partial convention has no rule for layer type 'conv2d'"):
        incomplete.layer_count("conv2d", view, "conv")


def test_the_archcalc_convention_is_archcalcs_macs():
    graph = load_spec_text(_spec([3, 16, 16], [{"type": "conv2d", "out_channels": 8, "kernel": 3},
                                               {"type": "batchnorm"}, {"type": "relu"}, {"type": "flatten"},
                                               {"type": "linear", "out_features": 5}]))  # fmt: skip
    report = analyse(graph, batch=3)
    result = count_convention(graph, report, "archcalc")
    assert result.total == report.totals.macs and result.layers == [layer.macs for layer in report.layers]
    assert result.items["macs"] == result.total
